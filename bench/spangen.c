/* spangen.c: see spangen.h. Span content models an LLM agent trace: a root
 * "agent.run" span, then alternating LLM calls (gen_ai.* attributes, token
 * counts, price) and tool calls, about 1 KB per span once encoded. */
#include "spangen.h"

#include "store/jobs_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const sg_models[SG_MODELS] = {"gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet",
                                          "gemini-1.5-pro"};
static const char *const providers[SG_MODELS] = {"openai", "openai", "anthropic", "google"};

const sg_attr sg_resource[] = {
    {"service.name", SG_STR, "support-agent", 0, 0},
    {"service.version", SG_STR, "1.14.2", 0, 0},
    {"deployment.environment", SG_STR, "bench", 0, 0},
    {"telemetry.sdk.name", SG_STR, "opentelemetry", 0, 0},
    {"telemetry.sdk.language", SG_STR, "python", 0, 0},
    {"telemetry.sdk.version", SG_STR, "1.27.0", 0, 0},
};
const int sg_nresource = (int)(sizeof(sg_resource) / sizeof(sg_resource[0]));

#define USER_MSG                                                                                   \
    "My deployment to eu-west-2 fails with 'quota exceeded for instance family m5' although "      \
    "the dashboard shows 3 of 10 used. What should I check?"
#define ANSWER_MSG                                                                                 \
    "Regional quotas count vCPUs, not instances: three m5.2xlarge use 24 of your 32 vCPUs, so "    \
    "a fourth exceeds it. Request an increase for eu-west-2 or pick a smaller size (KB-1182)."
#define TOOL_OUT                                                                                   \
    "[{\\\"title\\\":\\\"KB-1182 Regional vCPU quotas\\\",\\\"score\\\":0.91},{\\\"title\\\":"     \
    "\\\"KB-0917 Instance families\\\",\\\"score\\\":0.77},{\\\"title\\\":\\\"KB-2203 Request "    \
    "a quota increase\\\",\\\"score\\\":0.74}]"

const char *const sg_llm_input_json =
    "{\"type\":\"chat\",\"messages\":[{\"role\":\"system\",\"content\":\"You are Acme Cloud's "
    "support assistant. Answer briefly and cite the article used.\"},{\"role\":\"user\","
    "\"content\":\"" USER_MSG "\"}]}";
const char *const sg_llm_output_json =
    "{\"type\":\"chat\",\"messages\":[{\"role\":\"assistant\",\"content\":\"" ANSWER_MSG "\"}]}";

int sg_err_k(int spt)
{
    return spt > 2 ? spt / 2 + 1 : spt - 1;
}

void sg_span_vals(int k, int m, int err, sg_vals *v)
{
    memset(v, 0, sizeof(*v));
    v->k = k;
    v->is_err = err && k == err;
    v->dur_ns = (int64_t)(k % 7 + 1) * 100000000LL;
    sg_attr *a = v->attrs;
    int n = 0;
    if (k == 0) {
        v->name = "agent.run";
        v->kind = 1;
        v->kind_json = "SpanKind.INTERNAL";
        v->dur_ns = 30000000000LL;
        a[n++] = (sg_attr){"agent.name", SG_STR, "support-bot", 0, 0};
        a[n++] = (sg_attr){"session.id", SG_STR, "sess-7f3a9c2e", 0, 0};
        a[n++] = (sg_attr){"user.id", SG_STR, "user-4211", 0, 0};
        a[n++] = (sg_attr){"input.value", SG_STR, USER_MSG, 0, 0};
        a[n++] = (sg_attr){"output.value", SG_STR, ANSWER_MSG, 0, 0};
        a[n++] = (sg_attr){"agent.max_steps", SG_INT, NULL, 25, 0};
    } else if (k % 2 == 1) {
        v->is_llm = 1;
        v->provider = providers[m];
        v->model = sg_models[m];
        v->name = m >= 2 ? (m == 2 ? "anthropic.messages" : "google.generate") : "openai.chat";
        v->kind = 3;
        v->kind_json = "SpanKind.CLIENT";
        v->in_tok = 800 + k;
        v->out_tok = 150 + k % 50;
        /* Rounded to the 6 decimals the JSON carries, so both sides agree. */
        v->price =
            (double)(int64_t)(((double)v->in_tok * 2.5e-6 + (double)v->out_tok * 1.0e-5) * 1e6 +
                              0.5) /
            1e6;
        a[n++] = (sg_attr){"gen_ai.system", SG_STR, providers[m], 0, 0};
        a[n++] = (sg_attr){"gen_ai.request.model", SG_STR, sg_models[m], 0, 0};
        a[n++] = (sg_attr){"gen_ai.response.model", SG_STR, sg_models[m], 0, 0};
        a[n++] = (sg_attr){"gen_ai.request.temperature", SG_DBL, NULL, 0, 0.2};
        a[n++] = (sg_attr){"gen_ai.request.max_tokens", SG_INT, NULL, 1024, 0};
        a[n++] = (sg_attr){"gen_ai.usage.input_tokens", SG_INT, NULL, v->in_tok, 0};
        a[n++] = (sg_attr){"gen_ai.usage.output_tokens", SG_INT, NULL, v->out_tok, 0};
        a[n++] = (sg_attr){"gen_ai.response.id", SG_STR, "chatcmpl-9x8Yq2LmN4pQ7rT1", 0, 0};
        a[n++] = (sg_attr){"gen_ai.response.finish_reasons", SG_STR, "stop", 0, 0};
        v->nattrs_json = n;
        a[n++] = (sg_attr){"gen_ai.prompt.0.role", SG_STR, "user", 0, 0};
        a[n++] = (sg_attr){"gen_ai.prompt.0.content", SG_STR, USER_MSG, 0, 0};
        a[n++] = (sg_attr){"gen_ai.completion.0.role", SG_STR, "assistant", 0, 0};
        a[n++] = (sg_attr){"gen_ai.completion.0.content", SG_STR, ANSWER_MSG, 0, 0};
    } else {
        v->name = "tool.kb_search";
        v->kind = 1;
        v->kind_json = "SpanKind.INTERNAL";
        a[n++] = (sg_attr){"tool.name", SG_STR, "kb_search", 0, 0};
        a[n++] = (sg_attr){
            "tool.parameters", SG_STR,
            "{\\\"query\\\":\\\"regional vCPU quota m5 eu-west-2\\\",\\\"top_k\\\":3}", 0, 0};
        a[n++] = (sg_attr){"tool.output", SG_STR, TOOL_OUT, 0, 0};
        a[n++] = (sg_attr){"tool.latency_ms", SG_INT, NULL, 112, 0};
        a[n++] = (sg_attr){"retrieval.documents", SG_INT, NULL, 3, 0};
    }
    v->nattrs = n;
    if (!v->is_llm)
        v->nattrs_json = n;
    if (v->is_err)
        v->status_msg = "upstream 429: rate limit reached for requests";
}

/* ---- bounded output buffer ------------------------------------------- */

typedef struct obuf {
    unsigned char *p;
    size_t len, cap;
} obuf;

static void ob_need(obuf *b, size_t n)
{
    if (b->len + n <= b->cap)
        return;
    size_t nc = b->cap ? b->cap : 4096;
    while (nc < b->len + n)
        nc *= 2;
    unsigned char *np = realloc(b->p, nc);
    if (!np) {
        fprintf(stderr, "spangen: out of memory\n");
        exit(1);
    }
    b->p = np;
    b->cap = nc;
}
static void ob_put(obuf *b, const void *s, size_t n)
{
    ob_need(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
}
static void ob_str(obuf *b, const char *s)
{
    ob_put(b, s, strlen(s));
}

/* Strings above are pre-escaped JSON (they contain \" already). Unescape
 * for OTLP, where they travel raw. */
static size_t unescape(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    for (; *s && o + 1 < cap; s++) {
        if (*s == '\\' && s[1])
            s++;
        out[o++] = *s;
    }
    out[o] = '\0';
    return o;
}

static size_t attr_json(const sg_attr *a, char *out, size_t cap)
{
    switch (a->type) {
    case SG_INT:
        return (size_t)snprintf(out, cap, "\"%s\":%lld", a->key, (long long)a->i);
    case SG_DBL:
        return (size_t)snprintf(out, cap, "\"%s\":%g", a->key, a->d);
    default:
        return (size_t)snprintf(out, cap, "\"%s\":\"%s\"", a->key, a->s);
    }
}

size_t sg_attrs_json(const sg_attr *a, int n, char *out, size_t cap)
{
    size_t o = 0;
    o += (size_t)snprintf(out + o, cap - o, "{");
    for (int i = 0; i < n && o < cap; i++) {
        if (i)
            o += (size_t)snprintf(out + o, cap - o, ",");
        o += attr_json(&a[i], out + o, cap - o);
    }
    o += (size_t)snprintf(out + o, cap - o, "}");
    return o;
}

size_t sg_resource_json(char *out, size_t cap)
{
    size_t o = (size_t)snprintf(out, cap, "{\"attributes\":");
    o += sg_attrs_json(sg_resource, sg_nresource, out + o, cap - o);
    o += (size_t)snprintf(out + o, cap - o, ",\"schema_url\":\"\"}");
    return o;
}

size_t sg_log_request_json(const sg_vals *v, char *out, size_t cap)
{
    return (size_t)snprintf(out, cap,
                            "{\"provider\":\"%s\",\"model\":\"%s\",\"input_tokens\":%lld,"
                            "\"output_tokens\":%lld,\"price\":%.6f,\"input\":%s,\"output\":%s}",
                            v->provider, v->model, (long long)v->in_tok, (long long)v->out_tok,
                            v->price, sg_llm_input_json, sg_llm_output_json);
}

/* ---- JSON (/spans-bulk) template ------------------------------------- */

static void json_span(obuf *b, sg_tpl *t, size_t i, const sg_vals *v)
{
    char tmp[4096];
    if (i)
        ob_str(b, ",");
    ob_str(b, "{\"name\":\"");
    ob_str(b, v->name);
    ob_str(b, "\",\"context\":{\"trace_id\":\"");
    t->trace_off[i] = b->len;
    ob_str(b, "00000000000000000000000000000000");
    ob_str(b, "\",\"span_id\":\"");
    t->span_off[i] = b->len;
    ob_str(b, "0000000000000000");
    ob_str(b, "\"},\"parent_id\":");
    if (v->k == 0) {
        t->parent_off[i] = SG_NOFF;
        ob_str(b, "null");
    } else {
        ob_str(b, "\"");
        t->parent_off[i] = b->len;
        ob_str(b, "0000000000000000\"");
    }
    ob_str(b, ",\"kind\":\"");
    ob_str(b, v->kind_json);
    ob_str(b, "\",\"start_time\":");
    t->start_off[i] = b->len;
    ob_str(b, "0000000000000000000");
    ob_str(b, ",\"end_time\":");
    t->end_off[i] = b->len;
    ob_str(b, "0000000000000000000");
    if (v->is_err) {
        ob_str(b, ",\"status\":{\"status_code\":\"StatusCode.ERROR\",\"description\":\"");
        ob_str(b, v->status_msg);
        ob_str(b, "\"}");
    } else {
        ob_str(b, ",\"status\":{\"status_code\":\"StatusCode.OK\",\"description\":null}");
    }
    ob_str(b, ",\"attributes\":");
    ob_put(b, tmp, sg_attrs_json(v->attrs, v->nattrs_json, tmp, sizeof(tmp)));
    ob_str(b, ",\"events\":[],\"links\":[],\"resource\":");
    ob_put(b, tmp, sg_resource_json(tmp, sizeof(tmp)));
    if (v->is_llm) {
        ob_str(b, ",\"log_request\":");
        ob_put(b, tmp, sg_log_request_json(v, tmp, sizeof(tmp)));
    }
    ob_str(b, "}");
}

/* ---- OTLP protobuf template ------------------------------------------ */

static void pb_varint(obuf *b, uint64_t v)
{
    unsigned char tmp[10];
    size_t n = 0;
    do {
        tmp[n++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    ob_put(b, tmp, n);
}
static void pb_tag(obuf *b, unsigned field, unsigned wt)
{
    pb_varint(b, (uint64_t)field << 3 | wt);
}
static void pb_bytes(obuf *b, unsigned field, const void *p, size_t n)
{
    pb_tag(b, field, 2);
    pb_varint(b, n);
    ob_put(b, p, n);
}
static void pb_str(obuf *b, unsigned field, const char *s)
{
    char tmp[2048];
    size_t n = unescape(s, tmp, sizeof(tmp));
    pb_bytes(b, field, tmp, n);
}
static void pb_sub(obuf *b, unsigned field, const obuf *sub)
{
    pb_bytes(b, field, sub->p, sub->len);
}

static void pb_attr(obuf *b, unsigned field, const sg_attr *a)
{
    obuf kv = {0}, av = {0};
    pb_str(&kv, 1, a->key);
    if (a->type == SG_INT) {
        pb_tag(&av, 3, 0);
        pb_varint(&av, (uint64_t)a->i);
    } else if (a->type == SG_DBL) {
        pb_tag(&av, 4, 1);
        ob_put(&av, &a->d, 8); /* little-endian hosts only (x86-64, arm64) */
    } else {
        pb_str(&av, 1, a->s);
    }
    pb_sub(&kv, 2, &av);
    pb_sub(b, field, &kv);
    free(kv.p);
    free(av.p);
}

/* One Span message into b; offsets are relative to b's start. */
static void otlp_span(obuf *b, sg_tpl *t, size_t i, const sg_vals *v)
{
    static const unsigned char z[16];
    pb_tag(b, 1, 2);
    pb_varint(b, 16);
    t->trace_off[i] = b->len;
    ob_put(b, z, 16);
    pb_tag(b, 2, 2);
    pb_varint(b, 8);
    t->span_off[i] = b->len;
    ob_put(b, z, 8);
    if (v->k == 0) {
        t->parent_off[i] = SG_NOFF;
    } else {
        pb_tag(b, 4, 2);
        pb_varint(b, 8);
        t->parent_off[i] = b->len;
        ob_put(b, z, 8);
    }
    pb_str(b, 5, v->name);
    pb_tag(b, 6, 0);
    pb_varint(b, (uint64_t)v->kind);
    pb_tag(b, 7, 1);
    t->start_off[i] = b->len;
    ob_put(b, z, 8);
    pb_tag(b, 8, 1);
    t->end_off[i] = b->len;
    ob_put(b, z, 8);
    for (int a = 0; a < v->nattrs; a++)
        pb_attr(b, 9, &v->attrs[a]);
    if (v->is_llm) {
        sg_attr extra = {"gen_ai.usage.cost", SG_DBL, NULL, 0, v->price};
        pb_attr(b, 9, &extra);
    }
    obuf st = {0};
    if (v->is_err)
        pb_str(&st, 2, v->status_msg);
    pb_tag(&st, 3, 0);
    pb_varint(&st, v->is_err ? 2 : 1);
    pb_sub(b, 15, &st);
    free(st.p);
}

static void shift(sg_tpl *t, size_t from, size_t to, size_t by)
{
    for (size_t i = from; i < to; i++) {
        t->trace_off[i] += by;
        t->span_off[i] += by;
        if (t->parent_off[i] != SG_NOFF)
            t->parent_off[i] += by;
        t->start_off[i] += by;
        t->end_off[i] += by;
    }
}

/* Wraps inner as field `field` appended to outer; offsets [from,to) of
 * inner move by the position they land at. */
static void wrap(obuf *outer, unsigned field, obuf *inner, sg_tpl *t, size_t from, size_t to)
{
    pb_tag(outer, field, 2);
    pb_varint(outer, inner->len);
    shift(t, from, to, outer->len);
    ob_put(outer, inner->p, inner->len);
}

static void build_otlp(sg_tpl *t, const sg_vals *vals, int n)
{
    obuf spans = {0}, one = {0}, ss = {0}, rs = {0}, req = {0}, res = {0}, scope = {0};
    for (int i = 0; i < n; i++) {
        one.len = 0;
        otlp_span(&one, t, (size_t)i, &vals[i]);
        wrap(&spans, 2, &one, t, (size_t)i, (size_t)i + 1);
    }
    pb_str(&scope, 1, "opentelemetry.instrumentation.openai");
    pb_str(&scope, 2, "0.30.0");
    pb_sub(&ss, 1, &scope);
    shift(t, 0, (size_t)n, ss.len);
    ob_put(&ss, spans.p, spans.len);
    for (int a = 0; a < sg_nresource; a++)
        pb_attr(&res, 1, &sg_resource[a]);
    pb_sub(&rs, 1, &res);
    wrap(&rs, 2, &ss, t, 0, (size_t)n);
    wrap(&req, 1, &rs, t, 0, (size_t)n);
    t->body = req.p;
    t->len = req.len;
    free(spans.p);
    free(one.p);
    free(ss.p);
    free(rs.p);
    free(res.p);
    free(scope.p);
}

static void build_json(sg_tpl *t, const sg_vals *vals, int n)
{
    obuf b = {0};
    ob_str(&b, "{\"spans\":[");
    for (int i = 0; i < n; i++)
        json_span(&b, t, (size_t)i, &vals[i]);
    ob_str(&b, "]}");
    t->body = b.p;
    t->len = b.len;
}

/* ---- request families ------------------------------------------------ */

static uint64_t gcd(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t r = a % b;
        a = b;
        b = r;
    }
    return a;
}

int sg_trace_model(uint64_t t)
{
    return (int)(t % SG_MODELS);
}

int sg_trace_err(uint64_t t)
{
    return t % 16 == 7;
}

void sg_variant(const sg_set *s, uint64_t r, int *phase, int *m, int *err)
{
    uint64_t t0 = r * (uint64_t)s->n / (uint64_t)s->spt;
    *phase = (int)(r % (uint64_t)s->phases);
    *m = sg_trace_model(t0);
    *err = sg_trace_err(t0);
}

int sg_set_build(sg_set *s, sg_format fmt, int n, int spt, uint32_t tag)
{
    if (n <= 0 || spt <= 0 || (n % spt != 0 && spt % n != 0))
        return -1;
    memset(s, 0, sizeof(*s));
    s->fmt = fmt;
    s->n = n;
    s->spt = spt;
    s->tag = tag;
    s->base_ns = 1760000000000000000LL; /* 2025-10-09: fixed, so times are 19 digits */
    s->phases = (int)((uint64_t)spt / gcd((uint64_t)n, (uint64_t)spt));
    size_t nt = (size_t)s->phases * SG_MODELS * 2;
    s->tpl = calloc(nt, sizeof(*s->tpl));
    sg_vals *vals = calloc((size_t)n, sizeof(*vals));
    if (!s->tpl || !vals)
        return -1;
    for (int p = 0; p < s->phases; p++)
        for (int m = 0; m < SG_MODELS; m++)
            for (int e = 0; e < 2; e++) {
                sg_tpl *t = &s->tpl[((size_t)p * SG_MODELS + (size_t)m) * 2 + (size_t)e];
                size_t *offs = calloc((size_t)n * 5, sizeof(size_t));
                t->dur = calloc((size_t)n, sizeof(int64_t));
                t->k = calloc((size_t)n, sizeof(int));
                if (!offs || !t->dur || !t->k)
                    return -1;
                t->trace_off = offs;
                t->span_off = offs + n;
                t->parent_off = offs + 2 * n;
                t->start_off = offs + 3 * n;
                t->end_off = offs + 4 * n;
                for (int i = 0; i < n; i++) {
                    int k = (int)(((uint64_t)p * (uint64_t)n + (uint64_t)i) % (uint64_t)spt);
                    sg_span_vals(k, m, e ? sg_err_k(spt) : 0, &vals[i]);
                    t->dur[i] = vals[i].dur_ns;
                    t->k[i] = k;
                }
                if (fmt == SG_JSON)
                    build_json(t, vals, n);
                else
                    build_otlp(t, vals, n);
            }
    free(vals);
    return 0;
}

void sg_set_free(sg_set *s)
{
    size_t nt = (size_t)s->phases * SG_MODELS * 2;
    for (size_t i = 0; s->tpl && i < nt; i++) {
        free(s->tpl[i].body);
        free(s->tpl[i].trace_off);
        free(s->tpl[i].dur);
        free(s->tpl[i].k);
    }
    free(s->tpl);
    s->tpl = NULL;
}

const sg_tpl *sg_pick(const sg_set *s, uint64_t r)
{
    int p, m, e;
    sg_variant(s, r, &p, &m, &e);
    return &s->tpl[((size_t)p * SG_MODELS + (size_t)m) * 2 + (size_t)e];
}

static const char hexd[] = "0123456789abcdef";

static void put_hex(char *o, uint64_t v, int digits)
{
    for (int i = digits - 1; i >= 0; i--) {
        o[i] = hexd[v & 15];
        v >>= 4;
    }
}

/* splitmix64's finaliser: a bijection, so distinct inputs stay distinct. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void sg_trace_hex(uint32_t tag, uint64_t t, char out[33])
{
    /* Real trace ids are random: the leading 64 bits are a bijective hash
     * of (tag, t), so consecutive traces land on random index pages, as
     * they do in production. The tail keeps the tag and t readable. */
    put_hex(out, mix64((uint64_t)tag << 40 ^ t), 16);
    put_hex(out + 16, tag, 8);
    put_hex(out + 24, t & 0xffffffffULL, 8);
    out[32] = '\0';
}

void sg_span_hex(uint32_t tag, uint64_t g, char out[17])
{
    /* Random, as SDKs make them (OpenTelemetry: 64 random bits): a
     * bijective hash of (tag's low byte, g), so ids stay distinct across
     * runs of the same trace numbering. Sequential ids would flatter any
     * index keyed by span id: with them, bulk ingest ran 1.6-1.8x faster
     * while such an index existed (docs/PERFORMANCE.md, "Levers tried"). */
    put_hex(out, mix64((uint64_t)(tag & 0xff) << 56 | (g & 0x00ffffffffffffffULL)), 16);
    out[16] = '\0';
}

static void put_dec19(unsigned char *o, int64_t v)
{
    for (int i = 18; i >= 0; i--) {
        o[i] = (unsigned char)('0' + v % 10);
        v /= 10;
    }
}

static void put_raw_hex(unsigned char *o, const char *hex, size_t nbytes)
{
    for (size_t i = 0; i < nbytes; i++) {
        int hi = hex[2 * i] <= '9' ? hex[2 * i] - '0' : hex[2 * i] - 'a' + 10;
        int lo = hex[2 * i + 1] <= '9' ? hex[2 * i + 1] - '0' : hex[2 * i + 1] - 'a' + 10;
        o[i] = (unsigned char)(hi << 4 | lo);
    }
}

void sg_patch(const sg_set *s, const sg_tpl *t, unsigned char *body, uint64_t r)
{
    char th[33], sh[17], ph[17];
    uint64_t last_t = UINT64_MAX;
    for (int i = 0; i < s->n; i++) {
        uint64_t g = r * (uint64_t)s->n + (uint64_t)i;
        uint64_t tr = g / (uint64_t)s->spt;
        if (tr != last_t) {
            sg_trace_hex(s->tag, tr, th);
            sg_span_hex(s->tag, tr * (uint64_t)s->spt, ph);
            last_t = tr;
        }
        sg_span_hex(s->tag, g, sh);
        int64_t start = s->base_ns + (int64_t)tr * 1000000 + (int64_t)t->k[i] * 1000;
        int64_t end = start + t->dur[i];
        if (s->fmt == SG_JSON) {
            memcpy(body + t->trace_off[i], th, 32);
            memcpy(body + t->span_off[i], sh, 16);
            if (t->parent_off[i] != SG_NOFF)
                memcpy(body + t->parent_off[i], ph, 16);
            put_dec19(body + t->start_off[i], start);
            put_dec19(body + t->end_off[i], end);
        } else {
            put_raw_hex(body + t->trace_off[i], th, 16);
            put_raw_hex(body + t->span_off[i], sh, 8);
            if (t->parent_off[i] != SG_NOFF)
                put_raw_hex(body + t->parent_off[i], ph, 8);
            memcpy(body + t->start_off[i], &start, 8);
            memcpy(body + t->end_off[i], &end, 8);
        }
    }
}

static void dim_add(sg_dims *d, int dim, const char *val)
{
    if (!val)
        return;
    for (int i = 0; i < d->n; i++)
        if (d->row[i].dim == dim && strcmp(d->row[i].val, val) == 0) {
            d->row[i].n++;
            return;
        }
    if (d->n == (int)(sizeof(d->row) / sizeof(d->row[0])))
        return;
    d->row[d->n].dim = dim;
    snprintf(d->row[d->n].val, sizeof(d->row[d->n].val), "%s", val);
    d->row[d->n].n = 1;
    d->n++;
}

void sg_dims_add_span(sg_dims *d, const sg_vals *v, const char *parent_hex)
{
    dim_add(d, TS_DIM_MODEL, v->model);
    dim_add(d, TS_DIM_FAILURE, v->is_err ? "rate_limit" : NULL);
    dim_add(d, TS_DIM_NAME, v->name);
    dim_add(d, TS_DIM_TYPE, v->is_llm ? "llm" : "other");
    dim_add(d, TS_DIM_PARENT, parent_hex);
    dim_add(d, TS_DIM_PROVIDER, v->provider);
    dim_add(d, TS_DIM_STATUS, v->is_err ? "error" : "success");
}

/* genai.c: see genai.h. The mapping is the table `rules` below: for each
 * target field, the attribute names in priority order (first wins). Prefix
 * families (gen_ai.prompt.N.*, gen_ai.completion.N.*, *.metadata.*) and the
 * exception event are handled after it. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ingest/genai.h"
#include "tracestore/err.h"
#include "tracestore/ids.h"

enum field {
    F_MODEL,
    F_PROVIDER,
    F_PROMPT,
    F_COMPLETION,
    F_TOTAL,
    F_CACHE_READ,
    F_CACHE_WRITE,
    F_REASONING,
    F_COST,
    F_COST_PROMPT,
    F_COST_COMPLETION,
    F_TYPE,
    F_SESSION,
    F_USER,
    F_INPUT,
    F_OUTPUT,
    F_NFIELDS
};

enum conv { C_STR, C_TOKENS, C_COST, C_TYPE_GENAI, C_TYPE_OI, C_TYPE_TL, C_TYPE_LLMREQ, C_TEXT };

typedef struct rule {
    const char *key;
    enum field field;
    enum conv conv;
    int resource_ok; /* also read from resource attributes */
} rule;

/* THE mapping table. Within a field, earlier rows win. */
static const rule rules[] = {
    /* model: the model that answered, then the one asked for */
    {"gen_ai.response.model", F_MODEL, C_STR, 0},
    {"gen_ai.request.model", F_MODEL, C_STR, 0},
    {"llm.model_name", F_MODEL, C_STR, 0},
    {"llm.request.model", F_MODEL, C_STR, 0},
    {"llm.response.model", F_MODEL, C_STR, 0},
    /* provider */
    {"gen_ai.provider.name", F_PROVIDER, C_STR, 0},
    {"gen_ai.system", F_PROVIDER, C_STR, 0},
    {"llm.provider", F_PROVIDER, C_STR, 0},
    {"llm.system", F_PROVIDER, C_STR, 0},
    /* tokens (input includes cached tokens, output includes reasoning) */
    {"gen_ai.usage.input_tokens", F_PROMPT, C_TOKENS, 0},
    {"gen_ai.usage.prompt_tokens", F_PROMPT, C_TOKENS, 0},
    {"llm.token_count.prompt", F_PROMPT, C_TOKENS, 0},
    {"llm.usage.prompt_tokens", F_PROMPT, C_TOKENS, 0},
    {"gen_ai.usage.output_tokens", F_COMPLETION, C_TOKENS, 0},
    {"gen_ai.usage.completion_tokens", F_COMPLETION, C_TOKENS, 0},
    {"llm.token_count.completion", F_COMPLETION, C_TOKENS, 0},
    {"llm.usage.completion_tokens", F_COMPLETION, C_TOKENS, 0},
    {"gen_ai.usage.total_tokens", F_TOTAL, C_TOKENS, 0},
    {"llm.token_count.total", F_TOTAL, C_TOKENS, 0},
    {"llm.usage.total_tokens", F_TOTAL, C_TOKENS, 0},
    {"gen_ai.usage.cache_read.input_tokens", F_CACHE_READ, C_TOKENS, 0},
    {"llm.token_count.prompt_details.cache_read", F_CACHE_READ, C_TOKENS, 0},
    {"gen_ai.usage.cache_read_input_tokens", F_CACHE_READ, C_TOKENS, 0},
    {"gen_ai.usage.cache_creation.input_tokens", F_CACHE_WRITE, C_TOKENS, 0},
    {"llm.token_count.prompt_details.cache_write", F_CACHE_WRITE, C_TOKENS, 0},
    {"gen_ai.usage.cache_creation_input_tokens", F_CACHE_WRITE, C_TOKENS, 0},
    {"gen_ai.usage.reasoning.output_tokens", F_REASONING, C_TOKENS, 0},
    {"llm.token_count.completion_details.reasoning", F_REASONING, C_TOKENS, 0},
    {"gen_ai.usage.reasoning_tokens", F_REASONING, C_TOKENS, 0},
    /* cost the client computed (USD) */
    {"gen_ai.usage.cost", F_COST, C_COST, 0},
    {"llm.cost.total", F_COST, C_COST, 0},
    {"llm.cost.prompt", F_COST_PROMPT, C_COST, 0},
    {"llm.cost.completion", F_COST_COMPLETION, C_COST, 0},
    /* span type */
    {"gen_ai.operation.name", F_TYPE, C_TYPE_GENAI, 0},
    {"openinference.span.kind", F_TYPE, C_TYPE_OI, 0},
    {"traceloop.span.kind", F_TYPE, C_TYPE_TL, 0},
    {"llm.request.type", F_TYPE, C_TYPE_LLMREQ, 0},
    /* session and user */
    {"gen_ai.conversation.id", F_SESSION, C_TEXT, 1},
    {"session.id", F_SESSION, C_TEXT, 1},
    {"user.id", F_USER, C_TEXT, 1},
    {"enduser.id", F_USER, C_TEXT, 1},
    /* input and output (gen_ai.prompt.N.* / gen_ai.completion.N.* rank
     * between the first and second rows: see messages()) */
    {"gen_ai.input.messages", F_INPUT, C_TEXT, 0},
    {"input.value", F_INPUT, C_TEXT, 0},
    {"traceloop.entity.input", F_INPUT, C_TEXT, 0},
    {"gen_ai.output.messages", F_OUTPUT, C_TEXT, 0},
    {"output.value", F_OUTPUT, C_TEXT, 0},
    {"traceloop.entity.output", F_OUTPUT, C_TEXT, 0},
};
#define NRULES (sizeof(rules) / sizeof(rules[0]))
#define RES_RANK 1000 /* resource attributes rank after every span attribute */

/* Span types from gen_ai.operation.name, openinference.span.kind,
 * traceloop.span.kind and llm.request.type (case-insensitive). */
typedef struct tmap {
    const char *value;
    const char *type;
} tmap;

static const tmap genai_ops[] = {{"chat", "llm"},
                                 {"text_completion", "llm"},
                                 {"generate_content", "llm"},
                                 {"embeddings", "llm"},
                                 {"completion", "llm"},
                                 {"execute_tool", "tool"},
                                 {"retrieval", "retrieval"},
                                 {"create_agent", "agent"},
                                 {"invoke_agent", "agent"},
                                 {"invoke_workflow", "chain"},
                                 {NULL, NULL}};
static const tmap oi_kinds[] = {{"llm", "llm"},
                                {"embedding", "llm"},
                                {"tool", "tool"},
                                {"retriever", "retrieval"},
                                {"reranker", "retrieval"},
                                {"agent", "agent"},
                                {"chain", "chain"},
                                {"guardrail", "other"},
                                {"evaluator", "other"},
                                {"prompt", "other"},
                                {NULL, NULL}};
static const tmap tl_kinds[] = {{"workflow", "chain"}, {"task", "chain"}, {"agent", "agent"},
                                {"tool", "tool"},      {"llm", "llm"},    {NULL, NULL}};
static const tmap llm_req[] = {
    {"chat", "llm"}, {"completion", "llm"}, {"embedding", "llm"}, {"rerank", "llm"}, {NULL, NULL}};

typedef struct best {
    int rank; /* -1: nothing yet */
    const ts_attr_value *v;
    union {
        int64_t tokens;
        double cost;
        const char *type;
    } u;
} best;

static int conv_tokens(const ts_attr_value *v, int64_t *out)
{
    switch (v->type) {
    case TS_AV_INT:
        *out = v->i;
        return ts_tokens_ok(v->i);
    case TS_AV_DOUBLE:
        if (!isfinite(v->d) || v->d < 0 || v->d > (double)TS_TOKENS_MAX || v->d != floor(v->d))
            return 0;
        *out = (int64_t)v->d;
        return 1;
    case TS_AV_STR: {
        char *end = NULL;
        if (!v->s[0] || v->s[0] == '-' || v->s[0] == '+' || v->s[0] == ' ')
            return 0;
        errno = 0;
        long long n = strtoll(v->s, &end, 10);
        if (errno || *end || !ts_tokens_ok(n))
            return 0;
        *out = n;
        return 1;
    }
    default:
        return 0;
    }
}

static int conv_cost(const ts_attr_value *v, double *out)
{
    double d;
    if (v->type == TS_AV_INT)
        d = (double)v->i;
    else if (v->type == TS_AV_DOUBLE)
        d = v->d;
    else if (v->type == TS_AV_STR && v->s[0]) {
        char *end = NULL;
        d = strtod(v->s, &end);
        if (*end)
            return 0;
    } else
        return 0;
    if (!ts_cost_ok(d))
        return 0;
    *out = d;
    return 1;
}

static const char *conv_type(const tmap *m, const ts_attr_value *v)
{
    if (v->type != TS_AV_STR)
        return NULL;
    for (; m->value; m++)
        if (strcasecmp(m->value, v->s) == 0)
            return m->type;
    return NULL;
}

/* Whether v is usable for rule r; stores the converted value in b. */
static int convert(const rule *r, const ts_attr_value *v, best *b)
{
    switch (r->conv) {
    case C_STR:
        return v->type == TS_AV_STR && v->s[0];
    case C_TEXT:
        return v->type != TS_AV_EMPTY && !(v->type == TS_AV_STR && !v->s[0]);
    case C_TOKENS:
        return conv_tokens(v, &b->u.tokens);
    case C_COST:
        return conv_cost(v, &b->u.cost);
    case C_TYPE_GENAI:
        return (b->u.type = conv_type(genai_ops, v)) != NULL;
    case C_TYPE_OI:
        return (b->u.type = conv_type(oi_kinds, v)) != NULL;
    case C_TYPE_TL:
        return (b->u.type = conv_type(tl_kinds, v)) != NULL;
    case C_TYPE_LLMREQ:
        return (b->u.type = conv_type(llm_req, v)) != NULL;
    }
    return 0;
}

/* Rule lookup by attribute name: an open-addressed table of rule index + 1
 * (every key appears in one rule), built once. A strcmp against each of the
 * 48 rules per attribute was 4 % of a bulk span's decode. */
#define RULE_SLOTS 128
static unsigned char rule_slot[RULE_SLOTS];
_Static_assert(NRULES < RULE_SLOTS / 2, "rule table too full for RULE_SLOTS");
static pthread_once_t rule_once = PTHREAD_ONCE_INIT;

static void rule_index_build(void)
{
    for (size_t r = 0; r < NRULES; r++) {
        unsigned i = (unsigned)(ts_str_hash(rules[r].key) % RULE_SLOTS);
        while (rule_slot[i])
            i = (i + 1) % RULE_SLOTS;
        rule_slot[i] = (unsigned char)(r + 1);
    }
}

/* Index of the rule for attribute name k, or -1. */
static int rule_of(const char *k)
{
    unsigned i = (unsigned)(ts_str_hash(k) % RULE_SLOTS);
    for (; rule_slot[i]; i = (i + 1) % RULE_SLOTS)
        if (strcmp(rules[rule_slot[i] - 1].key, k) == 0)
            return rule_slot[i] - 1;
    return -1;
}

static void scan(best *bests, const ts_attr *kv, size_t n, int resource)
{
    pthread_once(&rule_once, rule_index_build);
    for (size_t i = 0; i < n; i++) {
        const char *k = kv[i].key;
        int r = k ? rule_of(k) : -1;
        if (r < 0 || (resource && !rules[r].resource_ok))
            continue;
        const rule *ru = &rules[r];
        int rank = r + (resource ? RES_RANK : 0);
        best *b = &bests[ru->field];
        best cand = *b;
        if (b->rank >= 0 && b->rank <= rank)
            continue;
        if (convert(ru, &kv[i].v, &cand)) {
            cand.rank = rank;
            cand.v = &kv[i].v;
            *b = cand;
        }
    }
}

/* Text of a value meant as free text: strings as they are (shared, not
 * copied: see genai.h), others as JSON. */
static char *value_text(const ts_attr_value *v, ts_arena *a)
{
    if (v->type == TS_AV_STR)
        return (char *)v->s;
    ts_jw w = {0};
    ts_jw_value(&w, v);
    char *out = ts_jw_take(&w, a);
    ts_jw_free(&w);
    return out;
}

/* ---- gen_ai.prompt.N.<field> / gen_ai.completion.N.<field> ---- */

typedef struct indexed {
    long n;
    size_t order;
    const char *field;
    const ts_attr_value *v;
} indexed;

static int cmp_indexed(const void *x, const void *y)
{
    const indexed *a = x, *b = y;
    if (a->n != b->n)
        return a->n < b->n ? -1 : 1;
    return a->order < b->order ? -1 : (a->order > b->order);
}

/* Renders [{"role":..,"content":..},...] from prefix.N.field attributes,
 * ordered by N. NULL (no error) when there are none. */
static int indexed_messages(const ts_attr *kv, size_t n, const char *prefix, ts_arena *a,
                            char **out)
{
    size_t pl = strlen(prefix), cnt = 0;
    indexed *items = NULL;
    *out = NULL;
    for (size_t i = 0; i < n; i++)
        if (kv[i].key && strncmp(kv[i].key, prefix, pl) == 0)
            cnt++;
    if (cnt == 0)
        return TS_OK;
    if (!(items = ts_arena_alloc(a, cnt * sizeof(*items))))
        return TS_ENOMEM;
    cnt = 0;
    for (size_t i = 0; i < n; i++) {
        const char *k = kv[i].key;
        char *end = NULL;
        if (!k || strncmp(k, prefix, pl) != 0 || k[pl] < '0' || k[pl] > '9')
            continue;
        long idx = strtol(k + pl, &end, 10);
        if (*end != '.' || !end[1] || idx < 0 || idx > 100000)
            continue;
        items[cnt++] = (indexed){idx, i, end + 1, &kv[i].v};
    }
    if (cnt == 0)
        return TS_OK;
    qsort(items, cnt, sizeof(*items), cmp_indexed);
    ts_jw w = {0};
    ts_jw_raw(&w, "[", 1);
    for (size_t i = 0; i < cnt; i++) {
        int first = i == 0 || items[i].n != items[i - 1].n;
        if (first)
            ts_jw_raw(&w, i ? "},{" : "{", i ? 3 : 1);
        else
            ts_jw_raw(&w, ",", 1);
        ts_jw_str(&w, items[i].field);
        ts_jw_raw(&w, ":", 1);
        ts_jw_value(&w, items[i].v);
    }
    ts_jw_raw(&w, "}]", 2);
    *out = ts_jw_take(&w, a);
    ts_jw_free(&w);
    return *out ? TS_OK : TS_ENOMEM;
}

/* ---- metadata: promptlayer.metadata.<k>, respan.metadata.<k>, respan.metadata{kvlist} ---- */

typedef struct meta {
    ts_jw w;
    const char *keys[1024]; /* further keys are dropped (max_attributes_per_span is 1024) */
    size_t nkeys;
} meta;

static void meta_add(meta *m, const char *key, const ts_attr_value *v)
{
    for (size_t i = 0; i < m->nkeys; i++)
        if (strcmp(m->keys[i], key) == 0)
            return; /* first wins: span before resource */
    if (m->nkeys == sizeof(m->keys) / sizeof(m->keys[0]) || !key[0])
        return;
    m->keys[m->nkeys++] = key;
    ts_jw_raw(&m->w, m->nkeys == 1 ? "{" : ",", 1);
    ts_jw_str(&m->w, key);
    ts_jw_raw(&m->w, ":", 1);
    ts_jw_value(&m->w, v);
}

static void meta_scan(meta *m, const ts_attr *kv, size_t n)
{
    static const char *const prefixes[] = {"promptlayer.metadata.", "respan.metadata."};
    for (size_t i = 0; i < n; i++) {
        const char *k = kv[i].key;
        if (!k)
            continue;
        if (k[0] != 'p' && k[0] != 'r')
            continue;
        for (size_t p = 0; p < 2; p++) {
            size_t pl = strlen(prefixes[p]);
            if (strncmp(k, prefixes[p], pl) == 0)
                meta_add(m, k + pl, &kv[i].v);
        }
        if (strcmp(k, "respan.metadata") == 0 && kv[i].v.type == TS_AV_KVLIST)
            for (size_t j = 0; j < kv[i].v.nkvs; j++)
                if (kv[i].v.kvs[j].key)
                    meta_add(m, kv[i].v.kvs[j].key, &kv[i].v.kvs[j].v);
    }
}

static int apply_metadata(ts_span *s, const ts_genai_src *src, ts_arena *a)
{
    if (s->metadata)
        return TS_OK;
    meta m;
    memset(&m, 0, sizeof(m));
    meta_scan(&m, src->attrs, src->nattrs);
    meta_scan(&m, src->res_attrs, src->nres);
    if (m.nkeys) {
        ts_jw_raw(&m.w, "}", 1);
        s->metadata = ts_jw_take(&m.w, a);
    }
    int oom = m.nkeys && !s->metadata;
    ts_jw_free(&m.w);
    return oom ? TS_ENOMEM : TS_OK;
}

/* error from an "exception" event (status ERROR is handled by ingest). */
static int apply_exception(ts_span *s, const ts_genai_src *src, ts_arena *a)
{
    if (s->error)
        return TS_OK;
    for (size_t i = 0; i < src->nevents; i++) {
        const ts_genai_event *e = &src->events[i];
        if (!e->name || strcmp(e->name, "exception") != 0)
            continue;
        const ts_attr *msg = ts_attr_find(e->attrs, e->nattrs, "exception.message");
        const ts_attr *typ = ts_attr_find(e->attrs, e->nattrs, "exception.type");
        const ts_attr *pick = msg && msg->v.type == TS_AV_STR && msg->v.s[0] ? msg : typ;
        if (pick && pick->v.type == TS_AV_STR && pick->v.s[0])
            s->error = ts_arena_strdup(a, pick->v.s);
        else
            s->error = "exception";
        return s->error ? TS_OK : TS_ENOMEM;
    }
    return TS_OK;
}

static int set_text(char **dst, const best *b, ts_arena *a)
{
    if (*dst || b->rank < 0)
        return TS_OK;
    *dst = value_text(b->v, a);
    return *dst ? TS_OK : TS_ENOMEM;
}

/* The structured attribute (primary) wins, then the indexed family, then
 * the remaining rows of the table. */
static int messages(char **dst, const best *b, const char *primary, const ts_genai_src *src,
                    const char *prefix, ts_arena *a)
{
    int rc;
    if (*dst)
        return TS_OK;
    if (b->rank >= 0 && strcmp(rules[b->rank].key, primary) == 0)
        return set_text(dst, b, a);
    if ((rc = indexed_messages(src->attrs, src->nattrs, prefix, a, dst)) != TS_OK || *dst)
        return rc;
    return set_text(dst, b, a);
}

static void set_tokens(int64_t *dst, const best *b)
{
    if (*dst == TS_TOKENS_ABSENT && b->rank >= 0)
        *dst = b->u.tokens;
}

int ts_genai_apply(ts_span *s, const ts_genai_src *src, ts_arena *a)
{
    best b[F_NFIELDS];
    int rc;
    for (int i = 0; i < F_NFIELDS; i++) {
        b[i].rank = -1;
        b[i].v = NULL;
    }
    scan(b, src->attrs, src->nattrs, 0);
    scan(b, src->res_attrs, src->nres, 1);

    if ((rc = set_text(&s->model, &b[F_MODEL], a)) != TS_OK ||
        (rc = set_text(&s->provider, &b[F_PROVIDER], a)) != TS_OK ||
        (rc = set_text(&s->session_id, &b[F_SESSION], a)) != TS_OK ||
        (rc = set_text(&s->user_id, &b[F_USER], a)) != TS_OK)
        return rc;
    set_tokens(&s->prompt_tokens, &b[F_PROMPT]);
    set_tokens(&s->completion_tokens, &b[F_COMPLETION]);
    set_tokens(&s->total_tokens, &b[F_TOTAL]);
    set_tokens(&s->cache_read_tokens, &b[F_CACHE_READ]);
    set_tokens(&s->cache_write_tokens, &b[F_CACHE_WRITE]);
    set_tokens(&s->reasoning_tokens, &b[F_REASONING]);
    if (!s->has_cost) {
        if (b[F_COST].rank >= 0) {
            s->has_cost = 1;
            s->cost = b[F_COST].u.cost;
        } else if (b[F_COST_PROMPT].rank >= 0 || b[F_COST_COMPLETION].rank >= 0) {
            double c = (b[F_COST_PROMPT].rank >= 0 ? b[F_COST_PROMPT].u.cost : 0) +
                       (b[F_COST_COMPLETION].rank >= 0 ? b[F_COST_COMPLETION].u.cost : 0);
            s->has_cost = ts_cost_ok(c); /* the sum is bounded like a total */
            s->cost = s->has_cost ? c : 0;
        }
    }
    if (!s->type && b[F_TYPE].rank >= 0)
        s->type = (char *)b[F_TYPE].u.type;
    /* Input: gen_ai.input.messages, then gen_ai.prompt.N.*, then the rest. */
    if ((rc = messages(&s->input, &b[F_INPUT], "gen_ai.input.messages", src, "gen_ai.prompt.",
                       a)) != TS_OK ||
        (rc = messages(&s->output, &b[F_OUTPUT], "gen_ai.output.messages", src,
                       "gen_ai.completion.", a)) != TS_OK)
        return rc;
    if ((rc = apply_metadata(s, src, a)) != TS_OK)
        return rc;
    return apply_exception(s, src, a);
}

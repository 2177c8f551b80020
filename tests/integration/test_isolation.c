/* test_isolation.c: tenant isolation matrix (issue 6 item 6). Every route that
 * touches traces, times six kinds of key, times three targets (the caller's
 * own trace T, another workspace's trace, a missing id). Another workspace's
 * trace must answer exactly like a missing one, bad keys must get the route
 * family's 401, and the other workspace's data must read back byte-identical
 * after every attempt. docs/TESTING.md "Tenant isolation" describes it. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE
#endif

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

/* 2023-11-14T22:13:20Z in ns; seeded spans start here. */
#define T0 INT64_C(1700000000000000000)
#define MS INT64_C(1000000)
#define WINDOW "from=2023-11-14T00:00:00Z&to=2023-11-16T00:00:00Z"
#define NSNAP 9

static const char RESPAN_401[] = "Your API key is invalid or expired, please check your API key at "
                                 "https://platform.respan.ai/platform/api/api-keys";
static const char PL_401[] =
    "{\"success\":false,\"message\":\"Invalid or missing API key\",\"error\":\"invalid_api_key\"}";
static const char TL_401[] =
    "{\"error\":\"invalid API key\",\"code\":\"invalid_api_key\",\"message\":\"invalid API key\"}";

typedef enum { FAM_PL, FAM_TL, FAM_RS } family;

/* One workspace's fixture: its key, its copy of T and its own trace. */
typedef struct ws_fix {
    const char *name;
    const char *key;
    char only[33];      /* trace only this workspace has (closed) */
    char only_span[17]; /* its root span */
    char child[17];     /* T's second span, different per workspace */
    char project[64];   /* default project UUID */
} ws_fix;

static ts_daemon D;
static ws_fix A, B;        /* alpha, beta */
static char T[33];         /* the trace id both workspaces use */
static char T_SPAN[17];    /* T's root span id, also the same in both */
static char M[33];         /* missing everywhere */
static char M_SPAN[17];    /* span id nobody has */
static char M_PROJECT[37]; /* project UUID nobody has */
static char ING_SPAN[17];  /* span id the ingest cells write */
static char BAD_KEY[] = "ts_not-a-key!";

typedef enum { K_BETA, K_ALPHA, K_REVOKED, K_NONE, K_MALFORMED, K_DISAGREE, K_COUNT } key_kind;
static const char *const KIND_NAME[K_COUNT] = {"own key (beta)", "another workspace's key (alpha)",
                                               "revoked key",    "no key",
                                               "malformed key",  "X-API-KEY and Bearer disagree"};

typedef enum { TG_OWN, TG_FOREIGN, TG_MISSING, TG_COUNT } target_kind;
static const char *const TARGET_NAME[TG_COUNT] = {"own T", "other workspace's trace", "missing id"};

/* What a cell aims at: a trace id, a span id (track-request) and a project. */
typedef struct target {
    const char *id;
    const char *span;
    const char *project;
} target;

/* The request headers (and body key) of one key kind. */
typedef struct creds {
    char h[2][TS_IT_KEY_CAP + 32];
    const char *hs[3];
    const char *body_key; /* /track-request's api_key, NULL: none */
} creds;

static void make_creds(key_kind k, creds *c)
{
    memset(c, 0, sizeof *c);
    switch (k) {
    case K_BETA:
        snprintf(c->h[0], sizeof c->h[0], "X-API-KEY: %s", D.key_beta);
        c->body_key = D.key_beta;
        break;
    case K_ALPHA: /* the Bearer form, so both header forms are covered */
        snprintf(c->h[0], sizeof c->h[0], "Authorization: Bearer %s", D.key_alpha);
        c->body_key = D.key_alpha;
        break;
    case K_REVOKED:
        snprintf(c->h[0], sizeof c->h[0], "X-API-KEY: %s", D.key_alpha2);
        c->body_key = D.key_alpha2;
        break;
    case K_NONE:
        break;
    case K_MALFORMED:
        snprintf(c->h[0], sizeof c->h[0], "X-API-KEY: %s", BAD_KEY);
        c->body_key = BAD_KEY;
        break;
    case K_DISAGREE: /* two valid keys of two workspaces; no body key */
        snprintf(c->h[0], sizeof c->h[0], "X-API-KEY: %s", D.key_beta);
        snprintf(c->h[1], sizeof c->h[1], "Authorization: Bearer %s", D.key_alpha);
        break;
    default:
        break;
    }
    for (int i = 0, n = 0; i < 2; i++)
        if (c->h[i][0] != '\0')
            c->hs[n++] = c->h[i];
}

static ts_resp *send(const creds *c, const char *method, const char *path, const char *body)
{
    return ts_http(method, path, c->hs, body, body != NULL ? strlen(body) : 0);
}

/* ---- the routes ---- */

static ts_resp *r_get_pl(const creds *c, const target *t)
{
    char p[256];
    snprintf(p, sizeof p, "/api/public/v2/traces/%s", t->id);
    return send(c, "GET", p, NULL);
}

static ts_resp *r_get_tl(const creds *c, const target *t)
{
    char p[256];
    snprintf(p, sizeof p, "/v1/traces/%s", t->id);
    return send(c, "GET", p, NULL);
}

static ts_resp *r_get_rs(const creds *c, const target *t)
{
    char p[256];
    snprintf(p, sizeof p, "/api/traces/%s/", t->id);
    return send(c, "GET", p, NULL);
}

static ts_resp *r_post_rs(const creds *c, const target *t)
{
    char p[256];
    snprintf(p, sizeof p, "/api/traces/%s/", t->id);
    return send(c, "POST", p, NULL);
}

static ts_resp *r_list_tl(const creds *c, const target *t)
{
    char p[256];
    snprintf(p, sizeof p, "/v1/traces?project_id=%s&limit=200", t->project);
    return send(c, "GET", p, NULL);
}

static ts_resp *r_list_rs(const creds *c, const target *t)
{
    char b[256];
    snprintf(b, sizeof b,
             "{\"filters\":{\"trace_unique_id\":{\"operator\":\"\",\"value\":[\"%s\"]}}}", t->id);
    return send(c, "POST", "/api/traces/list/", b);
}

static ts_resp *r_metrics(const creds *c, const target *t)
{
    char p[256];
    snprintf(p, sizeof p, "/v1/metrics?project_id=%s&" WINDOW, t->project);
    return send(c, "GET", p, NULL);
}

static ts_resp *r_spans_bulk(const creds *c, const target *t)
{
    ts_span_spec s;
    ts_resp *r;
    char *body;
    memset(&s, 0, sizeof s);
    s.trace_id = t->id;
    s.span_id = ING_SPAN;
    s.name = "probe";
    s.start_ns = T0 + 500 * MS;
    s.end_ns = T0 + 600 * MS;
    body = ts_spans_body(&s, 1, 0);
    r = send(c, "POST", "/spans-bulk", body);
    free(body);
    return r;
}

static ts_resp *r_otlp(const creds *c, const target *t)
{
    char b[1024];
    snprintf(b, sizeof b,
             "{\"resourceSpans\":[{\"resource\":{\"attributes\":[]},\"scopeSpans\":[{\"scope\":"
             "{\"name\":\"iso\"},\"spans\":[{\"traceId\":\"%s\",\"spanId\":\"%s\",\"name\":"
             "\"probe\",\"kind\":1,\"startTimeUnixNano\":\"%" PRId64
             "\",\"endTimeUnixNano\":\"%" PRId64 "\"}]}]}]}",
             t->id, ING_SPAN, T0 + 500 * MS, T0 + 600 * MS);
    return send(c, "POST", "/v1/traces", b);
}

static ts_resp *r_tl_ingest(const creds *c, const target *t)
{
    char b[512];
    snprintf(b, sizeof b,
             "{\"id\":\"%s\",\"name\":\"probe\",\"spans\":[{\"id\":\"probe-span\",\"name\":"
             "\"probe\",\"type\":\"llm\"}]}",
             t->id);
    return send(c, "POST", "/v1/ingest", b);
}

static ts_resp *r_tl_batch(const creds *c, const target *t)
{
    char b[512];
    snprintf(b, sizeof b,
             "{\"traces\":[{\"id\":\"%s\",\"name\":\"probe\",\"spans\":[{\"id\":\"probe-span\","
             "\"name\":\"probe\",\"type\":\"llm\"}]}]}",
             t->id);
    return send(c, "POST", "/v1/ingest/batch", b);
}

static ts_resp *r_rs_ingest(const creds *c, const target *t)
{
    char b[512];
    snprintf(b, sizeof b,
             "[{\"trace_unique_id\":\"%s\",\"span_unique_id\":\"%s\",\"span_name\":\"probe\","
             "\"start_time\":\"2023-11-14T22:13:20.5Z\",\"timestamp\":\"2023-11-14T22:13:20.6Z\"}]",
             t->id, ING_SPAN);
    return send(c, "POST", "/api/v1/traces/ingest", b);
}

static ts_resp *r_close(const creds *c, const target *t)
{
    char p[256];
    snprintf(p, sizeof p, "/api/public/v2/traces/%s/close", t->id);
    return send(c, "POST", p, NULL);
}

static ts_resp *r_delete(const creds *c, const target *t)
{
    char p[256];
    snprintf(p, sizeof p, "/api/traces/%s/", t->id);
    return send(c, "DELETE", p, NULL);
}

static ts_resp *r_bulk_delete(const creds *c, const target *t)
{
    char b[256];
    snprintf(b, sizeof b,
             "{\"filters\":{\"trace_unique_id\":{\"operator\":\"\",\"value\":[\"%s\"]}}}", t->id);
    return send(c, "POST", "/api/traces/bulk-delete/", b);
}

static ts_resp *r_feedback(const creds *c, const target *t)
{
    char b[256];
    snprintf(b, sizeof b, "{\"trace_id\":\"%s\",\"label\":\"good\",\"score\":1,\"comment\":\"c\"}",
             t->id);
    return send(c, "POST", "/v1/feedback", b);
}

static ts_resp *r_track(const creds *c, const target *t)
{
    char b[1024], kf[TS_IT_KEY_CAP + 32] = "";
    if (c->body_key != NULL)
        snprintf(kf, sizeof kf, "\"api_key\":\"%s\",", c->body_key);
    snprintf(b, sizeof b,
             "{%s\"span_id\":\"%s\",\"provider_type\":\"openai\",\"kwargs\":{\"model\":\"gpt-4o\","
             "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]},\"request_response\":{"
             "\"model\":\"gpt-4o\",\"choices\":[{\"message\":{\"content\":\"yo\"}}],\"usage\":{"
             "\"prompt_tokens\":3,\"completion_tokens\":4}},\"price\":0.5}",
             kf, t->span);
    return send(c, "POST", "/track-request", b);
}

typedef struct route_def {
    const char *name;
    family fam;
    int writes;
    ts_resp *(*fn)(const creds *c, const target *t);
    long own_status; /* status for the caller's own target */
    int own_differs; /* 1: the own answer must differ from the missing one */
} route_def;

static const route_def ROUTES[] = {
    {"GET /api/public/v2/traces/{id}", FAM_PL, 0, r_get_pl, 200, 1},
    {"GET /v1/traces/{id}", FAM_TL, 0, r_get_tl, 200, 1},
    {"GET /api/traces/{id}/", FAM_RS, 0, r_get_rs, 200, 1},
    {"POST /api/traces/{id}/", FAM_RS, 0, r_post_rs, 200, 1},
    {"GET /v1/traces?project_id=", FAM_TL, 0, r_list_tl, 200, 1},
    {"POST /api/traces/list/ trace_unique_id", FAM_RS, 0, r_list_rs, 200, 1},
    {"GET /v1/metrics?project_id=", FAM_TL, 0, r_metrics, 200, 1},
    {"POST /spans-bulk", FAM_PL, 1, r_spans_bulk, 201, 0},
    {"POST /v1/traces (OTLP JSON)", FAM_PL, 1, r_otlp, 200, 0},
    {"POST /v1/ingest", FAM_TL, 1, r_tl_ingest, 200, 1},
    {"POST /v1/ingest/batch", FAM_TL, 1, r_tl_batch, 201, 1},
    {"POST /api/v1/traces/ingest", FAM_RS, 1, r_rs_ingest, 200, 1},
    {"POST /api/public/v2/traces/{id}/close", FAM_PL, 1, r_close, 201, 1},
    {"DELETE /api/traces/{id}/", FAM_RS, 1, r_delete, 200, 0},
    {"POST /api/traces/bulk-delete/ trace_unique_id", FAM_RS, 1, r_bulk_delete, 200, 1},
    {"POST /v1/feedback", FAM_TL, 1, r_feedback, 201, 1},
    {"POST /track-request (key in body)", FAM_PL, 1, r_track, 200, 0},
};
#define NROUTES (sizeof ROUTES / sizeof ROUTES[0])

/* ---- normalising an answer so two targets can be compared ---- */

/* Replaces every occurrence of from (when non-empty) in *s with to. */
static void replace_all(char **s, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to), n = 0, cap;
    char *out, *o;
    const char *p;
    if (fl == 0)
        return;
    for (p = strstr(*s, from); p != NULL; p = strstr(p + fl, from))
        n++;
    if (n == 0)
        return;
    cap = strlen(*s) + n * tl + 1;
    out = malloc(cap);
    ck_assert_ptr_nonnull(out);
    o = out;
    for (p = *s;;) {
        const char *hit = strstr(p, from);
        if (hit == NULL) {
            memcpy(o, p, strlen(p) + 1);
            break;
        }
        memcpy(o, p, (size_t)(hit - p));
        o += hit - p;
        memcpy(o, to, tl);
        o += tl;
        p = hit + fl;
    }
    free(*s);
    *s = out;
}

/* Server-assigned per-request values: row ids of spans and request logs,
 * the feedback and closure uuids, ingest times. Nothing else is masked. */
static const char *const VOLATILE[] = {"id", "created_at", "updated_at", "request_id", NULL};

static void mask(cJSON *j)
{
    cJSON *it = j->child;
    while (it != NULL) {
        cJSON *next = it->next;
        int vol = 0;
        for (size_t i = 0; it->string != NULL && VOLATILE[i] != NULL; i++)
            vol |= strcmp(it->string, VOLATILE[i]) == 0;
        if (vol)
            cJSON_ReplaceItemViaPointer(j, it, cJSON_CreateString("<volatile>"));
        else
            mask(it);
        it = next;
    }
}

/* "STATUS BODY" with the target's id forms replaced by placeholders and the
 * volatile fields masked; malloc'd. */
static char *normalise(const ts_resp *r, const target *t)
{
    char uuid[37], *s = strdup(r->body), *out;
    cJSON *j;
    ck_assert_ptr_nonnull(s);
    if (strlen(t->id) == 32) {
        ts_hex_to_uuid(t->id, uuid);
        replace_all(&s, uuid, "<ID>");
    }
    replace_all(&s, t->id, "<ID>");
    replace_all(&s, t->span, "<SPAN>");
    replace_all(&s, t->project, "<PROJECT>");
    j = cJSON_Parse(s);
    if (j != NULL) {
        char *p;
        mask(j);
        p = cJSON_PrintUnformatted(j);
        cJSON_Delete(j);
        free(s);
        s = p;
    }
    out = malloc(strlen(s) + 32);
    ck_assert_ptr_nonnull(out);
    snprintf(out, strlen(s) + 32, "%ld %s", r->status, s);
    free(s);
    return out;
}

/* ---- snapshots of a workspace, read with its own key ---- */

typedef struct snap {
    char *part[NSNAP];
} snap;

static char *grab(const char *method, const char *path, const char *key, const char *body)
{
    ts_resp *r = ts_req(method, path, key, body);
    size_t n = r->len + 32;
    char *s = malloc(n);
    ck_assert_ptr_nonnull(s);
    snprintf(s, n, "%ld %s", r->status, r->body);
    ts_resp_free(r);
    return s;
}

static const char *const SNAP_WHAT[NSNAP] = {
    "GET /api/public/v2/traces/T",   "GET /v1/traces/T",       "GET /api/traces/T/",
    "GET /api/public/v2/traces/own", "GET /v1/traces/own",     "GET /api/traces/own/",
    "GET /v1/traces (list)",         "POST /api/traces/list/", "GET /v1/metrics"};

/* Every GET view of w: T and w's own trace by all three read routes, both
 * lists and the metrics over the seed window. No field is left out: none of
 * them changes between two reads of unchanged data. */
static void take(const ws_fix *w, snap *s)
{
    const char *ids[2] = {T, w->only};
    char p[256];
    for (int i = 0; i < 2; i++) {
        snprintf(p, sizeof p, "/api/public/v2/traces/%s", ids[i]);
        s->part[3 * i] = grab("GET", p, w->key, NULL);
        snprintf(p, sizeof p, "/v1/traces/%s", ids[i]);
        s->part[3 * i + 1] = grab("GET", p, w->key, NULL);
        snprintf(p, sizeof p, "/api/traces/%s/", ids[i]);
        s->part[3 * i + 2] = grab("GET", p, w->key, NULL);
    }
    s->part[6] = grab("GET", "/v1/traces?limit=200", w->key, NULL);
    s->part[7] = grab("POST", "/api/traces/list/?page_size=100", w->key, "{}");
    s->part[8] = grab("GET", "/v1/metrics?" WINDOW, w->key, NULL);
}

static void snap_free(snap *s)
{
    for (int i = 0; i < NSNAP; i++) {
        free(s->part[i]);
        s->part[i] = NULL;
    }
}

/* Fails unless w reads back exactly as in before. */
static void same_as(const ws_fix *w, const snap *before, const char *cell)
{
    snap now;
    take(w, &now);
    for (int i = 0; i < NSNAP; i++)
        if (strcmp(before->part[i], now.part[i]) != 0)
            ck_abort_msg("%s: %s's %s changed\nbefore: %.1200s\nafter:  %.1200s", cell, w->name,
                         SNAP_WHAT[i], before->part[i], now.part[i]);
    snap_free(&now);
}

/* ---- seeding and restoring ---- */

static void bulk_ok(const char *key, const ts_span_spec *s, size_t n, int close_after)
{
    char *body = ts_spans_body(s, n, close_after);
    ts_resp *r = ts_req("POST", "/spans-bulk", key, body);
    free(body);
    TS_STATUS(r, 201);
    TS_J_ABSENT(ts_json(r), "rejected_span_ids");
    ts_resp_free(r);
}

/* w's copy of T: root T_SPAN (same id in both workspaces) and a child. */
static void seed_t(const ws_fix *w)
{
    char name[64], child[64], model[64], in[64];
    int beta = w == &B;
    ts_span_spec s[2];
    memset(s, 0, sizeof s);
    snprintf(name, sizeof name, "%s-root-T", w->name);
    snprintf(child, sizeof child, "%s-child-T", w->name);
    snprintf(model, sizeof model, "%s-model", w->name);
    snprintf(in, sizeof in, "%s secret prompt", w->name);
    s[0].trace_id = T;
    s[0].span_id = T_SPAN;
    s[0].name = name;
    s[0].start_ns = T0 + (beta ? 7 : 0) * MS;
    s[0].end_ns = T0 + (beta ? 70 : 100) * MS;
    s[0].model = model;
    s[0].input_text = in;
    s[0].input_tokens = beta ? 22 : 11;
    s[0].output_tokens = beta ? 2 : 1;
    s[0].price = beta ? 0.22 : 0.11;
    s[1].trace_id = T;
    s[1].span_id = w->child;
    s[1].parent_id = T_SPAN;
    s[1].name = child;
    s[1].start_ns = T0 + (beta ? 10 : 20) * MS;
    s[1].end_ns = T0 + (beta ? 20 : 40) * MS;
    if (beta) {
        s[1].status_code = "StatusCode.ERROR";
        s[1].description = "beta failed";
    }
    bulk_ok(w->key, s, 2, 0);
}

/* w's own trace, closed. */
static void seed_only(const ws_fix *w)
{
    char name[64];
    ts_span_spec s;
    memset(&s, 0, sizeof s);
    snprintf(name, sizeof name, "%s-only", w->name);
    s.trace_id = w->only;
    s.span_id = w->only_span;
    s.name = name;
    s.start_ns = T0 + 200 * MS;
    s.end_ns = T0 + 300 * MS;
    bulk_ok(w->key, &s, 1, 1);
}

static void delete_ok(const char *key, const char *id)
{
    char p[256];
    ts_resp *r;
    snprintf(p, sizeof p, "/api/traces/%s/", id);
    r = ts_req("DELETE", p, key, NULL);
    TS_STATUS(r, 200);
    ts_resp_free(r);
}

static void read_project(ws_fix *w)
{
    char p[256];
    ts_resp *r;
    snprintf(p, sizeof p, "/v1/traces/%s", T);
    r = ts_req("GET", p, w->key, NULL);
    TS_STATUS(r, 200);
    snprintf(w->project, sizeof w->project, "%s", TS_J_GETSTR(ts_json(r), "project_id"));
    ts_resp_free(r);
}

static void revoke_key(const char *key)
{
    char prefix[24], *out = NULL, *err = NULL;
    const char *args[] = {"key", "revoke", prefix, "--db", D.db, NULL};
    int rc;
    snprintf(prefix, sizeof prefix, "%.20s", key);
    rc = ts_cli(args, NULL, &out, &err);
    ck_assert_msg(rc == 0, "key revoke: exit %d\n%s%s", rc, out, err);
    free(out);
    free(err);
}

static void up(void)
{
    ts_d_init(&D, 1, NULL);
    revoke_key(D.key_alpha2);
    ts_d_start(&D);
    memset(&A, 0, sizeof A);
    memset(&B, 0, sizeof B);
    A.name = "alpha";
    A.key = D.key_alpha;
    B.name = "beta";
    B.key = D.key_beta;
    ts_new_trace_id(T);
    ts_new_trace_id(M);
    ts_new_trace_id(A.only);
    ts_new_trace_id(B.only);
    ts_new_span_id(T_SPAN);
    ts_new_span_id(M_SPAN);
    ts_new_span_id(ING_SPAN);
    ts_new_span_id(A.only_span);
    ts_new_span_id(B.only_span);
    ts_new_span_id(A.child);
    ts_new_span_id(B.child);
    {
        char hex[33];
        ts_new_trace_id(hex);
        ts_hex_to_uuid(hex, M_PROJECT);
    }
    seed_t(&A);
    seed_t(&B);
    seed_only(&A);
    seed_only(&B);
    read_project(&A);
    read_project(&B);
}

static void down(void)
{
    ts_d_free(&D);
}

/* ---- checks ---- */

/* w's lists and metrics show exactly its two traces, never the other's. */
static void lists_exact(const ws_fix *w, const char *cell)
{
    char ut[37], uo[37];
    ts_resp *r;
    const cJSON *it;
    int seen_t = 0, seen_o = 0, n = 0;
    ts_hex_to_uuid(T, ut);
    ts_hex_to_uuid(w->only, uo);
    r = ts_req("GET", "/v1/traces?limit=200", w->key, NULL);
    TS_STATUS(r, 200);
    cJSON_ArrayForEach(it, ts_jpath(ts_json(r), "traces"))
    {
        const char *id = TS_J_GETSTR(it, "id");
        seen_t += strcmp(id, ut) == 0;
        seen_o += strcmp(id, uo) == 0;
        n++;
    }
    ck_assert_msg(n == 2 && seen_t == 1 && seen_o == 1, "%s: %s's /v1/traces list: %.1500s", cell,
                  w->name, r->body);
    ts_resp_free(r);
    r = ts_req("POST", "/api/traces/list/?page_size=100", w->key, "{}");
    TS_STATUS(r, 200);
    TS_J_INT(ts_json(r), "count", 2);
    n = seen_t = seen_o = 0;
    cJSON_ArrayForEach(it, ts_jpath(ts_json(r), "results"))
    {
        const char *id = TS_J_GETSTR(it, "trace_unique_id");
        seen_t += strcmp(id, T) == 0;
        seen_o += strcmp(id, w->only) == 0;
        n++;
    }
    ck_assert_msg(n == 2 && seen_t == 1 && seen_o == 1, "%s: %s's Respan list: %.1500s", cell,
                  w->name, r->body);
    ts_resp_free(r);
    r = ts_req("GET", "/v1/metrics?" WINDOW, w->key, NULL);
    TS_STATUS(r, 200);
    TS_J_INT(ts_json(r), "total_traces", 2);
    TS_J_INT(ts_json(r), "error_count", w == &B ? 1 : 0);
    ts_resp_free(r);
}

/* The exact 401 of the family (docs/API.md "Authentication"); a conflict
 * may name the conflict in PromptLayer's message. */
static void expect_401(const ts_resp *r, family fam, key_kind k, const char *cell)
{
    cJSON *got = cJSON_Parse(r->body), *want = NULL;
    ck_assert_msg(r->status == 401 && got != NULL, "%s: want 401 JSON, got %ld %.800s", cell,
                  r->status, r->body);
    if (fam == FAM_RS) {
        want = cJSON_CreateObject();
        cJSON_AddStringToObject(want, "detail", RESPAN_401);
    } else {
        want = cJSON_Parse(fam == FAM_PL ? PL_401 : TL_401);
    }
    if (fam == FAM_PL && k == K_DISAGREE) {
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(got, "message");
        if (cJSON_IsString(msg))
            cJSON_ReplaceItemInObjectCaseSensitive(
                got, "message", cJSON_CreateString("Invalid or missing API key"));
    }
    ck_assert_msg(cJSON_Compare(got, want, 1), "%s: 401 body %.800s is not the family's shape",
                  cell, r->body);
    cJSON_Delete(got);
    cJSON_Delete(want);
}

/* The own-target answer reads w's copy of T, never the other's. */
static void own_content(const ts_resp *r, const ws_fix *w, const ws_fix *other, size_t ri,
                        const char *cell)
{
    char mine[64], theirs[64];
    snprintf(mine, sizeof mine, "%s-root-T", w->name);
    snprintf(theirs, sizeof theirs, "%s-", other->name);
    ck_assert_msg(r->status == ROUTES[ri].own_status, "%s: want %ld, got %ld: %.800s", cell,
                  ROUTES[ri].own_status, r->status, r->body);
    if (ri <= 5)
        ck_assert_msg(strstr(r->body, mine) != NULL, "%s: answer lacks %s: %.800s", cell, mine,
                      r->body);
    ck_assert_msg(strstr(r->body, theirs) == NULL, "%s: answer shows %s's data: %.1500s", cell,
                  other->name, r->body);
}

/* After an own-target write: the write hit w's T (checked for the routes
 * whose effect is visible), then T is put back as seeded. */
static void own_effect_and_restore(const ws_fix *w, const route_def *rt, const ts_resp *r,
                                   const char *cell)
{
    char p[256];
    ts_resp *g;
    snprintf(p, sizeof p, "/v1/traces/%s", T);
    g = ts_req("GET", p, w->key, NULL);
    if (rt->fn == r_delete || rt->fn == r_bulk_delete) {
        ck_assert_msg(g->status == 404, "%s: own T still there after %s", cell, r->body);
    } else if (rt->fn == r_tl_ingest) {
        TS_J_STR(ts_json((ts_resp *)r), "status", "duplicate");
    } else if (rt->fn == r_tl_batch) {
        TS_J_INT(ts_json((ts_resp *)r), "ingested", 0);
    } else if (rt->fn == r_spans_bulk || rt->fn == r_otlp || rt->fn == r_rs_ingest) {
        TS_STATUS(g, 200);
        TS_J_INT(ts_json(g), "span_count", 3);
    } else if (rt->fn == r_track) {
        TS_STATUS(g, 200);
        TS_J_STR(ts_json(g), "model", "gpt-4o");
    }
    ts_resp_free(g);
    if (rt->fn == r_bulk_delete)
        TS_J_INT(ts_json((ts_resp *)r), "deleted_count", 1);
    delete_ok(w->key, T);
    seed_t(w);
}

/* ---- the matrix ---- */

static int cells_run;

/* One route for one key kind: the three targets. caller: the workspace of
 * the key (NULL for keys that must be refused); other: the workspace whose
 * data must not move. */
static void run_route(size_t ri, key_kind k, ws_fix *caller, ws_fix *other, const snap *other_snap,
                      const snap *caller_snap)
{
    const route_def *rt = &ROUTES[ri];
    creds c;
    /* for refused keys the ids are seen from beta's side */
    const ws_fix *me = caller != NULL ? caller : &B, *them = caller != NULL ? other : &A;
    target tg[TG_COUNT] = {
        {T, T_SPAN, me->project},
        {them->only, them->only_span, them->project},
        {M, M_SPAN, M_PROJECT},
    };
    char *norm[TG_COUNT] = {NULL, NULL, NULL};
    make_creds(k, &c);
    for (int ti = 0; ti < TG_COUNT; ti++) {
        char cell[256];
        ts_resp *r;
        snprintf(cell, sizeof cell, "[%s | %s | %s]", rt->name, KIND_NAME[k], TARGET_NAME[ti]);
        r = rt->fn(&c, &tg[ti]);
        cells_run++;
        norm[ti] = normalise(r, &tg[ti]);
        if (caller == NULL)
            expect_401(r, rt->fam, k, cell);
        else if (ti == TG_OWN)
            own_content(r, caller, other, ri, cell);
        else
            ck_assert_msg(r->status != 401 && r->status < 500, "%s: %ld %.800s", cell, r->status,
                          r->body);
        if (caller != NULL && rt->writes) {
            if (ti == TG_OWN)
                own_effect_and_restore(caller, rt, r, cell);
            else /* remove whatever the write created in the caller's workspace */
                delete_ok(caller->key, tg[ti].id);
            lists_exact(caller, cell);
        }
        ts_resp_free(r);
        if (rt->writes) {
            same_as(them, other_snap, cell);
            if (caller == NULL)
                same_as(me, caller_snap, cell);
        }
    }
    /* another workspace's trace answers exactly like a missing one */
    ck_assert_msg(strcmp(norm[TG_FOREIGN], norm[TG_MISSING]) == 0,
                  "[%s | %s]: another workspace's trace is distinguishable from a missing one\n"
                  "other's:  %.1500s\nmissing:  %.1500s",
                  rt->name, KIND_NAME[k], norm[TG_FOREIGN], norm[TG_MISSING]);
    /* ... and the comparison can tell answers apart: own T is visible */
    if (caller != NULL && rt->own_differs)
        ck_assert_msg(strcmp(norm[TG_OWN], norm[TG_MISSING]) != 0,
                      "[%s | %s]: own T answers like a missing id: %.800s", rt->name, KIND_NAME[k],
                      norm[TG_OWN]);
    if (caller == NULL)
        ck_assert_msg(strcmp(norm[TG_OWN], norm[TG_MISSING]) == 0,
                      "[%s | %s]: refused answers differ by target\nown: %s\nmissing: %s", rt->name,
                      KIND_NAME[k], norm[TG_OWN], norm[TG_MISSING]);
    for (int ti = 0; ti < TG_COUNT; ti++)
        free(norm[ti]);
}

static void run_kind(key_kind k)
{
    ws_fix *caller = k == K_BETA ? &B : k == K_ALPHA ? &A : NULL;
    ws_fix *other = k == K_BETA ? &A : k == K_ALPHA ? &B : &A;
    snap so, sc;
    memset(&sc, 0, sizeof sc);
    take(other, &so);
    if (caller == NULL)
        take(&B, &sc);
    for (size_t ri = 0; ri < NROUTES; ri++)
        run_route(ri, k, caller, other, &so, &sc);
    snap_free(&so);
    snap_free(&sc);
}

/* Baseline: the seed is what each workspace sees, and reads are stable. */
START_TEST(test_seed)
{
    snap a1, a2;
    lists_exact(&A, "seed");
    lists_exact(&B, "seed");
    take(&A, &a1);
    take(&A, &a2);
    for (int i = 0; i < NSNAP; i++)
        ck_assert_msg(strcmp(a1.part[i], a2.part[i]) == 0, "%s not stable:\n%s\n%s", SNAP_WHAT[i],
                      a1.part[i], a2.part[i]);
    for (int i = 0; i < 6; i++)
        ck_assert_msg(strncmp(a1.part[i], "200 ", 4) == 0, "%s: %.300s", SNAP_WHAT[i], a1.part[i]);
    snap_free(&a1);
    snap_free(&a2);
    ck_assert_msg(strcmp(A.project, B.project) != 0, "alpha and beta share a project");
}
END_TEST

START_TEST(test_matrix_own_key)
{
    run_kind(K_BETA);
}
END_TEST

START_TEST(test_matrix_other_workspace_key)
{
    run_kind(K_ALPHA);
}
END_TEST

START_TEST(test_matrix_refused_keys)
{
    run_kind(K_REVOKED);
    run_kind(K_NONE);
    run_kind(K_MALFORMED);
    run_kind(K_DISAGREE);
}
END_TEST

START_TEST(test_matrix_count)
{
    /* every cell ran: routes x key kinds x targets */
    ck_assert_int_eq(cells_run, (int)(NROUTES * K_COUNT * TG_COUNT));
    fprintf(stderr, "isolation matrix: %zu routes x %d key kinds x %d targets = %d cells\n",
            NROUTES, (int)K_COUNT, (int)TG_COUNT, cells_run);
}
END_TEST

START_TEST(test_clean_shutdown)
{
    ts_d_stop(&D);
}
END_TEST

static Suite *isolation_suite(void)
{
    Suite *s = suite_create("integration-isolation");
    TCase *tc = tcase_create("matrix");
    tcase_add_unchecked_fixture(tc, up, down);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_seed);
    tcase_add_test(tc, test_matrix_own_key);
    tcase_add_test(tc, test_matrix_other_workspace_key);
    tcase_add_test(tc, test_matrix_refused_keys);
    tcase_add_test(tc, test_matrix_count);
    tcase_add_test(tc, test_clean_shutdown);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ts_it_run(isolation_suite());
}

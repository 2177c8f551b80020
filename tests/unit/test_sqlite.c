/* test_sqlite.c: unit tests for the store (include/tracestore/store.h) with
 * its SQLite backend (src/store/sqlite.c, the sqlite_writer.c family): migrations, keys,
 * ingest-time aggregates under insert, replace and out-of-order arrival,
 * closure, delete, workspace isolation, the writer queue and durability.
 * The store is driven only through its public interface; sqlite3 is opened
 * directly (read-only) just to look at rows the interface does not show. */
#include <check.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/migrations.h"
#include "store/sqlite_int.h"
#include "tracestore/arena.h"
#include "tracestore/config.h"
#include "tracestore/err.h"
#include "tracestore/log.h"
#include "tracestore/model.h"
#include "tracestore/store.h"
#include "tracestore/timeutil.h"

#define T0 INT64_C(1700000000000000000)
#define MS INT64_C(1000000)

static char dir[64];
static char dbpath[128];
static ts_config cfg;
static ts_store *store;
static ts_arena *arena;
static int64_t wsA, wsB;

/* ---- fixture ---------------------------------------------------------- */

static void open_store(void)
{
    ts_err err;

    ts_err_clear(&err);
    ck_assert_msg(ts_store_open(&cfg, &store, &err) == TS_OK, "open: %s", err.msg);
}

static int64_t ws_create(const char *name, const char *prefix)
{
    unsigned char hash[32];
    ts_write w;

    memset(hash, 0, sizeof(hash));
    snprintf((char *)hash, sizeof(hash), "%s", prefix);
    memset(&w, 0, sizeof(w));
    w.kind = TS_W_KEY_CREATE;
    w.ws_name = name;
    w.key_prefix = prefix;
    w.key_hash = hash;
    ck_assert_msg(ts_store_write_sync(store, &w) == TS_OK, "key create: %s", w.err.msg);
    ck_assert_int_gt(w.ws.id, 0);
    ck_assert_int_gt(w.ws.key_id, 0);
    ck_assert_str_eq(w.ws.name, name);
    ck_assert_uint_eq(strlen(w.ws.uuid), 36);
    return w.ws.id;
}

static void setup(void)
{
    ts_log_set_level(TS_LOG_ERROR);
    snprintf(dir, sizeof(dir), "/tmp/ts_sqlite_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(dbpath, sizeof(dbpath), "%s/ts.db", dir);
    ts_config_defaults(&cfg);
    snprintf(cfg.db_path, sizeof(cfg.db_path), "%s", dbpath);
    cfg.read_connections = 2;
    arena = ts_arena_new(64 * 1024);
    ck_assert_ptr_nonnull(arena);
    open_store();
    wsA = ws_create("alpha", "ts_aaaaaaaaa");
    wsB = ws_create("beta", "ts_bbbbbbbbb");
    ck_assert_int_ne(wsA, wsB);
}

static void teardown(void)
{
    static const char *const sfx[] = {"", "-wal", "-shm", "-journal", "-keys"};
    char p[160];

    ts_store_close(store);
    store = NULL;
    ts_arena_free(arena);
    arena = NULL;
    for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
        snprintf(p, sizeof(p), "%s%s", dbpath, sfx[i]);
        unlink(p);
    }
    rmdir(dir);
}

/* ---- helpers ---------------------------------------------------------- */

/* A plain span; parent NULL makes a root. Name defaults to the span id. */
static void mk(ts_span *s, const char *trace, const char *span, const char *parent, int64_t start,
               int64_t end)
{
    ts_span_init(s);
    s->trace_id = (char *)trace;
    s->span_id = (char *)span;
    s->parent_id = (char *)parent;
    s->name = (char *)span;
    s->kind = TS_KIND_INTERNAL;
    s->start_ns = start;
    s->end_ns = end;
    s->origin = TS_ORIGIN_SPANS_BULK;
    s->type = "other";
}

static void llm(ts_span *s, const char *model, int64_t prompt, int64_t completion, double cost)
{
    s->type = "llm";
    s->model = (char *)model;
    s->prompt_tokens = prompt;
    s->completion_tokens = completion;
    if (cost >= 0) {
        s->has_cost = 1;
        s->cost = cost;
    }
}

static ts_write ingest_job(int64_t ws, ts_span *spans, size_t n, int close_after)
{
    ts_write w;

    memset(&w, 0, sizeof(w));
    w.kind = TS_W_INGEST;
    w.ws_id = ws;
    w.spans = spans;
    w.nspans = n;
    w.close_after = close_after;
    return w;
}

/* Ingests n spans synchronously and expects success; returns nrejected. */
static size_t ingest(int64_t ws, ts_span *spans, size_t n, int close_after)
{
    ts_write w = ingest_job(ws, spans, n, close_after);

    ck_assert_msg(ts_store_write_sync(store, &w) == TS_OK, "ingest: %s", w.err.msg);
    return w.nrejected;
}

static size_t ingest1(int64_t ws, ts_span *s)
{
    return ingest(ws, s, 1, 0);
}

typedef struct got {
    int rc;
    ts_trace t;
    ts_span *spans;
    size_t n;
} got;

static got get(int64_t ws, const char *trace)
{
    got g;

    memset(&g, 0, sizeof(g));
    g.rc = ts_store_trace_get(store, ws, trace, arena, &g.t, &g.spans, &g.n);
    return g;
}

static got get_ok(int64_t ws, const char *trace)
{
    got g = get(ws, trace);

    ck_assert_msg(g.rc == TS_OK, "trace_get %s: %d", trace, g.rc);
    ck_assert_uint_eq(g.n, (size_t)g.t.span_count);
    return g;
}

static const ts_span *find(const got *g, const char *span)
{
    for (size_t i = 0; i < g->n; i++)
        if (strcmp(g->spans[i].span_id, span) == 0)
            return &g->spans[i];
    return NULL;
}

static int write_simple(ts_write_kind kind, int64_t ws, const char *trace, ts_write *out)
{
    memset(out, 0, sizeof(*out));
    out->kind = kind;
    out->ws_id = ws;
    out->trace_id = trace;
    return ts_store_write_sync(store, out);
}

static int close_trace(int64_t ws, const char *trace)
{
    ts_write w;
    return write_simple(TS_W_CLOSE, ws, trace, &w);
}

static int64_t delete_trace(int64_t ws, const char *trace)
{
    ts_write w;
    ck_assert_int_eq(write_simple(TS_W_DELETE, ws, trace, &w), TS_OK);
    return w.affected;
}

static int64_t delete_window(int64_t ws, const char *trace, int has_from, int64_t from, int has_to,
                             int64_t to)
{
    ts_write w;

    memset(&w, 0, sizeof(w));
    w.kind = TS_W_DELETE;
    w.ws_id = ws;
    w.trace_id = trace;
    w.has_from = has_from;
    w.from_ns = from;
    w.has_to = has_to;
    w.to_ns = to;
    ck_assert_int_eq(ts_store_write_sync(store, &w), TS_OK);
    return w.affected;
}

/* One integer from SQL run on a separate read-only connection. */
static int64_t sql_int(const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t v = -1;

    ck_assert_int_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql,
                  sqlite3_errmsg(db));
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* ---- migrations and keys ---------------------------------------------- */

START_TEST(migrations_applied_once)
{
    int64_t applied;
    char sql[128];

    ck_assert_int_gt(ts_migrations_count, 0);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM schema_migrations"), ts_migrations_count);
    for (int i = 0; i < ts_migrations_count; i++) {
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM schema_migrations WHERE version = %d",
                 ts_migrations[i].version);
        ck_assert_int_eq(sql_int(sql), 1);
        if (i > 0)
            ck_assert_int_gt(ts_migrations[i].version, ts_migrations[i - 1].version);
    }
    applied = sql_int("SELECT max(applied_ns) FROM schema_migrations");
    /* re-open twice: nothing re-applied, data kept */
    for (int k = 0; k < 2; k++) {
        int64_t n = 0;
        ts_store_close(store);
        store = NULL;
        open_store();
        ck_assert_int_eq(sql_int("SELECT count(*) FROM schema_migrations"), ts_migrations_count);
        ck_assert_int_eq(sql_int("SELECT max(applied_ns) FROM schema_migrations"), applied);
        ck_assert_int_eq(ts_store_workspace_count(store, &n), TS_OK);
        ck_assert_int_eq(n, 2);
    }
}
END_TEST

START_TEST(open_fails_cleanly)
{
    ts_config bad = cfg;
    ts_store *s = (ts_store *)(uintptr_t)1; /* must be reset to NULL */
    ts_err err;

    ts_err_clear(&err);
    snprintf(bad.db_path, sizeof(bad.db_path), "%s/no/such/dir/ts.db", dir);
    ck_assert_int_ne(ts_store_open(&bad, &s, &err), TS_OK);
    ck_assert_ptr_null(s);
    ck_assert(err.msg[0] != '\0');
    ts_err_clear(&err);
    /* store = postgres without a postgres_url: a config error naming the key */
    bad = cfg;
    snprintf(bad.store, sizeof(bad.store), "postgres");
    bad.postgres_url[0] = '\0';
    ck_assert_int_eq(ts_store_open(&bad, &s, &err), TS_EINVAL);
    ck_assert_ptr_null(s);
    ck_assert_ptr_nonnull(strstr(err.msg, "postgres_url"));
    ts_store_close(NULL); /* NULL-safe */
}
END_TEST

START_TEST(keys_create_candidates_revoke)
{
    ts_key_row rows[4];
    size_t n = 99;
    ts_write w;
    unsigned char hash[32];
    int64_t count = 0;
    ts_key_info *keys = NULL;
    size_t nkeys = 0;

    ck_assert_int_eq(ts_store_key_candidates(store, "ts_aaaaaaaaa", rows, 4, &n), TS_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(rows[0].revoked, 0);
    ck_assert_int_eq(rows[0].ws.id, wsA);
    ck_assert_str_eq(rows[0].ws.name, "alpha");
    ck_assert_int_eq(rows[0].ws.key_id, rows[0].key_id);
    ck_assert(memcmp(rows[0].hash, "ts_aaaaaaaaa", 12) == 0); /* the hash we stored */
    ck_assert_int_eq(ts_store_key_candidates(store, "ts_ccccccccc", rows, 4, &n), TS_OK);
    ck_assert_uint_eq(n, 0);

    /* a second key in an existing workspace reuses it */
    memset(hash, 7, sizeof(hash));
    memset(&w, 0, sizeof(w));
    w.kind = TS_W_KEY_CREATE;
    w.ws_name = "alpha";
    w.key_prefix = "ts_aaaaaaaaa"; /* same prefix: both are candidates */
    w.key_hash = hash;
    ck_assert_int_eq(ts_store_write_sync(store, &w), TS_OK);
    ck_assert_int_eq(w.ws.id, wsA);
    ck_assert_int_eq(ts_store_workspace_count(store, &count), TS_OK);
    ck_assert_int_eq(count, 2);
    ck_assert_int_eq(ts_store_key_candidates(store, "ts_aaaaaaaaa", rows, 4, &n), TS_OK);
    ck_assert_uint_eq(n, 2);
    /* cap is respected */
    ck_assert_int_eq(ts_store_key_candidates(store, "ts_aaaaaaaaa", rows, 1, &n), TS_OK);
    ck_assert_uint_eq(n, 1);

    ck_assert_int_eq(ts_store_key_list(store, arena, &keys, &nkeys), TS_OK);
    ck_assert_uint_eq(nkeys, 3);
    ck_assert_str_eq(keys[0].workspace, "alpha");
    ck_assert_str_eq(keys[1].workspace, "beta");
    ck_assert_str_eq(keys[2].prefix, "ts_aaaaaaaaa");
    ck_assert_int_eq(keys[2].revoked_ns, 0);

    /* revoke by prefix */
    memset(&w, 0, sizeof(w));
    w.kind = TS_W_KEY_REVOKE;
    w.key_prefix = "ts_aaaaaaaaa";
    ck_assert_int_eq(ts_store_write_sync(store, &w), TS_OK);
    ck_assert_int_eq(w.affected, 2);
    ck_assert_int_eq(ts_store_key_candidates(store, "ts_aaaaaaaaa", rows, 4, &n), TS_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(rows[0].revoked, 1);
    ck_assert_int_eq(rows[1].revoked, 1);
    ck_assert_int_eq(ts_store_write_sync(store, &w), TS_OK);
    ck_assert_int_eq(w.affected, 0);
    ck_assert_int_eq(ts_store_key_candidates(store, "ts_bbbbbbbbb", rows, 4, &n), TS_OK);
    ck_assert_int_eq(rows[0].revoked, 0);
    ck_assert_int_eq(ts_store_key_list(store, arena, &keys, &nkeys), TS_OK);
    ck_assert_int_gt(keys[0].revoked_ns, 0);
    ck_assert_int_eq(keys[1].revoked_ns, 0);
}
END_TEST

START_TEST(ping)
{
    ts_write w;
    ts_store_stats st;

    ck_assert_int_eq(write_simple(TS_W_PING, 0, NULL, &w), TS_OK);
    ck_assert_int_eq(w.rc, TS_OK);
    ts_store_stats_get(store, &st);
    ck_assert_uint_ge(st.transactions, 1);
    ck_assert_uint_ge(st.jobs, 3); /* two key creates and the ping */
    ck_assert_uint_eq(st.queue_depth, 0);
}
END_TEST

/* ---- ingest and aggregates -------------------------------------------- */

START_TEST(aggregates_single_ingest)
{
    ts_span s[4];
    got g;
    const ts_span *c2;

    mk(&s[0], "t1", "r", NULL, T0, T0 + 500 * MS);
    s[0].name = "root";
    s[0].input = "question";
    s[0].output = "answer";
    s[0].model = "agent-model";
    mk(&s[1], "t1", "c1", "r", T0 + 10 * MS, T0 + 200 * MS);
    llm(&s[1], "gpt-4o", 10, 20, 0.5);
    s[1].error = "rate limit";
    mk(&s[2], "t1", "c2", "r", T0 + 5 * MS, T0 + 600 * MS);
    llm(&s[2], "gpt-4o-mini", 1, 2, 0.25);
    s[2].total_tokens = 99; /* a stated total wins over prompt + completion */
    s[2].error = "boom";
    s[2].status_code = TS_STATUS_ERROR;
    s[2].status_message = "boom";
    s[2].attributes = "{\"k\":\"v\"}";
    s[2].log_request = "{\"provider\":\"openai\"}";
    mk(&s[3], "t1", "c3", "c1", T0 + 20 * MS, T0 + 30 * MS);
    s[3].type = "tool";
    s[3].total_tokens = 7; /* only a total: counts as is */
    s[3].unpriced = 1;
    ck_assert_uint_eq(ingest(wsA, s, 4, 0), 0);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_gt(s[i].rowid, 0);
        ck_assert_int_gt(s[i].created_ns, 0);
        ck_assert_int_eq(s[i].rejected, 0);
    }
    ck_assert_int_gt(s[2].request_log_id, 0);
    ck_assert_int_eq(s[1].request_log_id, 0);

    g = get_ok(wsA, "t1");
    ck_assert_str_eq(g.t.trace_id, "t1");
    ck_assert_int_eq(g.t.span_count, 4);
    ck_assert_int_eq(g.t.llm_span_count, 2);
    ck_assert_int_eq(g.t.prompt_tokens, 11);
    ck_assert_int_eq(g.t.completion_tokens, 22);
    ck_assert_int_eq(g.t.total_tokens, 30 + 99 + 7);
    ck_assert_int_eq(g.t.has_cost, 1);
    ck_assert_double_eq_tol(g.t.cost, 0.75, 1e-9);
    ck_assert_int_eq(g.t.unpriced_span_count, 1);
    ck_assert(g.t.started_ns == T0);
    ck_assert(g.t.ended_ns == T0 + 600 * MS);
    ck_assert_int_eq(g.t.latency_ms, 600);
    ck_assert_str_eq(g.t.name, "root");
    ck_assert_str_eq(g.t.input, "question");
    ck_assert_str_eq(g.t.output, "answer");
    ck_assert_str_eq(g.t.model, "agent-model");
    /* the root has no error: the earliest errored span's (c2 at +5ms) */
    ck_assert_str_eq(g.t.error, "boom");
    ck_assert_int_eq(g.t.error_count, 2);
    ck_assert_int_eq(g.t.closed, 0);
    ck_assert_str_eq(g.t.tags, "[]");
    ck_assert_str_eq(g.t.metadata, "{}");
    ck_assert_str_eq(g.t.project_name, "default");
    ck_assert_ptr_nonnull(g.t.project_uuid);
    ck_assert_int_gt(g.t.created_ns, 0);
    /* spans by start time */
    ck_assert_str_eq(g.spans[0].span_id, "r");
    ck_assert_str_eq(g.spans[1].span_id, "c2");
    ck_assert_str_eq(g.spans[2].span_id, "c1");
    ck_assert_str_eq(g.spans[3].span_id, "c3");
    ck_assert_ptr_null(g.spans[0].parent_id);
    /* a span reads back as written */
    c2 = find(&g, "c2");
    ck_assert_int_eq(c2->rowid, s[2].rowid);
    ck_assert_str_eq(c2->trace_id, "t1");
    ck_assert_str_eq(c2->parent_id, "r");
    ck_assert_str_eq(c2->model, "gpt-4o-mini");
    ck_assert_str_eq(c2->type, "llm");
    ck_assert_str_eq(c2->attributes, "{\"k\":\"v\"}");
    ck_assert_str_eq(c2->events, "[]");
    ck_assert_str_eq(c2->links, "[]");
    ck_assert_str_eq(c2->resource, "{}");
    ck_assert_str_eq(c2->status_message, "boom");
    ck_assert_int_eq(c2->status_code, TS_STATUS_ERROR);
    ck_assert_int_eq(c2->prompt_tokens, 1);
    ck_assert_int_eq(c2->total_tokens, 99);
    ck_assert_int_eq(c2->cache_read_tokens, TS_TOKENS_ABSENT);
    ck_assert_int_eq(c2->has_cost, 1);
    ck_assert_double_eq_tol(c2->cost, 0.25, 1e-12);
    ck_assert_int_eq(c2->request_log_id, s[2].request_log_id);
    ck_assert(c2->start_ns == T0 + 5 * MS);
    ck_assert_int_eq(find(&g, "c3")->has_cost, 0);
    ck_assert_int_eq(find(&g, "c3")->unpriced, 1);
    ck_assert_int_eq(find(&g, "c3")->prompt_tokens, TS_TOKENS_ABSENT);
}
END_TEST

START_TEST(aggregates_error_from_root_and_no_cost)
{
    ts_span s[3];
    got g;

    mk(&s[0], "t", "child", "root", T0, T0 + MS);
    s[0].error = "child failed first";
    mk(&s[1], "t", "root", NULL, T0 + 2 * MS, T0 + 3 * MS);
    s[1].error = "root failed";
    mk(&s[2], "t", "other", "root", T0 + 2 * MS, T0 + 3 * MS);
    ingest(wsA, s, 3, 0);
    g = get_ok(wsA, "t");
    ck_assert_str_eq(g.t.error, "root failed"); /* the root's, though later */
    ck_assert_int_eq(g.t.error_count, 2);
    ck_assert_int_eq(g.t.has_cost, 0);
    ck_assert_int_eq(g.t.llm_span_count, 0);
    ck_assert_int_eq(g.t.total_tokens, 0);
    ck_assert_int_eq(g.t.latency_ms, 3);
    ck_assert_ptr_null(g.t.model);
    ck_assert_ptr_null(g.t.input);
}
END_TEST

START_TEST(exact_times_and_large_values)
{
    ts_span s;
    got g;

    mk(&s, "t", "a", NULL, INT64_C(1700000000123456789), INT64_C(1700000000123456789));
    llm(&s, "m", INT64_C(3000000000), 0, -1);
    ingest1(wsA, &s);
    g = get_ok(wsA, "t");
    ck_assert(g.spans[0].start_ns == INT64_C(1700000000123456789));
    ck_assert(g.t.started_ns == INT64_C(1700000000123456789));
    ck_assert(g.t.ended_ns == INT64_C(1700000000123456789));
    ck_assert_int_eq(g.t.latency_ms, 0);
    ck_assert(g.t.prompt_tokens == INT64_C(3000000000));
}
END_TEST

/* Token counts are client input up to INT64_MAX (found by fuzzing the
 * codecs): the trace's sums saturate instead of overflowing, and replacing
 * the spans brings them back down without going negative. */
START_TEST(token_sums_saturate)
{
    ts_span s[2];
    got g;

    mk(&s[0], "t", "a", NULL, T0, T0 + MS);
    llm(&s[0], "m", INT64_MAX, INT64_MAX, -1);
    mk(&s[1], "t", "b", "a", T0, T0 + MS);
    llm(&s[1], "m", INT64_MAX, 1, -1);
    ingest(wsA, s, 2, 0);
    g = get_ok(wsA, "t");
    ck_assert(g.t.prompt_tokens == INT64_MAX);
    ck_assert(g.t.completion_tokens == INT64_MAX);
    ck_assert(g.t.total_tokens == INT64_MAX);
    /* Replacing one span re-sums from the spans (issue 23.6): the other
     * span's INT64_MAX is still there, not subtracted away to 0. */
    llm(&s[0], "m", 1, 2, -1);
    ingest(wsA, s, 1, 0);
    g = get_ok(wsA, "t");
    ck_assert(g.t.prompt_tokens == INT64_MAX);
    ck_assert_int_eq(g.t.completion_tokens, 3);
    llm(&s[0], "m", 1, 2, -1);
    llm(&s[1], "m", 3, 4, -1);
    ingest(wsA, s, 2, 0);
    g = get_ok(wsA, "t");
    ck_assert_int_eq(g.t.prompt_tokens, 4);
    ck_assert_int_eq(g.t.completion_tokens, 6);
    ck_assert_int_eq(g.t.total_tokens, 10);
}
END_TEST

START_TEST(reingest_is_idempotent)
{
    ts_span s[3];
    got a, b;

    mk(&s[0], "t", "r", NULL, T0, T0 + 100 * MS);
    mk(&s[1], "t", "x", "r", T0 + MS, T0 + 2 * MS);
    llm(&s[1], "m", 5, 6, 0.1);
    s[1].error = "e";
    s[1].log_request = "{\"a\":1}";
    mk(&s[2], "t", "y", "r", T0 + 3 * MS, T0 + 4 * MS);
    llm(&s[2], "m", 1, 1, 0.2);
    ingest(wsA, s, 3, 0);
    int64_t rowid = s[1].rowid, rl = s[1].request_log_id;
    a = get_ok(wsA, "t");
    for (int k = 0; k < 3; k++)
        ingest(wsA, s, 3, 0);
    b = get_ok(wsA, "t");
    ck_assert_int_eq(b.t.span_count, 3);
    ck_assert_int_eq(b.t.span_count, a.t.span_count);
    ck_assert_int_eq(b.t.llm_span_count, a.t.llm_span_count);
    ck_assert_int_eq(b.t.prompt_tokens, a.t.prompt_tokens);
    ck_assert_int_eq(b.t.completion_tokens, a.t.completion_tokens);
    ck_assert_int_eq(b.t.total_tokens, a.t.total_tokens);
    ck_assert_double_eq_tol(b.t.cost, a.t.cost, 1e-9);
    ck_assert_int_eq(b.t.error_count, 1);
    ck_assert(b.t.started_ns == a.t.started_ns);
    ck_assert(b.t.ended_ns == a.t.ended_ns);
    /* the row and its request log are updated in place */
    ck_assert_int_eq(s[1].rowid, rowid);
    ck_assert_int_eq(s[1].request_log_id, rl);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM spans"), 3);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM request_logs"), 1);
}
END_TEST

START_TEST(reingest_moves_by_difference)
{
    ts_span s[2], r;
    got g;

    mk(&s[0], "t", "a", NULL, T0, T0 + 10 * MS);
    llm(&s[0], "m", 10, 20, 1.0);
    mk(&s[1], "t", "b", "a", T0 + MS, T0 + 2 * MS);
    llm(&s[1], "m", 1, 2, 0.5);
    s[1].unpriced = 1;
    ingest(wsA, s, 2, 0);

    /* b: more tokens, no cost, priced, no longer an LLM span */
    mk(&r, "t", "b", "a", T0 + MS, T0 + 2 * MS);
    r.prompt_tokens = 100;
    ingest1(wsA, &r);
    g = get_ok(wsA, "t");
    ck_assert_int_eq(g.t.span_count, 2);
    ck_assert_int_eq(g.t.llm_span_count, 1);
    ck_assert_int_eq(g.t.prompt_tokens, 110);
    ck_assert_int_eq(g.t.completion_tokens, 20);
    ck_assert_int_eq(g.t.total_tokens, 130);
    ck_assert_double_eq_tol(g.t.cost, 1.0, 1e-9);
    ck_assert_int_eq(g.t.unpriced_span_count, 0);

    /* a: cost removed too: the trace has no cost left */
    mk(&r, "t", "a", NULL, T0, T0 + 10 * MS);
    ingest1(wsA, &r);
    g = get_ok(wsA, "t");
    ck_assert_int_eq(g.t.has_cost, 0);
    ck_assert_int_eq(g.t.llm_span_count, 0);
    ck_assert_int_eq(g.t.prompt_tokens, 100);
    ck_assert_int_eq(g.t.completion_tokens, 0);
    ck_assert_int_eq(g.t.total_tokens, 100);
    /* and back */
    llm(&r, "m", 10, 20, 1.0);
    ingest1(wsA, &r);
    g = get_ok(wsA, "t");
    ck_assert_int_eq(g.t.has_cost, 1);
    ck_assert_double_eq_tol(g.t.cost, 1.0, 1e-9);
    ck_assert_int_eq(g.t.total_tokens, 130);
}
END_TEST

/* docs/API.md: a replaced span keeps its first ingest time, so a retry of
 * an acknowledged request changes nothing. */
START_TEST(replace_keeps_first_ingest_time)
{
    ts_span s, r;
    got g;
    int64_t first;

    mk(&s, "t", "a", NULL, T0, T0 + MS);
    ingest1(wsA, &s);
    first = s.created_ns;
    ck_assert_int_gt(first, 0);
    usleep(2000);
    mk(&r, "t", "a", NULL, T0, T0 + 2 * MS); /* a retry, or a changed span */
    r.name = "changed";
    ingest1(wsA, &r);
    ck_assert_int_eq(r.created_ns, first);
    g = get_ok(wsA, "t");
    ck_assert_str_eq(g.spans[0].name, "changed");
    ck_assert_int_eq(g.spans[0].created_ns, first);
    /* a new span in the same job gets the job's time */
    mk(&s, "t", "b", "a", T0, T0 + MS);
    ingest1(wsA, &s);
    ck_assert_int_gt(s.created_ns, first);
    ck_assert_int_eq(find(&g, "a")->created_ns, first);
}
END_TEST

START_TEST(replace_extremes_recomputed)
{
    ts_span s[3], r;
    got g;

    mk(&s[0], "t", "a", NULL, T0, T0 + 100 * MS);
    mk(&s[1], "t", "b", "a", T0 + 50 * MS, T0 + 300 * MS);
    mk(&s[2], "t", "c", "a", T0 + 70 * MS, T0 + 80 * MS);
    ingest(wsA, s, 3, 0);
    g = get_ok(wsA, "t");
    ck_assert(g.t.started_ns == T0);
    ck_assert(g.t.ended_ns == T0 + 300 * MS);

    /* the span with the earliest start moves later: b is now earliest */
    mk(&r, "t", "a", NULL, T0 + 60 * MS, T0 + 100 * MS);
    ingest1(wsA, &r);
    g = get_ok(wsA, "t");
    ck_assert(g.t.started_ns == T0 + 50 * MS);
    ck_assert_str_eq(g.t.name, "a"); /* still the only root */
    ck_assert_int_eq(g.t.latency_ms, 250);

    /* the span with the latest end ends earlier: a's end is now latest */
    mk(&r, "t", "b", "a", T0 + 50 * MS, T0 + 90 * MS);
    ingest1(wsA, &r);
    g = get_ok(wsA, "t");
    ck_assert(g.t.ended_ns == T0 + 100 * MS);
    ck_assert(g.t.started_ns == T0 + 50 * MS);

    /* and extending works without recompute */
    mk(&r, "t", "c", "a", T0 + 10 * MS, T0 + 400 * MS);
    ingest1(wsA, &r);
    g = get_ok(wsA, "t");
    ck_assert(g.t.started_ns == T0 + 10 * MS);
    ck_assert(g.t.ended_ns == T0 + 400 * MS);
    ck_assert_str_eq(g.spans[0].span_id, "c");
    ck_assert_int_eq(g.t.span_count, 3);
}
END_TEST

START_TEST(replace_root_recomputed)
{
    ts_span s[3], r;
    got g;

    mk(&s[0], "t", "r1", NULL, T0, T0 + 10 * MS);
    s[0].name = "first-root";
    s[0].input = "in1";
    mk(&s[1], "t", "r2", NULL, T0 + 2 * MS, T0 + 10 * MS);
    s[1].name = "second-root";
    s[1].input = "in2";
    mk(&s[2], "t", "x", "r1", T0 + MS, T0 + 2 * MS);
    ingest(wsA, s, 3, 0);
    g = get_ok(wsA, "t");
    ck_assert_str_eq(g.t.name, "first-root");

    /* r1 gets a parent: r2 is the root now */
    mk(&r, "t", "r1", "r2", T0, T0 + 10 * MS);
    r.name = "first-root";
    ingest1(wsA, &r);
    g = get_ok(wsA, "t");
    ck_assert_str_eq(g.t.name, "second-root");
    ck_assert_str_eq(g.t.input, "in2");

    /* r1 a root again but later than r2: r2 stays */
    mk(&r, "t", "r1", NULL, T0 + 5 * MS, T0 + 10 * MS);
    r.name = "first-root";
    ingest1(wsA, &r);
    g = get_ok(wsA, "t");
    ck_assert_str_eq(g.t.name, "second-root");

    /* r2 moves after r1: r1 takes over */
    mk(&r, "t", "r2", NULL, T0 + 6 * MS, T0 + 10 * MS);
    r.name = "second-root";
    ingest1(wsA, &r);
    g = get_ok(wsA, "t");
    ck_assert_str_eq(g.t.name, "first-root");
    ck_assert_ptr_null(g.t.input); /* r1's latest version has no input */

    /* the root renamed in place */
    mk(&r, "t", "r1", NULL, T0 + 5 * MS, T0 + 10 * MS);
    r.name = "renamed";
    r.output = "out";
    ingest1(wsA, &r);
    g = get_ok(wsA, "t");
    ck_assert_str_eq(g.t.name, "renamed");
    ck_assert_str_eq(g.t.output, "out");

    /* no root left at all */
    mk(&r, "t", "r1", "x", T0 + 5 * MS, T0 + 10 * MS);
    ingest1(wsA, &r);
    mk(&r, "t", "r2", "x", T0 + 6 * MS, T0 + 10 * MS);
    ingest1(wsA, &r);
    g = get_ok(wsA, "t");
    ck_assert_ptr_null(g.t.name);
    ck_assert_ptr_null(g.t.output);
    ck_assert_int_eq(g.t.span_count, 3);
}
END_TEST

START_TEST(replace_error_recomputed)
{
    ts_span s[3], r;
    got g;

    mk(&s[0], "t", "root", NULL, T0, T0 + 10 * MS);
    mk(&s[1], "t", "e1", "root", T0 + 1 * MS, T0 + 2 * MS);
    s[1].error = "e1";
    mk(&s[2], "t", "e2", "root", T0 + 2 * MS, T0 + 3 * MS);
    s[2].error = "e2";
    ingest(wsA, s, 3, 0);
    g = get_ok(wsA, "t");
    ck_assert_str_eq(g.t.error, "e1");
    ck_assert_int_eq(g.t.error_count, 2);

    /* e1 no longer fails: e2 is the earliest error */
    mk(&r, "t", "e1", "root", T0 + 1 * MS, T0 + 2 * MS);
    ingest1(wsA, &r);
    g = get_ok(wsA, "t");
    ck_assert_str_eq(g.t.error, "e2");
    ck_assert_int_eq(g.t.error_count, 1);

    /* e1 fails again with another text */
    r.error = "e1b";
    ingest1(wsA, &r);
    g = get_ok(wsA, "t");
    ck_assert_str_eq(g.t.error, "e1b");
    ck_assert_int_eq(g.t.error_count, 2);

    /* the error text changes in place */
    r.error = "e1c";
    ingest1(wsA, &r);
    g = get_ok(wsA, "t");
    ck_assert_str_eq(g.t.error, "e1c");
    ck_assert_int_eq(g.t.error_count, 2);

    /* e1 moves after e2 */
    mk(&r, "t", "e1", "root", T0 + 5 * MS, T0 + 6 * MS);
    r.error = "e1c";
    ingest1(wsA, &r);
    g = get_ok(wsA, "t");
    ck_assert_str_eq(g.t.error, "e2");

    /* the root fails: its error wins; then it recovers */
    mk(&r, "t", "root", NULL, T0, T0 + 10 * MS);
    r.error = "root down";
    ingest1(wsA, &r);
    g = get_ok(wsA, "t");
    ck_assert_str_eq(g.t.error, "root down");
    ck_assert_int_eq(g.t.error_count, 3);
    r.error = NULL;
    ingest1(wsA, &r);
    g = get_ok(wsA, "t");
    ck_assert_str_eq(g.t.error, "e2");
    ck_assert_int_eq(g.t.error_count, 2);

    /* every error gone */
    mk(&r, "t", "e1", "root", T0 + 5 * MS, T0 + 6 * MS);
    ingest1(wsA, &r);
    mk(&r, "t", "e2", "root", T0 + 2 * MS, T0 + 3 * MS);
    ingest1(wsA, &r);
    g = get_ok(wsA, "t");
    ck_assert_ptr_null(g.t.error);
    ck_assert_int_eq(g.t.error_count, 0);
}
END_TEST

/* Replacements and new spans for one trace inside a single job. */
START_TEST(replace_within_one_job)
{
    ts_span s[3], r[3];
    got g;

    mk(&s[0], "t", "r", NULL, T0, T0 + 10 * MS);
    s[0].name = "root";
    mk(&s[1], "t", "a", "r", T0 + MS, T0 + 20 * MS);
    s[1].error = "a failed";
    mk(&s[2], "t", "b", "r", T0 + 2 * MS, T0 + 3 * MS);
    llm(&s[2], "m", 1, 1, 0.1);
    ingest(wsA, s, 3, 0);

    mk(&r[0], "t", "r", "zz", T0 + 4 * MS, T0 + 5 * MS); /* loses root, start and name */
    mk(&r[1], "t", "a", "r", T0 + MS, T0 + 6 * MS);      /* loses end and error */
    mk(&r[2], "t", "n", NULL, T0 + 3 * MS, T0 + 7 * MS); /* a new root */
    r[2].name = "new-root";
    r[2].error = "n failed";
    ingest(wsA, r, 3, 0);
    g = get_ok(wsA, "t");
    ck_assert_int_eq(g.t.span_count, 4);
    ck_assert(g.t.started_ns == T0 + MS);
    ck_assert(g.t.ended_ns == T0 + 7 * MS);
    ck_assert_str_eq(g.t.name, "new-root");
    ck_assert_str_eq(g.t.error, "n failed");
    ck_assert_int_eq(g.t.error_count, 1);
    ck_assert_int_eq(g.t.llm_span_count, 1);
}
END_TEST

START_TEST(out_of_order_child_first)
{
    ts_span c, p;
    got g;

    mk(&c, "t", "child", "parent", T0 + 10 * MS, T0 + 20 * MS);
    llm(&c, "gpt-4o", 3, 4, 0.01);
    ingest1(wsA, &c);
    g = get_ok(wsA, "t");
    ck_assert_int_eq(g.t.span_count, 1);
    ck_assert_ptr_null(g.t.name); /* no root yet */
    ck_assert(g.t.started_ns == T0 + 10 * MS);

    mk(&p, "t", "parent", NULL, T0, T0 + 100 * MS);
    p.name = "the parent";
    p.input = "hello";
    ingest1(wsA, &p);
    g = get_ok(wsA, "t");
    ck_assert_int_eq(g.t.span_count, 2);
    ck_assert_str_eq(g.t.name, "the parent");
    ck_assert_str_eq(g.t.input, "hello");
    ck_assert(g.t.started_ns == T0);
    ck_assert(g.t.ended_ns == T0 + 100 * MS);
    ck_assert_int_eq(g.t.total_tokens, 7);
    ck_assert_str_eq(g.spans[0].span_id, "parent");
    ck_assert_str_eq(g.spans[1].span_id, "child");
    ck_assert_str_eq(g.spans[1].parent_id, "parent");
}
END_TEST

START_TEST(spans_ordered_by_start_then_id)
{
    ts_span s[3];
    got g;

    mk(&s[0], "t", "b", NULL, T0, T0);
    mk(&s[1], "t", "a", NULL, T0, T0);
    mk(&s[2], "t", "0", NULL, T0 + 1, T0 + 1);
    ingest(wsA, s, 3, 0);
    g = get_ok(wsA, "t");
    ck_assert_str_eq(g.spans[0].span_id, "a");
    ck_assert_str_eq(g.spans[1].span_id, "b");
    ck_assert_str_eq(g.spans[2].span_id, "0");
    /* root tie on start: the smaller span id */
    ck_assert_str_eq(g.t.name, "a");
    ck_assert_int_eq(get(wsA, "nope").rc, TS_ENOTFOUND);
}
END_TEST

/* The lines of SQLite's EXPLAIN QUERY PLAN for sql, one per line, in buf. */
static void query_plan(sqlite3 *db, const char *sql, char *buf, size_t cap)
{
    sqlite3_stmt *plan = NULL;
    char *eqp = sqlite3_mprintf("EXPLAIN QUERY PLAN %s", sql);
    ck_assert_int_eq(sqlite3_prepare_v2(db, eqp, -1, &plan, NULL), SQLITE_OK);
    buf[0] = '\0';
    while (sqlite3_step(plan) == SQLITE_ROW) {
        strncat(buf, (const char *)sqlite3_column_text(plan, 3), cap - strlen(buf) - 2);
        strcat(buf, "\n");
    }
    sqlite3_finalize(plan);
    sqlite3_free(eqp);
}

/* A trace's spans are fetched in row order (the IN list is walked sorted),
 * not in the order of the (trow, span_id) index: rows appended together
 * sit on neighbouring pages, and a cold read then gets readahead. */
START_TEST(trace_spans_fetched_in_row_order)
{
    sqlite3 *db = NULL;
    char buf[2048];
    ts_span s;

    mk(&s, "t", "a", NULL, T0, T0);
    ingest1(wsA, &s);
    ck_assert_int_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    query_plan(db, ts_sqlite_sql(Q_SPANS_GET), buf, sizeof(buf));
    sqlite3_close(db);
    ck_assert_msg(strstr(buf, "SEARCH s USING INTEGER PRIMARY KEY (rowid=?)") != NULL, "%s", buf);
    ck_assert_msg(strstr(buf, "COVERING INDEX spans_trace (trow=?)") != NULL, "%s", buf);
}
END_TEST

/* ---- closure ---------------------------------------------------------- */

START_TEST(close_trace_and_reject)
{
    ts_span s, j[3];
    ts_write w;
    got g;

    ck_assert_int_eq(write_simple(TS_W_CLOSE, wsA, "X", &w), TS_ENOTFOUND);
    ck_assert_str_eq(w.err.msg, "Trace not found");
    mk(&s, "X", "a", NULL, T0, T0 + MS);
    s.name = "orig";
    ingest1(wsA, &s);
    ck_assert_int_eq(write_simple(TS_W_CLOSE, wsA, "X", &w), TS_OK);
    ck_assert_uint_eq(strlen(w.closure.id), 36);
    ck_assert_str_eq(w.closure.trace_id, "X");
    ck_assert_int_eq(w.closure.workspace_id, wsA);
    ck_assert_int_gt(w.closure.created_ns, 0);
    ck_assert_int_eq(w.closure.updated_ns, w.closure.created_ns);
    ck_assert_int_eq(write_simple(TS_W_CLOSE, wsA, "X", &w), TS_ECONFLICT);
    ck_assert_str_eq(w.err.msg, "Trace already closed");
    g = get_ok(wsA, "X");
    ck_assert_int_eq(g.t.closed, 1);

    /* a job mixing a closed trace and an open one */
    mk(&j[0], "X", "b", "a", T0, T0 + MS);
    mk(&j[1], "Y", "a", NULL, T0, T0 + MS);
    mk(&j[2], "X", "a", NULL, T0 - MS, T0 + 5 * MS); /* a replacement: also refused */
    j[2].name = "changed";
    ck_assert_uint_eq(ingest(wsA, j, 3, 0), 2);
    ck_assert_int_eq(j[0].rejected, 1);
    ck_assert_int_eq(j[1].rejected, 0);
    ck_assert_int_eq(j[2].rejected, 1);
    ck_assert_int_gt(j[1].rowid, 0);
    g = get_ok(wsA, "X");
    ck_assert_int_eq(g.t.span_count, 1);
    ck_assert_str_eq(g.t.name, "orig");
    ck_assert(g.t.started_ns == T0);
    g = get_ok(wsA, "Y");
    ck_assert_int_eq(g.t.span_count, 1);
    ck_assert_int_eq(g.t.closed, 0);
}
END_TEST

START_TEST(close_after)
{
    ts_span s[3], late;
    ts_write w;
    got g;

    mk(&s[0], "P", "a", NULL, T0, T0 + MS);
    mk(&s[1], "Q", "a", NULL, T0, T0 + MS);
    mk(&s[2], "P", "b", "a", T0, T0 + MS);
    ck_assert_uint_eq(ingest(wsA, s, 3, 1), 0); /* the job's own spans are kept */
    g = get_ok(wsA, "P");
    ck_assert_int_eq(g.t.closed, 1);
    ck_assert_int_eq(g.t.span_count, 2);
    ck_assert_int_eq(get_ok(wsA, "Q").t.closed, 1);
    ck_assert_int_eq(write_simple(TS_W_CLOSE, wsA, "P", &w), TS_ECONFLICT);
    mk(&late, "P", "c", "a", T0, T0 + MS);
    ck_assert_uint_eq(ingest1(wsA, &late), 1);
    ck_assert_int_eq(late.rejected, 1);
    /* close_after on an already closed trace is harmless */
    ck_assert_uint_eq(ingest(wsA, &late, 1, 1), 1);
    ck_assert_int_eq(get_ok(wsA, "P").t.span_count, 2);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM trace_closures"), 2);
}
END_TEST

/* ---- delete ----------------------------------------------------------- */

START_TEST(delete_without_window)
{
    ts_span s[2], again;
    got g;

    mk(&s[0], "D", "a", NULL, T0, T0 + MS);
    s[0].log_request = "{\"x\":1}";
    llm(&s[0], "m", 5, 5, 1.0);
    mk(&s[1], "D", "b", "a", T0, T0 + MS);
    ingest(wsA, s, 2, 1);
    ck_assert_int_eq(delete_trace(wsA, "nope"), 0);
    ck_assert_int_eq(delete_trace(wsA, "D"), 1);
    ck_assert_int_eq(get(wsA, "D").rc, TS_ENOTFOUND);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM spans WHERE trace_id = 'D'"), 0);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM traces WHERE trace_id = 'D'"), 0);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM request_logs WHERE trace_id = 'D'"), 0);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM trace_closures WHERE trace_id = 'D'"), 0);
    ck_assert_int_eq(delete_trace(wsA, "D"), 0); /* again: nothing there */
    ck_assert_int_eq(close_trace(wsA, "D"), TS_ENOTFOUND);

    /* the id can be used again, from scratch and open */
    mk(&again, "D", "b", NULL, T0 + 5 * MS, T0 + 6 * MS);
    again.name = "reborn";
    ck_assert_uint_eq(ingest1(wsA, &again), 0);
    g = get_ok(wsA, "D");
    ck_assert_int_eq(g.t.span_count, 1);
    ck_assert_int_eq(g.t.closed, 0);
    ck_assert_int_eq(g.t.has_cost, 0);
    ck_assert_int_eq(g.t.total_tokens, 0);
    ck_assert_str_eq(g.t.name, "reborn");
    ck_assert(g.t.started_ns == T0 + 5 * MS);
    ck_assert_int_eq(close_trace(wsA, "D"), TS_OK);
}
END_TEST

START_TEST(delete_with_window)
{
    ts_span s;

    mk(&s, "W", "a", NULL, T0, T0 + MS);
    ingest1(wsA, &s);
    ck_assert_int_eq(delete_window(wsA, "W", 1, T0 + 1, 0, 0), 0);
    ck_assert_int_eq(delete_window(wsA, "W", 0, 0, 1, T0 - 1), 0);
    ck_assert_int_eq(delete_window(wsA, "W", 1, T0 + 1, 1, T0 + 2), 0);
    ck_assert_int_eq(delete_window(wsA, "W", 1, T0 - 2, 1, T0 - 1), 0);
    ck_assert_int_eq(get(wsA, "W").rc, TS_OK);
    /* bounds are inclusive */
    ck_assert_int_eq(delete_window(wsA, "W", 1, T0, 1, T0), 1);
    ck_assert_int_eq(get(wsA, "W").rc, TS_ENOTFOUND);
    /* open bounds */
    ingest1(wsA, &s);
    ck_assert_int_eq(delete_window(wsA, "W", 1, T0, 0, 0), 1);
    ingest1(wsA, &s);
    ck_assert_int_eq(delete_window(wsA, "W", 0, 0, 1, T0), 1);
    ck_assert_int_eq(delete_window(wsA, "W", 0, 0, 1, T0), 0);
}
END_TEST

/* ---- workspaces ------------------------------------------------------- */

START_TEST(workspace_isolation)
{
    ts_span a[2], b;
    got ga, gb;

    mk(&a[0], "shared", "s1", NULL, T0, T0 + 10 * MS);
    a[0].name = "in-alpha";
    llm(&a[0], "m", 10, 10, 1.0);
    mk(&a[1], "shared", "s2", "s1", T0, T0 + 10 * MS);
    mk(&b, "shared", "s1", NULL, T0 + 5 * MS, T0 + 6 * MS);
    b.name = "in-beta";
    ingest(wsA, a, 2, 0);
    ingest1(wsB, &b);
    ga = get_ok(wsA, "shared");
    gb = get_ok(wsB, "shared");
    ck_assert_int_eq(ga.t.span_count, 2);
    ck_assert_int_eq(gb.t.span_count, 1);
    ck_assert_str_eq(ga.t.name, "in-alpha");
    ck_assert_str_eq(gb.t.name, "in-beta");
    ck_assert_int_eq(gb.t.total_tokens, 0);
    ck_assert_int_eq(gb.t.has_cost, 0);
    ck_assert_int_ne(ga.spans[0].rowid, gb.spans[0].rowid);
    ck_assert_int_eq(get(wsB, "only-in-alpha").rc, TS_ENOTFOUND);
}
END_TEST

START_TEST(workspace_isolation_close_delete)
{
    ts_span a, b, more;

    mk(&a, "shared", "s1", NULL, T0, T0 + MS);
    mk(&b, "shared", "s1", NULL, T0, T0 + MS);
    ingest1(wsA, &a);
    ingest1(wsB, &b);
    ck_assert_int_eq(close_trace(wsA, "shared"), TS_OK);
    ck_assert_int_eq(get_ok(wsB, "shared").t.closed, 0);
    mk(&more, "shared", "s2", "s1", T0, T0 + MS);
    ck_assert_uint_eq(ingest1(wsB, &more), 0); /* B's trace is still open */
    ck_assert_int_eq(close_trace(wsB, "shared"), TS_OK);
    ck_assert_int_eq(delete_trace(wsB, "shared"), 1);
    ck_assert_int_eq(get(wsB, "shared").rc, TS_ENOTFOUND);
    ck_assert_int_eq(get_ok(wsA, "shared").t.closed, 1); /* A untouched */
    ck_assert_int_eq(get_ok(wsA, "shared").t.span_count, 1);
    /* a trace only in A is not found, closable or deletable from B */
    mk(&a, "a-only", "s", NULL, T0, T0 + MS);
    ingest1(wsA, &a);
    ck_assert_int_eq(get(wsB, "a-only").rc, TS_ENOTFOUND);
    ck_assert_int_eq(close_trace(wsB, "a-only"), TS_ENOTFOUND);
    ck_assert_int_eq(delete_trace(wsB, "a-only"), 0);
    ck_assert_int_eq(get(wsA, "a-only").rc, TS_OK);
}
END_TEST

/* ---- the writer queue ------------------------------------------------- */

/* Counts completions; the first job's done() can hold the writer until
 * released, so the queue fills deterministically. */
typedef struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int hold;    /* done() of a job with arg == this blocks while set */
    int entered; /* the writer is blocked in done() */
    int ndone;
    int calls[64]; /* per job: how many times done() ran */
} gate;

static gate g_gate;
static ts_write g_jobs[64];

static void gate_done(ts_write *w, void *arg)
{
    gate *gt = arg;
    size_t idx = (size_t)(w - g_jobs);

    pthread_mutex_lock(&gt->mu);
    if (idx < 64)
        gt->calls[idx]++;
    gt->ndone++;
    pthread_cond_broadcast(&gt->cv);
    if (idx == 0) {
        gt->entered = 1;
        while (gt->hold)
            pthread_cond_wait(&gt->cv, &gt->mu);
    }
    pthread_mutex_unlock(&gt->mu);
}

static void prep_job(int i, ts_write_kind kind)
{
    memset(&g_jobs[i], 0, sizeof(g_jobs[i]));
    g_jobs[i].kind = kind;
    g_jobs[i].ws_id = wsA;
    g_jobs[i].done = gate_done;
    g_jobs[i].done_arg = &g_gate;
}

/* Submits g_jobs[i]: one span "s" of trace, in sp. */
static void submit_span_job(int i, ts_span *sp, const char *trace)
{
    prep_job(i, TS_W_INGEST);
    mk(sp, trace, "s", NULL, T0, T0 + MS);
    g_jobs[i].spans = sp;
    g_jobs[i].nspans = 1;
    ck_assert_int_eq(ts_store_submit(store, &g_jobs[i]), TS_OK);
}

static void wait_done(int n)
{
    pthread_mutex_lock(&g_gate.mu);
    while (g_gate.ndone < n)
        pthread_cond_wait(&g_gate.cv, &g_gate.mu);
    pthread_mutex_unlock(&g_gate.mu);
}

/* Submits job 0 (a ping) with the gate closed and waits until its done()
 * has entered the gate, where it stays until g_gate.hold is cleared. */
static void hold_writer(void)
{
    g_gate.hold = 1;
    prep_job(0, TS_W_PING);
    ck_assert_int_eq(ts_store_submit(store, &g_jobs[0]), TS_OK);
    pthread_mutex_lock(&g_gate.mu);
    while (!g_gate.entered)
        pthread_cond_wait(&g_gate.cv, &g_gate.mu);
    pthread_mutex_unlock(&g_gate.mu);
}

/* sync "normal": done() runs on the writer thread, so holding it holds
 * the writer (with "full" it runs on the syncer thread: see
 * syncer_does_not_hold_the_writer). */
static void reopen(int64_t qmax, const char *sync)
{
    ts_store_close(store);
    store = NULL;
    cfg.writer_queue_max = qmax;
    snprintf(cfg.sqlite_synchronous, sizeof(cfg.sqlite_synchronous), "%s", sync);
    open_store();
    memset(&g_gate, 0, sizeof(g_gate));
    pthread_mutex_init(&g_gate.mu, NULL);
    pthread_cond_init(&g_gate.cv, NULL);
}

START_TEST(queue_full_is_busy)
{
    enum { QMAX = 3, BURST = 40 };
    int accepted = 0, busy = 0;
    ts_store_stats before, after;
    ts_write sync;
    ts_span sp[QMAX];

    reopen(QMAX, "normal");
    hold_writer();
    ts_store_stats_get(store, &before);
    ck_assert_uint_eq(before.queue_depth, 0);

    /* the writer is held: exactly QMAX jobs fit, the rest are refused */
    for (int i = 1; i <= BURST; i++) {
        prep_job(i, i <= QMAX ? TS_W_INGEST : TS_W_PING);
        if (i <= QMAX) {
            char *tid = ts_arena_printf(arena, "q%d", i);
            mk(&sp[i - 1], tid, "s", NULL, T0, T0 + MS);
            g_jobs[i].spans = &sp[i - 1];
            g_jobs[i].nspans = 1;
        }
        int rc = ts_store_submit(store, &g_jobs[i]);
        if (rc == TS_OK)
            accepted++;
        else {
            ck_assert_int_eq(rc, TS_EBUSY);
            busy++;
        }
    }
    ck_assert_int_eq(accepted, QMAX);
    ck_assert_int_eq(busy, BURST - QMAX);
    ts_store_stats_get(store, &after);
    ck_assert_uint_eq(after.queue_depth, QMAX);
    /* the synchronous path reports it too, without waiting */
    memset(&sync, 0, sizeof(sync));
    sync.kind = TS_W_PING;
    ck_assert_int_eq(ts_store_write_sync(store, &sync), TS_EBUSY);
    ck_assert_int_eq(sync.rc, TS_EBUSY);

    /* release: every accepted job completes exactly once, in one commit */
    pthread_mutex_lock(&g_gate.mu);
    g_gate.hold = 0;
    pthread_cond_broadcast(&g_gate.cv);
    pthread_mutex_unlock(&g_gate.mu);
    wait_done(1 + QMAX);
    ts_store_stats_get(store, &after);
    ck_assert_uint_eq(after.transactions - before.transactions, 1);
    ck_assert_uint_eq(after.jobs - before.jobs, QMAX);
    pthread_mutex_lock(&g_gate.mu);
    for (int i = 0; i <= BURST; i++)
        ck_assert_int_eq(g_gate.calls[i], i <= QMAX ? 1 : 0);
    ck_assert_int_eq(g_gate.ndone, 1 + QMAX);
    pthread_mutex_unlock(&g_gate.mu);
    for (int i = 0; i <= QMAX; i++)
        ck_assert_int_eq(g_jobs[i].rc, TS_OK);
    for (int i = 1; i <= QMAX; i++)
        ck_assert_int_eq(get_ok(wsA, ts_arena_printf(arena, "q%d", i)).t.span_count, 1);
    /* room again */
    memset(&sync, 0, sizeof(sync));
    sync.kind = TS_W_PING;
    ck_assert_int_eq(ts_store_write_sync(store, &sync), TS_OK);
}
END_TEST

/* synchronous=full: commits are answered by the syncers after fdatasync of
 * the WAL; a slow answer stops neither the writer committing more nor the
 * other syncer answering them. */
START_TEST(syncer_does_not_hold_the_writer)
{
    ts_store_stats before, now;
    ts_span sp;

    reopen(64, "full");
    hold_writer();
    ts_store_stats_get(store, &before);
    submit_span_job(1, &sp, "sy1");
    /* the writer commits job 1 while job 0's answer is still held */
    do {
        struct timespec ts = {0, 1000000L};
        nanosleep(&ts, NULL);
        ts_store_stats_get(store, &now);
    } while (now.transactions == before.transactions);
    ck_assert_int_eq(get_ok(wsA, "sy1").t.span_count, 1);
    /* and the second syncer answers it while job 0's answer is held */
    wait_done(2);
    ck_assert_int_eq(g_jobs[1].rc, TS_OK);
    pthread_mutex_lock(&g_gate.mu);
    ck_assert_int_eq(g_gate.calls[1], 1);
    g_gate.hold = 0;
    pthread_cond_broadcast(&g_gate.cv);
    pthread_mutex_unlock(&g_gate.mu);
}
END_TEST

/* A free-running burst: whatever is accepted completes exactly once; a
 * failing job in a group commit fails alone. */
START_TEST(async_burst_and_failing_job)
{
    enum { N = 60 };
    int accepted = 0;
    ts_span sp[N];

    reopen(8, "full");
    for (int i = 0; i < N; i++) {
        prep_job(i, TS_W_INGEST);
        if (i % 3 == 1) {
            g_jobs[i].kind = TS_W_CLOSE; /* no such trace: fails */
            g_jobs[i].trace_id = "missing";
        } else {
            mk(&sp[i], "burst", ts_arena_printf(arena, "s%d", i), NULL, T0 + i, T0 + i);
            g_jobs[i].spans = &sp[i];
            g_jobs[i].nspans = 1;
        }
    }
    /* job 0's done() must not hold the writer here */
    for (int i = 0; i < N; i++) {
        int rc = ts_store_submit(store, &g_jobs[i]);
        ck_assert(rc == TS_OK || rc == TS_EBUSY);
        if (rc == TS_OK)
            accepted++;
        else
            g_jobs[i].kind = 0; /* mark as refused */
    }
    wait_done(accepted);
    int stored = 0;
    pthread_mutex_lock(&g_gate.mu);
    ck_assert_int_eq(g_gate.ndone, accepted);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(g_gate.calls[i], g_jobs[i].kind ? 1 : 0);
        if (g_jobs[i].kind == TS_W_CLOSE)
            ck_assert_int_eq(g_jobs[i].rc, TS_ENOTFOUND);
        if (g_jobs[i].kind == TS_W_INGEST) {
            ck_assert_int_eq(g_jobs[i].rc, TS_OK);
            stored++;
        }
    }
    pthread_mutex_unlock(&g_gate.mu);
    ck_assert_int_gt(accepted, 0);
    ck_assert_int_eq(get_ok(wsA, "burst").t.span_count, stored);
}
END_TEST

/* Closing the store drains the queue: every accepted job completes and is
 * on disk when ts_store_close returns. */
START_TEST(close_drains_queue)
{
    enum { N = 40 };
    ts_span sp[N];

    reopen(N, "full");
    for (int i = 0; i < N; i++) {
        prep_job(i, TS_W_INGEST);
        mk(&sp[i], "drain", ts_arena_printf(arena, "s%02d", i), NULL, T0 + i, T0 + i);
        g_jobs[i].spans = &sp[i];
        g_jobs[i].nspans = 1;
        ck_assert_int_eq(ts_store_submit(store, &g_jobs[i]), TS_OK);
    }
    ts_store_close(store);
    store = NULL;
    pthread_mutex_lock(&g_gate.mu);
    ck_assert_int_eq(g_gate.ndone, N);
    pthread_mutex_unlock(&g_gate.mu);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(g_jobs[i].rc, TS_OK);
    open_store();
    got g = get_ok(wsA, "drain");
    ck_assert_int_eq(g.t.span_count, N);
    ck_assert(g.t.started_ns == T0);
    ck_assert(g.t.ended_ns == T0 + N - 1);
}
END_TEST

/* Aggregates and trace_dims equal a recomputation from the spans after
 * bursts of asynchronous jobs: the writer groups them into transactions
 * where span-only ingest jobs share trace images (deferred aggregates),
 * with span replacements, roots, errors, failing and closing jobs, deletes
 * and the same trace ids in two workspaces in between. */
enum { MIX_JOBS = 240, MIX_ROUNDS = 6 };
static pthread_mutex_t mix_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t mix_cv = PTHREAD_COND_INITIALIZER;
static int mix_done;

static void mix_done_cb(ts_write *w, void *arg)
{
    (void)w;
    (void)arg;
    pthread_mutex_lock(&mix_mu);
    mix_done++;
    pthread_cond_broadcast(&mix_cv);
    pthread_mutex_unlock(&mix_mu);
}

static uint32_t mix_rand(uint32_t *st)
{
    *st = *st * 1103515245u + 12345u;
    return *st >> 8;
}

static void mix_span(ts_span *sp, uint32_t *st)
{
    static const char *traces[] = {"m0", "m1", "m2", "m3", "m4", "m5"};
    static const char *ids[] = {"a", "b", "c", "d", "e", "f", "g", "h"};
    static const char *models[] = {"gpt-4o", "claude-3-5-sonnet", "gemini-1.5-pro"};
    static const char *errors[] = {"boom", "upstream 429: rate limit reached"};
    uint32_t r = mix_rand(st);
    int64_t start = T0 + (int64_t)(mix_rand(st) % 1000) * MS;

    mk(sp, traces[r % 6], ids[(r >> 3) % 8], (r >> 6) % 4 == 0 ? NULL : ids[(r >> 8) % 8], start,
       start + (int64_t)(mix_rand(st) % 500) * MS);
    if ((r >> 10) % 2)
        llm(sp, models[(r >> 11) % 3], (int64_t)(r % 97), (int64_t)(r % 13),
            (r >> 13) % 3 ? 0.001 * (double)(r % 7) : -1);
    if ((r >> 15) % 5 == 0)
        sp->error = (char *)errors[(r >> 17) % 2];
    if ((r >> 18) % 3 == 0)
        sp->provider = (r >> 19) % 2 ? "openai" : "anthropic";
}

static int64_t mix_mismatches(void)
{
#define SP "FROM spans s WHERE s.ws_id = t.ws_id AND s.trace_id = t.trace_id"
    return sql_int(
        "SELECT count(*) FROM traces t WHERE span_count != (SELECT count(*) " SP ") "
        "OR llm_span_count != (SELECT count(*) " SP " AND s.type = 'llm') "
        "OR prompt_tokens != (SELECT coalesce(sum(prompt_tokens), 0) " SP ") "
        "OR completion_tokens != (SELECT coalesce(sum(completion_tokens), 0) " SP ") "
        "OR total_tokens != (SELECT coalesce(sum(coalesce(prompt_tokens, 0) + "
        "coalesce(completion_tokens, 0)), 0) " SP ") "
        "OR abs(cost_sum - (SELECT coalesce(sum(cost), 0) " SP ")) > 1e-9 "
        "OR cost_span_count != (SELECT count(cost) " SP ") "
        "OR error_count != (SELECT count(error) " SP ") "
        "OR started_ns IS NOT (SELECT min(start_ns) " SP ") "
        "OR ended_ns IS NOT (SELECT max(end_ns) " SP ") "
        "OR root_span_id IS NOT (SELECT span_id " SP " AND (parent_id IS NULL OR parent_id = '') "
        "ORDER BY start_ns, span_id LIMIT 1) "
        "OR err_span_id IS NOT (SELECT span_id " SP " AND error IS NOT NULL "
        "ORDER BY start_ns, span_id LIMIT 1)") +
           /* every span, log and dim row carries its trace's row id */
           sql_int("SELECT count(*) FROM spans s LEFT JOIN traces t ON t.id = s.trow "
                   "WHERE t.id IS NULL OR t.ws_id != s.ws_id OR t.trace_id != s.trace_id") +
           sql_int("SELECT count(*) FROM request_logs r LEFT JOIN traces t ON t.id = r.trow "
                   "WHERE r.trace_id <> '' AND (t.id IS NULL OR t.ws_id != r.ws_id OR "
                   "t.trace_id != r.trace_id)");
#undef SP
}

static int64_t mix_dim_mismatches(void)
{
    return sql_int(
        "WITH e (ws_id, trace_id, dim, val) AS ("
        " SELECT ws_id, trace_id, 1, model FROM spans WHERE model IS NOT NULL"
        " UNION ALL SELECT ws_id, trace_id, 3, name FROM spans"
        " UNION ALL SELECT ws_id, trace_id, 4, type FROM spans WHERE type IS NOT NULL"
        " UNION ALL SELECT ws_id, trace_id, 6, parent_id FROM spans WHERE parent_id <> ''"
        " UNION ALL SELECT ws_id, trace_id, 7, provider FROM spans WHERE provider IS NOT NULL"
        " UNION ALL SELECT ws_id, trace_id, 8, CASE WHEN error IS NULL THEN 'success' ELSE "
        "'error' END FROM spans), "
        "g AS (SELECT t.ws_id, t.id AS trow, dim, val, count(*) AS n FROM e JOIN traces t ON "
        "t.ws_id = e.ws_id AND t.trace_id = e.trace_id GROUP BY 1, 2, 3, 4) "
        "SELECT (SELECT count(*) FROM g LEFT JOIN trace_dims d USING (ws_id, trow, dim, val) "
        "WHERE d.n IS NOT g.n) + (SELECT count(*) FROM trace_dims d WHERE d.dim <> 2 AND NOT "
        "EXISTS (SELECT 1 FROM g WHERE g.trow = d.trow AND g.dim = d.dim AND g.val = d.val)) + "
        "(SELECT count(*) FROM trace_dims d LEFT JOIN traces t ON t.id = d.trow WHERE t.id IS "
        "NULL OR d.ws_id != t.ws_id OR d.start IS NOT t.eff_start OR d.n <= 0) + "
        /* in trace_dims_val exactly up to the watermark (migration 0005) */
        "(SELECT count(*) FROM trace_dims WHERE settled IS NOT (trow <= (SELECT trow FROM "
        "dims_watermark)))");
}

START_TEST(deferred_aggregates_match_spans)
{
    static ts_write jobs[MIX_JOBS];
    static ts_span spans[MIX_JOBS][3];
    uint32_t st = 12345;
    int64_t txs = 0;
    ts_store_stats before, after;

    reopen(MIX_JOBS, "full");
    ts_store_stats_get(store, &before);
    for (int round = 0; round < MIX_ROUNDS; round++) {
        int accepted = 0;
        mix_done = 0; /* the previous round was answered in full */
        for (int i = 0; i < MIX_JOBS; i++) {
            uint32_t r = mix_rand(&st);
            size_t n = 1 + (r % 8 == 0 ? 2 : 0);
            for (size_t k = 0; k < n; k++)
                mix_span(&spans[i][k], &st);
            if (n == 3 && strcmp(spans[i][1].span_id, spans[i][0].span_id) == 0)
                n = 1; /* a job never carries one span twice */
            if (n == 3 && (strcmp(spans[i][2].span_id, spans[i][0].span_id) == 0 ||
                           strcmp(spans[i][2].span_id, spans[i][1].span_id) == 0))
                n = 2;
            jobs[i] = ingest_job((r >> 4) % 4 == 0 ? wsB : wsA, spans[i], n, 0);
            if ((r >> 6) % 60 == 0) { /* a failing job between the ingests */
                jobs[i].kind = TS_W_CLOSE;
                jobs[i].trace_id = "missing";
            } else if ((r >> 6) % 60 == 1 && round > 0) {
                jobs[i].kind = TS_W_DELETE;
                jobs[i].trace_id = spans[i][0].trace_id;
            } else if ((r >> 6) % 60 == 2 && round == MIX_ROUNDS - 1) {
                jobs[i].kind = TS_W_CLOSE;
                jobs[i].trace_id = spans[i][0].trace_id;
            }
            jobs[i].done = mix_done_cb;
            ck_assert_int_eq(ts_store_submit(store, &jobs[i]), TS_OK);
            accepted++;
        }
        pthread_mutex_lock(&mix_mu);
        while (mix_done < accepted)
            pthread_cond_wait(&mix_cv, &mix_mu);
        pthread_mutex_unlock(&mix_mu);
        for (int i = 0; i < MIX_JOBS; i++)
            if (jobs[i].kind == TS_W_INGEST)
                ck_assert_msg(jobs[i].rc == TS_OK, "job %d: %s", i, jobs[i].err.msg);
        ck_assert_int_eq(mix_mismatches(), 0);
        ck_assert_int_eq(mix_dim_mismatches(), 0);
    }
    ts_store_stats_get(store, &after);
    txs = (int64_t)(after.transactions - before.transactions);
    /* the bursts were grouped: fewer transactions than jobs */
    ck_assert_int_lt(txs, MIX_JOBS * MIX_ROUNDS);
    ck_assert_int_gt(sql_int("SELECT count(*) FROM spans"), 20);
}
END_TEST

/* A sync held under way (the syncers' test hook): the writer keeps one
 * transaction open and takes into it every job that arrives meanwhile,
 * answers none of them before that transaction is committed and synced,
 * commits early only at writer_batch_max jobs, and the aggregates of the
 * traces it shared among its jobs (more than its first hash table holds)
 * equal a recomputation from the spans. */
static pthread_mutex_t hs_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hs_cv = PTHREAD_COND_INITIALIZER;
static int hs_hold, hs_entered;

static void hold_sync(void)
{
    pthread_mutex_lock(&hs_mu);
    if (hs_hold) {
        hs_entered++;
        pthread_cond_broadcast(&hs_cv);
        while (hs_hold)
            pthread_cond_wait(&hs_cv, &hs_mu);
    }
    pthread_mutex_unlock(&hs_mu);
}

START_TEST(open_transaction_while_syncing)
{
    enum { N = 230, BATCH = 100, TRACES = 70, LATE = 200, ROUNDS = 5 };
    static ts_write jobs[N];
    static ts_span sp[N];
    ts_span first;
    ts_store_stats before, now;

    cfg.writer_batch_max = BATCH;
    reopen(N + 1, "full");
    pthread_mutex_lock(&hs_mu);
    hs_hold = 1;
    hs_entered = 0;
    pthread_mutex_unlock(&hs_mu);
    ts_sqlite_before_sync = hold_sync;

    /* one commit whose sync stays under way */
    ts_store_stats_get(store, &before);
    submit_span_job(0, &first, "held");
    pthread_mutex_lock(&hs_mu);
    while (hs_entered == 0)
        pthread_cond_wait(&hs_cv, &hs_mu);
    pthread_mutex_unlock(&hs_mu);

    /* span-only jobs over TRACES traces, submitted while it runs: LATE of
     * them at once, the rest in ROUNDS rounds, each taken by the writer
     * before the next is submitted */
    mix_done = 0;
    for (int i = 0; i < N; i++) {
        int k = i % TRACES;
        mk(&sp[i], ts_arena_printf(arena, "open-%d", k), ts_arena_printf(arena, "s%d", i),
           i < TRACES ? NULL : ts_arena_printf(arena, "s%d", k), T0 + i * MS, T0 + (i + 1) * MS);
        if (i % 3 == 0)
            llm(&sp[i], i % 2 ? "gpt-4o" : "claude-3-5-sonnet", i, 2 * i, 0.001 * i);
        jobs[i] = ingest_job(wsA, &sp[i], 1, 0);
        jobs[i].done = mix_done_cb;
        ck_assert_int_eq(ts_store_submit(store, &jobs[i]), TS_OK);
        if (i >= LATE - 1 && (i - (LATE - 1)) % ((N - LATE) / ROUNDS) == 0) {
            do {
                struct timespec ts = {0, 1000000L};
                nanosleep(&ts, NULL);
                ts_store_stats_get(store, &now);
            } while (now.queue_depth > 0);
        }
    }
    /* nothing answered while the first sync runs */
    pthread_mutex_lock(&mix_mu);
    ck_assert_int_eq(mix_done, 0);
    pthread_mutex_unlock(&mix_mu);
    pthread_mutex_lock(&g_gate.mu);
    ck_assert_int_eq(g_gate.ndone, 0);
    pthread_mutex_unlock(&g_gate.mu);

    pthread_mutex_lock(&hs_mu);
    hs_hold = 0;
    pthread_cond_broadcast(&hs_cv);
    pthread_mutex_unlock(&hs_mu);
    pthread_mutex_lock(&mix_mu);
    while (mix_done < N)
        pthread_cond_wait(&mix_cv, &mix_mu);
    pthread_mutex_unlock(&mix_mu);
    wait_done(1);
    ts_sqlite_before_sync = NULL;

    /* the first transaction, one per BATCH jobs the open one reached, and
     * the rest (every round) in one, committed when the sync ended */
    ts_store_stats_get(store, &now);
    ck_assert_uint_eq(now.transactions - before.transactions, 1 + N / BATCH + 1);
    ck_assert_uint_eq(now.jobs - before.jobs, 1 + N);
    for (int i = 0; i < N; i++)
        ck_assert_msg(jobs[i].rc == TS_OK, "job %d: %s", i, jobs[i].err.msg);
    ck_assert_int_eq(g_jobs[0].rc, TS_OK);
    ck_assert_int_eq(get_ok(wsA, "open-19").t.span_count, 4);
    ck_assert_int_eq(get_ok(wsA, "open-20").t.span_count, 3);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM traces WHERE trace_id LIKE 'open-%'"), TRACES);
    ck_assert_int_eq(mix_mismatches(), 0);
    ck_assert_int_eq(mix_dim_mismatches(), 0);
}
END_TEST

/* Filtered lists (the page driven by trace_dims_val, its keyset cursor
 * and the count) find the traces whose trace_dims rows are settled into
 * the index and those still above the watermark, in one order; a settle
 * at dims_settle_ms = 0 moves every row into the index (migration 0005). */
static void model_page(const char *model, int desc, int limit, int has_after,
                       const ts_trace *after, const char *const *want, size_t nwant,
                       int want_more, int64_t want_count)
{
    const char *vals[] = {model};
    ts_qcond cond = {.field = TS_QF_SPAN_MODEL, .op = TS_QOP_EQ, .vals = vals, .nvals = 1};
    ts_trace_query q = {.conds = &cond, .nconds = 1, .desc = desc, .limit = limit,
                        .want_count = 1};
    ts_trace *rows = NULL;
    size_t n = 0;
    int more = 0;
    int64_t count = -1;
    if (has_after) {
        q.has_after = 1;
        q.after_key = after->sort_key;
        q.after_id = after->rowid;
    }
    ck_assert_int_eq(ts_store_trace_list(store, wsA, &q, arena, &rows, &n, &more, &count),
                     TS_OK);
    ck_assert_uint_eq(n, nwant);
    for (size_t i = 0; i < n; i++)
        ck_assert_str_eq(rows[i].trace_id, want[i]);
    ck_assert_int_eq(more, want_more);
    ck_assert_int_eq(count, want_count);
}

START_TEST(dims_lists_settled_and_not)
{
    ts_span sp[5];
    const char *ids[] = {"d1", "d2", "d3", "e1", "d4"};
    const char *desc3[] = {"d3", "d2", "d1"}, *asc3[] = {"d1", "d2", "d3"};
    const char *top2[] = {"d3", "d2"}, *tail1[] = {"d1"}, *claude[] = {"e1"};
    const char *desc4[] = {"d4", "d3", "d2", "d1"};
    ts_trace after;

    cfg.dims_settle_ms = 3600000;
    reopen(64, "full");
    /* the first trace settles at once (nothing settled yet); the next stay above */
    for (int i = 0; i < 4; i++) {
        mk(&sp[i], ids[i], "s", NULL, T0 + i * MS, T0 + (i + 1) * MS);
        llm(&sp[i], i == 3 ? "claude-3-5-sonnet" : "gpt-4o", 10, 5, 0.01);
        ingest1(wsA, &sp[i]);
    }
    ck_assert_int_eq(sql_int("SELECT count(DISTINCT trow) FROM trace_dims WHERE settled = 1"), 1);
    ck_assert_int_eq(sql_int("SELECT count(DISTINCT trow) FROM trace_dims WHERE settled = 0"), 3);
    ck_assert_int_eq(mix_dim_mismatches(), 0);

    model_page("gpt-4o", 1, 10, 0, NULL, desc3, 3, 0, 3);
    model_page("gpt-4o", 0, 10, 0, NULL, asc3, 3, 0, 3);
    model_page("claude-3-5-sonnet", 1, 10, 0, NULL, claude, 1, 0, 1);
    /* a page boundary between the two sides, crossed by the cursor */
    model_page("gpt-4o", 1, 2, 0, NULL, top2, 2, 1, 3);
    after.sort_key = T0 + 1 * MS;
    after.rowid = sql_int("SELECT id FROM traces WHERE trace_id = 'd2'");
    model_page("gpt-4o", 1, 2, 1, &after, tail1, 1, 0, 3);

    /* settling at every commit: the next commit puts every row in the index */
    cfg.dims_settle_ms = 0;
    reopen(64, "full");
    mk(&sp[4], "d4", "s", NULL, T0 + 4 * MS, T0 + 5 * MS);
    llm(&sp[4], "gpt-4o", 10, 5, 0.01);
    ingest1(wsA, &sp[4]);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM trace_dims WHERE settled = 0"), 0);
    ck_assert_int_eq(sql_int("SELECT trow FROM dims_watermark"),
                     sql_int("SELECT max(id) FROM traces"));
    ck_assert_int_eq(mix_dim_mismatches(), 0);
    model_page("gpt-4o", 1, 10, 0, NULL, desc4, 4, 0, 4);

    /* The driven page's plan: the settled arm walks trace_dims_val in
     * order (no sort of its matches), only the arm above the watermark
     * is sorted, and SQLite merges the two. */
    const char *vals[] = {"gpt-4o"};
    ts_qcond cond = {.field = TS_QF_SPAN_MODEL, .op = TS_QOP_EQ, .vals = vals, .nvals = 1};
    ts_trace_query q = {.conds = &cond, .nconds = 1, .desc = 1, .limit = 10};
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    char buf[4096];
    ck_assert_int_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    ck_assert_int_eq(ts_sqlite_query_prepare(db, wsA, &q, "t.trace_id", 1, 11, 0, arena, &st),
                     TS_OK);
    query_plan(db, sqlite3_sql(st), buf, sizeof(buf));
    sqlite3_finalize(st);
    sqlite3_close(db);
    ck_assert_msg(strstr(buf, "MERGE (UNION ALL)") != NULL, "%s", buf);
    const char *idx = strstr(buf, "INDEX trace_dims_val (ws_id=? AND dim=? AND val=?)");
    const char *sort = strstr(buf, "TEMP B-TREE");
    ck_assert_msg(idx && sort && idx < sort && !strstr(sort + 1, "TEMP B-TREE"), "%s", buf);
    ck_assert_msg(strstr(buf, "USING PRIMARY KEY (trow>?)") != NULL, "%s", buf);
}
END_TEST

/* ---- durability ------------------------------------------------------- */

/* A database written before migration 0003 (spans, logs and dims keyed by
 * (ws_id, trace_id)) opens with its rows keyed by their trace's row: the
 * trace reads back, dim filters and span-id lookups find it, a new span
 * moves its aggregates, a waiting /track-request log attaches, and a
 * delete removes every row. */
static void old_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK, "%s: %s", sql,
                  msg ? msg : "");
}

START_TEST(migration_0003_rekeys_old_rows)
{
    static const char *const sfx[] = {"", "-wal", "-shm", "-keys"};
    char p[160], rec[160];
    sqlite3 *db = NULL;
    ts_span sp[2];
    const char *model[] = {"gpt-4o"}, *span_ids[] = {"c"};
    ts_qcond cond = {.field = TS_QF_SPAN_MODEL, .op = TS_QOP_EQ, .vals = model, .nvals = 1};
    ts_trace_query q = {.conds = &cond, .nconds = 1, .limit = 10};
    ts_trace *rows = NULL;
    size_t nrows = 0;
    int more = 0;

    ts_store_close(store);
    store = NULL;
    for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
        snprintf(p, sizeof(p), "%s%s", dbpath, sfx[i]);
        unlink(p);
    }
    ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
    old_exec(db, "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT "
                 "NULL, applied_ns INTEGER NOT NULL)");
    for (int i = 0; i < ts_migrations_count && ts_migrations[i].version < 3; i++) {
        old_exec(db, ts_migrations[i].sql);
        snprintf(rec, sizeof(rec), "INSERT INTO schema_migrations VALUES (%d, '%s', 1)",
                 ts_migrations[i].version, ts_migrations[i].name);
        old_exec(db, rec);
    }
    /* Trace M: root r, child c (an LLM span with a request log); trace N
     * of another workspace with the same id layout; a log waiting for
     * span p. Aggregates and dims as the old writer kept them. */
    old_exec(db,
             "INSERT INTO workspaces VALUES (1, 'u1', 'alpha', 0), (2, 'u2', 'beta', 0);"
             "INSERT INTO projects VALUES (1, 1, 'p1', 'default', 1, 0), "
             "(2, 2, 'p2', 'default', 1, 0);"
             "INSERT INTO traces (id, ws_id, trace_id, project_id, span_count, llm_span_count, "
             "prompt_tokens, completion_tokens, total_tokens, cost_sum, cost_span_count, "
             "started_ns, ended_ns, root_span_id, root_start_ns, root_name, created_ns, "
             "updated_ns) VALUES (7, 1, 'M', 1, 2, 1, 10, 5, 15, 0.5, 1, 100, 300, 'r', 100, "
             "'r', 0, 0), (9, 2, 'M', 2, 1, 0, 0, 0, 0, 0, 0, 100, 200, 'r', 100, 'r', 0, 0);"
             "INSERT INTO request_logs (id, ws_id, trace_id, span_id, body, created_ns) VALUES "
             "(1, 1, 'M', 'c', '{}', 0);"
             "INSERT INTO request_logs (id, ws_id, trace_id, span_id, body, created_ns, model) "
             "VALUES (2, 1, '', 'p', '{}', 0, 'claude-x');"
             "INSERT INTO spans (ws_id, trace_id, span_id, parent_id, name, kind, start_ns, "
             "end_ns, status_code, attributes, events, links, resource, origin, type, model, "
             "prompt_tokens, completion_tokens, cost, request_log_id, created_ns) VALUES "
             "(1, 'M', 'r', NULL, 'r', 1, 100, 300, 0, '{}', '[]', '[]', '{}', 1, 'other', "
             "NULL, NULL, NULL, NULL, NULL, 0), (1, 'M', 'c', 'r', 'c', 1, 150, 250, 0, '{}', "
             "'[]', '[]', '{}', 1, 'llm', 'gpt-4o', 10, 5, 0.5, 1, 0), (2, 'M', 'r', NULL, "
             "'r', 1, 100, 200, 0, '{}', '[]', '[]', '{}', 1, 'other', NULL, NULL, NULL, NULL, "
             "NULL, 0);"
             "INSERT INTO trace_dims (ws_id, trace_id, dim, val, n, start, trow) VALUES "
             "(1, 'M', 3, 'r', 1, 100, 7), (1, 'M', 4, 'other', 1, 100, 7), "
             "(1, 'M', 8, 'success', 2, 100, 7), (1, 'M', 3, 'c', 1, 100, 7), "
             "(1, 'M', 4, 'llm', 1, 100, 7), (1, 'M', 1, 'gpt-4o', 1, 100, 7), "
             "(1, 'M', 6, 'r', 1, 100, 7), (2, 'M', 3, 'r', 1, 100, 9), "
             "(2, 'M', 4, 'other', 1, 100, 9), (2, 'M', 8, 'success', 1, 100, 9)");
    sqlite3_close(db);

    open_store();
    ck_assert_int_eq(sql_int("SELECT max(version) FROM schema_migrations"),
                     ts_migrations[ts_migrations_count - 1].version);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM spans WHERE trow = 7"), 2);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM spans WHERE trow = 9"), 1);
    ck_assert_int_eq(sql_int("SELECT trow FROM request_logs WHERE id = 1"), 7);
    ck_assert_int_eq(mix_mismatches(), 0);
    ck_assert_int_eq(mix_dim_mismatches(), 0);

    got g = get_ok(1, "M");
    ck_assert_int_eq(g.t.span_count, 2);
    ck_assert_int_eq(g.t.prompt_tokens, 10);
    ck_assert_ptr_nonnull(find(&g, "c"));
    ck_assert_int_eq(find(&g, "c")->request_log_id, 1);
    g = get_ok(2, "M");
    ck_assert_int_eq(g.t.span_count, 1);
    ck_assert_int_eq(ts_store_trace_list(store, 1, &q, arena, &rows, &nrows, &more, NULL), TS_OK);
    ck_assert_uint_eq(nrows, 1);
    ck_assert_str_eq(rows[0].trace_id, "M");
    ck_assert_int_eq(ts_store_trace_list(store, 2, &q, arena, &rows, &nrows, &more, NULL), TS_OK);
    ck_assert_uint_eq(nrows, 0);
    cond.field = TS_QF_SPAN_ID;
    cond.vals = span_ids;
    ck_assert_int_eq(ts_store_trace_list(store, 1, &q, arena, &rows, &nrows, &more, NULL), TS_OK);
    ck_assert_uint_eq(nrows, 1);

    /* p arrives: the waiting log's model fills it and the log attaches. */
    mk(&sp[0], "M", "p", "r", 120, 400);
    ingest1(1, &sp[0]);
    g = get_ok(1, "M");
    ck_assert_int_eq(g.t.span_count, 3);
    ck_assert_int_eq(g.t.ended_ns, 400);
    ck_assert_str_eq(find(&g, "p")->model, "claude-x");
    ck_assert_int_eq(find(&g, "p")->request_log_id, 2);
    ck_assert_int_eq(sql_int("SELECT trow FROM request_logs WHERE id = 2"), 7);
    /* a replaced span of an old trace moves the sums by the difference */
    mk(&sp[1], "M", "c", "r", 150, 250);
    llm(&sp[1], "gpt-4o", 20, 5, 0.75);
    ingest1(1, &sp[1]);
    ck_assert_int_eq(get_ok(1, "M").t.prompt_tokens, 20);
    ck_assert_int_eq(mix_mismatches(), 0);
    ck_assert_int_eq(mix_dim_mismatches(), 0);

    ck_assert_int_eq(delete_trace(1, "M"), 1);
    ck_assert_int_eq(get(1, "M").rc, TS_ENOTFOUND);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM spans WHERE ws_id = 1"), 0);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM request_logs"), 0);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM trace_dims WHERE ws_id = 1"), 0);
    ck_assert_int_eq(get_ok(2, "M").t.span_count, 1);
    /* a new trace gets the next row id after the migrated ones */
    mk(&sp[0], "Z", "z", NULL, 1, 2);
    ingest1(1, &sp[0]);
    ck_assert_int_eq(sql_int("SELECT id FROM traces WHERE trace_id = 'Z'"), 10);
    ck_assert_int_eq(sql_int("SELECT trow FROM spans WHERE span_id = 'z'"), 10);
}
END_TEST

static int lookup_revoked(const char *prefix)
{
    ts_key_row rows[4];
    size_t n = 0;
    ck_assert_int_eq(ts_store_key_candidates(store, prefix, rows, 4, &n), TS_OK);
    ck_assert_uint_eq(n, 1);
    return rows[0].revoked;
}

/* Key lookups are cached (key_cache_ms) until a key is created or revoked,
 * in this process or another: a change made behind the store's back is not
 * seen until the epoch in <db>-keys changes. */
START_TEST(key_lookups_cached_until_the_epoch_changes)
{
    sqlite3 *db = NULL;
    char kp[160];
    ts_write w;

    ck_assert_int_eq(lookup_revoked("ts_bbbbbbbbb"), 0);
    ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    old_exec(db, "UPDATE api_keys SET revoked_ns = 1 WHERE prefix = 'ts_bbbbbbbbb'");
    ck_assert_int_eq(lookup_revoked("ts_bbbbbbbbb"), 0); /* from the cache */
    /* What another process's `key revoke` does after its commit. */
    snprintf(kp, sizeof(kp), "%s-keys", dbpath);
    FILE *f = fopen(kp, "r+b");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite("epoch-02", 1, 8, f), 8);
    fclose(f);
    ck_assert_int_eq(lookup_revoked("ts_bbbbbbbbb"), 1);
    /* A revoke through this store (of another key) changes it too. */
    old_exec(db, "UPDATE api_keys SET revoked_ns = 0 WHERE prefix = 'ts_bbbbbbbbb'");
    ck_assert_int_eq(lookup_revoked("ts_bbbbbbbbb"), 1);
    memset(&w, 0, sizeof(w));
    w.kind = TS_W_KEY_REVOKE;
    w.key_prefix = "ts_aaaaaaaaa";
    ck_assert_int_eq(ts_store_write_sync(store, &w), TS_OK);
    ck_assert_int_eq(lookup_revoked("ts_bbbbbbbbb"), 0);
    ck_assert_int_eq(lookup_revoked("ts_aaaaaaaaa"), 1);

    /* key_cache_ms = 0: every lookup reads the database. */
    ts_store_close(store);
    cfg.key_cache_ms = 0;
    open_store();
    ck_assert_int_eq(lookup_revoked("ts_bbbbbbbbb"), 0);
    old_exec(db, "UPDATE api_keys SET revoked_ns = 1 WHERE prefix = 'ts_bbbbbbbbb'");
    ck_assert_int_eq(lookup_revoked("ts_bbbbbbbbb"), 1);
    sqlite3_close(db);
}
END_TEST

/* ---- span contexts (migration 0006) ------------------------------------ */

#define RES_A "{\"attributes\":{\"service.name\":\"a\"}}"
#define RES_B "{\"attributes\":{\"service.name\":\"b\"}}"
#define SCOPE_X "{\"name\":\"x\"}"

static void ctx_span(ts_span *s, const char *trace, const char *span, const char *res,
                     const char *scope)
{
    mk(s, trace, span, strcmp(span, "s0") ? "s0" : NULL, T0, T0 + MS);
    s->resource = (char *)res;
    s->scope = (char *)scope;
}

static void expect_ctx(const char *trace, const char *span, const char *res, const char *scope)
{
    got g = get_ok(wsA, trace);
    const ts_span *s = find(&g, span);
    ck_assert_ptr_nonnull(s);
    ck_assert_msg(strcmp(s->resource, res) == 0, "%s/%s: resource %s, want %s", trace, span,
                  s->resource, res);
    ck_assert_msg(scope ? s->scope && strcmp(s->scope, scope) == 0 : !s->scope,
                  "%s/%s: scope %s, want %s", trace, span, s->scope ? s->scope : "NULL",
                  scope ? scope : "NULL");
}

static int64_t ctx_rows(const char *trace)
{
    char sql[160];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM span_ctx WHERE trow = (SELECT id FROM traces WHERE "
             "trace_id = '%s')",
             trace);
    return sql_int(sql);
}

/* Each distinct (resource, scope) pair of a trace is stored once, in
 * span_ctx, and every span reads its own pair back: through the writer's
 * cache and through the database, after a replace, for a row written
 * before 0006, and not after the trace is deleted. */
START_TEST(span_contexts_once_per_trace)
{
    sqlite3 *db = NULL;
    ts_span sp[4];

    ctx_span(&sp[0], "ctx1", "s0", RES_A, SCOPE_X);
    ctx_span(&sp[1], "ctx1", "s1", RES_A, SCOPE_X);
    ctx_span(&sp[2], "ctx1", "s2", RES_B, SCOPE_X);
    ctx_span(&sp[3], "ctx1", "s3", RES_A, NULL);
    ingest(wsA, sp, 2, 0);
    ingest(wsA, sp + 2, 2, 0);
    expect_ctx("ctx1", "s0", RES_A, SCOPE_X);
    expect_ctx("ctx1", "s1", RES_A, SCOPE_X);
    expect_ctx("ctx1", "s2", RES_B, SCOPE_X);
    expect_ctx("ctx1", "s3", RES_A, NULL);
    ck_assert_int_eq(ctx_rows("ctx1"), 3);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM spans WHERE resource <> '' OR scope IS NOT "
                             "NULL OR ctx IS NULL"),
                     0);

    /* Another trace with the same pair has its own row. */
    ctx_span(&sp[0], "ctx2", "s0", RES_A, SCOPE_X);
    ingest1(wsA, &sp[0]);
    expect_ctx("ctx2", "s0", RES_A, SCOPE_X);
    ck_assert_int_eq(ctx_rows("ctx2"), 1);

    /* A replaced span takes its new pair; a new store finds the old ones. */
    ts_store_close(store);
    open_store();
    ctx_span(&sp[1], "ctx1", "s1", RES_B, SCOPE_X);
    ingest1(wsA, &sp[1]);
    expect_ctx("ctx1", "s1", RES_B, SCOPE_X);
    ctx_span(&sp[1], "ctx1", "s4", RES_A, NULL);
    ingest1(wsA, &sp[1]);
    expect_ctx("ctx1", "s4", RES_A, NULL);
    ck_assert_int_eq(ctx_rows("ctx1"), 3);

    /* A row from before 0006 keeps its own resource and scope. */
    ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    old_exec(db, "UPDATE spans SET resource = '{\"old\":1}', scope = '{\"name\":\"old\"}', "
                 "ctx = NULL WHERE span_id = 's3'");
    sqlite3_close(db);
    expect_ctx("ctx1", "s3", "{\"old\":1}", "{\"name\":\"old\"}");
    expect_ctx("ctx1", "s2", RES_B, SCOPE_X);

    ck_assert_int_eq(delete_trace(wsA, "ctx1"), 1);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM span_ctx"), 1);
}
END_TEST

/* The writer's cache never names a span_ctx row that is not there: not
 * after the job that added it rolled back, nor after its trace was
 * deleted, though a new trace then gets the same row id. */
START_TEST(span_contexts_after_rollback_and_delete)
{
    ts_span sp[2];
    ts_write w;

    ctx_span(&sp[0], "rb", "s0", RES_A, SCOPE_X);
    ctx_span(&sp[1], "rb", "s1", RES_B, SCOPE_X);
    sp[1].name = NULL; /* spans.name is NOT NULL: the job fails after its first span */
    w = ingest_job(wsA, sp, 2, 0);
    ck_assert_int_ne(ts_store_write_sync(store, &w), TS_OK);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM span_ctx"), 0);
    int64_t next = sql_int("SELECT coalesce(max(id), 0) + 1 FROM traces");
    ctx_span(&sp[0], "rb2", "s0", RES_A, SCOPE_X);
    ingest1(wsA, &sp[0]);
    ck_assert_int_eq(sql_int("SELECT id FROM traces WHERE trace_id = 'rb2'"), next);
    expect_ctx("rb2", "s0", RES_A, SCOPE_X);

    ck_assert_int_eq(delete_trace(wsA, "rb2"), 1);
    ctx_span(&sp[0], "rb3", "s0", RES_A, SCOPE_X);
    ingest1(wsA, &sp[0]);
    ck_assert_int_eq(sql_int("SELECT id FROM traces WHERE trace_id = 'rb3'"), next);
    expect_ctx("rb3", "s0", RES_A, SCOPE_X);
    ck_assert_int_eq(ctx_rows("rb3"), 1);
}
END_TEST

/* ---- retention (sqlite_sweep.c) -------------------------------------- */

static ts_write sweep_spans(int64_t batch, int64_t spans, int64_t days, int64_t day_s)
{
    ts_write w;
    memset(&w, 0, sizeof(w));
    w.kind = TS_W_SWEEP;
    w.max_delete = batch;
    w.max_spans = spans;
    w.retention_days = days;
    w.retention_day_s = day_s;
    ck_assert_msg(ts_store_write_sync(store, &w) == TS_OK, "sweep: %s", w.err.msg);
    return w;
}

static ts_write sweep_job(int64_t batch, int64_t days, int64_t day_s)
{
    return sweep_spans(batch, 0, days, day_s);
}

static int set_retention(const char *ws, int64_t days)
{
    ts_write w;
    memset(&w, 0, sizeof(w));
    w.kind = TS_W_WS_RETENTION;
    w.ws_name = ws;
    w.retention_days = days;
    return ts_store_write_sync(store, &w);
}

static void sql_exec(const char *sql)
{
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK, "%s: %s", sql,
                  sqlite3_errmsg(db));
    sqlite3_close(db);
}

/* A sweep job deletes at most its batch, oldest end first, in workspaces
 * whose retention (own or default) has passed, with every row a DELETE
 * removes; traces without an end age from their last write; waiting
 * /track-request logs older than the retention go too; the writer's
 * span-context cache does not outlive a swept trace whose row id is
 * reused. */
START_TEST(retention_sweep_job)
{
    int64_t now = ts_now_ns(), hour = 3600 * INT64_C(1000000000);
    ts_span sp[2];
    char id[16];
    ts_write w;

    /* beta first: the same ages, kept forever by its own retention */
    mk(&sp[0], "old5", "s0", NULL, now - 6 * hour - MS, now - 6 * hour);
    ingest1(wsB, &sp[0]);
    /* a trace with no end (meta only), written "long ago" */
    ts_trace_meta m;
    memset(&m, 0, sizeof(m));
    m.trace_id = (char *)"noend";
    m.name = (char *)"meta only";
    m.latency_ms = -1;
    w = ingest_job(wsA, NULL, 0, 0);
    w.traces = &m;
    w.ntraces = 1;
    ck_assert_int_eq(ts_store_write_sync(store, &w), TS_OK);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM traces WHERE trace_id = 'noend' AND "
                             "ended_ns IS NULL AND t_ended_ns IS NULL"),
                     1);
    sql_exec("UPDATE traces SET updated_ns = 1 WHERE trace_id = 'noend'");
    /* a /track-request log that waited since "long ago" in each workspace */
    ts_track tr;
    memset(&tr, 0, sizeof(tr));
    tr.span_id = "nosuchspan";
    tr.prompt_tokens = tr.completion_tokens = TS_TOKENS_ABSENT;
    memset(&w, 0, sizeof(w));
    w.kind = TS_W_TRACK_REQUEST;
    w.track = &tr;
    w.ws_id = wsA;
    ck_assert_int_eq(ts_store_write_sync(store, &w), TS_OK);
    w.ws_id = wsB;
    ck_assert_int_eq(ts_store_write_sync(store, &w), TS_OK);
    sql_exec("UPDATE request_logs SET created_ns = 1 WHERE trace_id = ''");
    /* alpha: five traces ended 2 to 6 hours ago with request logs and
     * dims (the oldest closed), one now, and old0, ended 7 hours ago,
     * last: the highest row id, swept first. */
    for (int i = 5; i >= 1; i--) {
        snprintf(id, sizeof id, "old%d", i);
        ctx_span(&sp[0], id, "s0", RES_A, SCOPE_X);
        sp[0].start_ns = now - (i + 1) * hour - MS;
        sp[0].end_ns = now - (i + 1) * hour;
        llm(&sp[0], "gpt-x", 1, 2, 0.5);
        sp[0].log_request = "{\"r\":1}";
        ctx_span(&sp[1], id, "s1", RES_A, SCOPE_X); /* old5 has two spans */
        sp[1].start_ns = sp[0].start_ns;
        sp[1].end_ns = sp[0].end_ns;
        ingest(wsA, sp, i == 5 ? 2 : 1, i == 5);
    }
    mk(&sp[0], "new", "s0", NULL, now - MS, now);
    ingest1(wsA, &sp[0]);
    ctx_span(&sp[0], "old0", "s0", RES_A, SCOPE_X);
    sp[0].start_ns = now - 7 * hour;
    sp[0].end_ns = now - 7 * hour + MS;
    ingest1(wsA, &sp[0]);
    ck_assert_int_eq(set_retention("beta", 0), TS_OK);
    ck_assert_int_eq(set_retention("nobody", 3), TS_ENOTFOUND);
    ck_assert_int_eq(set_retention("beta", 36501), TS_EINVAL);

    /* default retention off: nothing goes */
    w = sweep_job(2, 0, 3600);
    ck_assert_int_eq(w.affected + w.swept_logs, 0);
    ck_assert_int_eq(w.sweep_more, 0);
    /* one "day" of an hour, oldest end first: a budget of two spans takes
     * old0 (one span) and stops before old5 (two), then batches of 2 */
    w = sweep_spans(100, 2, 1, 3600);
    ck_assert_int_eq(w.affected, 1);
    ck_assert_int_eq(w.sweep_more, 1);
    ck_assert_int_eq(get(wsA, "old0").rc, TS_ENOTFOUND);
    ck_assert_int_eq(get_ok(wsA, "old5").t.span_count, 2);
    w = sweep_job(2, 1, 3600);
    ck_assert_int_eq(w.affected, 2);
    ck_assert_int_eq(w.sweep_more, 1);
    ck_assert_int_eq(get(wsA, "old5").rc, TS_ENOTFOUND);
    ck_assert_int_eq(get(wsA, "old4").rc, TS_ENOTFOUND);
    ck_assert_int_eq(get_ok(wsA, "old3").t.span_count, 1);
    int64_t total = 3;
    do {
        w = sweep_job(2, 1, 3600);
        ck_assert_int_le(w.affected + w.swept_logs, 2);
        total += w.affected;
    } while (w.sweep_more);
    ck_assert_int_eq(total, 7); /* old0..old5 and noend */
    /* alpha's waiting log went, beta's stayed */
    ck_assert_int_eq(sql_int("SELECT count(*) FROM request_logs WHERE trace_id = '' AND "
                             "ws_id = (SELECT id FROM workspaces WHERE name = 'alpha')"),
                     0);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM request_logs WHERE trace_id = '' AND "
                             "ws_id = (SELECT id FROM workspaces WHERE name = 'beta')"),
                     1);
    ck_assert_int_eq(get_ok(wsA, "new").t.span_count, 1);
    ck_assert_int_eq(get_ok(wsB, "old5").t.span_count, 1);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM traces"), 2);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM spans WHERE trow NOT IN (SELECT id FROM "
                             "traces)"),
                     0);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM span_ctx WHERE trow NOT IN (SELECT id FROM "
                             "traces)"),
                     0);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM trace_dims WHERE trow NOT IN (SELECT id FROM "
                             "traces)"),
                     0);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM request_logs WHERE trace_id <> ''"), 0);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM trace_closures"), 0);
    /* nothing more to do */
    w = sweep_job(2, 1, 3600);
    ck_assert_int_eq(w.affected + w.swept_logs, 0);
    ck_assert_int_eq(w.sweep_more, 0);

    /* old0 had the last row id: the next trace gets it again, with the
     * same (resource, scope) pair, which must be a row of its own */
    int64_t next = sql_int("SELECT coalesce(max(id), 0) + 1 FROM traces");
    ctx_span(&sp[0], "reuse", "s0", RES_A, SCOPE_X);
    ingest1(wsA, &sp[0]);
    ck_assert_int_eq(sql_int("SELECT id FROM traces WHERE trace_id = 'reuse'"), next);
    expect_ctx("reuse", "s0", RES_A, SCOPE_X);
    ck_assert_int_eq(ctx_rows("reuse"), 1);

    /* the list shows the override and the counts */
    ts_workspace_info *ws = NULL;
    size_t n = 0;
    ck_assert_int_eq(ts_store_workspace_list(store, arena, &ws, &n), TS_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(ws[0].name, "alpha");
    ck_assert_int_eq(ws[0].keys, 1);
    ck_assert_int_eq(ws[0].traces, 2);
    ck_assert_int_eq(ws[0].retention_days, -1);
    ck_assert_str_eq(ws[1].name, "beta");
    ck_assert_int_eq(ws[1].traces, 1);
    ck_assert_int_eq(ws[1].retention_days, 0);
    ck_assert_int_eq(set_retention("beta", -1), TS_OK);
    ck_assert_int_eq(ts_store_workspace_list(store, arena, &ws, &n), TS_OK);
    ck_assert_int_eq(ws[1].retention_days, -1);
}
END_TEST

/* Frames in the WAL file (of 4 KiB pages). */
static long wal_frames_now(void)
{
    char wal[160];
    struct stat sb;
    snprintf(wal, sizeof(wal), "%s-wal", dbpath);
    if (stat(wal, &sb) != 0 || sb.st_size < 32)
        return 0;
    return ((long)sb.st_size - 32) / (24 + 4096);
}

/* Background checkpoints come every sqlite_checkpoint_pages *distinct*
 * pages appended (sqlite_ckpt.c), the pages a pass copies: a span sent
 * again and again rewrites the same few pages and asks for none, while new
 * traces, whose pages are new, ask for them until the WAL is copied. */
START_TEST(checkpoints_follow_distinct_pages)
{
    enum { CK = 64 };
    static char pad[3001];
    ts_store_stats st0, st;
    ts_store_close(store);
    cfg.sqlite_checkpoint_pages = CK;
    cfg.sqlite_wal_max_pages = 1048576; /* no restart: the file counts frames */
    snprintf(cfg.sqlite_synchronous, sizeof(cfg.sqlite_synchronous), "normal");
    open_store();

    long f0 = wal_frames_now();
    ts_store_stats_get(store, &st0);
    for (int i = 0; i < 400; i++) {
        ts_span sp;
        mk(&sp, "again", "s", NULL, T0, T0 + MS + i); /* its trace's aggregates move too */
        ingest1(wsA, &sp);
    }
    long rewrites = wal_frames_now() - f0;
    ck_assert_int_ge(rewrites, 8 * CK);
    usleep(300000);
    ts_store_stats_get(store, &st);
    ck_assert_msg(st.checkpoints - st0.checkpoints <= 1,
                  "%llu background checkpoints for %ld frames of the same pages",
                  (unsigned long long)(st.checkpoints - st0.checkpoints), rewrites);

    memset(pad, 'x', sizeof(pad) - 1);
    long f1 = wal_frames_now();
    st0 = st;
    for (int i = 0; i < 300; i++) {
        char trace[32];
        ts_span sp;
        snprintf(trace, sizeof(trace), "new-%d", i);
        mk(&sp, trace, "s", NULL, T0, T0 + MS);
        sp.status_message = pad; /* a page of its own, about */
        ingest1(wsA, &sp);
    }
    long appends = wal_frames_now() - f1;
    ck_assert_int_ge(appends, 8 * CK);
    /* The checkpointer copies them on its own thread: in fewer passes the
     * slower each pass is (a pass copies up to the last commit), so at
     * least one. */
    for (int t = 0; t < 200; t++) {
        ts_store_stats_get(store, &st);
        if (st.checkpoints > st0.checkpoints)
            break;
        usleep(20000);
    }
    ck_assert_msg(st.checkpoints > st0.checkpoints,
                  "no background checkpoint for %ld frames of new pages", appends);
    got g = get_ok(wsA, "again");
    ck_assert_int_eq(g.t.span_count, 1);
    ck_assert_int_eq(g.t.ended_ns, T0 + MS + 399);
    g = get_ok(wsA, "new-299");
    ck_assert_int_eq(g.t.span_count, 1);
}
END_TEST

START_TEST(durable_across_reopen)
{
    ts_span s[2];
    ts_key_row rows[2];
    size_t n = 0;
    got g;

    mk(&s[0], "dur", "a", NULL, T0, T0 + 7 * MS);
    s[0].name = "kept";
    llm(&s[0], "m", 2, 3, 0.5);
    s[0].log_request = "{\"k\":true}";
    mk(&s[1], "dur", "b", "a", T0 + MS, T0 + 2 * MS);
    s[1].error = "bad";
    ingest(wsA, s, 2, 1);
    ts_store_close(store);
    store = NULL;
    open_store();
    g = get_ok(wsA, "dur");
    ck_assert_int_eq(g.t.span_count, 2);
    ck_assert_str_eq(g.t.name, "kept");
    ck_assert_str_eq(g.t.error, "bad");
    ck_assert_int_eq(g.t.closed, 1);
    ck_assert_int_eq(g.t.total_tokens, 5);
    ck_assert_double_eq_tol(g.t.cost, 0.5, 1e-12);
    ck_assert_int_eq(g.t.latency_ms, 7);
    ck_assert_int_eq(find(&g, "a")->request_log_id, s[0].request_log_id);
    ck_assert_int_eq(close_trace(wsA, "dur"), TS_ECONFLICT);
    ck_assert_int_eq(ts_store_key_candidates(store, "ts_bbbbbbbbb", rows, 2, &n), TS_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(rows[0].ws.id, wsB);
}
END_TEST

static Suite *sqlite_suite(void)
{
    Suite *s = suite_create("sqlite");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, migrations_applied_once);
    tcase_add_test(tc, retention_sweep_job);
    tcase_add_test(tc, open_fails_cleanly);
    tcase_add_test(tc, keys_create_candidates_revoke);
    tcase_add_test(tc, ping);
    tcase_add_test(tc, aggregates_single_ingest);
    tcase_add_test(tc, aggregates_error_from_root_and_no_cost);
    tcase_add_test(tc, exact_times_and_large_values);
    tcase_add_test(tc, token_sums_saturate);
    tcase_add_test(tc, reingest_is_idempotent);
    tcase_add_test(tc, reingest_moves_by_difference);
    tcase_add_test(tc, replace_keeps_first_ingest_time);
    tcase_add_test(tc, replace_extremes_recomputed);
    tcase_add_test(tc, replace_root_recomputed);
    tcase_add_test(tc, replace_error_recomputed);
    tcase_add_test(tc, replace_within_one_job);
    tcase_add_test(tc, out_of_order_child_first);
    tcase_add_test(tc, spans_ordered_by_start_then_id);
    tcase_add_test(tc, trace_spans_fetched_in_row_order);
    tcase_add_test(tc, close_trace_and_reject);
    tcase_add_test(tc, close_after);
    tcase_add_test(tc, delete_without_window);
    tcase_add_test(tc, delete_with_window);
    tcase_add_test(tc, workspace_isolation);
    tcase_add_test(tc, workspace_isolation_close_delete);
    tcase_add_test(tc, queue_full_is_busy);
    tcase_add_test(tc, syncer_does_not_hold_the_writer);
    tcase_add_test(tc, deferred_aggregates_match_spans);
    tcase_add_test(tc, async_burst_and_failing_job);
    tcase_add_test(tc, open_transaction_while_syncing);
    tcase_add_test(tc, dims_lists_settled_and_not);
    tcase_add_test(tc, close_drains_queue);
    tcase_add_test(tc, span_contexts_once_per_trace);
    tcase_add_test(tc, span_contexts_after_rollback_and_delete);
    tcase_add_test(tc, durable_across_reopen);
    tcase_add_test(tc, checkpoints_follow_distinct_pages);
    tcase_add_test(tc, migration_0003_rekeys_old_rows);
    tcase_add_test(tc, key_lookups_cached_until_the_epoch_changes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(sqlite_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

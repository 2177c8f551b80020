/* bench_list.c: times trace lists over a large workspace through the store
 * interface (ts_store_trace_list), the path every list route takes.
 *
 *   bench_list DB [TRACES]
 *
 * The database is created with the real migrations (ts_store_open), then
 * filled with direct SQL on the schema (traces rows plus their trace_dims
 * rows, as the writer would keep them), reopened, and each query is run
 * many times with varying parameters; p50/p99/max are printed in ms. */
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tracestore/store.h"
#include "tracestore/timeutil.h"

#define T0 INT64_C(1700000000000000000)
#define SEC INT64_C(1000000000)

static const char *const models[] = {"gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet", "o3-mini",
                                     "gemini-1.5-pro"};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_list: %s: %s\n", what, msg);
    exit(1);
}

static void exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        die(sql, err ? err : "?");
}

/* Fills workspace 1 with n traces: started 1 s apart, 1..8 spans, model
 * spread over 5 values, 5 % errored (failure classes), 10 % tagged, one
 * session per 100 traces. Workspace 2 gets n / 10 traces as neighbours. */
static void fill(const char *path, int64_t n)
{
    sqlite3 *db;
    sqlite3_stmt *tr, *dim;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        die("open", sqlite3_errmsg(db));
    exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; BEGIN");
    exec(db, "INSERT INTO workspaces (id, uuid, name, created_ns) VALUES "
             "(2, 'bench-ws-2', 'bench2', 0)");
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO traces (ws_id, trace_id, project_id, span_count, "
                           "llm_span_count, prompt_tokens, completion_tokens, total_tokens, "
                           "cost_sum, cost_span_count, started_ns, ended_ns, error_count, "
                           "root_span_id, root_start_ns, root_name, root_model, root_error, "
                           "session_id, user_id, tag_map, metadata, created_ns, updated_ns) "
                           "VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6, ?5 + ?6, ?7, ?4, ?8, ?9, ?10, "
                           "'root', ?8, 'agent_run', ?11, ?12, ?13, ?14, ?15, '{}', ?8, ?8)",
                           -1, &tr, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "INSERT INTO trace_dims (ws_id, trow, dim, val, n, start) "
                           "VALUES (?1, ?2, ?3, ?4, 1, (SELECT eff_start FROM traces "
                           "WHERE id = ?2))",
                           -1, &dim, NULL) != SQLITE_OK)
        die("prepare", sqlite3_errmsg(db));
    srand(42);
    int64_t total = n + n / 10;
    for (int64_t i = 0; i < total; i++) {
        int ws = i < n ? 1 : 2;
        char tid[33], sess[32], user[32];
        snprintf(tid, sizeof(tid), "%016" PRIx64 "%016" PRIx64, (uint64_t)i * 2654435761u,
                 (uint64_t)i);
        int spans = 1 + rand() % 8, llm = 1 + rand() % spans;
        int64_t start = T0 + i * SEC, lat = 50 + rand() % 30000;
        int err = rand() % 20 == 0;
        const char *model = models[rand() % 5];
        static const char *const fails[] = {"request timed out", "429 rate limit exceeded",
                                            "maximum context length exceeded",
                                            "invalid response: malformed JSON"};
        static const char *const fclass[] = {"timeout", "rate_limit", "context_length",
                                             "invalid_response"};
        int fi = rand() % 4;
        snprintf(sess, sizeof(sess), "sess-%" PRId64, i / 100);
        snprintf(user, sizeof(user), "user-%d", rand() % 5000);
        sqlite3_reset(tr);
        sqlite3_bind_int(tr, 1, ws);
        sqlite3_bind_text(tr, 2, tid, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(tr, 3, spans);
        sqlite3_bind_int(tr, 4, llm);
        sqlite3_bind_int(tr, 5, rand() % 4000);
        sqlite3_bind_int(tr, 6, rand() % 1000);
        sqlite3_bind_double(tr, 7, (double)(rand() % 10000) / 1e5);
        sqlite3_bind_int64(tr, 8, start);
        sqlite3_bind_int64(tr, 9, start + lat * 1000000);
        sqlite3_bind_int(tr, 10, err);
        sqlite3_bind_text(tr, 11, model, -1, SQLITE_STATIC);
        if (err)
            sqlite3_bind_text(tr, 12, fails[fi], -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(tr, 12);
        sqlite3_bind_text(tr, 13, sess, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(tr, 14, user, -1, SQLITE_TRANSIENT);
        if (i % 10 == 0)
            sqlite3_bind_text(tr, 15, "{\"tier\":\"pro\"}", -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(tr, 15);
        if (sqlite3_step(tr) != SQLITE_DONE)
            die("insert trace", sqlite3_errmsg(db));
        int64_t trow = sqlite3_last_insert_rowid(db);
        struct {
            int d;
            const char *v;
        } dims[4] = {{1, model}, {4, "llm"}, {8, err ? "error" : "success"}, {2, fclass[fi]}};
        for (int k = 0; k < (err ? 4 : 3); k++) {
            sqlite3_reset(dim);
            sqlite3_bind_int(dim, 1, ws);
            sqlite3_bind_int64(dim, 2, trow);
            sqlite3_bind_int(dim, 3, dims[k].d);
            sqlite3_bind_text(dim, 4, dims[k].v, -1, SQLITE_STATIC);
            if (sqlite3_step(dim) != SQLITE_DONE)
                die("insert dim", sqlite3_errmsg(db));
        }
    }
    sqlite3_finalize(tr);
    sqlite3_finalize(dim);
    /* Every row is in trace_dims_val (settled), as the daemon leaves them. */
    exec(db, "UPDATE dims_watermark SET trow = (SELECT max(id) FROM traces); COMMIT; ANALYZE; "
             "PRAGMA wal_checkpoint(TRUNCATE)");
    sqlite3_close(db);
}

typedef struct qcase {
    const char *name;
    ts_qcond conds[4];
    size_t nconds;
    int deep;  /* start from a keyset cursor in the middle of the data */
    int count; /* also count every match (Respan's envelope) */
    int64_t offset;
} qcase;

static const char *V_GPT4O[] = {"gpt-4o"};
static const char *V_TRUE[] = {"1"};
static const char *V_NOMODEL[] = {"no-such-model"};
static const char *V_TIMEOUT[] = {"timeout"};
static const char *V_PRO[] = {"pro"};
static const char *V_LAT_MIN[] = {"20000"};
static const char *V_LAT_MAX[] = {"21000"};
static const char *V_TOK_MIN[] = {"4500"};

static void run(ts_store *st, int64_t n, const qcase *c, int iters)
{
    ts_trace_query q = {.conds = c->conds,
                        .nconds = c->nconds,
                        .sort = TS_QS_STARTED,
                        .desc = 1,
                        .limit = 50,
                        .want_count = c->count,
                        .offset = c->offset};
    double *t = calloc((size_t)iters, sizeof(double));
    size_t rows = 0;
    for (int i = 0; i < iters; i++) {
        ts_arena *a = ts_arena_new(1 << 20);
        ts_trace *out;
        size_t got;
        int more;
        int64_t count = 0;
        if (c->deep) {
            /* A cursor anywhere in the data: page 1,000 costs what page 1 costs. */
            q.has_after = 1;
            q.after_key = T0 + (int64_t)(rand() % (int)n) * SEC;
            q.after_id = INT64_MAX;
        }
        double t0 = now_ms();
        if (ts_store_trace_list(st, 1, &q, a, &out, &got, &more, &count) != TS_OK)
            die(c->name, "list failed");
        t[i] = now_ms() - t0;
        rows += got;
        ts_arena_free(a);
    }
    qsort(t, (size_t)iters, sizeof(double), cmp_d);
    printf("| %-44s | %6.2f | %6.2f | %6.2f | %5.1f |\n", c->name, t[iters / 2],
           t[(iters * 99) / 100], t[iters - 1], (double)rows / iters);
    free(t);
}

int main(int argc, char **argv)
{
    ts_config cfg;
    ts_err err;
    ts_store *st = NULL;
    int64_t n = argc > 2 ? strtoll(argv[2], NULL, 10) : 1000000;
    if (argc < 2)
        die("usage", "bench_list DB [TRACES]");
    setvbuf(stdout, NULL, _IOLBF, 0);
    ts_config_defaults(&cfg);
    snprintf(cfg.db_path, sizeof(cfg.db_path), "%s", argv[1]);
    cfg.read_connections = 2;
    /* 1: schema through the store, workspace 1 and its default project. */
    if (ts_store_open(&cfg, &st, &err) != TS_OK)
        die("open", err.msg);
    unsigned char hash[32] = {0};
    ts_write w = {
        .kind = TS_W_KEY_CREATE, .ws_name = "bench", .key_prefix = "bench", .key_hash = hash};
    if (ts_store_write_sync(st, &w) != TS_OK || w.ws.id != 1)
        die("workspace", w.err.msg);
    ts_store_close(st);
    double t0 = now_ms();
    fill(argv[1], n);
    printf("filled %" PRId64 " traces (+%" PRId64 " in another workspace) in %.1f s\n\n", n, n / 10,
           (now_ms() - t0) / 1e3);
    if (ts_store_open(&cfg, &st, &err) != TS_OK)
        die("reopen", err.msg);
    qcase cases[] = {
        {"newest first, no filter (page 1)", {{0}}, 0, 0, 0, 0},
        {"no filter, keyset cursor deep in the data", {{0}}, 0, 1, 0, 0},
        {"model=gpt-4o (any span)", {{TS_QF_SPAN_MODEL, TS_QOP_EQ, NULL, V_GPT4O, 1}}, 1, 1, 0, 0},
        {"model=absent-model (matches nothing)",
         {{TS_QF_SPAN_MODEL, TS_QOP_EQ, NULL, V_NOMODEL, 1}},
         1,
         1,
         0,
         0},
        {"error=true", {{TS_QF_HAS_ERROR, TS_QOP_EQ, NULL, V_TRUE, 1}}, 1, 1, 0, 0},
        {"model=gpt-4o AND error=true",
         {{TS_QF_SPAN_MODEL, TS_QOP_EQ, NULL, V_GPT4O, 1},
          {TS_QF_HAS_ERROR, TS_QOP_EQ, NULL, V_TRUE, 1}},
         2,
         1,
         0,
         0},
        {"failure_type=timeout (any span)",
         {{TS_QF_SPAN_FAILURE, TS_QOP_EQ, NULL, V_TIMEOUT, 1}},
         1,
         1,
         0,
         0},
        {"tag tier=pro", {{TS_QF_TAG, TS_QOP_EQ, "tier", V_PRO, 1}}, 1, 1, 0, 0},
        {"latency 20000..21000 ms",
         {{TS_QF_LATENCY_MS, TS_QOP_GTE, NULL, V_LAT_MIN, 1},
          {TS_QF_LATENCY_MS, TS_QOP_LTE, NULL, V_LAT_MAX, 1}},
         2,
         1,
         0,
         0},
        {"token_count >= 4500 AND model=gpt-4o",
         {{TS_QF_TOTAL_TOKENS, TS_QOP_GTE, NULL, V_TOK_MIN, 1},
          {TS_QF_SPAN_MODEL, TS_QOP_EQ, NULL, V_GPT4O, 1}},
         2,
         1,
         0,
         0},
        {"Respan page 1 + count, model=gpt-4o",
         {{TS_QF_SPAN_MODEL, TS_QOP_EQ, NULL, V_GPT4O, 1}},
         1,
         0,
         1,
         0},
        {"Respan page 1 + count, no filter", {{0}}, 0, 0, 1, 0},
    };
    printf("| query (limit 50, newest first) | p50 ms | p99 ms | max ms | rows |\n");
    printf("|---|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        run(st, n, &cases[i], cases[i].count ? 20 : 300);
    ts_store_close(st);
    return 0;
}

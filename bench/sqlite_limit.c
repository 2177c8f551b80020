/* sqlite_limit.c: the SQLite-alone limit. Inserts the same rows the daemon
 * stores for the benchmark's spans (spans, request_logs, one traces row and
 * its trace_dims rows per trace) through the embedded schema and its indexes, with prepared
 * statements, one transaction per batch, and the daemon's pragmas
 * (WAL, synchronous=FULL), page cache (store/sqlite_pcache.h) and file
 * writes (the writer's VFS, store/sqlite_vfs.h). No HTTP, no JSON parsing: the physical limit
 * the ingest path is compared with. Prints one key=value line. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "spangen.h"
#include "store/migrations.h"
#include "store/sqlite_pcache.h"
#include "store/sqlite_vfs.h"

typedef struct cached {
    int ready;
    sg_vals v;
    char attrs[4096], lr[4096];
} cached;

static sg_dims dims; /* the current trace's trace_dims rows */

static int64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t now_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

static void check(sqlite3 *db, int rc, const char *what)
{
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fprintf(stderr, "sqlite_limit: %s: %s\n", what, sqlite3_errmsg(db));
        exit(1);
    }
}

static void exec(sqlite3 *db, const char *sql)
{
    check(db, sqlite3_exec(db, sql, NULL, NULL, NULL), sql);
}

static sqlite3_stmt *prep(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    check(db, sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL), sql);
    return st;
}

static void step(sqlite3 *db, sqlite3_stmt *st, const char *what)
{
    check(db, sqlite3_step(st), what);
    sqlite3_reset(st);
}

/* --append: the default project of the workspace named "bench" (created by
 * `tracestore key create --workspace bench`), which must be workspace 1. */
static int64_t bench_project(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    int64_t ws = 0, proj = 0;
    check(db,
          sqlite3_prepare_v2(db,
                             "SELECT w.id, p.id FROM workspaces w JOIN projects p ON "
                             "p.ws_id = w.id AND p.is_default = 1 WHERE w.name = 'bench'",
                             -1, &st, NULL),
          "find workspace");
    if (sqlite3_step(st) == SQLITE_ROW) {
        ws = sqlite3_column_int64(st, 0);
        proj = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    if (ws != 1) {
        fprintf(stderr, "sqlite_limit: --append needs workspace 'bench' with id 1 and a default "
                        "project (tracestore key create --workspace bench)\n");
        exit(1);
    }
    return proj;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    const char *path = "sqlite-limit.db";
    int batch = 100, spt = 100;
    long max_batches = 100000;
    double seconds = 10;
    int append = 0, sync_full = 1;
    uint32_t tag = 0x51;
    static struct option lo[] = {
        {"db", 1, 0, 'd'},      {"batch", 1, 0, 'b'},    {"spt", 1, 0, 'T'},
        {"batches", 1, 0, 'n'}, {"seconds", 1, 0, 's'},  {"append", 0, 0, 'a'},
        {"tag", 1, 0, 't'},     {"sync-off", 0, 0, 'o'}, {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 'd':
            path = optarg;
            break;
        case 'b':
            batch = (int)strtol(optarg, NULL, 10);
            break;
        case 'T':
            spt = (int)strtol(optarg, NULL, 10);
            break;
        case 'n':
            max_batches = strtol(optarg, NULL, 10);
            break;
        case 's':
            seconds = strtod(optarg, NULL);
            break;
        case 'a':
            append = 1;
            break;
        case 't':
            tag = (uint32_t)strtoul(optarg, NULL, 16);
            break;
        case 'o':
            sync_full = 0;
            break;
        default:
            fprintf(stderr, "usage: sqlite_limit [--db PATH] [--batch N] [--spt N] "
                            "[--batches N] [--seconds S]\n"
                            "       [--append --tag HEX [--sync-off]]  (prefills a daemon's "
                            "database: the benchmark's fast path)\n");
            return 2;
        }
    }
    sg_set set;
    if (batch < 1 || spt < 1 || sg_set_build(&set, SG_JSON, batch, spt, tag) != 0) {
        fprintf(stderr, "sqlite_limit: --batch and --spt must divide one another\n");
        return 2;
    }
    char wal[4096], shm[4096];
    snprintf(wal, sizeof(wal), "%s-wal", path);
    snprintf(shm, sizeof(shm), "%s-shm", path);
    if (!append) {
        unlink(path);
        unlink(wal);
        unlink(shm);
    }

    sqlite3 *db = NULL;
    ts_sqlite_pcache_install(); /* the daemon's page cache, before SQLite starts */
    check(db,
          sqlite3_open_v2(path, &db,
                          SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                          ts_sqlite_vfs()),
          "open");
    exec(db, "PRAGMA journal_mode = WAL; PRAGMA cache_size = -65536; "
             "PRAGMA foreign_keys = ON; PRAGMA journal_size_limit = 67108864;");
    exec(db, sync_full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = OFF");
    int64_t project = 0;
    if (append) {
        project = bench_project(db);
    } else {
        for (int i = 0; i < ts_migrations_count; i++)
            exec(db, ts_migrations[i].sql);
        exec(db, "INSERT INTO workspaces (id, uuid, name, created_ns) VALUES "
                 "(1, '00000000-0000-4000-8000-000000000001', 'bench', 0)");
    }

    sqlite3_stmt *ins_span = prep(
        db,
        "INSERT INTO spans (ws_id, trace_id, span_id, parent_id, name, kind, start_ns, end_ns, "
        "status_code, status_message, trace_state, attributes, events, links, resource, scope, "
        "origin, type, model, provider, input, output, prompt_tokens, completion_tokens, "
        "total_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, cost, unpriced, "
        "error, session_id, user_id, metadata, latency_ms, request_log_id, created_ns, trow, ctx) "
        "VALUES (1,?1,?2,?3,?4,?5,?6,?7,?8,?9,NULL,?10,'[]','[]','',NULL,0,?12,?13,?14,?15,?16,"
        "?17,?18,?19,NULL,NULL,NULL,?20,0,?21,?24,?25,NULL,NULL,?22,?23,?26,1)");
    /* The resource, once per trace (migration 0006; every span of a trace
     * here has the same one, as the daemon's writer then stores it). */
    sqlite3_stmt *ins_ctx =
        prep(db, "INSERT INTO span_ctx (trow, idx, resource, scope) VALUES (?1, 1, ?2, NULL)");
    sqlite3_stmt *ins_rl = prep(db, "INSERT INTO request_logs (ws_id, trace_id, span_id, body, "
                                    "created_ns, trow) VALUES (1, ?1, ?2, ?3, ?4, ?5)");
    sqlite3_stmt *ins_tr = prep(
        db, "INSERT INTO traces (ws_id, trace_id, project_id, created_ns, updated_ns, span_count, "
            "llm_span_count, prompt_tokens, completion_tokens, total_tokens, cost_sum, "
            "cost_span_count, unpriced_span_count, started_ns, ended_ns, error_count, "
            "root_span_id, root_start_ns, root_name, root_input, root_output, root_model, "
            "root_error, err_span_id, err_start_ns, err_text, id) VALUES (1,?1,?19,?2,?2,?3,?4,?5,"
            "?6,?7,?8,?9,0,?10,?11,?12,?13,?14,?15,?20,?21,NULL,NULL,?16,?17,?18,?22)");
    sqlite3_stmt *ins_dim =
        prep(db, "INSERT INTO trace_dims (ws_id, trow, dim, val, n, start) VALUES "
                 "(1, ?1, ?2, ?3, ?4, ?5) ON CONFLICT (trow, dim, val) DO UPDATE "
                 "SET n = n + excluded.n");
    /* Spans, logs and dims are keyed by their trace's row id, reserved
     * when the trace's first span is written (as the daemon's writer does). */
    sqlite3_stmt *max_tr = prep(db, "SELECT coalesce(max(id), 0) + 1 FROM traces");
    if (sqlite3_step(max_tr) != SQLITE_ROW)
        return 1;
    int64_t next_trow = sqlite3_column_int64(max_tr, 0), trow = 0;
    sqlite3_finalize(max_tr);
    sqlite3_stmt *begin = prep(db, "BEGIN IMMEDIATE");
    sqlite3_stmt *commit = prep(db, "COMMIT");

    char resource[2048];
    sg_resource_json(resource, sizeof(resource));
    cached *cache = calloc((size_t)spt * SG_MODELS * 2, sizeof(*cache));
    int64_t *lat = malloc((size_t)max_batches * sizeof(*lat));
    if (!cache || !lat)
        return 1;

    sg_vals root_vals; /* attrs[3], [4]: input.value, output.value */
    sg_span_vals(0, 0, 0, &root_vals);
    int64_t wall0 = clock_ns(CLOCK_REALTIME);
    int64_t t0 = now_ns(), deadline = t0 + (int64_t)(seconds * 1e9);
    long nb = 0;
    for (uint64_t r = 0; r < (uint64_t)max_batches && now_ns() < deadline; r++) {
        int64_t b0 = now_ns();
        step(db, begin, "begin");
        char th[33], sh[17], ph[17];
        int64_t span_n = 0, llm_n = 0, p_tok = 0, c_tok = 0, err_n = 0, t_first = 0;
        double cost = 0;
        const char *err_span = NULL;
        char err_span_buf[17];
        int64_t err_start = 0, t_start = 0, t_end = 0;
        for (int i = 0; i < batch; i++) {
            uint64_t g = r * (uint64_t)batch + (uint64_t)i, t = g / (uint64_t)spt;
            int k = (int)(g % (uint64_t)spt), m = sg_trace_model(t), e = sg_trace_err(t);
            cached *cv = &cache[((size_t)k * SG_MODELS + (size_t)m) * 2 + (size_t)e];
            if (!cv->ready) {
                sg_span_vals(k, m, e ? sg_err_k(spt) : 0, &cv->v);
                sg_attrs_json(cv->v.attrs, cv->v.nattrs_json, cv->attrs, sizeof(cv->attrs));
                if (cv->v.is_llm)
                    sg_log_request_json(&cv->v, cv->lr, sizeof(cv->lr));
                cv->ready = 1;
            }
            const sg_vals *v = &cv->v;
            sg_trace_hex(set.tag, t, th);
            sg_span_hex(set.tag, g, sh);
            sg_span_hex(set.tag, t * (uint64_t)spt, ph);
            int64_t start = set.base_ns + (int64_t)t * 1000000 + (int64_t)k * 1000;
            int64_t end = start + v->dur_ns, created = wall0 + (int64_t)g;
            int64_t rl_id = 0;
            if (k == 0) {
                trow = next_trow++;
                sqlite3_bind_int64(ins_ctx, 1, trow);
                sqlite3_bind_text(ins_ctx, 2, resource, -1, SQLITE_STATIC);
                step(db, ins_ctx, "insert span_ctx");
            }
            if (v->is_llm) {
                sqlite3_bind_text(ins_rl, 1, th, 32, SQLITE_STATIC);
                sqlite3_bind_text(ins_rl, 2, sh, 16, SQLITE_STATIC);
                sqlite3_bind_text(ins_rl, 3, cv->lr, -1, SQLITE_STATIC);
                sqlite3_bind_int64(ins_rl, 4, created);
                sqlite3_bind_int64(ins_rl, 5, trow);
                step(db, ins_rl, "insert request_log");
                rl_id = sqlite3_last_insert_rowid(db);
            }
            sqlite3_stmt *q = ins_span;
            sqlite3_bind_text(q, 1, th, 32, SQLITE_STATIC);
            sqlite3_bind_text(q, 2, sh, 16, SQLITE_STATIC);
            if (k)
                sqlite3_bind_text(q, 3, ph, 16, SQLITE_STATIC);
            else
                sqlite3_bind_null(q, 3);
            sqlite3_bind_text(q, 4, v->name, -1, SQLITE_STATIC);
            sqlite3_bind_int(q, 5, v->kind == 3 ? 3 : 1);
            sqlite3_bind_int64(q, 6, start);
            sqlite3_bind_int64(q, 7, end);
            sqlite3_bind_int(q, 8, v->is_err ? 2 : 1);
            if (v->is_err)
                sqlite3_bind_text(q, 9, v->status_msg, -1, SQLITE_STATIC);
            else
                sqlite3_bind_null(q, 9);
            sqlite3_bind_text(q, 10, cv->attrs, -1, SQLITE_STATIC);
            sqlite3_bind_text(q, 12, v->is_llm ? "llm" : "other", -1, SQLITE_STATIC);
            for (int c = 13; c <= 19; c++)
                sqlite3_bind_null(q, c);
            /* The daemon maps input.value, output.value, session.id and
             * user.id attributes onto the span's columns. */
            sqlite3_bind_null(q, 24);
            sqlite3_bind_null(q, 25);
            for (int a = 0; a < v->nattrs; a++) {
                const sg_attr *at = &v->attrs[a];
                int col = strcmp(at->key, "input.value") == 0    ? 15
                          : strcmp(at->key, "output.value") == 0 ? 16
                          : strcmp(at->key, "session.id") == 0   ? 24
                          : strcmp(at->key, "user.id") == 0      ? 25
                                                                 : 0;
                if (col)
                    sqlite3_bind_text(q, col, at->s, -1, SQLITE_STATIC);
            }
            sqlite3_bind_null(q, 20);
            sqlite3_bind_null(q, 22);
            if (v->is_llm) {
                sqlite3_bind_text(q, 13, v->model, -1, SQLITE_STATIC);
                sqlite3_bind_text(q, 14, v->provider, -1, SQLITE_STATIC);
                sqlite3_bind_text(q, 15, sg_llm_input_json, -1, SQLITE_STATIC);
                sqlite3_bind_text(q, 16, sg_llm_output_json, -1, SQLITE_STATIC);
                sqlite3_bind_int64(q, 17, v->in_tok);
                sqlite3_bind_int64(q, 18, v->out_tok);
                sqlite3_bind_double(q, 20, v->price);
                sqlite3_bind_int64(q, 22, rl_id);
            }
            if (v->is_err)
                sqlite3_bind_text(q, 21, v->status_msg, -1, SQLITE_STATIC);
            else
                sqlite3_bind_null(q, 21);
            sqlite3_bind_int64(q, 23, created);
            sqlite3_bind_int64(q, 26, trow);
            step(db, q, "insert span");
            sg_dims_add_span(&dims, v, k ? ph : NULL);
            /* The trace's aggregate row, written once per trace per batch. */
            span_n++;
            llm_n += v->is_llm;
            p_tok += v->is_llm ? v->in_tok : 0;
            c_tok += v->is_llm ? v->out_tok : 0;
            cost += v->is_llm ? v->price : 0;
            if (v->is_err && !err_span) {
                err_n++;
                memcpy(err_span_buf, sh, 17);
                err_span = err_span_buf;
                err_start = start;
            }
            if (span_n == 1 || start < t_start)
                t_start = start;
            if (end > t_end)
                t_end = end;
            if (k == 0)
                t_first = start;
            int last = i == batch - 1 || (g + 1) % (uint64_t)spt == 0;
            if (!last)
                continue;
            sqlite3_bind_text(ins_tr, 1, th, 32, SQLITE_STATIC);
            sqlite3_bind_int64(ins_tr, 2, created);
            if (project > 0)
                sqlite3_bind_int64(ins_tr, 19, project);
            else
                sqlite3_bind_null(ins_tr, 19);
            sqlite3_bind_int64(ins_tr, 3, span_n);
            sqlite3_bind_int64(ins_tr, 4, llm_n);
            sqlite3_bind_int64(ins_tr, 5, p_tok);
            sqlite3_bind_int64(ins_tr, 6, c_tok);
            sqlite3_bind_int64(ins_tr, 7, p_tok + c_tok);
            sqlite3_bind_double(ins_tr, 8, cost);
            sqlite3_bind_int64(ins_tr, 9, llm_n);
            sqlite3_bind_int64(ins_tr, 10, t_start);
            sqlite3_bind_int64(ins_tr, 11, t_end);
            sqlite3_bind_int64(ins_tr, 12, err_n);
            sqlite3_bind_text(ins_tr, 13, ph, 16, SQLITE_STATIC);
            sqlite3_bind_int64(ins_tr, 14, t_first);
            sqlite3_bind_text(ins_tr, 15, "agent.run", -1, SQLITE_STATIC);
            sqlite3_bind_text(ins_tr, 20, root_vals.attrs[3].s, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins_tr, 21, root_vals.attrs[4].s, -1, SQLITE_STATIC);
            if (err_span) {
                sqlite3_bind_text(ins_tr, 16, err_span, 16, SQLITE_STATIC);
                sqlite3_bind_int64(ins_tr, 17, err_start);
                sqlite3_bind_text(ins_tr, 18, "upstream 429: rate limit reached for requests", -1,
                                  SQLITE_STATIC);
            } else {
                sqlite3_bind_null(ins_tr, 16);
                sqlite3_bind_null(ins_tr, 17);
                sqlite3_bind_null(ins_tr, 18);
            }
            /* With fewer spans per batch than per trace the row exists:
             * the daemon updates it; here a plain insert-or-replace. */
            if (spt > batch && g / (uint64_t)spt == (g - (uint64_t)i) / (uint64_t)spt &&
                (g - (uint64_t)i) % (uint64_t)spt != 0) {
                sqlite3_clear_bindings(ins_tr);
            } else {
                sqlite3_bind_int64(ins_tr, 22, trow);
                step(db, ins_tr, "insert trace");
            }
            for (int d = 0; d < dims.n; d++) {
                sqlite3_bind_int64(ins_dim, 1, trow);
                sqlite3_bind_int(ins_dim, 2, dims.row[d].dim);
                sqlite3_bind_text(ins_dim, 3, dims.row[d].val, -1, SQLITE_STATIC);
                sqlite3_bind_int64(ins_dim, 4, dims.row[d].n);
                sqlite3_bind_int64(ins_dim, 5, t_start);
                step(db, ins_dim, "insert trace_dims");
            }
            dims.n = 0;
            span_n = llm_n = p_tok = c_tok = err_n = 0;
            cost = 0;
            err_span = NULL;
        }
        step(db, commit, "commit");
        lat[nb++] = now_ns() - b0;
    }
    double el = (double)(now_ns() - t0) / 1e9;
    qsort(lat, (size_t)nb, sizeof(*lat), cmp_i64);
    printf("mode=sqlite batch=%d spt=%d batches=%ld elapsed_s=%.3f txn_per_s=%.1f "
           "spans_per_s=%.1f p50_ms=%.3f p99_ms=%.3f\n",
           batch, spt, nb, el, (double)nb / el, (double)nb * batch / el,
           nb ? (double)lat[nb / 2] / 1e6 : 0.0,
           nb ? (double)lat[(size_t)((double)(nb - 1) * 0.99)] / 1e6 : 0.0);
    sqlite3_finalize(ins_span);
    sqlite3_finalize(ins_rl);
    sqlite3_finalize(ins_ctx);
    sqlite3_finalize(ins_tr);
    sqlite3_finalize(ins_dim);
    sqlite3_finalize(begin);
    sqlite3_finalize(commit);
    sqlite3_close(db);
    free(cache);
    free(lat);
    sg_set_free(&set);
    return 0;
}

/* pg_limit.c: the PostgreSQL-alone limit (issue 19 point 7). Inserts the
 * same rows the daemon stores for the benchmark's spans (spans,
 * request_logs, one traces row and its trace_dims rows per trace) into the
 * PostgreSQL backend's schema (migrations/postgres/, applied to an empty
 * database first), one transaction per batch, synchronous_commit on, over
 * one libpq connection, the fastest way PostgreSQL takes rows: the batch's
 * row ids drawn from the identity sequences in one statement each, then one
 * COPY per table. What PostgreSQL itself takes for the rows the ingest path
 * writes, without HTTP, JSON or the daemon's locking and reads of old rows.
 * Prints one key=value line.
 *
 *   pg_limit --url "host=/tmp/pg port=5432 user=postgres dbname=limit" --batch 100 --spt 100 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "spangen.h"
#include "store/migrations.h"

static sg_dims dims; /* the current trace's trace_dims rows */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static PGresult *ok(PGconn *c, PGresult *r, const char *what)
{
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_COPY_IN) {
        fprintf(stderr, "pg_limit: %s: %s\n", what, PQerrorMessage(c));
        exit(1);
    }
    return r;
}

static void exec(PGconn *c, const char *sql)
{
    PQclear(ok(c, PQexec(c, sql), sql));
}

/* One COPY's text-format rows. */
typedef struct cbuf {
    char *p;
    size_t len, cap;
    int col;
} cbuf;

static void cb_raw(cbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            exit(1);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void cb_sep(cbuf *b)
{
    if (b->col++)
        cb_raw(b, "\t", 1);
}

static void cb_text(cbuf *b, const char *s)
{
    cb_sep(b);
    if (!s) {
        cb_raw(b, "\\N", 2);
        return;
    }
    for (; *s; s++) {
        const char *esc = *s == '\\'   ? "\\\\"
                          : *s == '\t' ? "\\t"
                          : *s == '\n' ? "\\n"
                          : *s == '\r' ? "\\r"
                                       : NULL;
        if (esc)
            cb_raw(b, esc, 2);
        else
            cb_raw(b, s, 1);
    }
}

static void cb_i64(cbuf *b, int64_t v)
{
    char t[32];
    cb_sep(b);
    cb_raw(b, t, (size_t)snprintf(t, sizeof t, "%" PRId64, v));
}

static void cb_f64(cbuf *b, double v)
{
    char t[40];
    cb_sep(b);
    cb_raw(b, t, (size_t)snprintf(t, sizeof t, "%.17g", v));
}

static void cb_end(cbuf *b)
{
    cb_raw(b, "\n", 1);
    b->col = 0;
}

static void copy(PGconn *c, const char *sql, cbuf *b)
{
    PQclear(ok(c, PQexec(c, sql), sql));
    if (PQputCopyData(c, b->p ? b->p : "", (int)b->len) != 1 || PQputCopyEnd(c, NULL) != 1) {
        fprintf(stderr, "pg_limit: %s: %s\n", sql, PQerrorMessage(c));
        exit(1);
    }
    PGresult *r;
    while ((r = PQgetResult(c)) != NULL)
        PQclear(ok(c, r, sql));
    b->len = 0;
    b->col = 0;
}

/* n new ids from table's identity sequence, in one statement. */
static void ids(PGconn *c, const char *table, int n, int64_t *out)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT nextval(pg_get_serial_sequence('%s', 'id')) FROM generate_series(1, %d)",
             table, n);
    PGresult *r = ok(c, PQexec(c, sql), sql);
    for (int i = 0; i < n && i < PQntuples(r); i++)
        out[i] = strtoll(PQgetvalue(r, i, 0), NULL, 10);
    PQclear(r);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    const char *url = NULL;
    int batch = 100, spt = 100;
    long max_batches = 100000;
    double seconds = 10;
    static struct option lo[] = {{"url", 1, 0, 'u'},     {"batch", 1, 0, 'b'},   {"spt", 1, 0, 'T'},
                                 {"batches", 1, 0, 'n'}, {"seconds", 1, 0, 's'}, {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 'u':
            url = optarg;
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
        default:
            fprintf(stderr, "usage: pg_limit --url CONNINFO [--batch N] [--spt N] [--batches N] "
                            "[--seconds S]   (CONNINFO names an empty database)\n");
            return 2;
        }
    }
    sg_set set;
    if (!url || batch < 1 || spt < 1 || sg_set_build(&set, SG_JSON, batch, spt, 0x52) != 0) {
        fprintf(stderr, "pg_limit: --url is required; --batch and --spt must divide one another\n");
        return 2;
    }
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "pg_limit: connect: %s\n", PQerrorMessage(c));
        return 1;
    }
    exec(c, "SET synchronous_commit = on");
    exec(c, "SET client_min_messages = warning");
    for (int i = 0; i < ts_pg_migrations_count; i++)
        exec(c, ts_pg_migrations[i].sql);
    exec(c, "INSERT INTO workspaces (id, uuid, name, created_ns) VALUES "
            "(1, '00000000-0000-4000-8000-000000000001', 'bench', 0)");

    char resource[2048];
    sg_resource_json(resource, sizeof(resource));
    int64_t *lat = malloc((size_t)max_batches * sizeof(*lat));
    int64_t *trows = malloc((size_t)batch * sizeof(int64_t));
    int64_t *rlids = malloc((size_t)batch * sizeof(int64_t));
    if (!lat || !trows || !rlids)
        return 1;
    sg_vals root_vals;
    sg_span_vals(0, 0, 0, &root_vals);
    struct timespec wts;
    clock_gettime(CLOCK_REALTIME, &wts);
    int64_t wall0 = (int64_t)wts.tv_sec * 1000000000LL + wts.tv_nsec;
    int64_t t0 = now_ns(), deadline = t0 + (int64_t)(seconds * 1e9);
    cbuf bt = {0}, brl = {0}, bs = {0}, bd = {0};
    long nb = 0;
    if (batch % spt != 0) {
        fprintf(stderr, "pg_limit: --batch must be a multiple of --spt\n");
        return 2;
    }
    for (uint64_t r = 0; r < (uint64_t)max_batches && now_ns() < deadline; r++) {
        int64_t b0 = now_ns();
        exec(c, "BEGIN");
        int ntr = batch / spt, nllm = 0, li = 0;
        for (int i = 0; i < batch; i++) {
            uint64_t g = r * (uint64_t)batch + (uint64_t)i, t = g / (uint64_t)spt;
            sg_vals v;
            sg_span_vals((int)(g % (uint64_t)spt), sg_trace_model(t),
                         sg_trace_err(t) ? sg_err_k(spt) : 0, &v);
            nllm += v.is_llm;
        }
        ids(c, "traces", ntr, trows);
        if (nllm)
            ids(c, "request_logs", nllm, rlids);
        for (int tj = 0; tj < ntr; tj++) {
            uint64_t t = (r * (uint64_t)batch) / (uint64_t)spt + (uint64_t)tj;
            int m = sg_trace_model(t), e = sg_trace_err(t);
            int64_t trow = trows[tj];
            char th[33], ph[17], err_span[17] = "";
            int64_t span_n = 0, llm_n = 0, p_tok = 0, c_tok = 0, err_n = 0, t_first = 0;
            int64_t err_start = 0, t_start = 0, t_end = 0, created0 = 0;
            double cost = 0;
            sg_trace_hex(set.tag, t, th);
            sg_span_hex(set.tag, t * (uint64_t)spt, ph);
            for (int k = 0; k < spt; k++) {
                uint64_t g = t * (uint64_t)spt + (uint64_t)k;
                sg_vals v;
                char attrs[4096], lr[4096], sh[17];
                sg_span_vals(k, m, e ? sg_err_k(spt) : 0, &v);
                sg_attrs_json(v.attrs, v.nattrs_json, attrs, sizeof(attrs));
                sg_span_hex(set.tag, g, sh);
                int64_t start = set.base_ns + (int64_t)t * 1000000 + (int64_t)k * 1000;
                int64_t end = start + v.dur_ns, created = wall0 + (int64_t)g;
                int64_t rl = 0;
                if (k == 0)
                    created0 = created;
                if (v.is_llm) {
                    rl = rlids[li++];
                    sg_log_request_json(&v, lr, sizeof(lr));
                    cb_i64(&brl, rl);
                    cb_i64(&brl, 1);
                    cb_text(&brl, th);
                    cb_text(&brl, sh);
                    cb_text(&brl, lr);
                    cb_i64(&brl, created);
                    cb_i64(&brl, trow);
                    cb_end(&brl);
                }
                const char *in = NULL, *out = NULL, *sess = NULL, *user = NULL;
                for (int a = 0; a < v.nattrs; a++) {
                    const sg_attr *at = &v.attrs[a];
                    if (strcmp(at->key, "input.value") == 0)
                        in = at->s;
                    else if (strcmp(at->key, "output.value") == 0)
                        out = at->s;
                    else if (strcmp(at->key, "session.id") == 0)
                        sess = at->s;
                    else if (strcmp(at->key, "user.id") == 0)
                        user = at->s;
                }
                cb_i64(&bs, trow);
                cb_i64(&bs, 1);
                cb_text(&bs, th);
                cb_text(&bs, sh);
                cb_text(&bs, k ? ph : NULL);
                cb_text(&bs, v.name);
                cb_i64(&bs, v.kind == 3 ? 3 : 1);
                cb_i64(&bs, start);
                cb_i64(&bs, end);
                cb_i64(&bs, v.is_err ? 2 : 1);
                cb_text(&bs, v.is_err ? v.status_msg : NULL);
                cb_text(&bs, attrs);
                cb_text(&bs, "[]");
                cb_text(&bs, "[]");
                cb_text(&bs, resource);
                cb_i64(&bs, 0);
                cb_text(&bs, v.is_llm ? "llm" : "other");
                cb_text(&bs, v.is_llm ? v.model : NULL);
                cb_text(&bs, v.is_llm ? v.provider : NULL);
                cb_text(&bs, v.is_llm ? sg_llm_input_json : in);
                cb_text(&bs, v.is_llm ? sg_llm_output_json : out);
                if (v.is_llm) {
                    cb_i64(&bs, v.in_tok);
                    cb_i64(&bs, v.out_tok);
                    cb_i64(&bs, v.in_tok + v.out_tok);
                    cb_f64(&bs, v.price);
                    cb_i64(&bs, rl);
                } else {
                    for (int z = 0; z < 5; z++)
                        cb_text(&bs, NULL);
                }
                cb_text(&bs, v.is_err ? v.status_msg : NULL);
                cb_text(&bs, sess);
                cb_text(&bs, user);
                cb_i64(&bs, created);
                cb_end(&bs);
                sg_dims_add_span(&dims, &v, k ? ph : NULL);
                span_n++;
                llm_n += v.is_llm;
                p_tok += v.is_llm ? v.in_tok : 0;
                c_tok += v.is_llm ? v.out_tok : 0;
                cost += v.is_llm ? v.price : 0;
                if (v.is_err && !err_span[0]) {
                    err_n++;
                    memcpy(err_span, sh, 17);
                    err_start = start;
                }
                if (span_n == 1 || start < t_start)
                    t_start = start;
                if (end > t_end)
                    t_end = end;
                if (k == 0)
                    t_first = start;
            }
            /* The trace's aggregate row and its dims, once per trace. */
            cb_i64(&bt, trow);
            cb_i64(&bt, 1);
            cb_text(&bt, th);
            cb_i64(&bt, created0);
            cb_i64(&bt, created0);
            cb_i64(&bt, span_n);
            cb_i64(&bt, llm_n);
            cb_i64(&bt, p_tok);
            cb_i64(&bt, c_tok);
            cb_i64(&bt, p_tok + c_tok);
            cb_f64(&bt, cost);
            cb_i64(&bt, llm_n);
            cb_i64(&bt, t_start);
            cb_i64(&bt, t_end);
            cb_i64(&bt, err_n);
            cb_text(&bt, ph);
            cb_i64(&bt, t_first);
            cb_text(&bt, "agent.run");
            cb_text(&bt, root_vals.attrs[3].s);
            cb_text(&bt, root_vals.attrs[4].s);
            cb_text(&bt, err_span[0] ? err_span : NULL);
            if (err_span[0])
                cb_i64(&bt, err_start);
            else
                cb_text(&bt, NULL);
            cb_text(&bt, err_span[0] ? "upstream 429: rate limit reached for requests" : NULL);
            cb_end(&bt);
            for (int d = 0; d < dims.n; d++) {
                cb_i64(&bd, 1);
                cb_i64(&bd, trow);
                cb_i64(&bd, dims.row[d].dim);
                cb_text(&bd, dims.row[d].val);
                cb_i64(&bd, dims.row[d].n);
                cb_i64(&bd, t_start);
                cb_end(&bd);
            }
            dims.n = 0;
        }
        copy(c,
             "COPY traces (id, ws_id, trace_id, created_ns, updated_ns, span_count, "
             "llm_span_count, prompt_tokens, completion_tokens, total_tokens, cost_sum, "
             "cost_span_count, started_ns, ended_ns, error_count, root_span_id, root_start_ns, "
             "root_name, root_input, root_output, err_span_id, err_start_ns, err_text) FROM STDIN",
             &bt);
        if (nllm)
            copy(c,
                 "COPY request_logs (id, ws_id, trace_id, span_id, body, created_ns, trow) "
                 "FROM STDIN",
                 &brl);
        copy(c,
             "COPY spans (trow, ws_id, trace_id, span_id, parent_id, name, kind, start_ns, "
             "end_ns, status_code, status_message, attributes, events, links, resource, origin, "
             "type, model, provider, input, output, prompt_tokens, completion_tokens, "
             "total_tokens, cost, request_log_id, error, session_id, user_id, created_ns) "
             "FROM STDIN",
             &bs);
        copy(c, "COPY trace_dims (ws_id, trow, dim, val, n, start) FROM STDIN", &bd);
        exec(c, "COMMIT");
        lat[nb++] = now_ns() - b0;
    }
    double el = (double)(now_ns() - t0) / 1e9;
    qsort(lat, (size_t)nb, sizeof(*lat), cmp_i64);
    printf("mode=postgres batch=%d spt=%d batches=%ld elapsed_s=%.3f txn_per_s=%.1f "
           "spans_per_s=%.1f p50_ms=%.3f p99_ms=%.3f\n",
           batch, spt, nb, el, (double)nb / el, (double)nb * batch / el,
           nb ? (double)lat[nb / 2] / 1e6 : 0.0,
           nb ? (double)lat[(size_t)((double)(nb - 1) * 0.99)] / 1e6 : 0.0);
    PQfinish(c);
    free(lat);
    free(trows);
    free(rlids);
    free(bt.p);
    free(brl.p);
    free(bs.p);
    free(bd.p);
    sg_set_free(&set);
    return 0;
}

/* pg_limit.c: the PostgreSQL-alone limit (issue 19 point 7). Inserts the
 * same rows the daemon stores for the benchmark's spans (spans,
 * request_logs, one traces row and its trace_dims rows per trace) into the
 * PostgreSQL backend's schema (migrations/postgres/, applied to an empty
 * database first), with prepared statements, one transaction per batch,
 * synchronous_commit on, over one libpq connection: what PostgreSQL itself
 * takes for the rows the ingest path writes, without HTTP, JSON or the
 * daemon's locking and reads. Prints one key=value line.
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

enum {
    DIM_MODEL = 1,
    DIM_FAILURE,
    DIM_NAME,
    DIM_TYPE,
    DIM_UNUSED,
    DIM_PARENT,
    DIM_PROVIDER,
    DIM_STATUS
};

typedef struct dimrow {
    int dim;
    char val[64];
    int64_t n;
} dimrow;
static dimrow dims[64];
static int ndims;

static void dim_add(int dim, const char *val)
{
    if (!val)
        return;
    for (int i = 0; i < ndims; i++)
        if (dims[i].dim == dim && strcmp(dims[i].val, val) == 0) {
            dims[i].n++;
            return;
        }
    if (ndims == (int)(sizeof(dims) / sizeof(dims[0])))
        return;
    dims[ndims].dim = dim;
    snprintf(dims[ndims].val, sizeof(dims[ndims].val), "%s", val);
    dims[ndims].n = 1;
    ndims++;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static PGresult *ok(PGconn *c, PGresult *r, const char *what)
{
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        fprintf(stderr, "pg_limit: %s: %s\n", what, PQerrorMessage(c));
        exit(1);
    }
    return r;
}

static void exec(PGconn *c, const char *sql)
{
    PQclear(ok(c, PQexec(c, sql), sql));
}

static void prep(PGconn *c, const char *name, const char *sql)
{
    PQclear(ok(c, PQprepare(c, name, sql, 0, NULL), name));
}

/* Parameters as text, formatted into a small pool per statement. */
typedef struct params {
    int n;
    const char *v[32];
    char buf[32][32];
} params;

static void p_text(params *p, const char *s)
{
    p->v[p->n++] = s;
}

static void p_i64(params *p, int64_t v)
{
    snprintf(p->buf[p->n], sizeof p->buf[0], "%" PRId64, v);
    p->v[p->n] = p->buf[p->n];
    p->n++;
}

static void p_f64(params *p, double v)
{
    snprintf(p->buf[p->n], sizeof p->buf[0], "%.17g", v);
    p->v[p->n] = p->buf[p->n];
    p->n++;
}

static PGresult *run(PGconn *c, const char *name, const params *p)
{
    return ok(c, PQexecPrepared(c, name, p->n, p->v, NULL, NULL, 0), name);
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

    prep(c, "span",
         "INSERT INTO spans (ws_id, trace_id, span_id, parent_id, name, kind, start_ns, end_ns, "
         "status_code, status_message, trace_state, attributes, events, links, resource, scope, "
         "origin, type, model, provider, input, output, prompt_tokens, completion_tokens, "
         "total_tokens, cost, unpriced, error, session_id, user_id, request_log_id, created_ns, "
         "trow) VALUES (1,$1,$2,$3,$4,$5,$6,$7,$8,$9,NULL,$10,'[]','[]',$11,NULL,0,$12,$13,$14,"
         "$15,$16,$17,$18,$19,$20,0,$21,$22,$23,$24,$25,$26)");
    prep(c, "rl",
         "INSERT INTO request_logs (ws_id, trace_id, span_id, body, created_ns, trow) VALUES "
         "(1, $1, $2, $3, $4, $5) RETURNING id");
    prep(c, "trace",
         "INSERT INTO traces (ws_id, trace_id, created_ns, updated_ns) VALUES (1, $1, $2, $2) "
         "RETURNING id");
    prep(c, "trace_upd",
         "UPDATE traces SET span_count = $2, llm_span_count = $3, prompt_tokens = $4, "
         "completion_tokens = $5, total_tokens = $6, cost_sum = $7, cost_span_count = $8, "
         "started_ns = $9, ended_ns = $10, error_count = $11, root_span_id = $12, "
         "root_start_ns = $13, root_name = $14, root_input = $15, root_output = $16, "
         "err_span_id = $17, err_start_ns = $18, err_text = $19 WHERE id = $1");
    prep(c, "dim",
         "INSERT INTO trace_dims (ws_id, trow, dim, val, n, start) VALUES (1, $1, $2, $3, $4, $5) "
         "ON CONFLICT (trow, dim, val) DO UPDATE SET n = trace_dims.n + excluded.n");

    char resource[2048];
    sg_resource_json(resource, sizeof(resource));
    int64_t *lat = malloc((size_t)max_batches * sizeof(*lat));
    if (!lat)
        return 1;
    sg_vals root_vals;
    sg_span_vals(0, 0, 0, &root_vals);
    struct timespec wts;
    clock_gettime(CLOCK_REALTIME, &wts);
    int64_t wall0 = (int64_t)wts.tv_sec * 1000000000LL + wts.tv_nsec;
    int64_t t0 = now_ns(), deadline = t0 + (int64_t)(seconds * 1e9), trow = 0;
    long nb = 0;
    char trow_s[32] = "";
    for (uint64_t r = 0; r < (uint64_t)max_batches && now_ns() < deadline; r++) {
        int64_t b0 = now_ns();
        exec(c, "BEGIN");
        char th[33], sh[17], ph[17], err_span[17] = "";
        int64_t span_n = 0, llm_n = 0, p_tok = 0, c_tok = 0, err_n = 0, t_first = 0;
        int64_t err_start = 0, t_start = 0, t_end = 0;
        double cost = 0;
        for (int i = 0; i < batch; i++) {
            uint64_t g = r * (uint64_t)batch + (uint64_t)i, t = g / (uint64_t)spt;
            int k = (int)(g % (uint64_t)spt), m = sg_trace_model(t), e = sg_trace_err(t);
            sg_vals v;
            char attrs[4096], lr[4096];
            sg_span_vals(k, m, e ? sg_err_k(spt) : 0, &v);
            sg_attrs_json(v.attrs, v.nattrs_json, attrs, sizeof(attrs));
            sg_trace_hex(set.tag, t, th);
            sg_span_hex(set.tag, g, sh);
            sg_span_hex(set.tag, t * (uint64_t)spt, ph);
            int64_t start = set.base_ns + (int64_t)t * 1000000 + (int64_t)k * 1000;
            int64_t end = start + v.dur_ns, created = wall0 + (int64_t)g;
            params p = {0};
            if (k == 0 || trow == 0) {
                p_text(&p, th);
                p_i64(&p, created);
                PGresult *res = run(c, "trace", &p);
                trow = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
                PQclear(res);
                snprintf(trow_s, sizeof trow_s, "%" PRId64, trow);
            }
            char rl_s[32] = "";
            if (v.is_llm) {
                sg_log_request_json(&v, lr, sizeof(lr));
                params q = {0};
                p_text(&q, th);
                p_text(&q, sh);
                p_text(&q, lr);
                p_i64(&q, created);
                p_text(&q, trow_s);
                PGresult *res = run(c, "rl", &q);
                snprintf(rl_s, sizeof rl_s, "%s", PQgetvalue(res, 0, 0));
                PQclear(res);
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
            p.n = 0;
            p_text(&p, th);                                  /* 1 */
            p_text(&p, sh);                                  /* 2 */
            p_text(&p, k ? ph : NULL);                       /* 3 */
            p_text(&p, v.name);                              /* 4 */
            p_i64(&p, v.kind == 3 ? 3 : 1);                  /* 5 */
            p_i64(&p, start);                                /* 6 */
            p_i64(&p, end);                                  /* 7 */
            p_i64(&p, v.is_err ? 2 : 1);                     /* 8 */
            p_text(&p, v.is_err ? v.status_msg : NULL);      /* 9 */
            p_text(&p, attrs);                               /* 10 */
            p_text(&p, resource);                            /* 11 */
            p_text(&p, v.is_llm ? "llm" : "other");          /* 12 */
            p_text(&p, v.is_llm ? v.model : NULL);           /* 13 */
            p_text(&p, v.is_llm ? v.provider : NULL);        /* 14 */
            p_text(&p, v.is_llm ? sg_llm_input_json : in);   /* 15 */
            p_text(&p, v.is_llm ? sg_llm_output_json : out); /* 16 */
            if (v.is_llm) {
                p_i64(&p, v.in_tok);             /* 17 */
                p_i64(&p, v.out_tok);            /* 18 */
                p_i64(&p, v.in_tok + v.out_tok); /* 19 */
                p_f64(&p, v.price);              /* 20 */
            } else {
                for (int z = 0; z < 4; z++)
                    p_text(&p, NULL);
            }
            p_text(&p, v.is_err ? v.status_msg : NULL); /* 21 */
            p_text(&p, sess);                           /* 22 */
            p_text(&p, user);                           /* 23 */
            p_text(&p, v.is_llm ? rl_s : NULL);         /* 24 */
            p_i64(&p, created);                         /* 25 */
            p_text(&p, trow_s);                         /* 26 */
            PQclear(run(c, "span", &p));
            dim_add(DIM_MODEL, v.model);
            dim_add(DIM_FAILURE, v.is_err ? "rate_limit" : NULL);
            dim_add(DIM_NAME, v.name);
            dim_add(DIM_TYPE, v.is_llm ? "llm" : "other");
            dim_add(DIM_PARENT, k ? ph : NULL);
            dim_add(DIM_PROVIDER, v.provider);
            dim_add(DIM_STATUS, v.is_err ? "error" : "success");
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
            int last = i == batch - 1 || (g + 1) % (uint64_t)spt == 0;
            if (!last)
                continue;
            /* The trace's aggregate row and dims, written once per trace per batch. */
            p.n = 0;
            p_text(&p, trow_s);
            p_i64(&p, span_n);
            p_i64(&p, llm_n);
            p_i64(&p, p_tok);
            p_i64(&p, c_tok);
            p_i64(&p, p_tok + c_tok);
            p_f64(&p, cost);
            p_i64(&p, llm_n);
            p_i64(&p, t_start);
            p_i64(&p, t_end);
            p_i64(&p, err_n);
            p_text(&p, ph);
            p_i64(&p, t_first);
            p_text(&p, "agent.run");
            p_text(&p, root_vals.attrs[3].s);
            p_text(&p, root_vals.attrs[4].s);
            p_text(&p, err_span[0] ? err_span : NULL);
            if (err_span[0])
                p_i64(&p, err_start);
            else
                p_text(&p, NULL);
            p_text(&p, err_span[0] ? "upstream 429: rate limit reached for requests" : NULL);
            PQclear(run(c, "trace_upd", &p));
            for (int d = 0; d < ndims; d++) {
                params q = {0};
                p_text(&q, trow_s);
                p_i64(&q, dims[d].dim);
                p_text(&q, dims[d].val);
                p_i64(&q, dims[d].n);
                p_i64(&q, t_start);
                PQclear(run(c, "dim", &q));
            }
            ndims = 0;
            span_n = llm_n = p_tok = c_tok = err_n = 0;
            cost = 0;
            err_span[0] = '\0';
        }
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
    sg_set_free(&set);
    return 0;
}

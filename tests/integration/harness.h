/* harness.h: integration-test harness. Starts the real tracestore binary
 * (env TS_BINARY) on a free port with a temporary database, creates API keys
 * through its CLI, talks HTTP to it with libcurl and checks JSON answers with
 * cJSON. Assertions go through Check and report the caller's file:line.
 * Single-threaded; every function may fail the running Check test. */
#ifndef TS_IT_HARNESS_H
#define TS_IT_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <cJSON.h>
#include <check.h>

#define TS_IT_KEY_CAP 128
#define TS_IT_PATH_CAP 512
#define TS_IT_DIR_CAP 256

/* One daemon instance and its temporary directory. */
typedef struct ts_daemon {
    char dir[TS_IT_DIR_CAP];  /* mkdtemp directory, removed by ts_d_free */
    char db[TS_IT_PATH_CAP];  /* dir/tracestore.db */
    char log[TS_IT_PATH_CAP]; /* stdout+stderr of the current serve process */
    char listen[64];          /* 127.0.0.1:PORT */
    int port;
    pid_t pid;                      /* 0 when not running */
    int starts;                     /* number of serve processes started so far */
    const char *env[8];             /* extra "KEY=VALUE" for serve, NULL-terminated */
    int omit_flags;                 /* 1: serve gets no --db/--listen (env/config say) */
    int fixed_port;                 /* nonzero: the port serve will listen on */
    char key_alpha[TS_IT_KEY_CAP];  /* workspace "alpha" */
    char key_alpha2[TS_IT_KEY_CAP]; /* second "alpha" key, for revoke tests */
    char key_beta[TS_IT_KEY_CAP];   /* workspace "beta" */
    /* PostgreSQL runs (TS_TEST_STORE=postgres), all empty on SQLite: */
    char pg_base[TS_IT_PATH_CAP]; /* the cluster's conninfo base (no dbname) */
    char pg_url[TS_IT_PATH_CAP];  /* pg_base + " dbname=" + pg_db */
    char pg_db[64];               /* the database created for this daemon */
    int pg_owner;                 /* 1: ts_d_free drops pg_db (0: a shared daemon) */
} ts_daemon;

/* Path of the binary under test (TS_BINARY), failing the test if unset. */
const char *ts_binary(void);

/* Creates the temp dir and db path; keys = 1 also creates the three keys
 * (alpha, alpha2, beta) with `key create` before any serve. env: extra
 * "KEY=VALUE" strings for serve (borrowed, NULL-terminated, may be NULL).
 * With TS_TEST_STORE=postgres it also creates a fresh database in the
 * cluster of TS_PG_URL / TS_PG_URL_FILE (exit 77 when PostgreSQL is not
 * installed), and every serve and every ts_cli run naming "--db d->db"
 * gets TRACESTORE_STORE=postgres and TRACESTORE_POSTGRES_URL=d->pg_url
 * (before env, which may override them). An env that names
 * TRACESTORE_STORE or TRACESTORE_POSTGRES_URL itself gets no database:
 * the test chose its store. */
void ts_d_init(ts_daemon *d, int keys, const char *const *env);
/* ts_d_init on the cluster whose conninfo base is pg_base (NULL: SQLite,
 * whatever TS_TEST_STORE says): for a test that runs its own cluster. */
void ts_d_init_on(ts_daemon *d, int keys, const char *const *env, const char *pg_base);
/* A second daemon on d1's store: its own temp dir, log and port, the same
 * SQLite file or PostgreSQL database, d1's keys. ts_d_free(d2) leaves the
 * store alone (d1's ts_d_free removes it); free d2 first. */
void ts_d_init_shared(ts_daemon *d2, const ts_daemon *d1, const char *const *env);
/* Picks a free port, starts `serve`, waits for GET /healthz == 200 (15 s,
 * prints the log on failure) and makes d the target of ts_http(). */
void ts_d_start(ts_daemon *d);
/* A port that was free a moment ago on 127.0.0.1. */
int ts_free_port(void);
/* SIGTERM + waitpid; returns the wait status (or -1 when not running). */
int ts_d_stop_status(ts_daemon *d);
/* Sends sig to the running daemon (no wait). */
void ts_d_signal(ts_daemon *d, int sig);
/* Waits for the daemon to exit (20 s), failing unless it exits 0. */
void ts_d_wait_exit0(ts_daemon *d);
/* SIGTERM + waitpid, failing the test unless the exit status is 0. */
void ts_d_stop(ts_daemon *d);
/* Stops (without asserting) if running and removes the temp dir. */
void ts_d_free(ts_daemon *d);
/* Prints the current log to stderr (debug aid). */
void ts_d_dump_log(const ts_daemon *d);
/* Reads the current serve log into a malloc'd NUL-terminated string. */
char *ts_d_read_log(const ts_daemon *d);

/* The daemon ts_http() talks to. */
extern ts_daemon *ts_cur;

/* Runs the binary with argv (NULL-terminated, argv[0] not included) and
 * extra env (may be NULL). Stdout and stderr are captured into malloc'd
 * strings (out or err may be NULL to discard). Returns the exit code, or
 * -1 when killed by a signal or after a 30 s timeout. */
int ts_cli(const char *const *args, const char *const *env, char **out, char **err);
/* `key create --workspace ws --db db`, checks exit 0 and key shape, writes
 * the key into key (TS_IT_KEY_CAP). */
void ts_cli_key_create(const char *db, const char *ws, char key[TS_IT_KEY_CAP]);
/* True when s is "ts_" followed by 48 lowercase hex digits. */
int ts_is_key(const char *s);
/* Runs suite s as a test program's main: without forking (the daemon is a
 * child of this process) and with CK_RUN_* from the environment. Returns
 * EXIT_SUCCESS; after a failure it exits at once with EXIT_FAILURE (a
 * failed check longjmps past its frees, and LeakSanitizer's report of
 * those would bury the failure messages). */
int ts_it_run(Suite *s);

/* ---- HTTP ---- */

typedef struct ts_resp {
    long status; /* 0 when no response */
    int curl_rc; /* CURLcode */
    char *body;  /* NUL-terminated, never NULL */
    size_t len;
    char *headers;  /* raw header block, NUL-terminated */
    cJSON *json;    /* parsed lazily by ts_json() */
    char what[256]; /* "METHOD path", for messages */
} ts_resp;

/* Sends a request to ts_cur. headers: NULL-terminated "Name: value" list or
 * NULL. body: NULL for no body. Without a Content-Type header a body is
 * sent as application/json. The path is sent as is (no "//" squashing).
 * Returns a response the caller frees with ts_resp_free. */
ts_resp *ts_http(const char *method, const char *path, const char *const *headers, const char *body,
                 size_t len);
/* POSTs n bodies to path concurrently (up to `parallel` at a time) with
 * X-API-KEY: key. After `trigger_after` transfers have completed, calls
 * trigger(arg) once (NULL: never). status[i] receives each answer's status
 * (0 when the transfer failed, e.g. connection refused); retry_after (may
 * be NULL) receives each Retry-After header as an integer, -1 when absent. */
void ts_http_parallel(const char *path, const char *key, char *const *bodies, size_t n,
                      int parallel, long *status, int *retry_after, size_t trigger_after,
                      void (*trigger)(void *), void *arg);
/* Shorthand: X-API-KEY: key (NULL key: no header), JSON body (NULL: none). */
ts_resp *ts_req(const char *method, const char *path, const char *key, const char *body);
void ts_resp_free(ts_resp *r);
/* Value of response header name (case-insensitive) into out, or 0. */
int ts_resp_header(const ts_resp *r, const char *name, char *out, size_t cap);
/* Parses the body (cached in r->json); fails the test when not JSON. */
cJSON *ts_json_at(const char *file, int line, ts_resp *r);
#define ts_json(r) ts_json_at(__FILE__, __LINE__, (r))

void ts_expect_status_at(const char *file, int line, const ts_resp *r, long status);
#define TS_STATUS(r, s) ts_expect_status_at(__FILE__, __LINE__, (r), (s))

/* ---- JSON checks. path: "a.b.0.c" (numbers index arrays). ---- */

const cJSON *ts_jpath(const cJSON *root, const char *path);
void ts_j_str_at(const char *f, int l, const cJSON *o, const char *path, const char *want);
void ts_j_contains_at(const char *f, int l, const cJSON *o, const char *path, const char *needle);
void ts_j_int_at(const char *f, int l, const cJSON *o, const char *path, int64_t want);
void ts_j_num_at(const char *f, int l, const cJSON *o, const char *path, double want, double eps);
void ts_j_bool_at(const char *f, int l, const cJSON *o, const char *path, int want);
void ts_j_null_at(const char *f, int l, const cJSON *o, const char *path);
void ts_j_absent_at(const char *f, int l, const cJSON *o, const char *path);
void ts_j_null_or_absent_at(const char *f, int l, const cJSON *o, const char *path);
void ts_j_len_at(const char *f, int l, const cJSON *o, const char *path, int want);
void ts_j_type_at(const char *f, int l, const cJSON *o, const char *path, const char *type);
void ts_j_time_at(const char *f, int l, const cJSON *o, const char *path);
void ts_j_uuid_at(const char *f, int l, const cJSON *o, const char *path);
/* Fails unless o at path is an integer-valued number; returns it. */
int64_t ts_j_getint_at(const char *f, int l, const cJSON *o, const char *path);
const char *ts_j_getstr_at(const char *f, int l, const cJSON *o, const char *path);

#define TS_J_STR(o, p, w) ts_j_str_at(__FILE__, __LINE__, (o), (p), (w))
#define TS_J_CONTAINS(o, p, w) ts_j_contains_at(__FILE__, __LINE__, (o), (p), (w))
#define TS_J_INT(o, p, w) ts_j_int_at(__FILE__, __LINE__, (o), (p), (w))
#define TS_J_NUM(o, p, w) ts_j_num_at(__FILE__, __LINE__, (o), (p), (w), 1e-9)
#define TS_J_BOOL(o, p, w) ts_j_bool_at(__FILE__, __LINE__, (o), (p), (w))
#define TS_J_NULL(o, p) ts_j_null_at(__FILE__, __LINE__, (o), (p))
#define TS_J_ABSENT(o, p) ts_j_absent_at(__FILE__, __LINE__, (o), (p))
#define TS_J_NULL_OR_ABSENT(o, p) ts_j_null_or_absent_at(__FILE__, __LINE__, (o), (p))
#define TS_J_LEN(o, p, n) ts_j_len_at(__FILE__, __LINE__, (o), (p), (n))
#define TS_J_TYPE(o, p, t) ts_j_type_at(__FILE__, __LINE__, (o), (p), (t))
#define TS_J_TIME(o, p) ts_j_time_at(__FILE__, __LINE__, (o), (p))
#define TS_J_UUID(o, p) ts_j_uuid_at(__FILE__, __LINE__, (o), (p))
#define TS_J_GETINT(o, p) ts_j_getint_at(__FILE__, __LINE__, (o), (p))
#define TS_J_GETSTR(o, p) ts_j_getstr_at(__FILE__, __LINE__, (o), (p))

/* Fails with a formatted message at file:line. */
void ts_fail_at(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- /spans-bulk builder ---- */

typedef struct ts_span_spec {
    const char *trace_id;
    const char *span_id;
    const char *parent_id;   /* NULL: key absent (see parent_null) */
    int parent_null;         /* 1: "parent_id": null */
    const char *name;        /* NULL: key absent */
    const char *kind;        /* NULL: "SpanKind.INTERNAL" */
    const char *status_code; /* NULL: "StatusCode.OK" */
    const char *description; /* NULL: key absent */
    int64_t start_ns, end_ns;
    int times_as_strings; /* 1: decimal strings instead of integers */
    int events_null;      /* 1: "events": null, "links": null */
    /* log_request, emitted when model != NULL */
    const char *model;
    const char *provider;    /* NULL: "openai" */
    const char *input_text;  /* user message text, NULL: "hello" */
    const char *output_text; /* assistant message text, NULL: "hi" */
    int64_t input_tokens, output_tokens;
    double price;
} ts_span_spec;

/* Builds one span object (caller owns). Times are emitted exactly (raw). */
cJSON *ts_span_json(const ts_span_spec *s);
/* {"spans":[...specs], "close_after":close_after}; malloc'd text. */
char *ts_spans_body(const ts_span_spec *specs, size_t n, int close_after);
/* Wraps an already built array: takes spans. */
char *ts_spans_body_from(cJSON *spans, int close_after);

/* RFC 3339 rendering of ns since the epoch as docs/API.md specifies
 * (fraction of 3, 6 or 9 digits when not zero). out: >= 40 bytes. */
void ts_iso_from_ns(int64_t ns, char *out, size_t cap);

/* Fresh unique id material: 32 lowercase hex digits / 16 hex digits. */
void ts_new_trace_id(char out[33]);
void ts_new_span_id(char out[17]);
/* Formats 32 hex as UUID (8-4-4-4-12), lowercase. out: 37 bytes. */
void ts_hex_to_uuid(const char *hex, char out[37]);

/* One integer that the sqlite3 shell reads from d's database, or on
 * PostgreSQL the first column of the first row of sql on d's database (the
 * SQL must then be valid in both; NULL reads as 0). The test fails when it
 * cannot. */
long long ts_d_sql_int(const ts_daemon *d, const char *sql);

/* ---- PostgreSQL (harness_pg.c) ---- */

/* 1 when TS_TEST_STORE=postgres: the suite runs against PostgreSQL. A test
 * of something SQLite-only skips with TS_SKIP_ON_PG("why"). */
int ts_backend_is_pg(void);
#define TS_SKIP_ON_PG(why)                                                                         \
    do {                                                                                           \
        if (ts_backend_is_pg()) {                                                                  \
            fprintf(stderr, "%s: skipped on postgres: %s\n", __func__, (why));                     \
            return;                                                                                \
        }                                                                                          \
    } while (0)
/* The conninfo of d's database ("host=... port=... user=... dbname=..."),
 * NULL on SQLite. */
const char *ts_d_pg_url(const ts_daemon *d);
/* The conninfo base of the suites' shared cluster (TS_PG_URL, else the
 * first line of the file TS_PG_URL_FILE), NULL when neither names one. */
const char *ts_pg_base(void);
/* 1 when Debian's PostgreSQL server binaries (initdb) are installed. */
int ts_pg_bins_present(void);
/* On a PostgreSQL run: returns when ts_pg_base() names a cluster, exits 77
 * (skip) when the server binaries are absent, fails the test otherwise. */
void ts_pg_require(void);
/* Runs sql on conninfo through libpq. The first value of the first row (or
 * the error message) into out (may be NULL). Returns 0 on success with a
 * row or a command, 1 on success without a row, -1 on an error. */
int ts_pg_exec(const char *conninfo, const char *sql, char *out, size_t cap);
/* Runs tests/pg/cluster.sh sub dir (start, stop, url, stop-server,
 * start-server) for a test's own cluster; its output (stderr too) in out,
 * cut at the first line end on success (start and url: the conninfo
 * base). Returns the shell's status (77 << 8: PostgreSQL not installed). */
int ts_pg_cluster(const char *sub, const char *dir, char *out, size_t cap);
/* Internal to the harness: the database of a daemon, and the
 * TRACESTORE_POSTGRES_URL=... of the daemon whose db path is db (NULL:
 * none, an SQLite run). */
void ts_pg_db_create(ts_daemon *d, const char *base);
void ts_pg_db_share(ts_daemon *d2, const ts_daemon *d1);
void ts_pg_db_drop(ts_daemon *d);
const char *ts_pg_reg_env(const char *db);
long long ts_pg_sql_int(const ts_daemon *d, const char *sql);

/* Runs cmd through the shell; its output (at most cap - 1 bytes,
 * NUL-terminated) in out. Returns pclose's status, -1 when it cannot start. */
int ts_run_cmd(const char *cmd, char *out, size_t cap);

/* Copies tests/<sub>'s package.json, package-lock.json and script into
 * <cwd>/node-<sub> and installs the pinned packages there with npm ci,
 * unless node_modules/<probe> is there already. The folder in dir. Fails
 * the test, with npm's output, when npm cannot install. */
void ts_node_setup(const char *sub, const char *script, const char *probe, char *dir, size_t cap);

#endif

/* harness.c: process control (temp dir, CLI runs, serve start/stop) and the
 * libcurl HTTP client for the integration tests. See harness.h for the
 * contract; JSON checks and the span builder live in harness_json.c. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE
#endif

#include "harness.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

ts_daemon *ts_cur = NULL;

static void check_log_clean(ts_daemon *d);

#define BODY_CAP ((size_t)64 * 1024 * 1024)
#define HEALTH_TIMEOUT_MS 15000
#define STOP_TIMEOUT_MS 20000
#define CLI_TIMEOUT_MS 30000

void ts_fail_at(const char *file, int line, const char *fmt, ...)
{
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    _ck_assert_failed(file, line, "integration check", "%s", msg);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *ts_binary(void)
{
    const char *b = getenv("TS_BINARY");
    if (b == NULL || b[0] == '\0')
        ts_fail_at(__FILE__, __LINE__, "TS_BINARY is not set (run through ctest)");
    if (access(b, X_OK) != 0)
        ts_fail_at(__FILE__, __LINE__, "TS_BINARY %s is not executable: %s", b, strerror(errno));
    return b;
}

/* Reads a whole file into a malloc'd NUL-terminated string ("" on error). */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0;
    if (f != NULL) {
        char chunk[8192];
        size_t n;
        while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
            if (len + n + 1 > cap) {
                cap = (len + n + 1) * 2;
                char *nb = realloc(buf, cap);
                if (nb == NULL)
                    break;
                buf = nb;
            }
            memcpy(buf + len, chunk, n);
            len += n;
        }
        fclose(f);
    }
    if (buf == NULL) {
        buf = malloc(1);
        if (buf == NULL)
            abort();
    }
    buf[len] = '\0';
    return buf;
}

/* Waits for pid up to timeout_ms; returns 1 and the status when it ended. */
static int wait_timeout(pid_t pid, long timeout_ms, int *status)
{
    long deadline = now_ms() + timeout_ms;
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid)
            return 1;
        if (r < 0 && errno != EINTR)
            return 1;
        if (now_ms() > deadline)
            return 0;
        sleep_ms(10);
    }
}

static void apply_env(const char *const *env)
{
    for (size_t i = 0; env != NULL && env[i] != NULL; i++) {
        const char *eq = strchr(env[i], '=');
        char name[256];
        size_t n;
        if (eq == NULL)
            continue;
        n = (size_t)(eq - env[i]);
        if (n >= sizeof name)
            continue;
        memcpy(name, env[i], n);
        name[n] = '\0';
        setenv(name, eq + 1, 1);
    }
}

/* Child side of a fork: redirect, set env, exec binary with args. */
static void exec_child(const char *bin, const char *const *args, const char *const *store_env,
                       const char *const *env, int out_fd, int err_fd)
{
    const char *argv[64];
    size_t n = 0;
    /* A test that fails (or crashes) half-way must not leave its daemon
     * running: the child dies with the test process. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0)
        dup2(devnull, 0);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    apply_env(store_env);
    apply_env(env);
    argv[n++] = bin;
    for (size_t i = 0; args[i] != NULL && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    execv(bin, (char *const *)argv);
    dprintf(2, "exec %s: %s\n", bin, strerror(errno));
    _exit(127);
}

/* The TRACESTORE_STORE/_POSTGRES_URL pair for a run on the daemon whose db
 * path is db (all NULL on SQLite). */
static void store_env_for(const char *db, const char *store_env[3])
{
    const char *url = ts_pg_reg_env(db);
    store_env[0] = url != NULL ? "TRACESTORE_STORE=postgres" : NULL;
    store_env[1] = url;
    store_env[2] = NULL;
}

int ts_cli(const char *const *args, const char *const *env, char **out, char **err)
{
    const char *bin = ts_binary(), *db = NULL, *store_env[3];
    char out_path[] = "/tmp/ts-it-cli-out-XXXXXX";
    char err_path[] = "/tmp/ts-it-cli-err-XXXXXX";
    int ofd = mkstemp(out_path), efd = mkstemp(err_path), status = 0, rc = -1;
    pid_t pid;
    ck_assert_msg(ofd >= 0 && efd >= 0, "mkstemp: %s", strerror(errno));
    for (size_t i = 0; args[i] != NULL; i++)
        if (strcmp(args[i], "--db") == 0 && args[i + 1] != NULL)
            db = args[i + 1];
    store_env_for(db, store_env);
    fflush(NULL);
    pid = fork();
    ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0)
        exec_child(bin, args, store_env, env, ofd, efd);
    close(ofd);
    close(efd);
    if (!wait_timeout(pid, CLI_TIMEOUT_MS, &status)) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        rc = -1;
    } else if (WIFEXITED(status)) {
        rc = WEXITSTATUS(status);
    }
    if (out != NULL)
        *out = slurp(out_path);
    if (err != NULL)
        *err = slurp(err_path);
    unlink(out_path);
    unlink(err_path);
    return rc;
}

int ts_is_key(const char *s)
{
    if (strncmp(s, "ts_", 3) != 0 || strlen(s) != 51)
        return 0;
    for (size_t i = 3; i < 51; i++)
        if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
            return 0;
    return 1;
}

int ts_it_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (failed != 0) {
        fflush(NULL);
        _exit(EXIT_FAILURE);
    }
    return EXIT_SUCCESS;
}

void ts_cli_key_create(const char *db, const char *ws, char key[TS_IT_KEY_CAP])
{
    const char *args[] = {"key", "create", "--workspace", ws, "--db", db, NULL};
    char *out = NULL, *err = NULL;
    int rc = ts_cli(args, NULL, &out, &err);
    size_t n;
    if (rc != 0)
        ts_fail_at(__FILE__, __LINE__, "key create --workspace %s: exit %d\nstdout: %s\nstderr: %s",
                   ws, rc, out, err);
    n = strcspn(out, "\r\n");
    out[n] = '\0';
    if (!ts_is_key(out))
        ts_fail_at(__FILE__, __LINE__, "key create printed %s, not a ts_ key", out);
    snprintf(key, TS_IT_KEY_CAP, "%s", out);
    free(out);
    free(err);
}

static void d_init_dir(ts_daemon *d, const char *const *env)
{
    memset(d, 0, sizeof *d);
    snprintf(d->dir, sizeof d->dir, "/tmp/ts-it-XXXXXX");
    ck_assert_msg(mkdtemp(d->dir) != NULL, "mkdtemp: %s", strerror(errno));
    snprintf(d->db, sizeof d->db, "%s/tracestore.db", d->dir);
    for (size_t i = 0; env != NULL && env[i] != NULL && i < 7; i++)
        d->env[i] = env[i];
}

/* 1 when env names the store itself (a test with a cluster of its own). */
static int env_names_store(const char *const *env)
{
    for (size_t i = 0; env != NULL && env[i] != NULL; i++)
        if (strncmp(env[i], "TRACESTORE_STORE=", 17) == 0 ||
            strncmp(env[i], "TRACESTORE_POSTGRES_URL=", 24) == 0)
            return 1;
    return 0;
}

void ts_d_init(ts_daemon *d, int keys, const char *const *env)
{
    int pg = ts_backend_is_pg() && !env_names_store(env);
    if (pg)
        ts_pg_require();
    ts_d_init_on(d, keys, env, pg ? ts_pg_base() : NULL);
}

void ts_d_init_shared(ts_daemon *d2, const ts_daemon *d1, const char *const *env)
{
    d_init_dir(d2, env);
    snprintf(d2->db, sizeof d2->db, "%s", d1->db);
    if (d1->pg_url[0] != '\0')
        ts_pg_db_share(d2, d1);
    memcpy(d2->key_alpha, d1->key_alpha, sizeof d2->key_alpha);
    memcpy(d2->key_alpha2, d1->key_alpha2, sizeof d2->key_alpha2);
    memcpy(d2->key_beta, d1->key_beta, sizeof d2->key_beta);
}

const char *ts_d_pg_url(const ts_daemon *d)
{
    return d->pg_url[0] != '\0' ? d->pg_url : NULL;
}

void ts_d_init_on(ts_daemon *d, int keys, const char *const *env, const char *pg_base)
{
    d_init_dir(d, env);
    if (pg_base != NULL)
        ts_pg_db_create(d, pg_base);
    if (keys) {
        ts_cli_key_create(d->db, "alpha", d->key_alpha);
        ts_cli_key_create(d->db, "alpha", d->key_alpha2);
        ts_cli_key_create(d->db, "beta", d->key_beta);
    }
}

int ts_free_port(void)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;
    ck_assert_msg(fd >= 0, "socket: %s", strerror(errno));
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    ck_assert_msg(bind(fd, (struct sockaddr *)&a, sizeof a) == 0, "bind: %s", strerror(errno));
    ck_assert_msg(getsockname(fd, (struct sockaddr *)&a, &alen) == 0, "getsockname");
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

char *ts_d_read_log(const ts_daemon *d)
{
    return slurp(d->log);
}

void ts_d_dump_log(const ts_daemon *d)
{
    char *log = ts_d_read_log(d);
    fprintf(stderr, "---- %s ----\n%s\n---- end of log ----\n", d->log, log);
    free(log);
}

/* Log tail for failure messages (static buffer, last 1500 bytes). */
static const char *log_tail(const ts_daemon *d)
{
    static char tail[1600];
    char *log = ts_d_read_log(d);
    size_t n = strlen(log);
    snprintf(tail, sizeof tail, "%s", n > 1500 ? log + n - 1500 : log);
    free(log);
    return tail;
}

static long health_status(int port)
{
    char url[128];
    long code = 0;
    CURL *c = curl_easy_init();
    if (c == NULL)
        return 0;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/healthz", port);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOBODY, 0L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 1000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, NULL);
    {
        FILE *sink = fopen("/dev/null", "w");
        curl_easy_setopt(c, CURLOPT_WRITEDATA, sink);
        if (curl_easy_perform(c) == CURLE_OK)
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        if (sink != NULL)
            fclose(sink);
    }
    curl_easy_cleanup(c);
    return code;
}

/* On a PostgreSQL run, a daemon that answers /healthz has migrated its
 * database: otherwise it is not on PostgreSQL at all (store = postgres not
 * honoured), and the run would test SQLite twice. */
static void check_pg_schema(ts_daemon *d)
{
    char out[256];
    if (d->pg_url[0] == '\0')
        return;
    if (ts_pg_exec(d->pg_url,
                   "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
                   out, sizeof out) != 0 ||
        strtol(out, NULL, 10) <= 0)
        ts_fail_at(__FILE__, __LINE__,
                   "tracestore serve is up on %s but PostgreSQL database %s has no tables (%s): "
                   "the daemon is not on PostgreSQL (TRACESTORE_STORE=postgres ignored?): %s",
                   d->listen, d->pg_db, out, log_tail(d));
}

void ts_d_start(ts_daemon *d)
{
    const char *bin = ts_binary();
    const char *args[] = {"serve", "--db", d->db, "--listen", d->listen, NULL};
    const char *bare[] = {"serve", NULL}, *store_env[3];
    long deadline;
    int fd, status;
    static int curl_ready;
    if (!curl_ready) {
        curl_global_init(CURL_GLOBAL_ALL);
        curl_ready = 1;
    }
    ck_assert_msg(d->pid == 0, "daemon already running");
    d->port = d->fixed_port != 0 ? d->fixed_port : ts_free_port();
    snprintf(d->listen, sizeof d->listen, "127.0.0.1:%d", d->port);
    d->starts++;
    snprintf(d->log, sizeof d->log, "%s/serve-%d.log", d->dir, d->starts);
    fd = open(d->log, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    ck_assert_msg(fd >= 0, "open %s: %s", d->log, strerror(errno));
    store_env_for(d->db, store_env);
    fflush(NULL);
    d->pid = fork();
    ck_assert_msg(d->pid >= 0, "fork: %s", strerror(errno));
    if (d->pid == 0)
        exec_child(bin, d->omit_flags ? bare : args, store_env, d->env, fd, fd);
    close(fd);
    ts_cur = d;
    deadline = now_ms() + HEALTH_TIMEOUT_MS;
    for (;;) {
        if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
            d->pid = 0;
            ts_d_dump_log(d);
            ts_fail_at(__FILE__, __LINE__, "tracestore serve exited early (status 0x%x): %s",
                       (unsigned)status, log_tail(d));
        }
        if (health_status(d->port) == 200) {
            check_pg_schema(d);
            return;
        }
        if (now_ms() > deadline) {
            ts_d_dump_log(d);
            ts_fail_at(__FILE__, __LINE__, "GET /healthz not 200 within 15 s on %s: %s", d->listen,
                       log_tail(d));
        }
        sleep_ms(50);
    }
}

int ts_d_stop_status(ts_daemon *d)
{
    int status = -1;
    if (d->pid == 0)
        return -1;
    kill(d->pid, SIGTERM);
    if (!wait_timeout(d->pid, STOP_TIMEOUT_MS, &status)) {
        kill(d->pid, SIGKILL);
        waitpid(d->pid, &status, 0);
        fprintf(stderr, "tracestore did not exit within 20 s of SIGTERM\n");
        status = -1;
    }
    d->pid = 0;
    return status;
}

void ts_d_signal(ts_daemon *d, int sig)
{
    if (d->pid != 0)
        kill(d->pid, sig);
}

static void check_exit0(ts_daemon *d, int status)
{
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        ts_fail_at(__FILE__, __LINE__,
                   "tracestore did not exit 0 after SIGTERM (wait status 0x%x, %s): %s",
                   (unsigned)status,
                   status == -1          ? "timeout"
                   : WIFSIGNALED(status) ? "signal"
                                         : "exit code",
                   log_tail(d));
}

void ts_d_wait_exit0(ts_daemon *d)
{
    int status = -1;
    ck_assert_msg(d->pid != 0, "daemon not running");
    if (!wait_timeout(d->pid, STOP_TIMEOUT_MS, &status)) {
        kill(d->pid, SIGKILL);
        waitpid(d->pid, &status, 0);
        status = -1;
    }
    d->pid = 0;
    check_log_clean(d);
    check_exit0(d, status);
}

/* Fails when the current log shows a sanitizer report. */
static void check_log_clean(ts_daemon *d)
{
    static const char *const marks[] = {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                                        "runtime error:", NULL};
    char *log = ts_d_read_log(d);
    for (size_t i = 0; marks[i] != NULL; i++) {
        const char *hit = strstr(log, marks[i]);
        if (hit != NULL) {
            char excerpt[1600];
            snprintf(excerpt, sizeof excerpt, "%.1500s", hit);
            free(log);
            ts_fail_at(__FILE__, __LINE__, "sanitizer report in %s: %s", d->log, excerpt);
        }
    }
    free(log);
}

void ts_d_stop(ts_daemon *d)
{
    int status = ts_d_stop_status(d);
    check_log_clean(d);
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        ts_fail_at(__FILE__, __LINE__,
                   "tracestore did not exit 0 after SIGTERM (wait status 0x%x, %s): %s",
                   (unsigned)status,
                   status == -1          ? "timeout"
                   : WIFSIGNALED(status) ? "signal"
                                         : "exit code",
                   log_tail(d));
}

void ts_d_free(ts_daemon *d)
{
    DIR *dir;
    if (d->pid != 0) {
        int st = ts_d_stop_status(d);
        if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            fprintf(stderr, "warning: tracestore wait status 0x%x at teardown\n", (unsigned)st);
    }
    if (ts_cur == d)
        ts_cur = NULL;
    if (d->dir[0] == '\0' || getenv("TS_KEEP_TMP") != NULL)
        return;
    ts_pg_db_drop(d);
    dir = opendir(d->dir);
    if (dir != NULL) {
        struct dirent *e;
        while ((e = readdir(dir)) != NULL) {
            char p[TS_IT_PATH_CAP + 256];
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(p, sizeof p, "%s/%s", d->dir, e->d_name);
            unlink(p);
        }
        closedir(dir);
    }
    rmdir(d->dir);
    d->dir[0] = '\0';
}

/* ---- HTTP ---- */

typedef struct buf {
    char *p;
    size_t len;
} buf;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
    buf *b = ud;
    size_t n = size * nmemb;
    char *np;
    if (b->len + n + 1 > BODY_CAP)
        return 0;
    np = realloc(b->p, b->len + n + 1);
    if (np == NULL)
        return 0;
    b->p = np;
    memcpy(b->p + b->len, ptr, n);
    b->len += n;
    b->p[b->len] = '\0';
    return n;
}

static int has_header(const char *const *headers, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
        if (strncasecmp(headers[i], name, n) == 0 && headers[i][n] == ':')
            return 1;
    return 0;
}

static char *dup_or_empty(char *p)
{
    if (p != NULL)
        return p;
    p = malloc(1);
    if (p == NULL)
        abort();
    p[0] = '\0';
    return p;
}

typedef struct upload {
    const char *p;
    size_t left;
} upload;

/* Feeds a chunked upload in pieces of at most 4 KiB. */
static size_t on_read(char *dst, size_t size, size_t nitems, void *ud)
{
    upload *u = ud;
    size_t n = size * nitems;
    if (n > 4096)
        n = 4096;
    if (n > u->left)
        n = u->left;
    memcpy(dst, u->p, n);
    u->p += n;
    u->left -= n;
    return n;
}

static int has_header_value(const char *const *headers, const char *line)
{
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
        if (strcasecmp(headers[i], line) == 0)
            return 1;
    return 0;
}

ts_resp *ts_http(const char *method, const char *path, const char *const *headers, const char *body,
                 size_t len)
{
    upload up = {body, len};
    ts_resp *r = calloc(1, sizeof *r);
    CURL *c = curl_easy_init();
    struct curl_slist *hl = NULL;
    buf b = {NULL, 0}, h = {NULL, 0};
    char url[4096];
    ck_assert_msg(r != NULL && c != NULL, "out of memory");
    ck_assert_msg(ts_cur != NULL, "no daemon running");
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", ts_cur->port, path);
    snprintf(r->what, sizeof r->what, "%s %.200s", method, path);
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
        hl = curl_slist_append(hl, headers[i]);
    if (!has_header(headers, "Content-Type"))
        hl = curl_slist_append(hl,
                               body != NULL ? "Content-Type: application/json" : "Content-Type:");
    hl = curl_slist_append(hl, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body != NULL && has_header_value(headers, "Transfer-Encoding: chunked")) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(c, CURLOPT_READDATA, &up);
    } else if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    } else if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    }
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
    r->curl_rc = (int)curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    r->body = dup_or_empty(b.p);
    r->len = b.len;
    r->headers = dup_or_empty(h.p);
    return r;
}

/* One transfer of ts_http_parallel. */
typedef struct par_xfer {
    CURL *c;
    struct curl_slist *hl;
    buf body;
    buf head;
    size_t index;
} par_xfer;

static void par_add(CURLM *m, par_xfer *x, const char *url, const char *key, const char *body,
                    size_t index)
{
    char kh[TS_IT_KEY_CAP + 16];
    snprintf(kh, sizeof kh, "X-API-KEY: %s", key);
    x->c = curl_easy_init();
    ck_assert_msg(x->c != NULL, "out of memory");
    x->hl = curl_slist_append(NULL, kh);
    x->hl = curl_slist_append(x->hl, "Content-Type: application/json");
    x->hl = curl_slist_append(x->hl, "Expect:");
    x->body.p = NULL;
    x->body.len = 0;
    x->head.p = NULL;
    x->head.len = 0;
    x->index = index;
    curl_easy_setopt(x->c, CURLOPT_URL, url);
    curl_easy_setopt(x->c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(x->c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(x->c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    curl_easy_setopt(x->c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(x->c, CURLOPT_HTTPHEADER, x->hl);
    curl_easy_setopt(x->c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(x->c, CURLOPT_WRITEDATA, &x->body);
    curl_easy_setopt(x->c, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(x->c, CURLOPT_HEADERDATA, &x->head);
    curl_easy_setopt(x->c, CURLOPT_PRIVATE, x);
    curl_multi_add_handle(m, x->c);
}

void ts_http_parallel(const char *path, const char *key, char *const *bodies, size_t n,
                      int parallel, long *status, int *retry_after, size_t trigger_after,
                      void (*trigger)(void *), void *arg)
{
    CURLM *m = curl_multi_init();
    par_xfer *xs = calloc(n > 0 ? n : 1, sizeof *xs);
    char url[1024];
    size_t next = 0, done = 0;
    int running = 0, fired = trigger == NULL;
    ck_assert_msg(m != NULL && xs != NULL && ts_cur != NULL, "parallel setup");
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", ts_cur->port, path);
    while (done < n) {
        CURLMsg *msg;
        int left;
        while (next < n && (long)(next - done) < (long)parallel) {
            par_add(m, &xs[next], url, key, bodies[next], next);
            next++;
        }
        curl_multi_perform(m, &running);
        while ((msg = curl_multi_info_read(m, &left)) != NULL) {
            par_xfer *x = NULL;
            long code = 0;
            if (msg->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            if (msg->data.result == CURLE_OK)
                curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
            status[x->index] = code;
            if (retry_after != NULL) {
                ts_resp tmp;
                char v[32];
                memset(&tmp, 0, sizeof tmp);
                tmp.headers = x->head.p;
                retry_after[x->index] =
                    x->head.p != NULL && ts_resp_header(&tmp, "Retry-After", v, sizeof v)
                        ? (int)strtol(v, NULL, 10)
                        : -1;
            }
            free(x->head.p);
            curl_multi_remove_handle(m, x->c);
            curl_easy_cleanup(x->c);
            curl_slist_free_all(x->hl);
            free(x->body.p);
            x->c = NULL;
            done++;
        }
        if (!fired && done >= trigger_after) {
            fired = 1;
            trigger(arg);
        }
        curl_multi_poll(m, NULL, 0, 50, NULL);
    }
    curl_multi_cleanup(m);
    free(xs);
}

ts_resp *ts_req(const char *method, const char *path, const char *key, const char *body)
{
    char kh[TS_IT_KEY_CAP + 16];
    const char *hs[2] = {NULL, NULL};
    if (key != NULL) {
        snprintf(kh, sizeof kh, "X-API-KEY: %s", key);
        hs[0] = kh;
    }
    return ts_http(method, path, hs, body, body != NULL ? strlen(body) : 0);
}

void ts_resp_free(ts_resp *r)
{
    if (r == NULL)
        return;
    cJSON_Delete(r->json);
    free(r->body);
    free(r->headers);
    free(r);
}

int ts_resp_header(const ts_resp *r, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    const char *p = r->headers;
    while (p != NULL && *p != '\0') {
        const char *eol = strchr(p, '\n');
        size_t linelen = eol != NULL ? (size_t)(eol - p) : strlen(p);
        if (linelen > n && strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            size_t vlen = linelen - n - 1;
            while (vlen > 0 && (*v == ' ' || *v == '\t')) {
                v++;
                vlen--;
            }
            while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == ' '))
                vlen--;
            snprintf(out, cap, "%.*s", (int)vlen, v);
            return 1;
        }
        p = eol != NULL ? eol + 1 : NULL;
    }
    return 0;
}

cJSON *ts_json_at(const char *file, int line, ts_resp *r)
{
    if (r->json == NULL)
        r->json = cJSON_ParseWithLength(r->body, r->len);
    if (r->json == NULL)
        ts_fail_at(file, line, "%s: status %ld, body is not JSON: %.1500s", r->what, r->status,
                   r->body);
    return r->json;
}

void ts_expect_status_at(const char *file, int line, const ts_resp *r, long status)
{
    if (r->status != status)
        ts_fail_at(file, line, "%s: want status %ld, got %ld (curl rc %d), body: %.1500s", r->what,
                   status, r->status, r->curl_rc, r->body);
}

long long ts_d_sql_int(const ts_daemon *d, const char *sql)
{
    char cmd[2048], line[64] = "";
    if (d->pg_url[0] != '\0')
        return ts_pg_sql_int(d, sql);
    snprintf(cmd, sizeof cmd, "sqlite3 -cmd '.timeout 5000' '%s' \"%s\"", d->db, sql);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    if (!fgets(line, sizeof line, p))
        line[0] = '\0';
    int rc = pclose(p);
    ck_assert_msg(rc == 0 && line[0], "sqlite3 failed (%d): %s", rc, sql);
    return strtoll(line, NULL, 10);
}

int ts_run_cmd(const char *cmd, char *out, size_t cap)
{
    FILE *p = popen(cmd, "r");
    size_t n = 0;
    if (!p)
        return -1;
    while (n + 1 < cap) {
        size_t got = fread(out + n, 1, cap - 1 - n, p);
        if (got == 0)
            break;
        n += got;
    }
    out[n] = '\0';
    char sink[4096];
    while (fread(sink, 1, sizeof(sink), p) > 0) {
    }
    return pclose(p);
}

void ts_node_setup(const char *sub, const char *script, const char *probe, char *dir, size_t cap)
{
    const char *src = getenv("TS_SOURCE_DIR");
    char cwd[1024], cmd[4096], out[16384];
    struct stat st;
    ck_assert_msg(src != NULL, "TS_SOURCE_DIR is not set");
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
    snprintf(dir, cap, "%s/node-%s", cwd, sub);
    snprintf(cmd, sizeof(cmd),
             "mkdir -p '%s' && cp '%s/tests/%s/package.json' '%s/tests/%s/package-lock.json' "
             "'%s/tests/%s/%s' '%s/' 2>&1",
             dir, src, sub, src, sub, src, sub, script, dir);
    ck_assert_msg(ts_run_cmd(cmd, out, sizeof(out)) == 0, "copying tests/%s failed: %s", sub, out);
    snprintf(cmd, sizeof(cmd), "%s/node_modules/%s", dir, probe);
    if (stat(cmd, &st) == 0)
        return;
    snprintf(cmd, sizeof(cmd), "cd '%s' && npm ci --no-audit --no-fund 2>&1", dir);
    int rc = ts_run_cmd(cmd, out, sizeof(out));
    ck_assert_msg(rc == 0,
                  "npm ci in tests/%s failed (exit %d): it needs the npm registry.\n%.4000s", sub,
                  rc, out);
}

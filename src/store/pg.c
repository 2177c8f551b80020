/* pg.c: the PostgreSQL backend's connections (each with the same session
 * settings), its start-up (migrations under an advisory lock, the id
 * secret), the read pool, the key and workspace reads, stats, and the ops
 * table. Writes go through pg_writer.c; trace reads through pg_query.c. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "store/migrations.h"
#include "store/pg_int.h"
#include "tracestore/log.h"
#include "tracestore/timeutil.h"

/* The session-level advisory lock that serialises start-ups on one
 * database: ASCII "tstore" (a bigint key never collides with the
 * two-int4 keys of the per-trace locks, see ts_pg_lock_traces). */
#define TS_PG_MIGRATE_LOCK "127978740198770"

/* Statement ids 0-19 belong to this file and pg_writer.c (pg.md). */
enum {
    S_KEY_CANDIDATES = 0,
    S_KEY_LIST = 1,
    S_WS_COUNT = 2,
    S_WS_LIST = 3,
};

static void notice_drop(void *arg, const char *msg)
{
    (void)arg;
    TS_LOG(TS_LOG_DEBUG, "msg=\"postgres notice\" text=\"%.*s\"", (int)strcspn(msg, "\n"), msg);
}

/* The statement timeout: below request_timeout_s, so a statement stuck
 * on a lock or a busy server ends (and its request answers 503) before
 * the client's deadline. */
static int64_t statement_timeout_ms(const ts_config *cfg)
{
    int64_t ms = cfg->request_timeout_s * 1000 * 3 / 4;
    return ms < 500 ? 500 : ms;
}

/* How long one statement may wait for a server that answers nothing
 * (frozen, or its host gone without a reset): past the statement timeout,
 * so a live server always ends a slow statement itself first, and short
 * of request_timeout_s, so the request still gets its 503 in time. */
static int64_t client_timeout_ms(const ts_config *cfg)
{
    int64_t ms = cfg->request_timeout_s * 1000 - 250, least = statement_timeout_ms(cfg) + 100;
    return ms > least ? ms : least;
}

ts_pg_conn *ts_pg_connect(const ts_pg *s, ts_err *err)
{
    char masked[TS_PATH_MAX], tmo[24], tcp[24], set[160];
    ts_pg_conn *c = calloc(1, sizeof(*c));
    PGresult *r = NULL;

    if (!c) {
        ts_err_set(err, TS_ENOMEM, "out of memory");
        return NULL;
    }
    /* Defaults first: the URL's own settings override them (libpq's
     * expand_dbname order); a dead server or host never holds the
     * caller longer than connect_timeout / tcp_user_timeout. */
    int64_t ct = s->cfg.request_timeout_s / 2; /* libpq's least is 2 s */
    snprintf(tmo, sizeof tmo, "%lld", (long long)(ct < 2 ? 2 : ct > 5 ? 5 : ct));
    snprintf(tcp, sizeof tcp, "%lld", (long long)statement_timeout_ms(&s->cfg));
    const char *const keys[] = {"connect_timeout", "tcp_user_timeout", "application_name", "dbname",
                                NULL};
    const char *const vals[] = {tmo, tcp, "tracestore", s->cfg.postgres_url, NULL};
    c->pc = PQconnectdbParams(keys, vals, 1);
    if (!c->pc || PQstatus(c->pc) != CONNECTION_OK) {
        const char *m = c->pc ? PQerrorMessage(c->pc) : "out of memory";
        ts_config_mask_url(s->cfg.postgres_url, masked, sizeof masked);
        ts_err_set(err, TS_EBUSY, "cannot connect to PostgreSQL at '%s': %.*s", masked,
                   (int)strcspn(m, "\n"), m);
        goto fail;
    }
    PQsetNoticeProcessor(c->pc, notice_drop, NULL);
    /* sends never block either: a frozen server cannot hold a writer */
    PQsetnonblocking(c->pc, 1);
    c->timeout_ms = client_timeout_ms(&s->cfg);
    /* synchronous_commit on: a 2xx is sent only after COMMIT returned,
     * and COMMIT returns only once the WAL is flushed. */
    snprintf(set, sizeof set,
             "SET synchronous_commit = on; SET TIME ZONE 'UTC'; SET statement_timeout = %lld",
             (long long)statement_timeout_ms(&s->cfg));
    r = ts_pg_simple(c, set);
    if (ts_pg_check(c, r, err) != TS_OK)
        goto fail;
    PQclear(r);
    return c;
fail:
    PQclear(r);
    ts_pg_conn_free(c);
    return NULL;
}

void ts_pg_conn_free(ts_pg_conn *c)
{
    if (!c)
        return;
    PQfinish(c->pc);
    free(c);
}

int ts_pg_conn_alive(ts_pg_conn *c)
{
    /* A server that shuts down sends an idle connection its FATAL message,
     * which libpq hands to the notice processor leaving the connection
     * "OK", and then closes it: a second read sees the close. Each read
     * returns at once when nothing is pending (no round trip). */
    for (int i = 0; i < 2; i++)
        if (ts_pg_conn_bad(c) || !PQconsumeInput(c->pc) || PQstatus(c->pc) != CONNECTION_OK)
            return 0;
    return 1;
}

/* A pooled connection is reusable while the server still holds it: a
 * server that restarted has closed it. */
static int conn_reusable(ts_pg_conn *c)
{
    return ts_pg_conn_alive(c) && PQtransactionStatus(c->pc) == PQTRANS_IDLE;
}

/* After a read found the server unanswering (or unreachable), the reads
 * of the next second fail at once instead of each waiting as long. */
#define READ_STALL_NS 1000000000LL

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

ts_pg_conn *ts_pg_reader_get(ts_pg *s, ts_err *err)
{
    ts_pg_conn *c = NULL;
    /* While the writer finds PostgreSQL away (and reconnects with a
     * back-off), reads fail at once instead of each paying a connect. */
    if ((!atomic_load(&s->up) && s->writer_started) || mono_ns() < atomic_load(&s->rstall_ns)) {
        ts_err_set(err, TS_EBUSY, "PostgreSQL is unavailable, retry later");
        return NULL;
    }
    pthread_mutex_lock(&s->rmu);
    for (;;) {
        if (s->nrfree) {
            c = s->rfree[--s->nrfree];
            pthread_mutex_unlock(&s->rmu);
            if (conn_reusable(c))
                return c;
            ts_pg_conn_free(c); /* PostgreSQL restarted or dropped it */
            pthread_mutex_lock(&s->rmu);
            s->nropen--;
            continue;
        }
        if (s->nropen < s->read_max)
            break;
        pthread_cond_wait(&s->rcv, &s->rmu);
    }
    s->nropen++;
    pthread_mutex_unlock(&s->rmu);
    if ((c = ts_pg_connect(s, err)))
        return c;
    atomic_store(&s->rstall_ns, mono_ns() + READ_STALL_NS);
    pthread_mutex_lock(&s->rmu);
    s->nropen--;
    pthread_cond_signal(&s->rcv);
    pthread_mutex_unlock(&s->rmu);
    return NULL;
}

void ts_pg_reader_put(ts_pg *s, ts_pg_conn *c)
{
    if (!c)
        return;
    int keep = !ts_pg_conn_bad(c) && PQtransactionStatus(c->pc) == PQTRANS_IDLE;
    if (c->timed_out)
        atomic_store(&s->rstall_ns, mono_ns() + READ_STALL_NS);
    if (!keep)
        ts_pg_conn_free(c);
    pthread_mutex_lock(&s->rmu);
    if (keep)
        s->rfree[s->nrfree++] = c;
    else
        s->nropen--;
    pthread_cond_signal(&s->rcv);
    pthread_mutex_unlock(&s->rmu);
}

/* A simple-protocol command (several statements allowed), result dropped. */
static int exec_simple(ts_pg_conn *c, const char *sql, ts_err *err)
{
    PGresult *r = ts_pg_simple(c, sql);
    int rc = ts_pg_check(c, r, err);
    PQclear(r);
    return rc;
}

/* Applies one migration and records it, in one transaction. */
static int migrate_one(ts_pg_conn *c, const ts_migration *m, ts_err *err)
{
    ts_pgp p;
    int rc;

    TS_LOG(TS_LOG_INFO, "msg=\"applying migration\" backend=postgres version=%d name=%s",
           m->version, m->name);
    if ((rc = exec_simple(c, "BEGIN", err)) != TS_OK)
        return rc;
    ts_pgp_reset(&p);
    ts_pgp_i64(&p, m->version);
    ts_pgp_text(&p, m->name);
    ts_pgp_i64(&p, ts_now_ns());
    if ((rc = exec_simple(c, m->sql, err)) != TS_OK ||
        (rc = ts_pg_do(c, -1,
                       "INSERT INTO schema_migrations (version, name, applied_ns) "
                       "VALUES ($1, $2, $3)",
                       &p, err)) != TS_OK) {
        ts_err rb;
        exec_simple(c, "ROLLBACK", &rb);
        TS_LOG(TS_LOG_ERROR, "msg=\"migration failed\" backend=postgres version=%d err=\"%s\"",
               m->version, err ? err->msg : "");
        return rc;
    }
    return exec_simple(c, "COMMIT", err);
}

/* Every embedded migration the database lacks, in order. */
static int migrate_all(ts_pg_conn *c, ts_err *err)
{
    int rc = exec_simple(c,
                         "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY "
                         "KEY, name TEXT NOT NULL, applied_ns BIGINT NOT NULL)",
                         err);
    for (int i = 0; rc == TS_OK && i < ts_pg_migrations_count; i++) {
        const ts_migration *m = &ts_pg_migrations[i];
        ts_pgp p;
        ts_pgp_reset(&p);
        ts_pgp_i64(&p, m->version);
        PGresult *r = ts_pg_run(c, -1, "SELECT 1 FROM schema_migrations WHERE version = $1", &p);
        if ((rc = ts_pg_check(c, r, err)) == TS_OK && PQntuples(r) == 0)
            rc = migrate_one(c, m, err);
        PQclear(r);
    }
    return rc;
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* A bytea column in text form ("\x" and hex digits) into exactly n bytes;
 * 0 when it is not that. */
static int bytea_get(const PGresult *r, int row, int col, unsigned char *out, size_t n)
{
    if (ts_pg_isnull(r, row, col) || (size_t)PQgetlength(r, row, col) != 2 + 2 * n)
        return 0;
    const char *v = PQgetvalue(r, row, col);
    if (v[0] != '\\' || v[1] != 'x')
        return 0;
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(v[2 + 2 * i]), lo = hexval(v[3 + 2 * i]);
        if (hi < 0 || lo < 0)
            return 0;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 1;
}

/* The id-mask secret (SQLite's migration 0007): the first daemon's random
 * bytes win; every daemon then reads the same row. */
static int id_secret_load(ts_pg *s, ts_pg_conn *c, ts_err *err)
{
    unsigned char fresh[sizeof s->base.id_secret];
    ts_pgp p;
    PGresult *r = NULL;
    int rc;

    randombytes_buf(fresh, sizeof fresh);
    ts_pgp_reset(&p);
    ts_pgp_bytea(&p, fresh, sizeof fresh);
    sodium_memzero(fresh, sizeof fresh);
    if ((rc = ts_pg_do(c, -1,
                       "INSERT INTO server_secrets (name, value) VALUES ('id_mask', $1) "
                       "ON CONFLICT (name) DO NOTHING",
                       &p, err)) != TS_OK)
        return rc;
    r = ts_pg_run(c, -1, "SELECT value FROM server_secrets WHERE name = 'id_mask'", NULL);
    if ((rc = ts_pg_check(c, r, err)) == TS_OK &&
        !bytea_get(r, 0, 0, s->base.id_secret, sizeof s->base.id_secret))
        rc = ts_err_set(err, TS_EIO, "server_secrets.id_mask is not 32 bytes");
    PQclear(r);
    return rc;
}

/* Start-up on a connection of its own: the session advisory lock makes
 * daemons that start together on one database migrate one after the
 * other (the second finds every migration applied), and no statement
 * timeout applies while a migration runs or the lock is awaited. */
static int pg_setup(ts_pg *s, ts_err *err)
{
    ts_pg_conn *c = ts_pg_connect(s, err);
    int rc;
    if (!c)
        return err ? err->code : TS_EBUSY;
    c->timeout_ms = 0; /* a migration, or the wait for another daemon's, may be long */
    if ((rc = exec_simple(c, "SET statement_timeout = 0", err)) == TS_OK &&
        (rc = exec_simple(c, "SELECT pg_advisory_lock(" TS_PG_MIGRATE_LOCK ")", err)) == TS_OK) {
        if ((rc = migrate_all(c, err)) == TS_OK)
            rc = id_secret_load(s, c, err);
        ts_err ul;
        exec_simple(c, "SELECT pg_advisory_unlock(" TS_PG_MIGRATE_LOCK ")", &ul);
    }
    ts_pg_conn_free(c);
    return rc;
}

static void pg_close(ts_store *st)
{
    ts_pg *s = (ts_pg *)st;
    if (!s)
        return;
    ts_pg_writer_stop(s);
    ts_pg_conn_free(s->w);
    s->w = NULL;
    for (size_t i = 0; i < s->nrfree; i++)
        ts_pg_conn_free(s->rfree[i]);
    if (s->nropen != s->nrfree)
        TS_LOG(TS_LOG_WARN, "msg=\"read connections still out at close\" n=%zu",
               s->nropen - s->nrfree);
    free(s->rfree);
    pthread_mutex_destroy(&s->rmu);
    pthread_cond_destroy(&s->rcv);
    pthread_mutex_destroy(&s->qmu);
    pthread_cond_destroy(&s->qcv);
    sodium_memzero(s->base.id_secret, sizeof s->base.id_secret);
    free(s);
}

static int pg_open(const ts_config *cfg, ts_store **out, ts_err *err)
{
    ts_pg *s = NULL;
    char masked[TS_PATH_MAX];
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int64_t threads = cfg->http_threads > 0 ? cfg->http_threads : (ncpu > 0 ? ncpu : 2);
    int rc;

    *out = NULL;
    if (!cfg->postgres_url[0])
        return ts_err_set(err, TS_EINVAL,
                          "postgres_url is empty: store = postgres needs a libpq connection "
                          "string or URI (config key postgres_url, or TRACESTORE_POSTGRES_URL)");
    if (!(s = calloc(1, sizeof(*s))))
        return ts_err_set(err, TS_ENOMEM, "out of memory");
    s->base.ops = &ts_pg_ops;
    s->cfg = *cfg;
    pthread_mutex_init(&s->rmu, NULL);
    pthread_cond_init(&s->rcv, NULL);
    pthread_mutex_init(&s->qmu, NULL);
    pthread_condattr_t ca; /* the writer's back-off waits on the monotonic clock */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->qcv, &ca);
    pthread_condattr_destroy(&ca);
    s->queue_max = (uint64_t)cfg->writer_queue_max;
    s->batch_max = (uint64_t)cfg->writer_batch_max;
    s->read_max = (size_t)(cfg->read_connections > 0 ? cfg->read_connections : threads + 2);
    ts_hist_init(&s->commit_hist, &ts_hist_disk);
    ts_hist_init(&s->jobs_hist, &ts_hist_jobs);
    ts_config_mask_url(cfg->postgres_url, masked, sizeof masked);
    TS_LOG(TS_LOG_INFO, "msg=\"opening store\" backend=postgres libpq=%d url=\"%s\"",
           PQlibVersion(), masked);
    if (!(s->rfree = calloc(s->read_max, sizeof(*s->rfree)))) {
        rc = ts_err_set(err, TS_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = pg_setup(s, err)) != TS_OK)
        goto out;
    if (!(s->w = ts_pg_connect(s, err))) {
        rc = err->code ? err->code : TS_EBUSY;
        goto out;
    }
    atomic_store(&s->up, 1);
    rc = ts_pg_writer_start(s, err);
out:
    if (rc != TS_OK) {
        pg_close(&s->base);
        return rc;
    }
    *out = &s->base;
    return TS_OK;
}

static int pg_key_candidates(ts_store *st, const char *prefix, ts_key_row *rows, size_t cap,
                             size_t *n)
{
    ts_pg *s = (ts_pg *)st;
    ts_err err;
    ts_pgp p;
    PGresult *r = NULL;
    ts_pg_conn *c = ts_pg_reader_get(s, &err);
    int rc;

    *n = 0;
    if (!c)
        return TS_EBUSY;
    ts_pgp_reset(&p);
    ts_pgp_text(&p, prefix);
    r = ts_pg_run(c, S_KEY_CANDIDATES,
                  "SELECT k.id, k.revoked_ns, k.hash, w.id, w.uuid, w.name FROM api_keys k "
                  "JOIN workspaces w ON w.id = k.ws_id WHERE k.prefix = $1",
                  &p);
    if ((rc = ts_pg_check(c, r, &err)) == TS_OK) {
        for (int i = 0; i < PQntuples(r) && *n < cap; i++) {
            ts_key_row *k = &rows[(*n)++];
            memset(k, 0, sizeof(*k));
            k->key_id = ts_pg_i64(r, i, 0, 0);
            k->revoked = ts_pg_i64(r, i, 1, 0) != 0;
            if (!bytea_get(r, i, 2, k->hash, sizeof k->hash))
                k->revoked = 1; /* as SQLite: a malformed hash never matches */
            k->ws.id = ts_pg_i64(r, i, 3, 0);
            k->ws.key_id = k->key_id;
            snprintf(k->ws.uuid, sizeof k->ws.uuid, "%s", PQgetvalue(r, i, 4));
            snprintf(k->ws.name, sizeof k->ws.name, "%s", PQgetvalue(r, i, 5));
        }
    }
    PQclear(r);
    ts_pg_reader_put(s, c);
    return rc;
}

/* This process's key creates and revokes change it (pg_writer.c); another
 * daemon's reach this one's key cache when its entries expire
 * (key_cache_ms), PostgreSQL offering no shared word to watch for free. */
static int pg_keys_epoch(ts_store *st, uint64_t *epoch)
{
    ts_pg *s = (ts_pg *)st;
    *epoch = atomic_load_explicit(&s->keys_epoch, memory_order_acquire);
    return TS_OK;
}

static int pg_key_list(ts_store *st, ts_arena *a, ts_key_info **out, size_t *n)
{
    ts_pg *s = (ts_pg *)st;
    ts_err err;
    PGresult *r = NULL;
    ts_pg_conn *c = ts_pg_reader_get(s, &err);
    size_t cap = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if (!c)
        return TS_EBUSY;
    r = ts_pg_run(c, S_KEY_LIST,
                  "SELECT k.id, k.prefix, w.name, k.created_ns, k.revoked_ns FROM api_keys k "
                  "JOIN workspaces w ON w.id = k.ws_id ORDER BY k.id",
                  NULL);
    if ((rc = ts_pg_check(c, r, &err)) == TS_OK) {
        for (int i = 0; i < PQntuples(r); i++) {
            ts_key_info *na = ts_arena_grow(a, *out, *n, &cap, sizeof(*na));
            if (!na) {
                rc = TS_ENOMEM;
                break;
            }
            *out = na;
            ts_key_info *k = &(*out)[(*n)++];
            memset(k, 0, sizeof(*k));
            k->id = ts_pg_i64(r, i, 0, 0);
            snprintf(k->prefix, sizeof k->prefix, "%s", PQgetvalue(r, i, 1));
            snprintf(k->workspace, sizeof k->workspace, "%s", PQgetvalue(r, i, 2));
            k->created_ns = ts_pg_i64(r, i, 3, 0);
            k->revoked_ns = ts_pg_i64(r, i, 4, 0);
        }
    }
    PQclear(r);
    ts_pg_reader_put(s, c);
    return rc;
}

static int pg_workspace_count(ts_store *st, int64_t *n)
{
    ts_pg *s = (ts_pg *)st;
    ts_err err;
    PGresult *r = NULL;
    ts_pg_conn *c = ts_pg_reader_get(s, &err);
    int rc;

    *n = 0;
    if (!c)
        return TS_EBUSY;
    r = ts_pg_run(c, S_WS_COUNT, "SELECT count(*) FROM workspaces", NULL);
    if ((rc = ts_pg_check(c, r, &err)) == TS_OK)
        *n = ts_pg_i64(r, 0, 0, 0);
    PQclear(r);
    ts_pg_reader_put(s, c);
    return rc;
}

static int pg_workspace_list(ts_store *st, ts_arena *a, ts_workspace_info **out, size_t *n)
{
    ts_pg *s = (ts_pg *)st;
    ts_err err;
    PGresult *r = NULL;
    ts_pg_conn *c = ts_pg_reader_get(s, &err);
    size_t cap = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if (!c)
        return TS_EBUSY;
    /* ORDER BY name COLLATE "C": SQLite's byte order, whatever the
     * database's collation. */
    r = ts_pg_run(c, S_WS_LIST,
                  "SELECT w.name, (SELECT count(*) FROM api_keys k WHERE k.ws_id = w.id AND "
                  "k.revoked_ns = 0), (SELECT count(*) FROM traces t WHERE t.ws_id = w.id), "
                  "w.retention_days FROM workspaces w ORDER BY w.name COLLATE \"C\"",
                  NULL);
    if ((rc = ts_pg_check(c, r, &err)) == TS_OK) {
        for (int i = 0; i < PQntuples(r); i++) {
            ts_workspace_info *na = ts_arena_grow(a, *out, *n, &cap, sizeof(*na));
            if (!na) {
                rc = TS_ENOMEM;
                break;
            }
            *out = na;
            ts_workspace_info *w = &(*out)[(*n)++];
            snprintf(w->name, sizeof w->name, "%s", PQgetvalue(r, i, 0));
            w->keys = ts_pg_i64(r, i, 1, 0);
            w->traces = ts_pg_i64(r, i, 2, 0);
            w->retention_days = ts_pg_i64(r, i, 3, -1);
        }
    }
    PQclear(r);
    ts_pg_reader_put(s, c);
    return rc;
}

/* No file sizes (the database is PostgreSQL's to report), no syncs or
 * checkpoints (the server does both). */
static void pg_stats(ts_store *st, ts_store_stats *out)
{
    ts_pg *s = (ts_pg *)st;
    out->have = TS_STATS_COMMIT_HIST | TS_STATS_JOBS_HIST | TS_STATS_TRACES_CREATED;
    ts_hist_snap_get(&s->commit_hist, &out->commit_hist);
    ts_hist_snap_get(&s->jobs_hist, &out->jobs_hist);
    pthread_mutex_lock(&s->qmu);
    out->transactions = s->n_tx;
    out->jobs = s->n_jobs;
    out->queue_depth = s->qdepth;
    out->traces_created = s->traces_created;
    pthread_mutex_unlock(&s->qmu);
}

/* PostgreSQL's own tools back it up (pg_dump for a logical copy, a base
 * backup plus WAL archiving for point in time): doing either here would
 * only be a worse pg_dump. README "Backups" says the same. */
static int pg_backup(ts_store *st, const char *dest, ts_err *err)
{
    ts_pg *s = (ts_pg *)st;
    char masked[TS_PATH_MAX];
    ts_config_mask_url(s->cfg.postgres_url, masked, sizeof masked);
    return ts_err_set(err, TS_EINVAL,
                      "store = postgres: back the database up with PostgreSQL's tools, e.g. "
                      "pg_dump --format=custom --file='%s' '%.120s' (or a base backup with WAL "
                      "archiving); tracestore backup copies SQLite databases only",
                      dest, masked);
}

static int pg_vacuum(const ts_config *cfg, ts_vacuum_info *out, ts_err *err)
{
    (void)cfg;
    (void)out;
    return ts_err_set(err, TS_EINVAL,
                      "store = postgres: PostgreSQL reclaims space itself (autovacuum; VACUUM "
                      "FULL through psql returns it to the OS); tracestore vacuum rewrites "
                      "SQLite databases only");
}

const ts_store_ops ts_pg_ops = {
    .name = "postgres",
    .open = pg_open,
    .close = pg_close,
    .submit = ts_pg_submit,
    .key_candidates = pg_key_candidates,
    .keys_epoch = pg_keys_epoch,
    .trace_get = ts_pg_trace_get,
    .key_list = pg_key_list,
    .workspace_count = pg_workspace_count,
    .workspace_list = pg_workspace_list,
    .trace_list = ts_pg_trace_list,
    .metrics = ts_pg_metrics,
    .projects = ts_pg_projects,
    .stats = pg_stats,
    .backup = pg_backup,
    .vacuum = pg_vacuum,
};

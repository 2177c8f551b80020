/* sqlite.c: the SQLite backend's connections, schema migrations and reads.
 * One read-write connection belongs to the writer thread (sqlite_writer.c);
 * a pool of read-only connections serves reads, so reads never wait for the
 * writer (WAL). All SQL of the backend lives in the table below. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/migrations.h"
#include "store/spanctx.h"
#include "store/spanwin.h"
#include "store/sqlite_int.h"
#include "tracestore/log.h"
#include "tracestore/timeutil.h"

#define SPAN_TAIL TS_SQL_SPAN_TAIL
#define Q35 "?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?"

#define TRACE_AGG_COLS                                                                             \
    "span_count, llm_span_count, prompt_tokens, completion_tokens, total_tokens, cost_sum, "       \
    "cost_span_count, unpriced_span_count, started_ns, ended_ns, error_count, root_span_id, "      \
    "root_start_ns, root_name, root_input, root_output, root_model, root_error, err_span_id, "     \
    "err_start_ns, err_text"
#define Q21 "?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?"

static const char *const sql_text[Q__COUNT] = {
    [Q_KEY_CANDIDATES] = "SELECT k.id, k.revoked_ns, k.hash, w.id, w.uuid, w.name FROM api_keys k "
                         "JOIN workspaces w ON w.id = k.ws_id WHERE k.prefix = ?1",
    [Q_TRACE_GET] = "SELECT " TS_SQL_TRACE_COLS " FROM traces t LEFT JOIN projects p ON "
                    "p.id = t.project_id WHERE t.ws_id = ?1 AND t.trace_id = ?2",
    /* A trace's spans are read in row order, which is nearly the order of
     * their pages in the file (rows appended together), so a cold read
     * lets the kernel's readahead bring them in a few reads instead of one
     * per page in span id order (docs/PERFORMANCE.md, "GET trace (w4)"). */
    [Q_SPANS_GET] = "SELECT id, span_id, " TS_SQL_SPAN_TAIL_READ " FROM " TS_SQL_SPAN_FROM
                    " WHERE s.id IN (SELECT id FROM spans WHERE trow = ?1)"
                    " ORDER BY start_ns, span_id",
    [Q_KEY_LIST] = "SELECT k.id, k.prefix, w.name, k.created_ns, k.revoked_ns FROM api_keys k "
                   "JOIN workspaces w ON w.id = k.ws_id ORDER BY k.id",
    [Q_WS_COUNT] = "SELECT count(*) FROM workspaces",
    [Q_SPAN_OLD] = "SELECT id, start_ns, end_ns, parent_id, error, type, prompt_tokens, "
                   "completion_tokens, total_tokens, cost, unpriced, request_log_id, model, "
                   "name, provider, created_ns FROM spans WHERE trow = ?2 AND span_id = ?3",
    [Q_SPAN_INSERT] = "INSERT INTO spans (ws_id, trace_id, span_id, " SPAN_TAIL
                      ", trow) VALUES (?,?,?," Q35 ",?)",
    [Q_SPAN_UPDATE] = "UPDATE spans SET (" SPAN_TAIL ") = (" Q35 ") WHERE id = ?36",
    [Q_CTX_FIND] = "SELECT idx FROM span_ctx WHERE trow = ?1 AND resource = ?2 AND scope IS ?3",
    [Q_CTX_INSERT] =
        "INSERT INTO span_ctx (trow, idx, resource, scope) SELECT ?1, "
        "coalesce(max(idx), 0) + 1, ?2, ?3 FROM span_ctx WHERE trow = ?1 RETURNING idx",
    [Q_RL_INSERT] = "INSERT INTO request_logs (ws_id, trace_id, span_id, body, created_ns, trow) "
                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [Q_RL_UPDATE] = "UPDATE request_logs SET body = ?1, created_ns = ?2 WHERE id = ?3",
    [Q_CLOSED] = "SELECT 1 FROM trace_closures WHERE ws_id = ?1 AND trace_id = ?2",
    [Q_TRACE_LOAD] = "SELECT id, " TRACE_AGG_COLS " FROM traces WHERE ws_id = ?1 AND trace_id = ?2",
    [Q_TRACE_INSERT] =
        "INSERT INTO traces (ws_id, trace_id, project_id, created_ns, updated_ns, " TRACE_AGG_COLS
        ", id) VALUES (?,?,?,?,?," Q21 ",?)",
    [Q_TRACE_NEXT] = "SELECT coalesce(max(id), 0) + 1 FROM traces",
    [Q_TRACE_UPDATE] =
        "UPDATE traces SET updated_ns = ?, (" TRACE_AGG_COLS ") = (" Q21 ") WHERE id = ?",
    [Q_RECOMP_EXT] = "SELECT min(start_ns), max(end_ns) FROM spans WHERE trow = ?2",
    [Q_RECOMP_SUMS] = "SELECT prompt_tokens, completion_tokens, total_tokens, cost FROM spans "
                      "WHERE trow = ?2",
    [Q_RECOMP_ROOT] = "SELECT span_id, start_ns, name, input, output, model, error FROM spans "
                      "WHERE trow = ?2 AND (parent_id IS NULL OR parent_id = '') "
                      "ORDER BY start_ns, span_id LIMIT 1",
    [Q_RECOMP_ERR] = "SELECT span_id, start_ns, error FROM spans WHERE trow = ?2 AND "
                     "error IS NOT NULL ORDER BY start_ns, span_id LIMIT 1",
    [Q_CLOSE_INSERT] = "INSERT INTO trace_closures (ws_id, trace_id, uuid, status, created_ns, "
                       "updated_ns) VALUES (?1, ?2, ?3, 'closed', ?4, ?4)",
    [Q_TRACE_START] = "SELECT coalesce(t_started_ns, started_ns), id FROM traces WHERE ws_id = ?1 "
                      "AND trace_id = ?2",
    [Q_DEL_SPANS] = "DELETE FROM spans WHERE trow = ?2",
    [Q_DEL_CTX] = "DELETE FROM span_ctx WHERE trow = ?2",
    [Q_DEL_RL] = "DELETE FROM request_logs WHERE trow = ?2",
    [Q_DEL_TRACE] = "DELETE FROM traces WHERE id = ?2",
    [Q_DEL_CLOSURE] = "DELETE FROM trace_closures WHERE ws_id = ?1 AND trace_id = ?2",
    [Q_WS_FIND] = "SELECT id, uuid, name FROM workspaces WHERE name = ?1",
    [Q_WS_INSERT] = "INSERT INTO workspaces (uuid, name, created_ns) VALUES (?1, ?2, ?3)",
    [Q_PROJ_INSERT] = "INSERT INTO projects (ws_id, uuid, name, is_default, created_ns) "
                      "VALUES (?1, ?2, ?3, ?4, ?5)",
    [Q_PROJ_DEFAULT] = "SELECT id FROM projects WHERE ws_id = ?1 AND is_default = 1",
    [Q_KEY_INSERT] =
        "INSERT INTO api_keys (ws_id, prefix, hash, created_ns) VALUES (?1, ?2, ?3, ?4)",
    [Q_KEY_REVOKE] = "UPDATE api_keys SET revoked_ns = ?2 WHERE prefix = ?1 AND revoked_ns = 0",
    [Q_PROJ_LIST] = "SELECT id, uuid, name, created_ns FROM projects WHERE ws_id = ?1 AND id > ?2 "
                    "ORDER BY id LIMIT ?3",
    [Q_PROJ_BY_UUID] = "SELECT id FROM projects WHERE ws_id = ?1 AND uuid = lower(?2)",
    [Q_PROJ_BY_NAME] = "SELECT id FROM projects WHERE ws_id = ?1 AND name = ?2",
    /* Explicit trace fields: a given value replaces, an absent one keeps. */
    [Q_TRACE_META] = "UPDATE traces SET project_id = coalesce(?2, project_id), "
                     "t_name = coalesce(?3, t_name), t_input = coalesce(?4, t_input), "
                     "t_output = coalesce(?5, t_output), t_model = coalesce(?6, t_model), "
                     "t_error = coalesce(?7, t_error), t_cost = coalesce(?8, t_cost), "
                     "t_latency_ms = coalesce(?9, t_latency_ms), "
                     "t_started_ns = coalesce(?10, t_started_ns), "
                     "t_ended_ns = coalesce(?11, t_ended_ns), "
                     "session_id = coalesce(?12, session_id), user_id = coalesce(?13, user_id), "
                     "external_id = coalesce(?14, external_id), tags = coalesce(?15, tags), "
                     "tag_map = coalesce(?16, tag_map), metadata = coalesce(?17, metadata), "
                     "events = coalesce(?18, events), updated_ns = ?19 WHERE id = ?1",
    [Q_DIM_INC] = "INSERT INTO trace_dims (ws_id, trow, dim, val, n, start, settled) "
                  "VALUES (?1, ?2, ?3, ?4, ?5, (SELECT eff_start FROM traces WHERE id = ?2), ?6) "
                  "ON CONFLICT (trow, dim, val) DO UPDATE SET n = n + excluded.n",
    [Q_DIMS_SETTLE] = "UPDATE trace_dims SET settled = 1 WHERE trow > ?1 AND trow <= ?2",
    [Q_DIMS_MARK] = "UPDATE dims_watermark SET trow = ?1 WHERE id = 1",
    [Q_DIMS_MARK_GET] = "SELECT trow FROM dims_watermark WHERE id = 1",
    [Q_TX_BEGIN] = "BEGIN IMMEDIATE",
    [Q_TX_COMMIT] = "COMMIT",
    [Q_TX_ROLLBACK] = "ROLLBACK",
    [Q_TX_SAVEPOINT] = "SAVEPOINT job",
    [Q_TX_RELEASE] = "RELEASE job",
    [Q_TX_ROLLBACK_TO] = "ROLLBACK TO job",
    [Q_DIM_DROP] = "DELETE FROM trace_dims WHERE trow = ?2 AND dim = ?3 AND val = ?4 AND n <= 0",
    [Q_DIM_SYNC] = "UPDATE trace_dims SET start = (SELECT eff_start FROM traces WHERE id = ?2) "
                   "WHERE trow = ?2",
    [Q_DEL_DIMS] = "DELETE FROM trace_dims WHERE trow = ?2",
    [Q_DEL_FEEDBACK] = "DELETE FROM feedback WHERE ws_id = ?1 AND trace_id = ?2",
    [Q_FEEDBACK_INSERT] = "INSERT INTO feedback (ws_id, trace_id, uuid, label, score, comment, "
                          "metadata, created_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [Q_TRACE_EXISTS] = "SELECT 1 FROM traces WHERE ws_id = ?1 AND trace_id = ?2",
    /* Checks a candidate from the writer's span id window (spanwin.h). */
    [Q_SPAN_BY_ID] = "SELECT trace_id FROM traces WHERE id = ?2 AND ws_id = ?1 AND EXISTS "
                     "(SELECT 1 FROM spans WHERE trow = ?2 AND span_id = ?3)",
    [Q_SPAN_FULL] = "SELECT id, span_id, " TS_SQL_SPAN_TAIL_READ " FROM " TS_SQL_SPAN_FROM
                    " WHERE s.trow = ?2 AND span_id = ?3",
    [Q_RL_PENDING] = "SELECT id, model, provider, input, output, prompt_tokens, "
                     "completion_tokens, cost FROM request_logs WHERE ws_id = ?1 AND "
                     "trace_id = '' AND span_id = ?2 ORDER BY id DESC LIMIT 1",
    [Q_RL_ATTACH] = "UPDATE request_logs SET trace_id = ?2, trow = ?3 WHERE id = ?1",
    [Q_RL_TRACK_INSERT] = "INSERT INTO request_logs (ws_id, trace_id, span_id, body, created_ns, "
                          "model, provider, input, output, prompt_tokens, completion_tokens, "
                          "cost, trow) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
                          "?13)",
    [Q_RL_ANY_PENDING] = "SELECT EXISTS (SELECT 1 FROM request_logs WHERE trace_id = '')",
    [Q_SPANWIN_LOAD] = "SELECT ws_id, span_id, trow FROM spans ORDER BY id DESC LIMIT ?1",
    [Q_SWEEP_WS] = "SELECT id, coalesce(retention_days, ?1) FROM workspaces "
                   "WHERE coalesce(retention_days, ?1) > 0 ORDER BY id",
    /* traces_ws_end, oldest first; a NULL end never compares below */
    [Q_SWEEP_ENDED] =
        "SELECT trace_id, id, span_count FROM traces WHERE ws_id = ?1 AND eff_end < ?2 "
        "ORDER BY eff_end, id LIMIT ?3",
    /* traces_ws_noend (migration 0008): no end, aged by the last write */
    [Q_SWEEP_NOEND] =
        "SELECT trace_id, id, span_count FROM traces WHERE ws_id = ?1 AND t_ended_ns IS NULL "
        "AND ended_ns IS NULL AND updated_ns < ?2 ORDER BY updated_ns LIMIT ?3",
    [Q_SWEEP_LOGS] = "DELETE FROM request_logs WHERE id IN (SELECT id FROM request_logs WHERE "
                     "ws_id = ?1 AND trace_id = '' AND created_ns < ?2 LIMIT ?3)",
    [Q_WS_RETENTION] = "UPDATE workspaces SET retention_days = ?2 WHERE name = ?1",
    [Q_WS_LIST] = "SELECT w.name, (SELECT count(*) FROM api_keys k WHERE k.ws_id = w.id AND "
                  "k.revoked_ns = 0), (SELECT count(*) FROM traces t WHERE t.ws_id = w.id), "
                  "w.retention_days FROM workspaces w ORDER BY w.name",
};

sqlite3_stmt *ts_sqlite_stmt(ts_sqlite_conn *c, int id)
{
    sqlite3_stmt *st = c->stmt[id];
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return st;
    }
    int rc = sqlite3_prepare_v3(c->db, sql_text[id], -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    if (rc != SQLITE_OK) {
        TS_LOG(TS_LOG_ERROR, "msg=\"prepare failed\" stmt=%d err=\"%s\"", id,
               sqlite3_errmsg(c->db));
        return NULL;
    }
    c->stmt[id] = st;
    return st;
}

const char *ts_sqlite_sql(int id)
{
    return id >= 0 && id < Q__COUNT ? sql_text[id] : NULL;
}

int ts_sqlite_rc(int src)
{
    switch (src & 0xff) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW:
        return TS_OK;
    case SQLITE_NOMEM:
        return TS_ENOMEM;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return TS_EBUSY;
    case SQLITE_TOOBIG:
        return TS_ETOOBIG;
    case SQLITE_CONSTRAINT:
        return TS_ECONFLICT;
    default:
        return TS_EIO;
    }
}

char *ts_sqlite_col_text(ts_arena *a, sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return NULL;
    const unsigned char *t = sqlite3_column_text(st, col);
    int n = sqlite3_column_bytes(st, col);
    return t ? ts_arena_strndup(a, (const char *)t, (size_t)n) : NULL;
}

static int exec_sql(sqlite3 *db, const char *sql, ts_err *err)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        ts_err_set(err, ts_sqlite_rc(rc), "sqlite: %s", msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return ts_sqlite_rc(rc) ? ts_sqlite_rc(rc) : TS_EIO;
    }
    return TS_OK;
}

static void conn_close(ts_sqlite_conn *c)
{
    if (!c)
        return;
    for (int i = 0; i < Q__COUNT; i++)
        sqlite3_finalize(c->stmt[i]);
    sqlite3_close(c->db);
    ts_spanwin_free(c->spanwin);
    ts_spanctx_free(c->spanctx);
    free(c);
}

static int conn_open(const char *path, int readonly, const ts_config *cfg, ts_sqlite_conn **out,
                     ts_err *err)
{
    ts_sqlite_conn *c = calloc(1, sizeof(*c));
    char pragmas[512];
    int flags = readonly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    int rc;

    *out = NULL;
    if (!c)
        return ts_err_set(err, TS_ENOMEM, "out of memory");
    flags |= SQLITE_OPEN_NOMUTEX;
    rc = sqlite3_open_v2(path, &c->db, flags,
                         readonly || !cfg->sqlite_coalesce_writes ? NULL : ts_sqlite_vfs());
    if (rc != SQLITE_OK) {
        ts_err_set(err, TS_EIO, "cannot open database %s: %s", path,
                   c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        conn_close(c);
        return TS_EIO;
    }
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, 5000);
    sqlite3_db_config(c->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
    sqlite3_limit(
        c->db, SQLITE_LIMIT_LENGTH,
        (int)(cfg->max_body_bytes * 2 > 1000000000 ? 1000000000 : cfg->max_body_bytes * 2 + 1024));
    if (readonly)
        snprintf(pragmas, sizeof(pragmas), "PRAGMA cache_size = -16384; PRAGMA query_only = 1;");
    else /* temp_store: each job's savepoint journals the pages it changes;
          * on disk that was 96 KB of pwrite per single-span request.
          * wal_autocheckpoint and journal_size_limit hold while migrations
          * run; then the writer's WAL hook replaces both (sqlite_ckpt.c). */
        snprintf(pragmas, sizeof(pragmas),
                 "PRAGMA journal_mode = WAL; PRAGMA synchronous = %s; PRAGMA cache_size = -%lld; "
                 "PRAGMA foreign_keys = ON; PRAGMA journal_size_limit = 67108864; "
                 "PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = 8192;",
                 strcmp(cfg->sqlite_synchronous, "normal") == 0 ? "NORMAL" : "FULL",
                 (long long)cfg->sqlite_cache_mb * 1024);
    rc = exec_sql(c->db, pragmas, err);
    if (rc != TS_OK) {
        conn_close(c);
        return rc;
    }
    *out = c;
    return TS_OK;
}

/* Applies every embedded migration newer than the database, each in its
 * own transaction together with its row in schema_migrations. */
static int migrate_all(sqlite3 *db, ts_err *err);

/* Migrations that rebuild a table (0003) journal and sort in temporary
 * storage as large as the table: on disk, not in memory as for jobs. */
static int migrate(sqlite3 *db, ts_err *err)
{
    int rc = exec_sql(db, "PRAGMA temp_store = FILE", err);
    if (rc == TS_OK)
        rc = migrate_all(db, err);
    if (rc == TS_OK)
        rc = exec_sql(db, "PRAGMA temp_store = MEMORY", err);
    return rc;
}

static int migrate_all(sqlite3 *db, ts_err *err)
{
    int rc = exec_sql(db,
                      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                      "name TEXT NOT NULL, applied_ns INTEGER NOT NULL)",
                      err);
    if (rc != TS_OK)
        return rc;
    for (int i = 0; i < ts_migrations_count; i++) {
        const ts_migration *m = &ts_migrations[i];
        sqlite3_stmt *st = NULL;
        int have = 0;
        char rec[256];

        if (sqlite3_prepare_v2(db, "SELECT 1 FROM schema_migrations WHERE version = ?1", -1, &st,
                               NULL) != SQLITE_OK)
            return ts_err_set(err, TS_EIO, "sqlite: %s", sqlite3_errmsg(db));
        sqlite3_bind_int(st, 1, m->version);
        have = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_finalize(st);
        if (have)
            continue;
        /* 0003 rewrites the spans table: about 30 s per million spans. */
        TS_LOG(TS_LOG_INFO, "msg=\"applying migration\" version=%d name=%s", m->version, m->name);
        if ((rc = exec_sql(db, "BEGIN IMMEDIATE", err)) != TS_OK)
            return rc;
        snprintf(
            rec, sizeof(rec),
            "INSERT INTO schema_migrations (version, name, applied_ns) VALUES (%d, '%s', %lld)",
            m->version, m->name, (long long)ts_now_ns());
        if ((rc = exec_sql(db, m->sql, err)) != TS_OK || (rc = exec_sql(db, rec, err)) != TS_OK) {
            exec_sql(db, "ROLLBACK", NULL);
            TS_LOG(TS_LOG_ERROR, "msg=\"migration failed\" version=%d", m->version);
            return rc;
        }
        if ((rc = exec_sql(db, "COMMIT", err)) != TS_OK)
            return rc;
        TS_LOG(TS_LOG_INFO, "msg=\"applied migration\" version=%d name=%s", m->version, m->name);
    }
    return TS_OK;
}

/* The key epoch: 8 random bytes in the file <db>-keys, rewritten by
 * whichever process commits a key create or revoke (ts_sqlite_keys_bump) and read
 * before each cached key lookup (store/keycache.c). A file rather than a
 * row, so that checking it costs a memory load (a shared mapping of the
 * file, as SQLite maps its -shm) instead of a query; pread where the file
 * cannot be mapped. The pread was 3.7 % of the HTTP threads' time under
 * one-span requests. <db> is the database's canonical path (realpath, as
 * SQLite resolves it for the -wal and -shm), so every process finds the
 * same epoch however its --db spells the path: a symlink, "./", "..". */
static void keys_open(ts_sqlite *s)
{
    char path[sizeof(s->path) + 8], *canon = realpath(s->path, NULL);
    struct stat st;
    if (!canon || strlen(canon) >= sizeof(s->path))
        TS_LOG(TS_LOG_WARN, "msg=\"cannot resolve the database path\" path=%s", s->path);
    snprintf(path, sizeof(path), "%s-keys",
             canon && strlen(canon) < sizeof(s->path) ? canon : s->path);
    free(canon);
    s->keysfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->keysfd < 0 || fstat(s->keysfd, &st) != 0)
        return;
    if (st.st_size < 8)
        ts_sqlite_keys_bump(s);
    if (fstat(s->keysfd, &st) == 0 && st.st_size >= 8) {
        void *m = mmap(NULL, 8, PROT_READ, MAP_SHARED, s->keysfd, 0);
        if (m != MAP_FAILED)
            s->keysmap = m;
    }
}

void ts_sqlite_keys_bump(ts_sqlite *s)
{
    uint64_t v;
    sqlite3_randomness(sizeof(v), &v);
    if (s->keysfd >= 0 && pwrite(s->keysfd, &v, sizeof(v), 0) != (ssize_t)sizeof(v))
        TS_LOG(TS_LOG_WARN, "msg=\"cannot write the key epoch\" path=%s-keys", s->path);
}

static int sqlite_keys_epoch(ts_store *st, uint64_t *epoch)
{
    ts_sqlite *s = (ts_sqlite *)st;
    if (s->keysmap) {
        /* A read torn by a concurrent bump differs from the old epoch
         * too, so it can only cost a cache miss. */
        *epoch = __atomic_load_n(s->keysmap, __ATOMIC_ACQUIRE);
        return TS_OK;
    }
    if (s->keysfd < 0 || pread(s->keysfd, epoch, sizeof(*epoch), 0) != (ssize_t)sizeof(*epoch))
        return TS_EIO;
    return TS_OK;
}

static void sqlite_close(ts_store *st)
{
    ts_sqlite *s = (ts_sqlite *)st;
    if (!s)
        return;
    ts_sqlite_writer_stop(s);
    /* Readers close first so the writer's final checkpoint can truncate. */
    for (int i = 0; i < s->nreaders; i++)
        conn_close(s->readers[i]);
    free(s->readers);
    if (s->w) {
        if (s->ck_enabled)
            sqlite3_wal_checkpoint_v2(s->w->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
        conn_close(s->w);
    }
    pthread_mutex_destroy(&s->crun);
    pthread_mutex_destroy(&s->cmu);
    pthread_cond_destroy(&s->ccv);
    if (s->keysmap)
        munmap((void *)s->keysmap, 8);
    if (s->keysfd >= 0)
        close(s->keysfd);
    pthread_mutex_destroy(&s->rmu);
    pthread_cond_destroy(&s->rcv);
    pthread_mutex_destroy(&s->qmu);
    pthread_cond_destroy(&s->qcv);
    free(s);
}

/* The server secret migration 0007 stored (tracestore/idmask.h). */
static int id_secret_load(ts_sqlite *s, ts_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = TS_OK;
    if (sqlite3_prepare_v2(s->w->db, "SELECT value FROM server_secrets WHERE name = 'id_mask'", -1,
                           &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW ||
        sqlite3_column_bytes(st, 0) != (int)sizeof(s->base.id_secret))
        rc = ts_err_set(err, TS_EIO, "cannot read the server secret (server_secrets.id_mask): %s",
                        sqlite3_errmsg(s->w->db));
    else
        memcpy(s->base.id_secret, sqlite3_column_blob(st, 0), sizeof(s->base.id_secret));
    sqlite3_finalize(st);
    return rc;
}

static int sqlite_open(const ts_config *cfg, ts_store **out, ts_err *err)
{
    ts_sqlite *s = calloc(1, sizeof(*s));
    int rc = TS_OK;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int64_t threads = cfg->http_threads > 0 ? cfg->http_threads : (ncpu > 0 ? ncpu : 2);

    *out = NULL;
    if (!s)
        return ts_err_set(err, TS_ENOMEM, "out of memory");
    s->base.ops = &ts_sqlite_ops;
    s->keysfd = -1;
    pthread_mutex_init(&s->rmu, NULL);
    pthread_cond_init(&s->rcv, NULL);
    pthread_mutex_init(&s->qmu, NULL);
    pthread_cond_init(&s->qcv, NULL);
    pthread_mutex_init(&s->crun, NULL);
    pthread_mutex_init(&s->cmu, NULL);
    pthread_cond_init(&s->ccv, NULL);
    s->qmax = (uint64_t)cfg->writer_queue_max;
    s->batch_max = (uint64_t)cfg->writer_batch_max;
    s->settle_ns = cfg->dims_settle_ms * 1000000;
    snprintf(s->path, sizeof(s->path), "%s", cfg->db_path);
    ts_hist_init(&s->h_commit, &ts_hist_disk);
    ts_hist_init(&s->h_sync, &ts_hist_disk);
    ts_hist_init(&s->h_jobs, &ts_hist_jobs);
    ts_hist_init(&s->h_ckpt, &ts_hist_disk);
    ts_hist_init(&s->h_ckpt_inline, &ts_hist_disk);

    if (!ts_sqlite_pcache_install())
        TS_LOG(TS_LOG_DEBUG, "msg=\"page cache wrapper not installed: SQLite was initialised\"");
    TS_LOG(TS_LOG_INFO, "msg=\"opening store\" backend=sqlite version=%s path=%s",
           sqlite3_libversion(), s->path);
    if ((rc = conn_open(s->path, 0, cfg, &s->w, err)) != TS_OK)
        goto out;
    if ((rc = migrate(s->w->db, err)) != TS_OK || (rc = id_secret_load(s, err)) != TS_OK)
        goto out;
    keys_open(s);
    s->nreaders = (int)(cfg->read_connections > 0 ? cfg->read_connections : threads + 2);
    s->readers = calloc((size_t)s->nreaders, sizeof(*s->readers));
    if (!s->readers) {
        rc = ts_err_set(err, TS_ENOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < s->nreaders; i++) {
        if ((rc = conn_open(s->path, 1, cfg, &s->readers[i], err)) != TS_OK)
            goto out;
        s->readers[i]->next_free = s->rfree;
        s->rfree = s->readers[i];
    }
    s->pipelined = strcmp(cfg->sqlite_synchronous, "normal") != 0;
    rc = ts_sqlite_writer_start(s, cfg, err);
out:
    if (rc != TS_OK) {
        sqlite_close(&s->base);
        return rc;
    }
    *out = &s->base;
    return TS_OK;
}

ts_sqlite_conn *ts_sqlite_reader_get(ts_sqlite *s)
{
    pthread_mutex_lock(&s->rmu);
    while (!s->rfree)
        pthread_cond_wait(&s->rcv, &s->rmu);
    ts_sqlite_conn *c = s->rfree;
    s->rfree = c->next_free;
    pthread_mutex_unlock(&s->rmu);
    return c;
}

void ts_sqlite_reader_put(ts_sqlite *s, ts_sqlite_conn *c)
{
    pthread_mutex_lock(&s->rmu);
    c->next_free = s->rfree;
    s->rfree = c;
    pthread_cond_signal(&s->rcv);
    pthread_mutex_unlock(&s->rmu);
}

static int sqlite_key_candidates(ts_store *st, const char *prefix, ts_key_row *rows, size_t cap,
                                 size_t *n)
{
    ts_sqlite *s = (ts_sqlite *)st;
    ts_sqlite_conn *c = ts_sqlite_reader_get(s);
    sqlite3_stmt *q = ts_sqlite_stmt(c, Q_KEY_CANDIDATES);
    int rc = TS_OK, src;

    *n = 0;
    if (!q) {
        ts_sqlite_reader_put(s, c);
        return TS_EIO;
    }
    sqlite3_bind_text(q, 1, prefix, -1, SQLITE_STATIC);
    while ((src = sqlite3_step(q)) == SQLITE_ROW) {
        if (*n >= cap)
            continue;
        ts_key_row *r = &rows[(*n)++];
        memset(r, 0, sizeof(*r));
        r->key_id = sqlite3_column_int64(q, 0);
        r->revoked = sqlite3_column_int64(q, 1) != 0;
        if (sqlite3_column_bytes(q, 2) == (int)sizeof(r->hash))
            memcpy(r->hash, sqlite3_column_blob(q, 2), sizeof(r->hash));
        else
            r->revoked = 1;
        r->ws.id = sqlite3_column_int64(q, 3);
        r->ws.key_id = r->key_id;
        snprintf(r->ws.uuid, sizeof(r->ws.uuid), "%s", (const char *)sqlite3_column_text(q, 4));
        snprintf(r->ws.name, sizeof(r->ws.name), "%s", (const char *)sqlite3_column_text(q, 5));
    }
    if (src != SQLITE_DONE)
        rc = ts_sqlite_rc(src) ? ts_sqlite_rc(src) : TS_EIO;
    sqlite3_reset(q);
    ts_sqlite_reader_put(s, c);
    return rc;
}

/* ts_qrow accessors over a stepped statement (query_common.h). */
static int row_isnull(const ts_qrow *r, int col)
{
    return sqlite3_column_type((sqlite3_stmt *)r->src, r->base + col) == SQLITE_NULL;
}

static int64_t row_i64(const ts_qrow *r, int col)
{
    return sqlite3_column_int64((sqlite3_stmt *)r->src, r->base + col);
}

static double row_f64(const ts_qrow *r, int col)
{
    return sqlite3_column_double((sqlite3_stmt *)r->src, r->base + col);
}

static char *row_text(const ts_qrow *r, ts_arena *a, int col)
{
    return ts_sqlite_col_text(a, (sqlite3_stmt *)r->src, r->base + col);
}

void ts_sqlite_read_trace_row(sqlite3_stmt *q, ts_arena *a, ts_trace *t)
{
    ts_qrow r = {q, 0, 0, row_isnull, row_i64, row_f64, row_text};
    ts_query_trace_row(&r, a, t);
}

void ts_sqlite_read_span_row(sqlite3_stmt *q, ts_arena *a, ts_span *sp)
{
    ts_qrow r = {q, 0, 0, row_isnull, row_i64, row_f64, row_text};
    ts_query_span_row(&r, a, sp);
}

static int sqlite_trace_get(ts_store *st, int64_t ws_id, const char *trace_id, ts_arena *a,
                            ts_trace *out, ts_span **spans, size_t *nspans)
{
    ts_sqlite *s = (ts_sqlite *)st;
    ts_sqlite_conn *c = ts_sqlite_reader_get(s);
    sqlite3_stmt *q = NULL;
    int rc = TS_OK, src;
    size_t cap = 0, n = 0;
    ts_span *arr = NULL;

    if (spans) {
        *spans = NULL;
        *nspans = 0;
    }
    /* One read transaction so the trace row and its spans agree. */
    sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL);
    if (!(q = ts_sqlite_stmt(c, Q_TRACE_GET))) {
        rc = TS_EIO;
        goto out;
    }
    sqlite3_bind_int64(q, 1, ws_id);
    sqlite3_bind_text(q, 2, trace_id, -1, SQLITE_STATIC);
    src = sqlite3_step(q);
    if (src == SQLITE_DONE) {
        rc = TS_ENOTFOUND;
        goto out;
    }
    if (src != SQLITE_ROW) {
        rc = TS_EIO;
        goto out;
    }
    ts_sqlite_read_trace_row(q, a, out);
    sqlite3_reset(q);
    if (!spans)
        goto out;
    if (!(q = ts_sqlite_stmt(c, Q_SPANS_GET))) {
        rc = TS_EIO;
        goto out;
    }
    sqlite3_bind_int64(q, 1, out->rowid); /* the workspace's trace row, found above */
    while ((src = sqlite3_step(q)) == SQLITE_ROW) {
        ts_span *na = ts_arena_grow(a, arr, n, &cap, sizeof(*na));
        if (!na) {
            rc = TS_ENOMEM;
            goto out;
        }
        arr = na;
        ts_sqlite_read_span_row(q, a, &arr[n]);
        arr[n].trace_id = out->trace_id;
        n++;
    }
    if (src != SQLITE_DONE)
        rc = TS_EIO;
    *spans = arr;
    *nspans = n;
out:
    if (q)
        sqlite3_reset(q);
    sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
    ts_sqlite_reader_put(s, c);
    return rc;
}

static int sqlite_projects(ts_store *st, int64_t ws_id, int64_t after, int64_t limit, ts_arena *a,
                           ts_project **out, size_t *n, int *more)
{
    ts_sqlite *s = (ts_sqlite *)st;
    ts_sqlite_conn *c = ts_sqlite_reader_get(s);
    sqlite3_stmt *q = ts_sqlite_stmt(c, Q_PROJ_LIST);
    int64_t cap = limit > 0 ? limit : 100000;
    size_t have = 0;
    int rc = TS_OK, src;

    *out = NULL;
    *n = 0;
    *more = 0;
    if (!q) {
        ts_sqlite_reader_put(s, c);
        return TS_EIO;
    }
    sqlite3_bind_int64(q, 1, ws_id);
    sqlite3_bind_int64(q, 2, after);
    sqlite3_bind_int64(q, 3, cap + 1);
    while ((src = sqlite3_step(q)) == SQLITE_ROW) {
        if ((int64_t)*n == cap) {
            *more = 1;
            break;
        }
        if (*n == have) {
            size_t ncap = have ? have * 2 : 16;
            ts_project *na = ts_arena_alloc(a, ncap * sizeof(*na));
            if (!na) {
                rc = TS_ENOMEM;
                break;
            }
            if (*n)
                memcpy(na, *out, *n * sizeof(*na));
            *out = na;
            have = ncap;
        }
        ts_project *p = &(*out)[(*n)++];
        p->rowid = sqlite3_column_int64(q, 0);
        p->uuid = ts_sqlite_col_text(a, q, 1);
        p->name = ts_sqlite_col_text(a, q, 2);
        p->created_ns = sqlite3_column_int64(q, 3);
    }
    if (rc == TS_OK && src != SQLITE_ROW && src != SQLITE_DONE)
        rc = TS_EIO;
    sqlite3_reset(q);
    ts_sqlite_reader_put(s, c);
    return rc;
}

/* Size of the file at path, -1 when it cannot be stat'ed (a WAL that does
 * not exist yet is 0). */
static int64_t file_bytes(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) == 0)
        return (int64_t)sb.st_size;
    return errno == ENOENT ? 0 : -1;
}

static void sqlite_stats(ts_store *st, ts_store_stats *out)
{
    ts_sqlite *s = (ts_sqlite *)st;
    char wal[sizeof(s->path) + 8];
    /* The writer (sqlite_writer.c) feeds h_commit, h_jobs and
     * n_traces_created at each COMMIT, a syncer h_sync at each fdatasync. */
    out->have = TS_STATS_FILES | TS_STATS_CKPT_HIST | TS_STATS_SYNCS | TS_STATS_COMMIT_HIST |
                TS_STATS_SYNC_HIST | TS_STATS_JOBS_HIST | TS_STATS_TRACES_CREATED;
    out->db_bytes = file_bytes(s->path);
    snprintf(wal, sizeof(wal), "%s-wal", s->path);
    out->wal_bytes = file_bytes(wal);
    ts_hist_snap_get(&s->h_commit, &out->commit_hist);
    ts_hist_snap_get(&s->h_sync, &out->sync_hist);
    ts_hist_snap_get(&s->h_jobs, &out->jobs_hist);
    ts_hist_snap_get(&s->h_ckpt, &out->checkpoint_hist);
    ts_hist_snap_get(&s->h_ckpt_inline, &out->writer_checkpoint_hist);
    out->traces_created = atomic_load_explicit(&s->n_traces_created, memory_order_relaxed);
    pthread_mutex_lock(&s->smu);
    out->syncs = s->n_sync;
    out->sync_ns = s->sync_ns;
    pthread_mutex_unlock(&s->smu);
    pthread_mutex_lock(&s->qmu);
    out->transactions = s->n_tx;
    out->jobs = s->n_jobs;
    out->queue_depth = s->qlen;
    pthread_mutex_unlock(&s->qmu);
    pthread_mutex_lock(&s->cmu);
    out->checkpoints = s->n_ckpt;
    out->checkpoint_ns = s->ckpt_ns;
    out->writer_checkpoints = s->n_ckpt_inline;
    out->writer_checkpoint_ns = s->ckpt_inline_ns;
    pthread_mutex_unlock(&s->cmu);
}

/* Online backup: one read transaction on a fresh connection copies every
 * page (a consistent snapshot even while the writer commits), then the
 * copy is opened and checked with PRAGMA integrity_check. */
static int sqlite_backup(ts_store *st, const char *dest, ts_err *err)
{
    ts_sqlite *s = (ts_sqlite *)st;
    sqlite3 *src = NULL, *dst = NULL;
    sqlite3_backup *b = NULL;
    sqlite3_stmt *q = NULL;
    int rc = TS_EIO;

    if (access(dest, F_OK) == 0)
        return ts_err_set(err, TS_ECONFLICT, "%s already exists", dest);
    if (sqlite3_open_v2(s->path, &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_open_v2(dest, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
            SQLITE_OK) {
        ts_err_set(err, TS_EIO, "cannot open %s: %s", dst ? dest : s->path,
                   sqlite3_errmsg(dst ? dst : src));
        goto out;
    }
    sqlite3_busy_timeout(src, 5000);
    if (!(b = sqlite3_backup_init(dst, "main", src, "main"))) {
        ts_err_set(err, TS_EIO, "backup: %s", sqlite3_errmsg(dst));
        goto out;
    }
    int src_rc = sqlite3_backup_step(b, -1);
    sqlite3_backup_finish(b);
    if (src_rc != SQLITE_DONE) {
        ts_err_set(err, TS_EIO, "backup: %s", sqlite3_errstr(src_rc));
        goto out;
    }
    if (sqlite3_prepare_v2(dst, "PRAGMA integrity_check", -1, &q, NULL) != SQLITE_OK ||
        sqlite3_step(q) != SQLITE_ROW || strcmp((const char *)sqlite3_column_text(q, 0), "ok")) {
        ts_err_set(err, TS_EIO, "backup copy failed integrity_check");
        goto out;
    }
    rc = TS_OK;
out:
    sqlite3_finalize(q);
    sqlite3_close(dst);
    sqlite3_close(src);
    if (rc != TS_OK && dst)
        unlink(dest);
    return rc;
}

const ts_store_ops ts_sqlite_ops = {
    .name = "sqlite",
    .open = sqlite_open,
    .close = sqlite_close,
    .submit = ts_sqlite_submit,
    .key_candidates = sqlite_key_candidates,
    .keys_epoch = sqlite_keys_epoch,
    .trace_get = sqlite_trace_get,
    .key_list = ts_sqlite_key_list,
    .workspace_count = ts_sqlite_workspace_count,
    .workspace_list = ts_sqlite_workspace_list,
    .trace_list = ts_sqlite_trace_list,
    .metrics = ts_sqlite_metrics,
    .projects = sqlite_projects,
    .stats = sqlite_stats,
    .backup = sqlite_backup,
    .vacuum = ts_sqlite_vacuum,
};

/* query_common.h: the backend-neutral parts of trace reads, shared by the
 * SQLite (sqlite.c, sqlite_query.c) and PostgreSQL (pg_query.c,
 * pg_qbuild.c) backends: the column lists and how a row of them becomes a
 * ts_trace / ts_span (effective values, defaults), each query field's and
 * sort's column expression, trace_dims numbers, how a filter value is
 * taken as a number, and the nearest-rank percentile. No SQL library here:
 * a backend reads its rows through the small ts_qrow accessor. */
#ifndef TS_QUERY_COMMON_H
#define TS_QUERY_COMMON_H

#include <stdint.h>

#include "tracestore/store.h"

/* The trace row as read back (SQLite's Q_TRACE_GET and both backends'
 * lists select these, in this order, from `traces t LEFT JOIN projects p`).
 * The EXISTS column is a boolean: an integer in SQLite, 't'/'f' in
 * PostgreSQL (its accessor reads both as 1/0). */
#define TS_SQL_TRACE_COLS                                                                          \
    "t.trace_id, p.uuid, p.name, t.span_count, t.llm_span_count, t.prompt_tokens, "                \
    "t.completion_tokens, t.total_tokens, t.cost_sum, t.cost_span_count, "                         \
    "t.unpriced_span_count, t.started_ns, t.ended_ns, t.error_count, t.root_name, "                \
    "t.root_input, t.root_output, t.root_model, t.root_error, t.err_text, t.t_name, "              \
    "t.t_input, t.t_output, t.t_model, t.t_error, t.t_cost, t.t_latency_ms, "                      \
    "t.t_started_ns, t.t_ended_ns, t.session_id, t.user_id, t.external_id, t.tags, "               \
    "t.tag_map, t.metadata, t.events, t.created_ns, t.updated_ns, "                                \
    "EXISTS (SELECT 1 FROM trace_closures c WHERE c.ws_id = t.ws_id AND c.trace_id = "             \
    "t.trace_id), t.root_span_id, t.id"
#define TS_SQL_TRACE_NCOLS 41

/* The span row read back: "id, span_id, " TS_SQL_SPAN_HEAD, then the
 * resource and the scope, then TS_SQL_SPAN_REST (36 columns in all). */
#define TS_SQL_SPAN_HEAD                                                                           \
    "parent_id, name, kind, start_ns, end_ns, status_code, status_message, trace_state, "          \
    "attributes, events, links, "
#define TS_SQL_SPAN_REST                                                                           \
    "origin, type, model, provider, input, output, prompt_tokens, completion_tokens, "             \
    "total_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, cost, unpriced, "      \
    "error, session_id, user_id, metadata, latency_ms, request_log_id, created_ns"
#define TS_SQL_SPAN_NCOLS 36

/* One result row as a backend gives it: col is relative to the row's
 * first column of interest (the backend adds its own offset). NULL reads
 * as 0 / 0.0 from i64 / f64 and as NULL from text (copied into a). */
typedef struct ts_qrow {
    const void *src;
    int row, base;
    int (*isnull)(const struct ts_qrow *r, int col);
    int64_t (*i64)(const struct ts_qrow *r, int col);
    double (*f64)(const struct ts_qrow *r, int col);
    char *(*text)(const struct ts_qrow *r, ts_arena *a, int col);
} ts_qrow;

/* The TS_SQL_TRACE_COLS row as a ts_trace, with the effective values
 * (explicit trace fields over the root span's, the cost and latency
 * rules, "[]"/"{}" defaults). */
void ts_query_trace_row(const ts_qrow *r, ts_arena *a, ts_trace *t);
/* The 36-column span row as a ts_span (trace_id left NULL). */
void ts_query_span_row(const ts_qrow *r, ts_arena *a, ts_span *sp);

/* Column expression (over `traces t`) of a trace-level field, NULL for the
 * fields that have none (metadata, tags, any-span fields). *numeric: the
 * field compares as a number; *real: its values are REAL (cost). */
const char *ts_query_field_sql(ts_qfield f, int *numeric, int *real);
/* Column expression (over `spans s`) of an any-span field answered through
 * the trace's own spans, NULL for the others. */
const char *ts_query_span_sql(ts_qfield f, int *numeric, int *real);
/* Column expression of a sort, and whether it can be NULL. */
const char *ts_query_sort_sql(ts_qsort s, int *nullable);
/* trace_dims number of an any-span field (the writers store the same
 * numbers), 0 for the others. */
int ts_query_dim_of(ts_qfield f);

/* A filter value compared with a numeric field: an integer when the whole
 * text is one (returns 1, *i set), else the double strtod reads from its
 * start (returns 0, *d set; 0.0 for text that is no number). */
int ts_query_num(const char *v, int64_t *i, double *d);
/* 1 when the whole of v is one number (the metadata rule: a number value
 * compares numerically, anything else as text). */
int ts_query_is_num(const char *v);

/* Nearest-rank position (1-based) of percentile p (0..100) among n. */
int64_t ts_query_rank(int p, int64_t n);

#endif

/* model.h: the domain, as plain C structs with no library types. Codecs
 * turn wire formats into these; the store persists them; the API layer
 * renders them. Strings are NUL-terminated and, unless said otherwise,
 * owned by the request arena of whoever built the struct. JSON-valued
 * fields hold JSON text (already validated), stored and returned whole. */
#ifndef TS_MODEL_H
#define TS_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "tracestore/ids.h"

/* OTLP span kinds (same numbers as the OTLP enum). */
enum {
    TS_KIND_UNSPECIFIED = 0,
    TS_KIND_INTERNAL = 1,
    TS_KIND_SERVER = 2,
    TS_KIND_CLIENT = 3,
    TS_KIND_PRODUCER = 4,
    TS_KIND_CONSUMER = 5,
};

/* OTLP status codes. */
enum { TS_STATUS_UNSET = 0, TS_STATUS_OK = 1, TS_STATUS_ERROR = 2 };

/* Which API surface a span arrived through (kept for rendering and audit). */
enum {
    TS_ORIGIN_SPANS_BULK = 1,
    TS_ORIGIN_OTLP = 2,
    TS_ORIGIN_TRULAYER = 3,
    TS_ORIGIN_RESPAN = 4,
};

#define TS_TOKENS_ABSENT (-1)

/* Bounds on what a client reports for one span (docs/API.md, "Bounds"):
 * a cost of at most 1e9 USD (finite, >= 0) and token counts of at most
 * 10^15. So a trace's sums stay exact: tokens in int64 up to 9,223 spans
 * at the bound, and costs far from overflow in a double. Outside them a
 * codec answers 4xx, or ignores an OTLP attribute as it ignores a
 * negative one. */
#define TS_COST_MAX 1e9
#define TS_TOKENS_MAX INT64_C(1000000000000000)

static inline int ts_cost_ok(double c)
{
    return c >= 0 && c <= TS_COST_MAX; /* false for NaN and infinities too */
}

static inline int ts_tokens_ok(int64_t v)
{
    return v >= 0 && v <= TS_TOKENS_MAX;
}

typedef struct ts_span {
    /* identity */
    char *trace_id;  /* canonical key (see ids.h) */
    char *span_id;   /* opaque, 1..128 printable */
    char *parent_id; /* NULL or "" for a root */
    /* OTel core */
    char *name;
    int kind;
    int64_t start_ns;
    int64_t end_ns;
    int status_code;
    char *status_message; /* NULL when absent */
    char *trace_state;    /* NULL when absent */
    char *attributes;     /* JSON object text, never NULL once normalised */
    char *events;         /* JSON array text */
    char *links;          /* JSON array text */
    char *resource;       /* JSON object text */
    char *scope;          /* JSON object text or NULL */
    int origin;
    /* LLM view, derived at ingest (attribute mapping, log_request, vendor fields) */
    char *type;     /* llm | tool | retrieval | agent | chain | other | vendor string */
    char *model;
    char *provider;
    char *input;    /* text (JSON text allowed) */
    char *output;
    int64_t prompt_tokens;     /* TS_TOKENS_ABSENT when not reported */
    int64_t completion_tokens;
    int64_t total_tokens;
    int64_t cache_read_tokens;
    int64_t cache_write_tokens;
    int64_t reasoning_tokens;
    int has_cost;   /* cost is meaningful */
    double cost;    /* USD */
    int unpriced;   /* an LLM span the price table could not price */
    int cost_priced; /* cost came from the price table, not the client: a
                      * request log that changes the span prices it again */
    char *error;    /* NULL when the span did not fail */
    char *session_id;
    char *user_id;
    char *metadata; /* JSON object text */
    int64_t latency_ms; /* -1: derive from end - start */
    char *log_request;  /* JSON object text of an attached request log, or NULL */
    /* filled by the store on write and read */
    int64_t rowid;          /* internal integer id */
    int64_t request_log_id; /* 0 when none */
    int64_t created_ns;     /* server ingest time */
    int rejected;           /* 1: dropped because its trace is closed */
} ts_span;

/* Sets every optional field of s to its "absent" value (tokens -1, latency
 * -1, pointers NULL). Call before filling a span. */
void ts_span_init(ts_span *s);

/* A span's total token count, the one rule for what a trace's total sums
 * and what a span shows as its total: the total the span reported when it
 * has one (providers count reasoning and cached tokens in it), else
 * prompt + completion (saturating at INT64_MAX), else 0. */
int64_t ts_span_tokens_total(int64_t prompt, int64_t completion, int64_t total);

/* Failure class of an error text, for the failure_type filter: "timeout",
 * "rate_limit", "context_length", "invalid_response", or NULL. */
const char *ts_failure_type(const char *error);

/* True for span types that count as an LLM call (llm and Respan's chat,
 * completion, response, generation, text, embedding log types). The one
 * predicate for "is an LLM span": pricing (cost/price.c), the trace's
 * LLM count and its filters (store/agg.c), an attached request log. */
int ts_span_type_is_llm(const char *type);

/* Trace-level fields a client states explicitly (TruLayer ingest). Each
 * overrides what would otherwise be derived from the root span. NULL or
 * has_* = 0 means "not given". */
typedef struct ts_trace_meta {
    char *trace_id; /* canonical */
    char *name, *input, *output, *model, *error;
    char *session_id, *user_id, *external_id;
    char *project;  /* project name or UUID; NULL: the workspace default */
    char *tags;     /* JSON array text or NULL */
    char *tag_map;  /* JSON object text or NULL */
    char *metadata; /* JSON object text or NULL */
    char *events;   /* JSON array text of events or NULL */
    int has_cost;
    double cost;
    int64_t latency_ms; /* -1 when not given */
    int has_started, has_ended; /* started_ns / ended_ns were given (0 is
                                   1970-01-01T00:00:00Z, a time like any) */
    int64_t started_ns;
    int64_t ended_ns;
    /* filled by the store */
    int duplicate;      /* the trace already existed */
    int64_t created_ns;
} ts_trace_meta;

/* The per-trace aggregate row, as read back. */
typedef struct ts_trace {
    char *trace_id;     /* canonical */
    int64_t rowid;      /* internal row id (keyset tie-breaker) */
    int64_t sort_key;   /* value of the list's sort key (integer sorts) */
    char *root_span_id; /* NULL when no root span yet */
    char *project_uuid;
    char *project_name;
    int64_t span_count;
    int64_t llm_span_count;
    int64_t prompt_tokens;
    int64_t completion_tokens;
    int64_t total_tokens;
    int has_cost;
    double cost;
    int64_t unpriced_span_count;
    int has_started, has_ended; /* the trace has a start / end (0 is a time) */
    int64_t started_ns;
    int64_t ended_ns;
    int64_t latency_ms;
    char *error;        /* NULL when no error */
    int64_t error_count;
    char *name, *input, *output, *model;
    char *session_id, *user_id, *external_id;
    char *tags;     /* JSON array text, "[]" when none */
    char *tag_map;  /* JSON object text or NULL */
    char *metadata; /* JSON object text, "{}" when none */
    char *events;   /* JSON array text, "[]" when none */
    int closed;
    int64_t created_ns;
    int64_t updated_ns;
} ts_trace;

typedef struct ts_workspace {
    int64_t id;
    char uuid[TS_UUID_STRLEN + 1];
    char name[128];
    int64_t key_id;
} ts_workspace;

typedef struct ts_closure {
    char id[TS_UUID_STRLEN + 1];
    int64_t workspace_id;
    char trace_id[TS_ID_MAX + 1];
    int64_t created_ns;
    int64_t updated_ns;
} ts_closure;

typedef struct ts_key_info {
    int64_t id;
    char prefix[32];
    char workspace[128];
    int64_t created_ns;
    int64_t revoked_ns; /* 0 when active */
} ts_key_info;

#endif

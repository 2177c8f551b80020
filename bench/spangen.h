/* spangen.h: the benchmark's span content, shared by the load generator
 * (which encodes it as /spans-bulk JSON or OTLP protobuf) and the
 * SQLite-alone limit (which inserts the same values as rows). A request is
 * built once per variant as a template; per request only fixed-width id and
 * time fields are patched in place, so every span id is new (inserts, never
 * upserts) and no encoding work is done on the hot path. */
#ifndef TS_BENCH_SPANGEN_H
#define TS_BENCH_SPANGEN_H

#include <stddef.h>
#include <stdint.h>

typedef enum { SG_JSON = 0, SG_OTLP = 1 } sg_format;

#define SG_MODELS 4
#define SG_NOFF ((size_t)-1)

enum { SG_STR, SG_INT, SG_DBL };
typedef struct sg_attr {
    const char *key;
    int type;
    const char *s;
    int64_t i;
    double d;
} sg_attr;

/* Everything a span carries, before encoding. Strings are static. */
typedef struct sg_vals {
    int k;      /* index of the span inside its trace; 0 is the root */
    int is_llm; /* carries model, tokens, price (and log_request in JSON) */
    int is_err;
    const char *name;
    int kind; /* OTLP numbering: 1 internal, 3 client */
    const char *kind_json;
    const char *status_msg;
    sg_attr attrs[16];
    int nattrs;
    int nattrs_json; /* JSON spans leave out the message texts log_request carries */
    const char *provider, *model;
    int64_t in_tok, out_tok;
    double price;
    int64_t dur_ns;
} sg_vals;

extern const char *const sg_models[SG_MODELS];
extern const sg_attr sg_resource[];
extern const int sg_nresource;
extern const char *const sg_llm_input_json;  /* log_request.input */
extern const char *const sg_llm_output_json; /* log_request.output */

/* Fills v for span k of a trace whose model index is m; err marks the one
 * errored span of an error trace. */
void sg_span_vals(int k, int m, int err, sg_vals *v);

/* JSON text helpers used by both sides (so the stored text is identical). */
size_t sg_attrs_json(const sg_attr *a, int n, char *out, size_t cap);
size_t sg_resource_json(char *out, size_t cap);
size_t sg_log_request_json(const sg_vals *v, char *out, size_t cap);

typedef struct sg_tpl {
    unsigned char *body;
    size_t len;
    size_t *trace_off, *span_off, *parent_off, *start_off, *end_off; /* per span */
    int64_t *dur;                                                    /* per span */
    int *k;                                                          /* per span */
} sg_tpl;

/* A request family: n spans per request, spt spans per trace (n % spt == 0
 * or spt % n == 0). Request r holds spans r*n .. r*n+n-1; span g belongs
 * to trace g / spt. */
typedef struct sg_set {
    sg_format fmt;
    int n, spt, phases;
    uint32_t tag;
    int64_t base_ns;
    sg_tpl *tpl; /* [phases][SG_MODELS][2] */
} sg_set;

int sg_set_build(sg_set *s, sg_format fmt, int n, int spt, uint32_t tag);
void sg_set_free(sg_set *s);
const sg_tpl *sg_pick(const sg_set *s, uint64_t r);
/* Writes request r's ids and times into body (a copy of t->body). */
void sg_patch(const sg_set *s, const sg_tpl *t, unsigned char *body, uint64_t r);
/* Model index and error flag of trace t (same on both sides). */
int sg_trace_model(uint64_t t);
int sg_trace_err(uint64_t t);
/* The variant of request r: phase, model index and error flag (taken from
 * the request's first trace, so all requests of one trace agree). */
void sg_variant(const sg_set *s, uint64_t r, int *phase, int *m, int *err);
/* Index (within its trace) of the errored span of an error trace. */
int sg_err_k(int spt);
void sg_trace_hex(uint32_t tag, uint64_t t, char out[33]);
void sg_span_hex(uint32_t tag, uint64_t g, char out[17]);

/* The trace_dims rows of one trace as the writer keeps them: (dim, value)
 * -> count of the trace's spans holding the value (dim numbers of
 * store/jobs_common.h). Both limits (sqlite_limit, pg_limit) insert these. */
typedef struct sg_dim {
    int dim;
    char val[64];
    int64_t n;
} sg_dim;
typedef struct sg_dims {
    sg_dim row[64];
    int n;
} sg_dims;
/* Counts span v's values (parent_hex: its parent's id, NULL for the root). */
void sg_dims_add_span(sg_dims *d, const sg_vals *v, const char *parent_hex);

#endif

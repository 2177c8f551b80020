/* metrics.h: the pieces of the Prometheus text exposition (GET /metrics,
 * format 0.0.4): histograms of fixed buckets that any thread observes with
 * relaxed atomic adds (no lock, no allocation), and a writer for the text
 * format. Used by the HTTP layer, the store and the /metrics handler. */
#ifndef TS_METRICS_H
#define TS_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define TS_HIST_MAX 24

/* -DTS_NO_METRICS=ON, a benchmark build only (bench/run.sh's metrics rows),
 * compiles the counter bumps behind GET /metrics out, so that two release
 * builds side by side show what keeping them costs (/metrics then shows
 * zeros). Each bump site is guarded by TS_METRICS_ON, or uses
 * TS_METRIC_ADD (a relaxed atomic add). */
#ifdef TS_NO_METRICS
#define TS_METRICS_ON 0
#else
#define TS_METRICS_ON 1
#endif
#define TS_METRIC_ADD(p, n)                                                                        \
    do {                                                                                           \
        if (TS_METRICS_ON)                                                                         \
            atomic_fetch_add_explicit((p), (n), memory_order_relaxed);                             \
    } while (0)

/* A bucket layout: ascending upper bounds (inclusive, Prometheus `le`) in
 * the unit observed (ns or a count), and the divisor that turns that unit
 * into the exposed one (1e9: seconds; 1: a count). +Inf is implicit. */
typedef struct ts_hist_bounds {
    const int64_t *le;
    unsigned n;
    double scale;
} ts_hist_bounds;

extern const ts_hist_bounds ts_hist_request; /* request durations, ns: 100 us .. 10 s */
extern const ts_hist_bounds ts_hist_disk;    /* commit, sync, checkpoint, ns: 50 us .. 30 s */
extern const ts_hist_bounds ts_hist_jobs;    /* jobs per transaction: 1 .. 4096 */

typedef struct ts_hist {
    const ts_hist_bounds *bounds;
    _Atomic uint64_t b[TS_HIST_MAX + 1]; /* per bucket, not cumulative; last = +Inf */
    _Atomic uint64_t sum;
} ts_hist;

/* A copy of a histogram's counts (b[i] per bucket, not cumulative). */
typedef struct ts_hist_snap {
    const ts_hist_bounds *bounds; /* NULL: nothing observed into it (absent) */
    uint64_t b[TS_HIST_MAX + 1];
    uint64_t sum;
} ts_hist_snap;

void ts_hist_init(ts_hist *h, const ts_hist_bounds *bounds);
/* Thread-safe, lock-free: two relaxed atomic adds (none with TS_NO_METRICS). */
void ts_hist_observe(ts_hist *h, int64_t v);
void ts_hist_snap_get(const ts_hist *h, ts_hist_snap *out);

/* ---- text exposition writer ---- */

/* A growing buffer; after an allocation failure `oom` is set and further
 * writes are dropped. */
typedef struct ts_prom {
    char *buf;
    size_t len, cap;
    int oom;
} ts_prom;

void ts_prom_init(ts_prom *p);
void ts_prom_free(ts_prom *p);
/* Takes the text (malloc'd, NUL-terminated, *len bytes); NULL after oom. */
char *ts_prom_take(ts_prom *p, size_t *len);
/* `# HELP name help` and `# TYPE name type` (counter, gauge, histogram). */
void ts_prom_family(ts_prom *p, const char *name, const char *type, const char *help);
/* One sample. labels: `a="x",b="y"` (already escaped, see ts_prom_label)
 * or NULL. */
void ts_prom_u64(ts_prom *p, const char *name, const char *labels, uint64_t v);
void ts_prom_double(ts_prom *p, const char *name, const char *labels, double v);
/* name_bucket{labels,le=...} (cumulative), name_sum, name_count. */
void ts_prom_hist(ts_prom *p, const char *name, const char *labels, const ts_hist_snap *s);
/* Appends `name="value"` to out (cap bytes, NUL-terminated), preceded by a
 * comma when out is not empty, escaping \, " and newline as the format
 * requires. Returns 0, or -1 when it does not fit (out unchanged). */
int ts_prom_label(char *out, size_t cap, const char *name, const char *value);

#endif

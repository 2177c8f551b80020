/* price.h: the cost engine. A price table (per-million-token USD prices by
 * model) prices each LLM span once, at ingest. The built-in table is
 * config/prices.json embedded at build time; the config key price_file
 * replaces it. Model names are matched after normalisation: case, provider
 * prefixes ("openai/gpt-4o", "anthropic.claude-..."), and dated snapshot
 * suffixes ("gpt-4o-2024-08-06", "claude-3-5-sonnet@20240620"). */
#ifndef TS_COST_PRICE_H
#define TS_COST_PRICE_H

#include <stddef.h>

#include "tracestore/err.h"
#include "tracestore/model.h"

#define TS_PRICE_NAME_MAX 128

/* One model's prices in USD per million tokens. A rate < 0 is "not given":
 * cache reads and writes then cost the input rate, reasoning the output rate. */
typedef struct ts_price_entry {
    const char *model; /* as written in the table */
    const char *provider;
    double input, output, cache_read, cache_write, reasoning;
    const char *source, *date;
    const char *const *aliases; /* extra names, may be NULL */
    size_t naliases;
} ts_price_entry;

typedef struct ts_prices ts_prices;

/* Builds a table from n entries (copied). Duplicate names after
 * normalisation or negative/non-finite input/output prices are TS_EINVAL
 * naming the entry. */
int ts_prices_new(const ts_price_entry *e, size_t n, ts_prices **out, ts_err *err);
void ts_prices_free(ts_prices *p); /* NULL-safe */
size_t ts_prices_count(const ts_prices *p);

/* Parses the JSON price table format (see config/prices.json); in
 * src/codec/prices_json.c. */
int ts_prices_parse(const char *text, size_t len, ts_prices **out, ts_err *err);

/* Reads path (or the built-in table when path is NULL or empty). */
int ts_prices_load(const char *path, ts_prices **out, ts_err *err);

/* The process-wide table used by ingest: the built-in one until
 * ts_prices_set_active installs another (call before serving). Takes p. */
const ts_prices *ts_prices_active(void);
void ts_prices_set_active(ts_prices *p);

/* Normalises a model name for matching: lowercase, provider prefix and
 * deployment decorations removed. out has cap bytes. */
void ts_price_normalise(const char *model, char *out, size_t cap);

/* The entry for model, or NULL. Tries the normalised name, then strips one
 * snapshot suffix at a time (-YYYY-MM-DD, -YYYYMMDD, -MMDD, -NNN, -latest,
 * -vN) and tries again. */
const ts_price_entry *ts_prices_lookup(const ts_prices *p, const char *model);

/* Cost of the span's tokens at e's prices (USD). Returns 0 and leaves
 * *cost alone when the span reports no input or output tokens. Cached and
 * reasoning tokens are priced at their own rates and taken out of the
 * input/output counts they are part of, so they are never counted twice. */
int ts_price_cost(const ts_price_entry *e, const ts_span *s, double *cost);

/* Sets s->has_cost/cost/unpriced: the client's cost if it sent one, else
 * the table's price; an LLM span that cannot be priced is unpriced (null
 * cost), never $0. p may be NULL (everything unpriced). */
void ts_cost_apply(ts_span *s, const ts_prices *p);

#endif

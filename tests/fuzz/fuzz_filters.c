/* fuzz_filters.c: libFuzzer target for the trace list filters: every input
 * is decoded as a Respan list/bulk-delete body {"filters": {...}}
 * (codec/respan_ingest.c) and as a URL query string for TruLayer's
 * GET /v1/traces (codec/trulayer_query.c: filters, limit, cursor) and
 * Respan's sort_by. A cursor that decodes must survive a round trip. */
#include <stdlib.h>
#include <string.h>

#include "codec/respan_ingest.h"
#include "codec/trulayer_query.h"
#include "fuzz_common.h"
#include "tracestore/ids.h"

#define MAX_ARGS 32

typedef struct query {
    const char *k[MAX_ARGS], *v[MAX_ARGS];
    size_t n;
} query;

/* The first value of name, as libmicrohttpd's lookup gives it. */
static const char *get(void *ctx, const char *name)
{
    const query *q = ctx;
    for (size_t i = 0; i < q->n; i++)
        if (strcmp(q->k[i], name) == 0)
            return q->v[i];
    return NULL;
}

/* In-place URL decoding ('+' and %XX), as the HTTP layer does. */
static void unescape(char *s)
{
    char *o = s;
    for (; *s; s++) {
        if (*s == '+')
            *o++ = ' ';
        else if (*s == '%' && ts_hex_digit(s[1]) >= 0 && ts_hex_digit(s[2]) >= 0) {
            *o++ = (char)(ts_hex_digit(s[1]) * 16 + ts_hex_digit(s[2]));
            s += 2;
        } else
            *o++ = *s;
    }
    *o = '\0';
}

/* Splits buf ("k=v&k=v", NUL-terminated, modified) into q. */
static void split(char *buf, query *q)
{
    char *save = buf;
    q->n = 0;
    while (save && q->n < MAX_ARGS) {
        char *arg = save, *amp = strchr(save, '&'), *eq;
        if (amp)
            *amp = '\0';
        save = amp ? amp + 1 : NULL;
        if (!*arg)
            continue;
        eq = strchr(arg, '=');
        if (eq)
            *eq = '\0';
        unescape(arg);
        if (eq)
            unescape(eq + 1);
        q->k[q->n] = arg;
        q->v[q->n++] = eq ? eq + 1 : "";
    }
}

static void trulayer_list(query *qs, ts_arena *a)
{
    ts_tl_conds l = {.n = 0};
    ts_trace_query q = {.sort = TS_QS_STARTED, .desc = 1, .limit = 50};
    ts_err err;
    int has;
    int64_t limit, key, id, key2, id2;
    ts_trulayer_query_uint(get, qs, "limit", &has, &limit, &err);
    const char *cur = get(qs, "cursor");
    if (cur && ts_trulayer_cursor_decode(cur, &key, &id) == 0) {
        char *enc = ts_trulayer_cursor_encode(a, key, id);
        if (enc && (ts_trulayer_cursor_decode(enc, &key2, &id2) != 0 || key2 != key || id2 != id))
            __builtin_trap();
    }
    int rc = ts_trulayer_list_filters(get, qs, a, &l, &q, &err);
    if ((rc != TS_OK && rc != TS_EINVAL) || l.n > TS_TL_MAX_CONDS)
        abort();
    ts_respan_sort_decode(get(qs, "sort_by"), &q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ts_config cfg;
    ts_err err;
    ts_qcond *conds = NULL;
    size_t n = 0;
    int present = 0;
    query qs;
    ts_arena *a = ts_arena_new(16 * 1024);
    char *buf = malloc(size + 1);
    if (!a || !buf)
        goto out;
    fuzz_config(&cfg);
    int rc = ts_respan_body_filters((const char *)data, size, &cfg, a, &present, &conds, &n, &err);
    if (rc != TS_OK && rc != TS_EINVAL && rc != TS_ETOOBIG)
        abort();
    memcpy(buf, data, size);
    buf[size] = '\0';
    split(buf, &qs);
    trulayer_list(&qs, a);
out:
    free(buf);
    ts_arena_free(a);
    return 0;
}

/* json_util.c: see json_util.h. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/json_guard.h"
#include "codec/jsonw.h"
#include "codec/json_util.h"
#include "tracestore/timeutil.h"

int ts_json_parse(const char *body, size_t len, const ts_config *cfg, ts_arena *a, cJSON **out,
                  ts_err *err)
{
    const char *text;
    size_t tlen;
    const char *end = NULL;
    size_t longest = 0;
    int rc = ts_json_guard(body, len, (int)cfg->max_json_depth, a, &text, &tlen, &longest, err);

    *out = NULL;
    if (rc != TS_OK)
        return rc;
    cJSON *root = cJSON_ParseWithLengthOpts(text, tlen, &end, 0);
    if (!root) {
        size_t at = end && end >= text ? (size_t)(end - text) : 0;
        ts_err_set(err, TS_EINVAL, "invalid JSON body near byte %zu", at);
        ts_err_type(err, "json_invalid");
        return TS_EINVAL;
    }
    /* Only whitespace may follow the value. */
    for (size_t i = end ? (size_t)(end - text) : tlen; i < tlen; i++) {
        char c = text[i];
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
            cJSON_Delete(root);
            ts_err_set(err, TS_EINVAL, "invalid JSON body: trailing data at byte %zu", i);
            ts_err_type(err, "json_invalid");
            return TS_EINVAL;
        }
    }
    /* Decoded strings are no longer than written: walk the tree only when
     * one written string is longer than the limit. */
    if (longest > (size_t)cfg->max_string_bytes &&
        (rc = ts_json_check_strings(root, (size_t)cfg->max_string_bytes, err)) != TS_OK) {
        cJSON_Delete(root);
        return rc;
    }
    *out = root;
    return TS_OK;
}

int ts_json_check_strings(const cJSON *node, size_t max, ts_err *err)
{
    for (const cJSON *c = node; c; c = c->next) {
        if (c->string && strlen(c->string) > max)
            goto too_long;
        if (cJSON_IsString(c) && c->valuestring && strlen(c->valuestring) > max)
            goto too_long;
        if (c->child && ts_json_check_strings(c->child, max, err) != TS_OK)
            return TS_EINVAL;
    }
    return TS_OK;
too_long:
    ts_err_set(err, TS_EINVAL, "a string is longer than max_string_bytes (%zu)", max);
    ts_err_type(err, "string_too_long");
    return TS_EINVAL;
}

/* Every cJSON block carries a 16-byte header saying where it came from:
 * parsing a 1 MB body is ~40k small allocations, and from the request
 * arena they cost a pointer bump and need no free (cJSON_Delete becomes a
 * walk). Measured with callgrind: malloc/free/cJSON_Delete were about a
 * quarter of all instructions spent per ingested span. */
#define TAG_HEAP 0x68656170u
#define TAG_ARENA 0x6172656eu

typedef struct hook_hdr {
    uint64_t tag;
    uint64_t pad; /* keeps the user block 16-byte aligned */
} hook_hdr;

static void *hook_malloc(size_t n)
{
    ts_arena *a = ts_arena_current();
    hook_hdr *h = a ? ts_arena_alloc(a, n + sizeof(*h)) : malloc(n + sizeof(*h));
    if (!h)
        return NULL;
    h->tag = a ? TAG_ARENA : TAG_HEAP;
    return h + 1;
}

static void hook_free(void *p)
{
    if (!p)
        return;
    hook_hdr *h = (hook_hdr *)p - 1;
    if (h->tag == TAG_HEAP)
        free(h);
}

static int hooks_on;

void ts_json_init(void)
{
    cJSON_Hooks hk = {hook_malloc, hook_free};
    cJSON_InitHooks(&hk);
    hooks_on = 1;
}

/* Writes node as cJSON_PrintUnformatted would (the byte-identical number
 * and string rules are jsonw's), without its buffer growth by copying,
 * its second pass over every string and its sscanf per integer: printing
 * the free-form parts back was a quarter of a bulk span's decode. */
static void put_tree(ts_jsonw *w, const cJSON *n)
{
    switch (n->type & 0xff) {
    case cJSON_False:
        ts_jsonw_bool(w, 0);
        break;
    case cJSON_True:
        ts_jsonw_bool(w, 1);
        break;
    case cJSON_Number:
        ts_jsonw_double(w, n->valuedouble);
        break;
    case cJSON_String:
        ts_jsonw_str(w, n->valuestring ? n->valuestring : "");
        break;
    case cJSON_Raw:
        ts_jsonw_raw(w, n->valuestring ? n->valuestring : "", n->valuestring ? strlen(n->valuestring) : 0);
        break;
    case cJSON_Array:
        ts_jsonw_arr_begin(w);
        for (const cJSON *c = n->child; c; c = c->next)
            put_tree(w, c);
        ts_jsonw_arr_end(w);
        break;
    case cJSON_Object:
        ts_jsonw_obj_begin(w);
        for (const cJSON *c = n->child; c; c = c->next) {
            ts_jsonw_key(w, c->string ? c->string : "");
            put_tree(w, c);
        }
        ts_jsonw_obj_end(w);
        break;
    default:
        ts_jsonw_null(w);
    }
}

char *ts_json_print(const cJSON *node, ts_arena *a)
{
    ts_jsonw w;
    ts_jsonw_init(&w);
    put_tree(&w, node);
    char *r = ts_jsonw_take(&w, a);
    ts_jsonw_free(&w);
    return r;
}

char *ts_json_print_malloc(const cJSON *node)
{
    ts_jsonw w;
    size_t len;
    ts_jsonw_init(&w);
    put_tree(&w, node);
    return ts_jsonw_finish(&w, &len);
}

int ts_json_i64(const cJSON *item, int64_t *out)
{
    if (cJSON_IsNumber(item)) {
        double d = item->valuedouble;
        if (!isfinite(d) || d != floor(d) || fabs(d) >= 9007199254740992.0)
            return TS_EINVAL;
        *out = (int64_t)d;
        return TS_OK;
    }
    if (cJSON_IsString(item) && item->valuestring) {
        const char *s = item->valuestring;
        int neg = s[0] == '-';
        int64_t v;
        if (ts_time_parse_ns(s + neg, strlen(s + neg), &v) != TS_OK)
            return TS_EINVAL;
        *out = neg ? -v : v;
        return TS_OK;
    }
    return TS_EINVAL;
}

char *ts_json_str(const cJSON *item, ts_arena *a)
{
    return cJSON_IsString(item) && item->valuestring ? ts_arena_strdup(a, item->valuestring)
                                                     : NULL;
}

char *ts_json_text(const cJSON *item, ts_arena *a)
{
    if (!item || cJSON_IsNull(item))
        return NULL;
    if (cJSON_IsString(item))
        return ts_arena_strdup(a, item->valuestring);
    return ts_json_print(item, a);
}

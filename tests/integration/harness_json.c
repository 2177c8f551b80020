/* harness_json.c: JSON path checks, the /spans-bulk span builder and small
 * id/time helpers for the integration tests (see harness.h). */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE
#endif

#include "harness.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const cJSON *ts_jpath(const cJSON *root, const char *path)
{
    const cJSON *cur = root;
    const char *p = path;
    while (cur != NULL && *p != '\0') {
        char seg[256];
        size_t n = strcspn(p, ".");
        int numeric = n > 0;
        if (n >= sizeof seg)
            return NULL;
        memcpy(seg, p, n);
        seg[n] = '\0';
        for (size_t i = 0; i < n; i++)
            if (!isdigit((unsigned char)seg[i]))
                numeric = 0;
        if (cJSON_IsArray(cur)) {
            if (!numeric)
                return NULL;
            cur = cJSON_GetArrayItem(cur, (int)strtol(seg, NULL, 10));
        } else if (cJSON_IsObject(cur)) {
            cur = cJSON_GetObjectItemCaseSensitive(cur, seg);
        } else {
            return NULL;
        }
        p += n;
        if (*p == '.')
            p++;
    }
    return cur;
}

/* Compact rendering of o for messages (static buffer). */
static const char *show(const cJSON *o)
{
    static char out[1600];
    char *s = o != NULL ? cJSON_PrintUnformatted(o) : NULL;
    snprintf(out, sizeof out, "%.1500s", s != NULL ? s : "(null)");
    free(s);
    return out;
}

static const cJSON *need(const char *f, int l, const cJSON *o, const char *path)
{
    const cJSON *v = ts_jpath(o, path);
    if (v == NULL)
        ts_fail_at(f, l, "missing %s in %s", path, show(o));
    return v;
}

void ts_j_str_at(const char *f, int l, const cJSON *o, const char *path, const char *want)
{
    const cJSON *v = need(f, l, o, path);
    if (!cJSON_IsString(v) || strcmp(v->valuestring, want) != 0)
        ts_fail_at(f, l, "%s: want \"%s\", got %s in %s", path, want, show(v), show(o));
}

void ts_j_contains_at(const char *f, int l, const cJSON *o, const char *path, const char *needle)
{
    const cJSON *v = need(f, l, o, path);
    if (!cJSON_IsString(v) || strstr(v->valuestring, needle) == NULL)
        ts_fail_at(f, l, "%s: want a string containing \"%s\", got %s", path, needle, show(v));
}

static int is_int(const cJSON *v)
{
    return cJSON_IsNumber(v) && isfinite(v->valuedouble) && floor(v->valuedouble) == v->valuedouble;
}

void ts_j_int_at(const char *f, int l, const cJSON *o, const char *path, int64_t want)
{
    const cJSON *v = need(f, l, o, path);
    if (!is_int(v) || v->valuedouble != (double)want)
        ts_fail_at(f, l, "%s: want %" PRId64 ", got %s in %s", path, want, show(v), show(o));
}

void ts_j_num_at(const char *f, int l, const cJSON *o, const char *path, double want, double eps)
{
    const cJSON *v = need(f, l, o, path);
    if (!cJSON_IsNumber(v) || fabs(v->valuedouble - want) > eps)
        ts_fail_at(f, l, "%s: want %.12g, got %s in %s", path, want, show(v), show(o));
}

void ts_j_bool_at(const char *f, int l, const cJSON *o, const char *path, int want)
{
    const cJSON *v = need(f, l, o, path);
    if (!cJSON_IsBool(v) || (cJSON_IsTrue(v) ? 1 : 0) != (want ? 1 : 0))
        ts_fail_at(f, l, "%s: want %s, got %s in %s", path, want ? "true" : "false", show(v),
                   show(o));
}

void ts_j_null_at(const char *f, int l, const cJSON *o, const char *path)
{
    const cJSON *v = need(f, l, o, path);
    if (!cJSON_IsNull(v))
        ts_fail_at(f, l, "%s: want null, got %s", path, show(v));
}

void ts_j_absent_at(const char *f, int l, const cJSON *o, const char *path)
{
    const cJSON *v = ts_jpath(o, path);
    if (v != NULL)
        ts_fail_at(f, l, "%s: want absent, got %s", path, show(v));
}

void ts_j_null_or_absent_at(const char *f, int l, const cJSON *o, const char *path)
{
    const cJSON *v = ts_jpath(o, path);
    if (v != NULL && !cJSON_IsNull(v))
        ts_fail_at(f, l, "%s: want null or absent, got %s", path, show(v));
}

void ts_j_len_at(const char *f, int l, const cJSON *o, const char *path, int want)
{
    const cJSON *v = path[0] != '\0' ? need(f, l, o, path) : o;
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != want)
        ts_fail_at(f, l, "%s: want an array of %d, got %s", path, want, show(v));
}

void ts_j_type_at(const char *f, int l, const cJSON *o, const char *path, const char *type)
{
    const cJSON *v = need(f, l, o, path);
    int ok = 0;
    if (strcmp(type, "string") == 0)
        ok = cJSON_IsString(v);
    else if (strcmp(type, "number") == 0)
        ok = cJSON_IsNumber(v);
    else if (strcmp(type, "integer") == 0)
        ok = is_int(v);
    else if (strcmp(type, "object") == 0)
        ok = cJSON_IsObject(v);
    else if (strcmp(type, "array") == 0)
        ok = cJSON_IsArray(v);
    else if (strcmp(type, "bool") == 0)
        ok = cJSON_IsBool(v);
    else if (strcmp(type, "null") == 0)
        ok = cJSON_IsNull(v);
    if (!ok)
        ts_fail_at(f, l, "%s: want %s, got %s in %s", path, type, show(v), show(o));
}

/* RFC 3339 UTC with Z: YYYY-MM-DDTHH:MM:SS[.fff|.ffffff|.fffffffff]Z */
static int is_rfc3339z(const char *s)
{
    static const char pat[] = "dddd-dd-ddTdd:dd:dd";
    size_t n = strlen(s), i, frac = 0;
    if (n < 20)
        return 0;
    for (i = 0; pat[i] != '\0'; i++) {
        if (pat[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != pat[i])
            return 0;
    }
    if (s[i] == '.') {
        i++;
        while (isdigit((unsigned char)s[i])) {
            i++;
            frac++;
        }
        if (frac != 3 && frac != 6 && frac != 9)
            return 0;
    }
    return s[i] == 'Z' && s[i + 1] == '\0';
}

void ts_j_time_at(const char *f, int l, const cJSON *o, const char *path)
{
    const cJSON *v = need(f, l, o, path);
    if (!cJSON_IsString(v) || !is_rfc3339z(v->valuestring))
        ts_fail_at(f, l, "%s: want an RFC 3339 UTC time ending in Z, got %s", path, show(v));
}

static int is_uuid(const char *s)
{
    if (strlen(s) != 36)
        return 0;
    for (size_t i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!isxdigit((unsigned char)s[i])) {
            return 0;
        }
    }
    return 1;
}

void ts_j_uuid_at(const char *f, int l, const cJSON *o, const char *path)
{
    const cJSON *v = need(f, l, o, path);
    if (!cJSON_IsString(v) || !is_uuid(v->valuestring))
        ts_fail_at(f, l, "%s: want a UUID, got %s", path, show(v));
}

int64_t ts_j_getint_at(const char *f, int l, const cJSON *o, const char *path)
{
    const cJSON *v = need(f, l, o, path);
    if (!is_int(v))
        ts_fail_at(f, l, "%s: want an integer, got %s", path, show(v));
    return (int64_t)v->valuedouble;
}

const char *ts_j_getstr_at(const char *f, int l, const cJSON *o, const char *path)
{
    const cJSON *v = need(f, l, o, path);
    if (!cJSON_IsString(v))
        ts_fail_at(f, l, "%s: want a string, got %s", path, show(v));
    return v->valuestring;
}

/* ---- span builder ---- */

static void add_time(cJSON *o, const char *key, int64_t ns, int as_string)
{
    char num[32];
    snprintf(num, sizeof num, "%" PRId64, ns);
    if (as_string)
        cJSON_AddStringToObject(o, key, num);
    else
        cJSON_AddRawToObject(o, key, num);
}

static cJSON *chat(const char *role, const char *text)
{
    cJSON *p = cJSON_CreateObject(), *msgs, *m, *content, *block;
    cJSON_AddStringToObject(p, "type", "chat");
    msgs = cJSON_AddArrayToObject(p, "messages");
    m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", role);
    content = cJSON_AddArrayToObject(m, "content");
    block = cJSON_CreateObject();
    cJSON_AddStringToObject(block, "type", "text");
    cJSON_AddStringToObject(block, "text", text);
    cJSON_AddItemToArray(content, block);
    cJSON_AddItemToArray(msgs, m);
    cJSON_AddArrayToObject(p, "input_variables");
    return p;
}

cJSON *ts_span_json(const ts_span_spec *s)
{
    cJSON *o = cJSON_CreateObject(), *ctx, *st, *res;
    if (s->name != NULL)
        cJSON_AddStringToObject(o, "name", s->name);
    ctx = cJSON_AddObjectToObject(o, "context");
    if (s->trace_id != NULL)
        cJSON_AddStringToObject(ctx, "trace_id", s->trace_id);
    if (s->span_id != NULL)
        cJSON_AddStringToObject(ctx, "span_id", s->span_id);
    cJSON_AddStringToObject(ctx, "trace_state", "");
    cJSON_AddStringToObject(o, "kind", s->kind != NULL ? s->kind : "SpanKind.INTERNAL");
    if (s->parent_id != NULL)
        cJSON_AddStringToObject(o, "parent_id", s->parent_id);
    else if (s->parent_null)
        cJSON_AddNullToObject(o, "parent_id");
    add_time(o, "start_time", s->start_ns, s->times_as_strings);
    add_time(o, "end_time", s->end_ns, s->times_as_strings);
    st = cJSON_AddObjectToObject(o, "status");
    cJSON_AddStringToObject(st, "status_code",
                            s->status_code != NULL ? s->status_code : "StatusCode.OK");
    if (s->description != NULL)
        cJSON_AddStringToObject(st, "description", s->description);
    cJSON_AddObjectToObject(o, "attributes");
    if (s->events_null) {
        cJSON_AddNullToObject(o, "events");
        cJSON_AddNullToObject(o, "links");
    } else {
        cJSON_AddArrayToObject(o, "events");
        cJSON_AddArrayToObject(o, "links");
    }
    res = cJSON_AddObjectToObject(o, "resource");
    cJSON_AddObjectToObject(res, "attributes");
    cJSON_AddStringToObject(res, "schema_url", "");
    if (s->model != NULL) {
        cJSON *lr = cJSON_AddObjectToObject(o, "log_request");
        cJSON_AddStringToObject(lr, "provider", s->provider != NULL ? s->provider : "openai");
        cJSON_AddStringToObject(lr, "model", s->model);
        cJSON_AddItemToObject(lr, "input",
                              chat("user", s->input_text != NULL ? s->input_text : "hello"));
        cJSON_AddItemToObject(lr, "output",
                              chat("assistant", s->output_text != NULL ? s->output_text : "hi"));
        cJSON_AddNumberToObject(lr, "input_tokens", (double)s->input_tokens);
        cJSON_AddNumberToObject(lr, "output_tokens", (double)s->output_tokens);
        cJSON_AddNumberToObject(lr, "price", s->price);
    }
    return o;
}

char *ts_spans_body_from(cJSON *spans, int close_after)
{
    cJSON *root = cJSON_CreateObject();
    char *text;
    cJSON_AddItemToObject(root, "spans", spans);
    cJSON_AddBoolToObject(root, "close_after", close_after ? 1 : 0);
    text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    ck_assert_msg(text != NULL, "cJSON_PrintUnformatted failed");
    return text;
}

char *ts_spans_body(const ts_span_spec *specs, size_t n, int close_after)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, ts_span_json(&specs[i]));
    return ts_spans_body_from(arr, close_after);
}

/* ---- ids and times ---- */

void ts_iso_from_ns(int64_t ns, char *out, size_t cap)
{
    time_t secs = (time_t)(ns / 1000000000);
    long frac = (long)(ns % 1000000000);
    struct tm tm;
    char base[32];
    gmtime_r(&secs, &tm);
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    if (frac == 0)
        snprintf(out, cap, "%sZ", base);
    else if (frac % 1000000 == 0)
        snprintf(out, cap, "%s.%03ldZ", base, frac / 1000000);
    else if (frac % 1000 == 0)
        snprintf(out, cap, "%s.%06ldZ", base, frac / 1000);
    else
        snprintf(out, cap, "%s.%09ldZ", base, frac);
}

static uint64_t next_rand(void)
{
    static uint64_t state;
    if (state == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        state = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40);
        if (state == 0)
            state = 0x9e3779b97f4a7c15ULL;
    }
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

void ts_new_trace_id(char out[33])
{
    uint64_t a = next_rand(), b = next_rand();
    snprintf(out, 33, "%016" PRIx64 "%016" PRIx64, a, b);
}

void ts_new_span_id(char out[17])
{
    snprintf(out, 17, "%016" PRIx64, next_rand());
}

void ts_hex_to_uuid(const char *hex, char out[37])
{
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
    for (size_t i = 0; out[i] != '\0'; i++)
        out[i] = (char)tolower((unsigned char)out[i]);
}

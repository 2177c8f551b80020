/* track_request.c: see track_request.h. Lenient by design: the SDK sends
 * whatever the provider returned; only the types of the fields we use are
 * checked. */
#include <math.h>
#include <string.h>

#include "codec/json_util.h"
#include "codec/track_request.h"
#include "tracestore/ids.h"

static const cJSON *obj(const cJSON *o, const char *k)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsObject(it) ? it : NULL;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(it) ? it->valuestring : NULL;
}

/* A usage count, TS_TOKENS_ABSENT when missing or not a count; over
 * TS_TOKENS_MAX: TS_EINVAL naming it. */
static int tokens(const cJSON *usage, const char *k1, const char *k2, int64_t *out, ts_err *err)
{
    int64_t v;
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(usage, k1);
    const char *k = k1;
    if (!it) {
        it = cJSON_GetObjectItemCaseSensitive(usage, k2);
        k = k2;
    }
    *out = it && ts_json_i64(it, &v) == TS_OK && v >= 0 ? v : TS_TOKENS_ABSENT;
    if (*out != TS_TOKENS_ABSENT && !ts_tokens_ok(*out))
        return ts_err_set(err, TS_EINVAL, "request_response.usage.%s must be at most %lld", k,
                          (long long)TS_TOKENS_MAX);
    return TS_OK;
}

/* OpenAI: choices[0].message.content; Anthropic: content[0].text; else
 * the whole response as JSON. */
static char *output_text(const cJSON *resp, ts_arena *a)
{
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(resp, "choices");
    const cJSON *c0 = cJSON_IsArray(choices) ? cJSON_GetArrayItem(choices, 0) : NULL;
    const cJSON *msg = obj(c0, "message");
    if (msg && str(msg, "content"))
        return ts_arena_strdup(a, str(msg, "content"));
    if (c0 && str(c0, "text"))
        return ts_arena_strdup(a, str(c0, "text"));
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(resp, "content");
    const cJSON *b0 = cJSON_IsArray(content) ? cJSON_GetArrayItem(content, 0) : NULL;
    if (b0 && str(b0, "text"))
        return ts_arena_strdup(a, str(b0, "text"));
    return resp ? ts_json_text(resp, a) : NULL;
}

int ts_track_request_decode(const char *body, size_t len, const ts_config *cfg, ts_arena *a,
                            ts_track *t, char **api_key, ts_err *err)
{
    cJSON *root = NULL;
    int rc = ts_json_parse(body, len, cfg, a, &root, err);
    char canon[TS_ID_MAX + 1];

    memset(t, 0, sizeof(*t));
    t->prompt_tokens = t->completion_tokens = TS_TOKENS_ABSENT;
    *api_key = NULL;
    if (rc != TS_OK)
        return rc;
    if (!cJSON_IsObject(root)) {
        rc = ts_err_set(err, TS_EINVAL, "the body must be a JSON object");
        goto out;
    }
    *api_key = ts_arena_strdup(a, str(root, "api_key"));
    const cJSON *sid = cJSON_GetObjectItemCaseSensitive(root, "span_id");
    if (sid && !cJSON_IsNull(sid)) {
        if (!cJSON_IsString(sid) ||
            ts_id_canon(sid->valuestring, strlen(sid->valuestring), canon) != TS_OK) {
            rc = ts_err_set(err, TS_EINVAL, "span_id must be 1 to 128 printable ASCII characters");
            goto out;
        }
        t->span_id = ts_arena_strdup(a, sid->valuestring);
    }
    const cJSON *kw = obj(root, "kwargs"), *resp = obj(root, "request_response");
    const cJSON *usage = obj(resp, "usage");
    t->model = ts_arena_strdup(a, str(resp, "model") ? str(resp, "model") : str(kw, "model"));
    t->provider = ts_arena_strdup(a, str(root, "provider_type"));
    if (kw) {
        const cJSON *in = cJSON_GetObjectItemCaseSensitive(kw, "messages");
        if (!in)
            in = cJSON_GetObjectItemCaseSensitive(kw, "prompt");
        t->input = ts_json_text(in, a);
    }
    t->output = output_text(resp, a);
    if ((rc = tokens(usage, "prompt_tokens", "input_tokens", &t->prompt_tokens, err)) != TS_OK ||
        (rc = tokens(usage, "completion_tokens", "output_tokens", &t->completion_tokens, err)) !=
            TS_OK)
        goto out;
    const cJSON *price = cJSON_GetObjectItemCaseSensitive(root, "price");
    if (cJSON_IsNumber(price) && isfinite(price->valuedouble) && !ts_cost_ok(price->valuedouble) &&
        price->valuedouble > 0) {
        rc = ts_err_set(err, TS_EINVAL, "price must be at most 1e9 (USD)");
        goto out;
    }
    if (cJSON_IsNumber(price) && ts_cost_ok(price->valuedouble)) {
        t->has_cost = 1;
        t->cost = price->valuedouble;
    }
    /* The key is never stored. */
    cJSON_DeleteItemFromObjectCaseSensitive(root, "api_key");
    if (!(t->body = ts_json_print(root, a)))
        rc = TS_ENOMEM;
out:
    cJSON_Delete(root);
    return rc;
}

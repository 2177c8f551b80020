/* prices_json.c: the price table's JSON format (config/prices.json) ->
 * ts_prices. Strict: an unknown key in an entry, a missing price or a
 * wrong type is an error naming the entry, so a typo in an override file
 * stops the daemon instead of silently mispricing. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cost/price.h"
#include "tracestore/utf8.h"

static const char *const entry_keys[] = {"model",      "provider",    "input",     "output",
                                         "cache_read", "cache_write", "reasoning", "aliases",
                                         "source",     "date",        "note",      NULL};

static int bad(ts_err *err, int i, const char *model, const char *what)
{
    return ts_err_set(err, TS_EINVAL, "models[%d]%s%s%s: %s", i, model ? " (" : "",
                      model ? model : "", model ? ")" : "", what);
}

static int rate(const cJSON *o, const char *key, int required, double *out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    *out = -1;
    if (!it || cJSON_IsNull(it))
        return required ? -1 : 0;
    if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble) || it->valuedouble < 0)
        return -1;
    *out = it->valuedouble;
    return 0;
}

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(it) ? it->valuestring : NULL;
}

static int entry(const cJSON *o, int i, ts_price_entry *e, const char **names, ts_err *err)
{
    const cJSON *k;
    if (!cJSON_IsObject(o))
        return bad(err, i, NULL, "must be an object");
    memset(e, 0, sizeof(*e));
    e->model = str(o, "model");
    if (!e->model || !e->model[0])
        return bad(err, i, NULL, "\"model\" must be a non-empty string");
    cJSON_ArrayForEach(k, o)
    {
        int known = 0;
        for (int j = 0; entry_keys[j]; j++)
            known |= strcmp(k->string, entry_keys[j]) == 0;
        if (!known) {
            char what[160];
            snprintf(what, sizeof(what), "unknown key \"%.*s\"",
                     (int)ts_utf8_prefix(k->string, 100), k->string);
            return bad(err, i, e->model, what);
        }
    }
    if (rate(o, "input", 1, &e->input) || rate(o, "output", 1, &e->output))
        return bad(err, i, e->model,
                   "\"input\" and \"output\" must be numbers >= 0 (USD per 1M tokens)");
    if (rate(o, "cache_read", 0, &e->cache_read) || rate(o, "cache_write", 0, &e->cache_write) ||
        rate(o, "reasoning", 0, &e->reasoning))
        return bad(err, i, e->model,
                   "cache_read, cache_write and reasoning must be numbers >= 0 or null");
    e->provider = str(o, "provider");
    e->source = str(o, "source");
    e->date = str(o, "date");
    const cJSON *al = cJSON_GetObjectItemCaseSensitive(o, "aliases");
    if (al && !cJSON_IsArray(al))
        return bad(err, i, e->model, "\"aliases\" must be an array of strings");
    if (al) {
        int n = cJSON_GetArraySize(al), j = 0;
        const cJSON *a;
        e->aliases = names;
        cJSON_ArrayForEach(a, al)
        {
            if (!cJSON_IsString(a) || !a->valuestring[0])
                return bad(err, i, e->model, "\"aliases\" must be an array of strings");
            names[j++] = a->valuestring;
        }
        e->naliases = (size_t)n;
    }
    return TS_OK;
}

int ts_prices_parse(const char *text, size_t len, ts_prices **out, ts_err *err)
{
    ts_price_entry *ents = NULL;
    const char **names = NULL;
    int rc = TS_OK, i = 0;
    cJSON *root = cJSON_ParseWithLength(text, len);

    *out = NULL;
    const cJSON *models = cJSON_GetObjectItemCaseSensitive(root, "models");
    if (!root || !cJSON_IsObject(root)) {
        rc = ts_err_set(err, TS_EINVAL, "price table is not a JSON object");
        goto out;
    }
    if (!cJSON_IsArray(models)) {
        rc = ts_err_set(err, TS_EINVAL, "price table: \"models\" must be an array");
        goto out;
    }
    int n = cJSON_GetArraySize(models);
    size_t nnames = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, models)
    {
        const cJSON *al = cJSON_GetObjectItemCaseSensitive(m, "aliases");
        nnames += cJSON_IsArray(al) ? (size_t)cJSON_GetArraySize(al) : 0;
    }
    ents = calloc((size_t)n + 1, sizeof(*ents));
    names = calloc(nnames + 1, sizeof(*names));
    if (!ents || !names) {
        rc = ts_err_set(err, TS_ENOMEM, "out of memory");
        goto out;
    }
    size_t used = 0;
    cJSON_ArrayForEach(m, models)
    {
        if ((rc = entry(m, i, &ents[i], names + used, err)) != TS_OK)
            goto out;
        used += ents[i].naliases;
        i++;
    }
    rc = ts_prices_new(ents, (size_t)i, out, err);
out:
    free(ents);
    free(names);
    cJSON_Delete(root);
    return rc;
}

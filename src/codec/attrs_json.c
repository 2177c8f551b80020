/* attrs_json.c: see attrs_json.h. */
#include <math.h>
#include <string.h>

#include "codec/attrs_json.h"
#include "ingest/genai.h"
#include "tracestore/err.h"

static int to_value(const cJSON *j, ts_arena *a, ts_attr_value *v)
{
    memset(v, 0, sizeof(*v));
    if (cJSON_IsString(j)) {
        v->type = TS_AV_STR;
        v->s = j->valuestring;
    } else if (cJSON_IsBool(j)) {
        v->type = TS_AV_BOOL;
        v->b = cJSON_IsTrue(j);
    } else if (cJSON_IsNumber(j)) {
        double d = j->valuedouble;
        if (isfinite(d) && d == floor(d) && fabs(d) < 9007199254740992.0) {
            v->type = TS_AV_INT;
            v->i = (int64_t)d;
        } else {
            v->type = TS_AV_DOUBLE;
            v->d = d;
        }
    } else if (cJSON_IsArray(j)) {
        int n = cJSON_GetArraySize(j);
        const cJSON *it;
        v->type = TS_AV_ARRAY;
        if (n && !(v->items = ts_arena_alloc(a, (size_t)n * sizeof(*v->items))))
            return TS_ENOMEM;
        cJSON_ArrayForEach(it, j)
        {
            if (to_value(it, a, &v->items[v->nitems]) != TS_OK)
                return TS_ENOMEM;
            v->nitems++;
        }
    } else if (cJSON_IsObject(j)) {
        v->type = TS_AV_KVLIST;
        return ts_json_to_attrs(j, a, &v->kvs, &v->nkvs);
    }
    return TS_OK;
}

int ts_json_to_attrs(const cJSON *obj, ts_arena *a, ts_attr **out, size_t *n)
{
    const cJSON *it;
    *out = NULL;
    *n = 0;
    if (!cJSON_IsObject(obj))
        return TS_OK;
    int cnt = cJSON_GetArraySize(obj);
    if (cnt && !(*out = ts_arena_alloc(a, (size_t)cnt * sizeof(**out))))
        return TS_ENOMEM;
    cJSON_ArrayForEach(it, obj)
    {
        (*out)[*n].key = it->string;
        if (to_value(it, a, &(*out)[*n].v) != TS_OK)
            return TS_ENOMEM;
        (*n)++;
    }
    return TS_OK;
}

int ts_json_genai(const cJSON *span, ts_span *s, ts_arena *a)
{
    ts_genai_src src;
    ts_genai_event evs[64];
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(span, "resource");
    const cJSON *events = cJSON_GetObjectItemCaseSensitive(span, "events");
    const cJSON *e;
    int rc;

    memset(&src, 0, sizeof(src));
    src.events = evs;
    ts_attr *attrs, *rattrs;
    if ((rc = ts_json_to_attrs(cJSON_GetObjectItemCaseSensitive(span, "attributes"), a, &attrs,
                               &src.nattrs)) != TS_OK ||
        (rc = ts_json_to_attrs(cJSON_GetObjectItemCaseSensitive(res, "attributes"), a, &rattrs,
                               &src.nres)) != TS_OK)
        return rc;
    src.attrs = attrs;
    src.res_attrs = rattrs;
    if (cJSON_IsArray(events))
        cJSON_ArrayForEach(e, events)
        {
            ts_attr *ea;
            size_t ne;
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
            if (src.nevents == sizeof(evs) / sizeof(evs[0]))
                break;
            if (!cJSON_IsString(name))
                continue;
            if ((rc = ts_json_to_attrs(cJSON_GetObjectItemCaseSensitive(e, "attributes"), a, &ea,
                                       &ne)) != TS_OK)
                return rc;
            evs[src.nevents++] = (ts_genai_event){name->valuestring, ea, ne};
        }
    return ts_genai_apply(s, &src, a);
}

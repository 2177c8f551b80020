/* attrs_json.c: see attrs_json.h. */
#include <math.h>
#include <string.h>

#include "codec/attrs_json.h"
#include "ingest/genai.h"
#include "tracestore/err.h"

static int to_value(const ts_jtape *tp, ts_jt_ix j, ts_arena *a, ts_attr_value *v)
{
    memset(v, 0, sizeof(*v));
    switch (ts_jt_type(tp, j)) {
    case TS_JT_STRING:
        v->type = TS_AV_STR;
        return (v->s = ts_jt_str(tp, j, a)) ? TS_OK : TS_ENOMEM;
    case TS_JT_TRUE:
    case TS_JT_FALSE:
        v->type = TS_AV_BOOL;
        v->b = ts_jt_type(tp, j) == TS_JT_TRUE;
        return TS_OK;
    case TS_JT_NUMBER: {
        double d = 0;
        if (ts_jt_double(tp, j, &d) != TS_OK)
            return TS_ENOMEM;
        if (isfinite(d) && d == floor(d) && fabs(d) < 9007199254740992.0) {
            v->type = TS_AV_INT;
            v->i = (int64_t)d;
        } else {
            v->type = TS_AV_DOUBLE;
            v->d = d;
        }
        return TS_OK;
    }
    case TS_JT_ARRAY: {
        size_t n = ts_jt_count(tp, j);
        v->type = TS_AV_ARRAY;
        if (n && !(v->items = ts_arena_alloc(a, n * sizeof(*v->items))))
            return TS_ENOMEM;
        for (ts_jt_ix c = ts_jt_first(tp, j); c != TS_JT_NONE; c = ts_jt_next(tp, j, c)) {
            if (to_value(tp, c, a, &v->items[v->nitems]) != TS_OK)
                return TS_ENOMEM;
            v->nitems++;
        }
        return TS_OK;
    }
    case TS_JT_OBJECT:
        v->type = TS_AV_KVLIST;
        return ts_json_to_attrs(tp, j, a, &v->kvs, &v->nkvs);
    default:
        return TS_OK; /* null: an empty value */
    }
}

int ts_json_to_attrs(const ts_jtape *tp, ts_jt_ix obj, ts_arena *a, ts_attr **out, size_t *n)
{
    size_t cnt = ts_jt_type(tp, obj) == TS_JT_OBJECT ? ts_jt_count(tp, obj) : 0;
    *out = NULL;
    *n = 0;
    if (cnt && !(*out = ts_arena_alloc(a, cnt * sizeof(**out))))
        return TS_ENOMEM;
    for (ts_jt_ix c = ts_jt_first(tp, obj); cnt && c != TS_JT_NONE; c = ts_jt_next(tp, obj, c)) {
        if (!((*out)[*n].key = ts_jt_str(tp, c, a)) ||
            to_value(tp, c + 1, a, &(*out)[*n].v) != TS_OK)
            return TS_ENOMEM;
        (*n)++;
    }
    return TS_OK;
}

int ts_json_genai(const ts_jtape *tp, ts_jt_ix span, ts_span *s, ts_arena *a)
{
    ts_genai_src src;
    ts_genai_event evs[64];
    ts_jt_ix events = ts_jt_get(tp, span, "events");
    int rc;

    memset(&src, 0, sizeof(src));
    src.events = evs;
    ts_attr *attrs, *rattrs;
    if ((rc = ts_json_to_attrs(tp, ts_jt_get(tp, span, "attributes"), a, &attrs, &src.nattrs)) !=
            TS_OK ||
        (rc = ts_json_to_attrs(tp, ts_jt_get(tp, ts_jt_get(tp, span, "resource"), "attributes"),
                               a, &rattrs, &src.nres)) != TS_OK)
        return rc;
    src.attrs = attrs;
    src.res_attrs = rattrs;
    if (ts_jt_type(tp, events) == TS_JT_ARRAY)
        for (ts_jt_ix e = ts_jt_first(tp, events); e != TS_JT_NONE; e = ts_jt_next(tp, events, e)) {
            ts_attr *ea;
            size_t ne;
            ts_jt_ix name = ts_jt_get(tp, e, "name");
            const char *nm;
            if (src.nevents == sizeof(evs) / sizeof(evs[0]))
                break;
            if (ts_jt_type(tp, name) != TS_JT_STRING)
                continue;
            if (!(nm = ts_jt_str(tp, name, a)) ||
                (rc = ts_json_to_attrs(tp, ts_jt_get(tp, e, "attributes"), a, &ea, &ne)) != TS_OK)
                return TS_ENOMEM;
            evs[src.nevents++] = (ts_genai_event){nm, ea, ne};
        }
    return ts_genai_apply(s, &src, a);
}

/* api.h: the API layer. One file per surface (promptlayer.c, trulayer.c,
 * respan.c, health.c) decodes a request, calls the ingest service or the
 * store, and encodes the answer in its vendor's shape; common.c holds what
 * they share; routes.c is the one routing table. */
#ifndef TS_API_H
#define TS_API_H

#include <cjson/cJSON.h>

#include "codec/jsonw.h"
#include "http/server.h"
#include "tracestore/idmask.h"

extern const ts_route ts_routes[];

/* Renders an error in the shape of r's route family and sets it. */
void ts_api_error(ts_req *r, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Sets a JSON response; takes root. */
void ts_api_json(ts_req *r, int status, cJSON *root);
/* Sets the text written into w as a JSON response (w is left empty); a
 * 500 when w ran out of memory. */
void ts_api_jsonw(ts_req *r, int status, ts_jsonw *w);
/* Maps a status code from the store/codecs to an HTTP error, with msg. */
void ts_api_fail(ts_req *r, int rc, const char *msg);
/* Renders a failed async write (w->rc != TS_OK). */
void ts_api_write_failed(ts_req *r);
/* 0 when the Content-Type is absent or JSON; otherwise sets 415, returns -1. */
int ts_api_require_json(ts_req *r);
/* Sets r->write to an ingest of spans (prepared: ts_ingest_prepare) into
 * r's workspace, continued by cont after commit; callers add the options
 * of their surface (close_after, trace metas). Returns TS_H_ASYNC. */
int ts_api_ingest_job(ts_req *r, ts_span *spans, size_t n, ts_handler cont);
/* Canonical trace id from a path parameter; -1 (nothing set) if invalid. */
int ts_api_trace_id(const char *raw, char out[TS_ID_MAX + 1]);

/* JSON building helpers. NULL strings become JSON null. */
/* Times render as RFC 3339; 0 is 1970-01-01T00:00:00Z like any time. The
 * _opt forms render null when !has (a trace without spans has no start). */
void ts_api_add_time(cJSON *o, const char *key, int64_t ns);
void ts_api_add_time_opt(cJSON *o, const char *key, int has, int64_t ns);
void ts_api_add_str(cJSON *o, const char *key, const char *s);
void ts_api_add_raw(cJSON *o, const char *key, const char *json, const char *dflt);
void ts_api_add_i64(cJSON *o, const char *key, int64_t v);
/* r's workspace's id mask (tracestore/idmask.h): every integer row id a
 * response shows goes through ts_idmask_hide with it. */
void ts_api_idmask(const ts_req *r, ts_idmask *m);
/* Adds only when present (omitempty). */
void ts_api_add_str_opt(cJSON *o, const char *key, const char *s);
void ts_api_add_tokens_opt(cJSON *o, const char *key, int64_t v);

/* The same for a streaming writer: each writes a key and its value, byte
 * for byte what the cJSON helpers above print. put_raw uses dflt for NULL
 * and for "" (empty text is not JSON). */
void ts_api_put_time(ts_jsonw *w, const char *key, int64_t ns);
void ts_api_put_time_opt(ts_jsonw *w, const char *key, int has, int64_t ns);
void ts_api_put_str(ts_jsonw *w, const char *key, const char *s);
void ts_api_put_raw(ts_jsonw *w, const char *key, const char *json, const char *dflt);
void ts_api_put_i64(ts_jsonw *w, const char *key, int64_t v);
void ts_api_put_double(ts_jsonw *w, const char *key, double v);
void ts_api_put_str_opt(ts_jsonw *w, const char *key, const char *s);
void ts_api_put_tokens_opt(ts_jsonw *w, const char *key, int64_t v);

/* Route handlers. */
int ts_api_healthz(ts_req *r);
int ts_api_health(ts_req *r);
/* GET /metrics (metrics.c): Prometheus text, behind metrics_token. */
int ts_api_metrics(ts_req *r);
int ts_pl_spans_bulk(ts_req *r);
int ts_pl_get_trace(ts_req *r);
int ts_pl_close_trace(ts_req *r);
int ts_tl_get_trace(ts_req *r);
int ts_tl_ingest(ts_req *r);
int ts_tl_ingest_batch(ts_req *r);
int ts_tl_list_traces(ts_req *r);
int ts_tl_feedback(ts_req *r);
int ts_tl_metrics(ts_req *r);
int ts_tl_projects(ts_req *r);
int ts_pl_track_request(ts_req *r);
int ts_rs_ingest(ts_req *r);
int ts_rs_list_traces(ts_req *r);
int ts_rs_get_trace(ts_req *r);
int ts_rs_bulk_delete(ts_req *r);
int ts_rs_delete_trace(ts_req *r);
/* The web UI (ui.c): embedded files, the / redirect, and the UI's two
 * endpoints (the key's workspace, a trace's closed state). */
int ts_ui_index(ts_req *r);
int ts_ui_asset(ts_req *r);
int ts_ui_redirect(ts_req *r);
int ts_ui_workspace(ts_req *r);
int ts_ui_trace_state(ts_req *r);
/* OTLP/HTTP trace receiver (otlp.c), on every vendor's OTLP path. */
int ts_otlp_traces(ts_req *r);

#endif

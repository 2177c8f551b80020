/* track_request.h: decoder for PromptLayer's POST /track-request body
 * (promptlayer-api.md section 6): the LLM call the JS SDK reports for a
 * span, with the API key in the body. */
#ifndef TS_TRACK_REQUEST_H
#define TS_TRACK_REQUEST_H

#include <stddef.h>

#include "tracestore/arena.h"
#include "tracestore/config.h"
#include "tracestore/err.h"
#include "tracestore/store.h"

/* Fills t (strings in a) and *api_key (NULL when absent). The stored body
 * is the request without its api_key. Model, tokens, input and output come
 * from kwargs and request_response (OpenAI and Anthropic shapes). */
int ts_track_request_decode(const char *body, size_t len, const ts_config *cfg, ts_arena *a,
                            ts_track *t, char **api_key, ts_err *err);

#endif

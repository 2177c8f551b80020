/* fuzz_common.h: what every fuzz target shares: a configuration with small
 * limits (so the limit paths are reached) and the libFuzzer entry point's
 * declaration, which replay.c calls for every corpus file. */
#ifndef TS_FUZZ_COMMON_H
#define TS_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "tracestore/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline void fuzz_config(ts_config *cfg)
{
    ts_config_defaults(cfg);
    cfg->max_spans_per_request = 64;
    cfg->max_attributes_per_span = 32;
    cfg->max_string_bytes = 4096;
    cfg->max_json_depth = 16;
    cfg->max_body_bytes = 1 << 20;
}

#endif

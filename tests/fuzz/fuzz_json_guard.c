/* fuzz_json_guard.c: libFuzzer target for the JSON guard (codec/json_guard.c)
 * and guard + cJSON parse (codec/json_util.c) every JSON codec uses, plus
 * the string-length check and printer over whatever parses. */
#include <stdlib.h>

#include "codec/json_guard.h"
#include "codec/json_util.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ts_config cfg;
    ts_err err;
    const char *out = NULL;
    size_t outlen = 0;
    cJSON *root = NULL;
    ts_arena *a = ts_arena_new(16 * 1024);
    if (!a)
        return 0;
    fuzz_config(&cfg);
    size_t longest = 0;
    int rc = ts_json_guard((const char *)data, size, 16, a, &out, &outlen, &longest, &err);
    if (rc != TS_OK && rc != TS_EINVAL && rc != TS_ETOOBIG && rc != TS_ENOMEM)
        abort();
    if (rc == TS_OK && !out)
        abort();
    rc = ts_json_parse((const char *)data, size, &cfg, a, &root, &err);
    if (rc == TS_OK) {
        ts_json_check_strings(root, (size_t)cfg.max_string_bytes, &err);
        ts_json_print(root, a);
    }
    cJSON_Delete(root);
    ts_arena_free(a);
    return 0;
}

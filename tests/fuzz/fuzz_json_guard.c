/* fuzz_json_guard.c: libFuzzer target for the JSON guard (codec/json_guard.c)
 * and guard + cJSON parse (codec/json_util.c) every JSON codec uses, plus
 * the string-length check and printer over whatever parses; and, against
 * that as the reference, the one-pass tape reader (codec/jtape.c): what
 * the tape accepts, guard + cJSON accept too, and the tape's copy of it
 * is the same JSON value (cJSON is laxer about numbers and whitespace, so
 * the converse is not required). */
#include <stdlib.h>
#include <string.h>

#include "codec/json_guard.h"
#include "codec/json_util.h"
#include "codec/jtape.h"
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
    ts_jtape tp;
    int trc = ts_jtape_parse((const char *)data, size, &cfg, &tp, &err);
    if (trc == TS_OK) {
        const char *copy = ts_jt_json(&tp, 0, a);
        cJSON *back = copy ? cJSON_Parse(copy) : NULL;
        /* compared printed: cJSON_Compare never finds an infinity equal */
        const char *p1 = rc == TS_OK ? ts_json_print(root, a) : NULL;
        const char *p2 = back ? ts_json_print(back, a) : NULL;
        if (!p1 || !p2 || strcmp(p1, p2) != 0)
            abort();
        cJSON_Delete(back);
    } else if (trc != TS_EINVAL && trc != TS_ENOMEM) {
        abort();
    }
    ts_jtape_free(&tp);
    cJSON_Delete(root);
    ts_arena_free(a);
    return 0;
}

/* fuzz_gzip.c: libFuzzer target for the gzip request-body decoder
 * (codec/gzip.c) with a 1 MiB output cap. */
#include <stdlib.h>

#include "codec/gzip.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *out = NULL;
    size_t n = 0;
    ts_err err;
    int rc = ts_gunzip(data, size, 1 << 20, &out, &n, &err);
    if (rc == TS_OK && (!out || n > (1 << 20) || out[n] != '\0'))
        abort();
    if (rc != TS_OK && rc != TS_EINVAL && rc != TS_ETOOBIG)
        abort();
    free(out);
    return 0;
}

/* fuzz_prices.c: libFuzzer target for the price table decoder
 * (codec/prices_json.c) and the lookups over whatever it accepts. */
#include <string.h>

#include "cost/price.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ts_prices *p = NULL;
    ts_err err;
    if (ts_prices_parse((const char *)data, size, &p, &err) == TS_OK) {
        static const char *const names[] = {"gpt-4o", "openai/gpt-4o-2024-08-06",
                                            "us.anthropic.claude-3-5-sonnet-20240620-v1:0", "x"};
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
            ts_prices_lookup(p, names[i]);
    }
    ts_prices_free(p);
    /* the name normaliser on raw input */
    char name[256], out[TS_PRICE_NAME_MAX];
    size_t n = size < sizeof(name) - 1 ? size : sizeof(name) - 1;
    memcpy(name, data, n);
    name[n] = '\0';
    ts_price_normalise(name, out, sizeof(out));
    ts_prices_lookup(ts_prices_active(), name);
    return 0;
}

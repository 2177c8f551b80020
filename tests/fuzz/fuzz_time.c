/* fuzz_time.c: libFuzzer target for the time parsers (core/timeutil.c).
 * Beyond "no crash" it checks the round trip: whatever parses, formatted
 * with ts_time_format_iso and parsed back, is the same nanosecond; so is
 * any int64 taken from the input's first 8 bytes. The next 8 bytes and
 * those give ts_time_diff_ms two times to check against 128-bit math. */
#include <string.h>

#include "fuzz_common.h"
#include "tracestore/err.h"
#include "tracestore/timeutil.h"

static void round_trip(int64_t ns)
{
    char buf[TS_ISO_BUFSZ];
    int64_t back = 0;
    ts_time_format_iso(ns, buf);
    if (ts_time_parse_iso(buf, &back) != TS_OK || back != ns)
        __builtin_trap();
}

/* ts_time_diff_ms against 128-bit arithmetic. */
static void diff_ms(int64_t a, int64_t b)
{
    __int128 want = ((__int128)b - a) / 1000000;
    if (ts_time_diff_ms(a, b) != (int64_t)want)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char s[256];
    int64_t ns;
    size_t n = size < sizeof(s) - 1 ? size : sizeof(s) - 1;
    memcpy(s, data, n);
    s[n] = '\0';
    if (ts_time_parse_iso(s, &ns) == TS_OK)
        round_trip(ns);
    if (ts_time_parse_ns((const char *)data, size, &ns) == TS_OK)
        round_trip(ns);
    if (size >= 8) {
        uint64_t u;
        memcpy(&u, data, 8);
        round_trip((int64_t)u);
        if (size >= 16) {
            uint64_t v;
            memcpy(&v, data + 8, 8);
            diff_ms((int64_t)u, (int64_t)v);
        }
    }
    return 0;
}

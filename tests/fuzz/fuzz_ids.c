/* fuzz_ids.c: libFuzzer target for trace id handling (core/ids.c). Checks
 * the invariants the store relies on: canonicalisation is idempotent, the
 * UUID form of a 128-bit canonical id canonicalises back to it, and the
 * hex and UUID spellings (any case) of the same 128 bits give one key. */
#include <stdio.h>
#include <string.h>

#include "fuzz_common.h"
#include "tracestore/err.h"
#include "tracestore/ids.h"

static void canon_checks(const char *canon)
{
    char again[TS_ID_MAX + 1], uuid[TS_ID_MAX + 1], back[TS_ID_MAX + 1];
    if (ts_id_canon(canon, strlen(canon), again) != TS_OK || strcmp(again, canon) != 0)
        __builtin_trap();
    ts_id_to_uuid_form(canon, uuid);
    if (ts_id_is_hex128(canon) && !ts_uuid_valid(uuid))
        __builtin_trap();
    if (ts_id_canon(uuid, strlen(uuid), back) != TS_OK || strcmp(back, canon) != 0)
        __builtin_trap();
}

/* The 128 bits of b as 32 hex digits and as a UUID, case chosen by mask. */
static void spellings(const uint8_t b[16], uint8_t mask)
{
    char hex[33], uuid[37], c1[TS_ID_MAX + 1], c2[TS_ID_MAX + 1];
    size_t o = 0;
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, mask & 1 ? "%02X" : "%02x", b[i]);
    for (int i = 0; i < 32; i++) {
        if (i == 8 || i == 12 || i == 16 || i == 20)
            uuid[o++] = '-';
        uuid[o++] = hex[i];
        if (mask & 2 && hex[i] >= 'a')
            uuid[o - 1] = (char)(hex[i] - 'a' + 'A');
        else if (!(mask & 2) && hex[i] >= 'A' && hex[i] <= 'F')
            uuid[o - 1] = (char)(hex[i] - 'A' + 'a');
    }
    uuid[o] = '\0';
    if (!ts_uuid_valid(uuid) || ts_id_canon(hex, 32, c1) != TS_OK ||
        ts_id_canon(uuid, 36, c2) != TS_OK || strcmp(c1, c2) != 0 || !ts_id_is_hex128(c1))
        __builtin_trap();
    canon_checks(c1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char canon[TS_ID_MAX + 1], s[TS_ID_MAX + 2];
    if (ts_id_canon((const char *)data, size, canon) == TS_OK)
        canon_checks(canon);
    size_t n = size < sizeof(s) - 1 ? size : sizeof(s) - 1;
    memcpy(s, data, n);
    s[n] = '\0';
    if (ts_uuid_valid(s) && (ts_id_canon(s, strlen(s), canon) != TS_OK || !ts_id_is_hex128(canon)))
        __builtin_trap();
    if (size >= 17)
        spellings(data, data[16]);
    return 0;
}

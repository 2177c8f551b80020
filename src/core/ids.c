/* ids.c: trace id validation and canonicalisation. A 128-bit id written as
 * 32 hex digits or as a UUID (any case) is stored as 32 lowercase hex
 * digits so both spellings name the same trace; anything else printable is
 * kept verbatim. Also mints random v4 UUIDs via libuuid. */
#include "tracestore/ids.h"

#include <string.h>
#include <uuid/uuid.h>

#include "tracestore/err.h"

int ts_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int is_hex(char c)
{
    return ts_hex_digit(c) >= 0;
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Dash positions of the 8-4-4-4-12 text form. */
static int uuid_dash_at(size_t i)
{
    return i == 8 || i == 13 || i == 18 || i == 23;
}

static int uuid_valid_n(const char *s, size_t len)
{
    size_t i;

    if (len != TS_UUID_STRLEN)
        return 0;
    for (i = 0; i < len; i++) {
        if (uuid_dash_at(i) ? s[i] != '-' : !is_hex(s[i]))
            return 0;
    }
    return 1;
}

static int hex32_n(const char *s, size_t len)
{
    size_t i;

    if (len != 32)
        return 0;
    for (i = 0; i < len; i++)
        if (!is_hex(s[i]))
            return 0;
    return 1;
}

int ts_id_canon(const char *id, size_t len, char out[TS_ID_MAX + 1])
{
    size_t i, o = 0;

    if (!id || len == 0 || len > TS_ID_MAX)
        return TS_EINVAL;
    for (i = 0; i < len; i++)
        if (id[i] < 0x21 || id[i] > 0x7e)
            return TS_EINVAL;
    if (hex32_n(id, len) || uuid_valid_n(id, len)) {
        for (i = 0; i < len; i++)
            if (id[i] != '-')
                out[o++] = lower(id[i]);
        out[o] = '\0';
        return TS_OK;
    }
    memcpy(out, id, len);
    out[len] = '\0';
    return TS_OK;
}

int ts_id_is_hex128(const char *canon)
{
    size_t i;

    if (!canon)
        return 0;
    for (i = 0; i < 32; i++)
        if (!((canon[i] >= '0' && canon[i] <= '9') || (canon[i] >= 'a' && canon[i] <= 'f')))
            return 0;
    return canon[32] == '\0';
}

void ts_id_to_uuid_form(const char *canon, char out[TS_ID_MAX + 1])
{
    size_t i, o = 0, len;

    if (!canon) {
        out[0] = '\0';
        return;
    }
    if (!ts_id_is_hex128(canon)) {
        len = strnlen(canon, TS_ID_MAX);
        memcpy(out, canon, len);
        out[len] = '\0';
        return;
    }
    for (i = 0; i < 32; i++) {
        if (uuid_dash_at(o))
            out[o++] = '-';
        out[o++] = canon[i];
    }
    out[o] = '\0';
}

void ts_uuid_new(char out[TS_UUID_STRLEN + 1])
{
    uuid_t u;

    uuid_generate_random(u);
    uuid_unparse_lower(u, out);
}

int ts_uuid_valid(const char *s)
{
    return s && uuid_valid_n(s, strnlen(s, TS_UUID_STRLEN + 1));
}

uint64_t ts_str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

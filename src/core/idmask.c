/* idmask.c: the keyed permutation behind the ids the API shows
 * (tracestore/idmask.h). Feistel over 52 bits, SipHash-2-4 round function;
 * 0 is kept out of the range by cycle walking. */
#include "tracestore/idmask.h"

#include <sodium.h>

#define HALF_BITS 26
#define HALF_MASK ((UINT64_C(1) << HALF_BITS) - 1)
#define DOMAIN (UINT64_C(1) << (2 * HALF_BITS))
#define ROUNDS 8

void ts_idmask_init(ts_idmask *m, const unsigned char secret[TS_IDMASK_SECRET_LEN], int64_t ws_id)
{
    crypto_kdf_derive_from_key(m->key, sizeof(m->key), (uint64_t)ws_id, "tsidmask", secret);
}

static uint64_t round_f(const ts_idmask *m, ts_id_kind kind, int round, uint64_t half)
{
    unsigned char in[6], out[crypto_shorthash_BYTES];
    uint64_t v = 0;
    in[0] = (unsigned char)kind;
    in[1] = (unsigned char)round;
    for (int i = 0; i < 4; i++)
        in[2 + i] = (unsigned char)(half >> (8 * i));
    crypto_shorthash(out, in, sizeof(in), m->key);
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)out[i] << (8 * i);
    return v & HALF_MASK;
}

static uint64_t permute(const ts_idmask *m, ts_id_kind kind, uint64_t x)
{
    uint64_t l = x >> HALF_BITS, r = x & HALF_MASK;
    for (int i = 0; i < ROUNDS; i++) {
        uint64_t t = l ^ round_f(m, kind, i, r);
        l = r;
        r = t;
    }
    return l << HALF_BITS | r;
}

static uint64_t unpermute(const ts_idmask *m, ts_id_kind kind, uint64_t y)
{
    uint64_t l = y >> HALF_BITS, r = y & HALF_MASK;
    for (int i = ROUNDS - 1; i >= 0; i--) {
        uint64_t t = r ^ round_f(m, kind, i, l);
        r = l;
        l = t;
    }
    return l << HALF_BITS | r;
}

int64_t ts_idmask_hide(const ts_idmask *m, ts_id_kind kind, int64_t id)
{
    if (id < 1 || (uint64_t)id >= DOMAIN)
        return id;
    uint64_t y = permute(m, kind, (uint64_t)id);
    while (y == 0) /* a permutation of [1, 2^52): walk past 0 */
        y = permute(m, kind, y);
    return (int64_t)y;
}

int64_t ts_idmask_reveal(const ts_idmask *m, ts_id_kind kind, int64_t shown)
{
    if (shown < 1)
        return -1;
    if ((uint64_t)shown >= DOMAIN)
        return shown;
    uint64_t x = unpermute(m, kind, (uint64_t)shown);
    while (x == 0)
        x = unpermute(m, kind, x);
    return (int64_t)x;
}

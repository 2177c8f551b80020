/* idmask.h: the integer ids the API shows. Span and request-log ids,
 * /track-request's request_id, a closure's workspace_id and the positions
 * inside list cursors are row ids: counters shared by every workspace, so
 * shown as they are, the gap between two of a workspace's ids would tell how
 * much the others wrote in between. Each is shown through a keyed
 * pseudorandom permutation of [1, 2^52) instead (below 2^53, so a
 * JavaScript client reads it exactly): a Feistel network of 8 SipHash-2-4
 * rounds over two 26-bit halves, keyed per workspace (crypto_kdf from a
 * 32-byte server secret kept in the database) and tweaked per kind of id.
 * The same row always shows the same id; reveal inverts it where a client
 * passes an id back (cursors). Row ids from 2^52 up are shown unchanged
 * (the map stays one to one). Thread-safe: a ts_idmask is read-only. */
#ifndef TS_IDMASK_H
#define TS_IDMASK_H

#include <stdint.h>

#define TS_IDMASK_SECRET_LEN 32

typedef enum ts_id_kind {
    TS_ID_SPAN = 1,
    TS_ID_REQUEST_LOG = 2,
    TS_ID_TRACE_POS = 3,   /* the row id in a TruLayer trace list cursor */
    TS_ID_PROJECT_POS = 4, /* the row id in a TruLayer project list cursor */
    TS_ID_WORKSPACE = 5,
} ts_id_kind;

typedef struct ts_idmask {
    unsigned char key[16];
} ts_idmask;

/* The workspace's key from the server secret (libsodium crypto_kdf,
 * subkey id ws_id). */
void ts_idmask_init(ts_idmask *m, const unsigned char secret[TS_IDMASK_SECRET_LEN], int64_t ws_id);
/* The id shown for row id id (>= 1); id < 1 is returned unchanged. */
int64_t ts_idmask_hide(const ts_idmask *m, ts_id_kind kind, int64_t id);
/* The row id a shown id stands for; -1 for a value hide never returns
 * (< 1). */
int64_t ts_idmask_reveal(const ts_idmask *m, ts_id_kind kind, int64_t shown);

#endif

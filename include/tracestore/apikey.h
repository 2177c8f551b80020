/* apikey.h: API keys. A key is "ts_" followed by 48 hex digits (192 random
 * bits from libsodium). Only its BLAKE2b-256 hash and its first
 * TS_KEY_PREFIX_LEN characters are stored; lookups go by prefix and the
 * hash is compared in constant time. */
#ifndef TS_APIKEY_H
#define TS_APIKEY_H

#include <stddef.h>

#include "tracestore/model.h"
#include "tracestore/store.h"

#define TS_KEY_LEN 51
#define TS_KEY_PREFIX_LEN 12
#define TS_KEY_HASH_LEN 32

/* Process-wide init (libsodium). Returns TS_OK or TS_EIO. */
int ts_apikey_init(void);
/* Makes a new key: key (TS_KEY_LEN + 1 bytes), its prefix and hash. */
void ts_apikey_generate(char key[TS_KEY_LEN + 1], char prefix[TS_KEY_PREFIX_LEN + 1],
                        unsigned char hash[TS_KEY_HASH_LEN]);
void ts_apikey_hash(const char *key, size_t len, unsigned char hash[TS_KEY_HASH_LEN]);
/* Resolves a presented key to its workspace. TS_EAUTH for missing, unknown,
 * malformed or revoked keys; TS_EIO if the store fails. Same work whether
 * the prefix is known or not. */
int ts_apikey_authenticate(ts_store *s, const char *key, size_t len, ts_workspace *ws);
/* Creates workspace ws_name if needed plus a key; writes the key text. */
int ts_apikey_create(ts_store *s, const char *ws_name, char key[TS_KEY_LEN + 1],
                     ts_workspace *ws, ts_err *err);

#endif

/* apikey.c: API key generation, hashing and authentication. Keys are
 * random (libsodium), stored as BLAKE2b-256 hashes, looked up by their
 * public prefix and compared in constant time (sodium_memcmp). */
#include <sodium.h>
#include <string.h>

#include "tracestore/apikey.h"

int ts_apikey_init(void)
{
    return sodium_init() < 0 ? TS_EIO : TS_OK;
}

void ts_apikey_hash(const char *key, size_t len, unsigned char hash[TS_KEY_HASH_LEN])
{
    crypto_generichash(hash, TS_KEY_HASH_LEN, (const unsigned char *)key, len, NULL, 0);
}

void ts_apikey_generate(char key[TS_KEY_LEN + 1], char prefix[TS_KEY_PREFIX_LEN + 1],
                        unsigned char hash[TS_KEY_HASH_LEN])
{
    unsigned char raw[24];
    randombytes_buf(raw, sizeof(raw));
    memcpy(key, "ts_", 3);
    sodium_bin2hex(key + 3, TS_KEY_LEN - 3 + 1, raw, sizeof(raw));
    memcpy(prefix, key, TS_KEY_PREFIX_LEN);
    prefix[TS_KEY_PREFIX_LEN] = '\0';
    ts_apikey_hash(key, TS_KEY_LEN, hash);
    sodium_memzero(raw, sizeof(raw));
}

static int well_formed(const char *key, size_t len)
{
    if (len != TS_KEY_LEN || memcmp(key, "ts_", 3) != 0)
        return 0;
    for (size_t i = 3; i < len; i++) {
        char c = key[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return 0;
    }
    return 1;
}

int ts_apikey_authenticate(ts_store *s, const char *key, size_t len, ts_workspace *ws)
{
    ts_key_row rows[8];
    size_t n = 0;
    unsigned char hash[TS_KEY_HASH_LEN];
    char prefix[TS_KEY_PREFIX_LEN + 1];
    int found = 0;

    if (!key || !well_formed(key, len))
        return TS_EAUTH;
    memcpy(prefix, key, TS_KEY_PREFIX_LEN);
    prefix[TS_KEY_PREFIX_LEN] = '\0';
    ts_apikey_hash(key, len, hash);
    int rc = ts_store_key_candidates(s, prefix, rows, sizeof(rows) / sizeof(rows[0]), &n);
    if (rc != TS_OK)
        return rc;
    /* Compare against every candidate (and a dummy when there is none) so
     * the work does not depend on which part of the key was right. */
    static const unsigned char dummy[TS_KEY_HASH_LEN];
    volatile int sink = 0;
    if (n == 0)
        sink = sodium_memcmp(hash, dummy, TS_KEY_HASH_LEN);
    (void)sink;
    for (size_t i = 0; i < n; i++) {
        if (sodium_memcmp(hash, rows[i].hash, TS_KEY_HASH_LEN) == 0 && !rows[i].revoked &&
            !found) {
            *ws = rows[i].ws;
            found = 1;
        }
    }
    return found ? TS_OK : TS_EAUTH;
}

int ts_apikey_create(ts_store *s, const char *ws_name, char key[TS_KEY_LEN + 1],
                     ts_workspace *ws, ts_err *err)
{
    char prefix[TS_KEY_PREFIX_LEN + 1];
    unsigned char hash[TS_KEY_HASH_LEN];
    ts_write w;
    size_t n = strlen(ws_name);

    if (n == 0 || n >= sizeof(ws->name))
        return ts_err_set(err, TS_EINVAL, "workspace name must be 1 to %zu bytes",
                          sizeof(ws->name) - 1);
    ts_apikey_generate(key, prefix, hash);
    memset(&w, 0, sizeof(w));
    w.kind = TS_W_KEY_CREATE;
    w.ws_name = ws_name;
    w.key_prefix = prefix;
    w.key_hash = hash;
    int rc = ts_store_write_sync(s, &w);
    if (rc != TS_OK)
        return ts_err_set(err, rc, "cannot create key: %s", w.err.msg[0] ? w.err.msg : ts_strerror(rc));
    if (ws)
        *ws = w.ws;
    return TS_OK;
}

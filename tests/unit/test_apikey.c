/* test_apikey.c: unit tests for src/auth/apikey.c (key format, prefix,
 * hash, and authentication against a real temporary store: ok, wrong key
 * with the same prefix, revoked, malformed, empty). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tracestore/apikey.h"
#include "tracestore/config.h"
#include "tracestore/err.h"
#include "tracestore/log.h"
#include "tracestore/store.h"

static char dir[64];
static ts_store *store;

static void rm_db(void)
{
    static const char *const sfx[] = {"", "-wal", "-shm", "-journal", "-keys"};
    char p[128];

    for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
        snprintf(p, sizeof(p), "%s/ts.db%s", dir, sfx[i]);
        unlink(p);
    }
    rmdir(dir);
}

static void setup(void)
{
    ts_config cfg;
    ts_err err;

    ts_log_set_level(TS_LOG_ERROR);
    ck_assert_int_eq(ts_apikey_init(), TS_OK);
    snprintf(dir, sizeof(dir), "/tmp/ts_apikey_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ts_config_defaults(&cfg);
    snprintf(cfg.db_path, sizeof(cfg.db_path), "%s/ts.db", dir);
    cfg.read_connections = 2;
    ts_err_clear(&err);
    ck_assert_msg(ts_store_open(&cfg, &store, &err) == TS_OK, "open: %s", err.msg);
}

static void teardown(void)
{
    ts_store_close(store);
    store = NULL;
    rm_db();
}

static int is_lower_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

START_TEST(generate_format_and_prefix)
{
    char key[TS_KEY_LEN + 1], prefix[TS_KEY_PREFIX_LEN + 1];
    unsigned char hash[TS_KEY_HASH_LEN], again[TS_KEY_HASH_LEN];

    memset(key, 'X', sizeof(key));
    memset(prefix, 'X', sizeof(prefix));
    ts_apikey_generate(key, prefix, hash);
    ck_assert_uint_eq(strlen(key), TS_KEY_LEN);
    ck_assert_uint_eq(TS_KEY_LEN, 3 + 48);
    ck_assert(strncmp(key, "ts_", 3) == 0);
    for (size_t i = 3; i < TS_KEY_LEN; i++)
        ck_assert_msg(is_lower_hex(key[i]), "byte %zu of %s", i, key);
    ck_assert_uint_eq(strlen(prefix), TS_KEY_PREFIX_LEN);
    ck_assert(strncmp(prefix, key, TS_KEY_PREFIX_LEN) == 0);
    /* the hash handed out is the hash of the whole key text */
    ts_apikey_hash(key, strlen(key), again);
    ck_assert(memcmp(hash, again, TS_KEY_HASH_LEN) == 0);
}
END_TEST

START_TEST(generate_is_random)
{
    char k1[TS_KEY_LEN + 1], k2[TS_KEY_LEN + 1];
    char p1[TS_KEY_PREFIX_LEN + 1], p2[TS_KEY_PREFIX_LEN + 1];
    unsigned char h1[TS_KEY_HASH_LEN], h2[TS_KEY_HASH_LEN];

    ts_apikey_generate(k1, p1, h1);
    ts_apikey_generate(k2, p2, h2);
    ck_assert_str_ne(k1, k2);
    ck_assert(memcmp(h1, h2, TS_KEY_HASH_LEN) != 0);
}
END_TEST

START_TEST(hash_is_stable)
{
    unsigned char a[TS_KEY_HASH_LEN], b[TS_KEY_HASH_LEN], c[TS_KEY_HASH_LEN];
    const char *key = "ts_000102030405060708090a0b0c0d0e0f1011121314151617";
    /* BLAKE2b-256 of the key text: pinned, so a change of algorithm or
     * length (which would lock every existing key out) fails here. */
    static const unsigned char want[TS_KEY_HASH_LEN] = {
        0x34, 0xd3, 0xa4, 0x94, 0x0e, 0x56, 0xb9, 0xbb, 0xfb, 0xdf, 0x30,
        0xde, 0xd4, 0xe5, 0x51, 0xf1, 0x08, 0x87, 0xbe, 0x10, 0x5d, 0x31,
        0x8d, 0xbd, 0xd5, 0xbe, 0xdf, 0x0f, 0xc8, 0x56, 0x42, 0xfb};

    ts_apikey_hash(key, strlen(key), a);
    ck_assert(memcmp(a, want, TS_KEY_HASH_LEN) == 0);
    ts_apikey_hash(key, strlen(key), b);
    ck_assert(memcmp(a, b, TS_KEY_HASH_LEN) == 0);
    /* only len bytes count */
    ts_apikey_hash("ts_000102030405060708090a0b0c0d0e0f1011121314151617TRAILING", strlen(key), c);
    ck_assert(memcmp(a, c, TS_KEY_HASH_LEN) == 0);
    /* one character different, different hash */
    ts_apikey_hash("ts_000102030405060708090a0b0c0d0e0f1011121314151618", strlen(key), c);
    ck_assert(memcmp(a, c, TS_KEY_HASH_LEN) != 0);
}
END_TEST

static void create_key(const char *ws_name, char key[TS_KEY_LEN + 1], ts_workspace *ws)
{
    ts_err err;

    ts_err_clear(&err);
    ck_assert_msg(ts_apikey_create(store, ws_name, key, ws, &err) == TS_OK, "create: %s", err.msg);
}

static int auth(const char *key, size_t len, ts_workspace *ws)
{
    memset(ws, 0, sizeof(*ws));
    return ts_apikey_authenticate(store, key, len, ws);
}

START_TEST(authenticate_ok)
{
    char key[TS_KEY_LEN + 1], key2[TS_KEY_LEN + 1], key3[TS_KEY_LEN + 1];
    ts_workspace made, made2, made3, got;

    create_key("acme", key, &made);
    ck_assert_int_gt(made.id, 0);
    ck_assert_str_eq(made.name, "acme");
    ck_assert_int_eq(auth(key, strlen(key), &got), TS_OK);
    ck_assert_int_eq(got.id, made.id);
    ck_assert_str_eq(got.name, "acme");
    ck_assert_str_eq(got.uuid, made.uuid);
    ck_assert_int_eq(got.key_id, made.key_id);

    /* a second key for the same workspace, and a key for another one */
    create_key("acme", key2, &made2);
    create_key("other", key3, &made3);
    ck_assert_int_eq(made2.id, made.id);
    ck_assert_int_ne(made2.key_id, made.key_id);
    ck_assert_int_ne(made3.id, made.id);
    ck_assert_int_eq(auth(key2, strlen(key2), &got), TS_OK);
    ck_assert_int_eq(got.id, made.id);
    ck_assert_int_eq(got.key_id, made2.key_id);
    ck_assert_int_eq(auth(key3, strlen(key3), &got), TS_OK);
    ck_assert_int_eq(got.id, made3.id);
    ck_assert_str_eq(got.name, "other");
}
END_TEST

START_TEST(authenticate_wrong_key_same_prefix)
{
    char key[TS_KEY_LEN + 1], bad[TS_KEY_LEN + 1];
    ts_workspace made, got;

    create_key("acme", key, &made);
    memcpy(bad, key, sizeof(bad));
    bad[TS_KEY_LEN - 1] = bad[TS_KEY_LEN - 1] == '0' ? '1' : '0';
    ck_assert_int_eq(auth(bad, strlen(bad), &got), TS_EAUTH);
    ck_assert_int_eq(got.id, 0); /* nothing leaked into ws */
    /* just after the prefix */
    memcpy(bad, key, sizeof(bad));
    bad[TS_KEY_PREFIX_LEN] = bad[TS_KEY_PREFIX_LEN] == 'a' ? 'b' : 'a';
    ck_assert_int_eq(auth(bad, strlen(bad), &got), TS_EAUTH);
    /* unknown prefix */
    memcpy(bad, key, sizeof(bad));
    bad[5] = bad[5] == 'f' ? 'e' : 'f';
    ck_assert_int_eq(auth(bad, strlen(bad), &got), TS_EAUTH);
    /* the real key still works */
    ck_assert_int_eq(auth(key, strlen(key), &got), TS_OK);
}
END_TEST

static int64_t revoke_prefix(const char *prefix)
{
    ts_write w;

    memset(&w, 0, sizeof(w));
    w.kind = TS_W_KEY_REVOKE;
    w.key_prefix = prefix;
    ck_assert_int_eq(ts_store_write_sync(store, &w), TS_OK);
    return w.affected;
}

START_TEST(authenticate_revoked)
{
    char key[TS_KEY_LEN + 1], other[TS_KEY_LEN + 1], prefix[TS_KEY_PREFIX_LEN + 1];
    ts_workspace made, got;

    create_key("acme", key, &made);
    create_key("acme", other, &made);
    memcpy(prefix, key, TS_KEY_PREFIX_LEN);
    prefix[TS_KEY_PREFIX_LEN] = '\0';
    ck_assert_int_eq(auth(key, strlen(key), &got), TS_OK);
    ck_assert_int_eq(revoke_prefix(prefix), 1);
    ck_assert_int_eq(auth(key, strlen(key), &got), TS_EAUTH);
    /* revoking again changes nothing; other keys unaffected */
    ck_assert_int_eq(revoke_prefix(prefix), 0);
    ck_assert_int_eq(auth(other, strlen(other), &got), TS_OK);
}
END_TEST

START_TEST(authenticate_malformed)
{
    char key[TS_KEY_LEN + 1], bad[TS_KEY_LEN + 8];
    ts_workspace made, got;

    create_key("acme", key, &made);
    /* short: a valid key cut by one, and just the prefix */
    ck_assert_int_eq(auth(key, TS_KEY_LEN - 1, &got), TS_EAUTH);
    ck_assert_int_eq(auth(key, TS_KEY_PREFIX_LEN, &got), TS_EAUTH);
    /* long: the valid key plus one more hex digit */
    snprintf(bad, sizeof(bad), "%s0", key);
    ck_assert_int_eq(auth(bad, strlen(bad), &got), TS_EAUTH);
    /* non-hex in the body, upper-case hex, wrong prefix */
    memcpy(bad, key, TS_KEY_LEN + 1);
    bad[20] = 'g';
    ck_assert_int_eq(auth(bad, TS_KEY_LEN, &got), TS_EAUTH);
    memcpy(bad, key, TS_KEY_LEN + 1);
    for (size_t i = 3; i < TS_KEY_LEN; i++)
        if (bad[i] >= 'a' && bad[i] <= 'f')
            bad[i] = (char)(bad[i] - 'a' + 'A');
    if (strcmp(bad, key) != 0)
        ck_assert_int_eq(auth(bad, TS_KEY_LEN, &got), TS_EAUTH);
    memcpy(bad, key, TS_KEY_LEN + 1);
    bad[0] = 'T';
    ck_assert_int_eq(auth(bad, TS_KEY_LEN, &got), TS_EAUTH);
    memcpy(bad, key, TS_KEY_LEN + 1);
    bad[2] = '-';
    ck_assert_int_eq(auth(bad, TS_KEY_LEN, &got), TS_EAUTH);
    memcpy(bad, "pk_", 3);
    ck_assert_int_eq(auth(bad, TS_KEY_LEN, &got), TS_EAUTH);
    /* an embedded NUL inside the stated length */
    memcpy(bad, key, TS_KEY_LEN + 1);
    bad[30] = '\0';
    ck_assert_int_eq(auth(bad, TS_KEY_LEN, &got), TS_EAUTH);
    /* a space or newline around a correct key */
    snprintf(bad, sizeof(bad), " %s", key);
    ck_assert_int_eq(auth(bad, strlen(bad), &got), TS_EAUTH);
    snprintf(bad, sizeof(bad), "%s\n", key);
    ck_assert_int_eq(auth(bad, strlen(bad), &got), TS_EAUTH);
    ck_assert_int_eq(got.id, 0);
}
END_TEST

START_TEST(authenticate_empty)
{
    ts_workspace got;

    ck_assert_int_eq(auth("", 0, &got), TS_EAUTH);
    ck_assert_int_eq(auth(NULL, 0, &got), TS_EAUTH);
    ck_assert_int_eq(auth("ts_", 3, &got), TS_EAUTH);
    /* a well-formed key in an empty store */
    ck_assert_int_eq(auth("ts_000102030405060708090a0b0c0d0e0f1011121314151617", TS_KEY_LEN, &got),
                     TS_EAUTH);
}
END_TEST

START_TEST(create_rejects_bad_workspace_names)
{
    char key[TS_KEY_LEN + 1], name[200];
    ts_workspace ws;
    ts_err err;
    int64_t n = -1;

    ts_err_clear(&err);
    ck_assert_int_eq(ts_apikey_create(store, "", key, &ws, &err), TS_EINVAL);
    memset(name, 'w', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    ck_assert_int_eq(ts_apikey_create(store, name, key, &ws, &err), TS_EINVAL);
    name[sizeof(ws.name)] = '\0'; /* 128 bytes: one too many */
    ck_assert_int_eq(ts_apikey_create(store, name, key, &ws, &err), TS_EINVAL);
    ck_assert_int_eq(ts_store_workspace_count(store, &n), TS_OK);
    ck_assert_int_eq(n, 0);
    name[sizeof(ws.name) - 1] = '\0'; /* 127: fits */
    create_key(name, key, &ws);
    ck_assert_str_eq(ws.name, name);
}
END_TEST

static Suite *apikey_suite(void)
{
    Suite *s = suite_create("apikey");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, generate_format_and_prefix);
    tcase_add_test(tc, generate_is_random);
    tcase_add_test(tc, hash_is_stable);
    tcase_add_test(tc, authenticate_ok);
    tcase_add_test(tc, authenticate_wrong_key_same_prefix);
    tcase_add_test(tc, authenticate_revoked);
    tcase_add_test(tc, authenticate_malformed);
    tcase_add_test(tc, authenticate_empty);
    tcase_add_test(tc, create_rejects_bad_workspace_names);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(apikey_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* test_utf8_cuts.c: every place that shortens text on its way to a response
 * cuts on a UTF-8 character boundary (issue 23 point 5). Each case puts a
 * two-byte character across the cut's byte limit and checks that the answer
 * is valid UTF-8 and still carries the text before the cut: Respan's
 * span_name cap (and every read and list of the workspace afterwards), the
 * echoes of client text in error messages ("%.Ns"), and the bounded message
 * buffers (ts_err's 256 bytes, the API error's 512). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static ts_daemon D;

/* RFC 3629 validity (no overlongs, surrogates or values over U+10FFFF). */
static int utf8_valid(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = p[i], lo = 0x80, hi = 0xBF;
        size_t k;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            k = 2;
        else if (c >= 0xE0 && c <= 0xEF)
            k = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
        else if (c >= 0xF0 && c <= 0xF4)
            k = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
        else
            return 0;
        if (i + k > n || p[i + 1] < lo || p[i + 1] > hi)
            return 0;
        for (size_t j = 2; j < k; j++)
            if ((p[i + j] & 0xC0) != 0x80)
                return 0;
        i += k;
    }
    return 1;
}

/* Fails unless r is answered want with a valid UTF-8 body that contains
 * needle (NULL: not checked). Frees r. */
static void expect_valid_at(const char *file, int line, const char *what, ts_resp *r, long want,
                            const char *needle)
{
    if (r->status != want)
        ts_fail_at(file, line, "%s: want %ld, got %ld: %.400s", what, want, r->status, r->body);
    if (!utf8_valid((const unsigned char *)r->body, r->len))
        ts_fail_at(file, line, "%s: the answer is not valid UTF-8: %.600s", what, r->body);
    if (needle && !strstr(r->body, needle))
        ts_fail_at(file, line, "%s: '%s' missing from %.600s", what, needle, r->body);
    ts_json(r); /* and it parses */
    ts_resp_free(r);
}
#define EXPECT_VALID(what, r, want, needle)                                                        \
    expect_valid_at(__FILE__, __LINE__, (what), (r), (want), (needle))

/* n ASCII 'a's then "é" (C3 A9), so the character spans bytes n and n+1. */
static char *ascii_then_e(size_t n, char a)
{
    char *s = malloc(n + 3);
    ck_assert_ptr_nonnull(s);
    memset(s, a, n);
    memcpy(s + n, "\xc3\xa9", 3);
    return s;
}

/* The same with the "é" percent-encoded, for a URL. */
static char *ascii_then_e_pct(size_t n, char a)
{
    char *s = malloc(n + 7);
    ck_assert_ptr_nonnull(s);
    memset(s, a, n);
    memcpy(s + n, "%C3%A9", 7);
    return s;
}

static void up(void)
{
    ts_d_init(&D, 1, NULL);
    ts_d_start(&D);
}

static void down(void)
{
    ts_d_free(&D);
}

/* Respan keeps span_name in a varchar(255): 255 characters. 254 ASCII
 * bytes and a two-byte character were cut at byte 255, which left half a
 * character in every read and list of the workspace. */
START_TEST(test_respan_span_name_cap)
{
    char body[4096], e300[601], want255[511];
    char *n254 = ascii_then_e(254, 'n');
    for (int i = 0; i < 300; i++)
        memcpy(e300 + 2 * i, "\xc3\xa9", 2);
    e300[600] = '\0';
    memcpy(want255, e300, 510);
    want255[510] = '\0';
    snprintf(body, sizeof body,
             "[{\"trace_unique_id\":\"utf8-cut-1\",\"span_unique_id\":\"s1\",\"span_name\":\"%s\","
             "\"start_time\":\"2024-01-01T00:00:00Z\",\"timestamp\":\"2024-01-01T00:00:01Z\"},"
             "{\"trace_unique_id\":\"utf8-cut-2\",\"span_unique_id\":\"s2\",\"span_name\":\"%s\","
             "\"start_time\":\"2024-01-01T00:00:00Z\",\"timestamp\":\"2024-01-01T00:00:01Z\"}]",
             n254, e300);
    EXPECT_VALID("ingest", ts_req("POST", "/api/v1/traces/ingest", D.key_alpha, body), 200, NULL);

    ts_resp *r = ts_req("GET", "/api/traces/utf8-cut-1/", D.key_alpha, NULL);
    TS_J_STR(ts_json(r), "span_tree.0.span_name", n254); /* 255 characters: kept whole */
    EXPECT_VALID("GET trace 1", r, 200, NULL);
    r = ts_req("GET", "/api/traces/utf8-cut-2/", D.key_alpha, NULL);
    TS_J_STR(ts_json(r), "span_tree.0.span_name", want255); /* 300 characters: the first 255 */
    EXPECT_VALID("GET trace 2", r, 200, NULL);
    EXPECT_VALID("Respan list", ts_req("POST", "/api/traces/list/", D.key_alpha, "{}"), 200, n254);
    EXPECT_VALID("TruLayer list", ts_req("GET", "/v1/traces", D.key_alpha, NULL), 200, NULL);
    EXPECT_VALID("TruLayer GET", ts_req("GET", "/v1/traces/utf8-cut-1", D.key_alpha, NULL), 200,
                 NULL);
    EXPECT_VALID("PromptLayer GET",
                 ts_req("GET", "/api/public/v2/traces/utf8-cut-2", D.key_alpha, NULL), 200, NULL);
    free(n254);
}
END_TEST

/* Client text echoed in an error message with a byte bound ("%.Ns"). */
START_TEST(test_error_echoes)
{
    char body[2048], path[512], h1[256], h2[256];
    const char *hs[3] = {h1, h2, NULL};
    char *s, *want;

    /* Respan filter operator, echoed up to 40 bytes */
    s = ascii_then_e(39, 'o');
    snprintf(body, sizeof body, "{\"filters\":{\"span_name\":{\"operator\":\"%s\",\"value\":[1]}}}",
             s);
    s[39] = '\0';
    EXPECT_VALID("Respan operator", ts_req("POST", "/api/traces/list/", D.key_alpha, body), 400, s);
    free(s);

    /* Respan list times, echoed up to 64 bytes */
    s = ascii_then_e_pct(63, 't');
    snprintf(path, sizeof path, "/api/traces/list/?start_time=%s", s);
    s[63] = '\0';
    EXPECT_VALID("Respan start_time", ts_req("GET", path, D.key_alpha, NULL), 400, s);
    free(s);

    /* TruLayer list arguments, echoed up to 40 bytes: an integer and a time */
    s = ascii_then_e_pct(39, '1');
    snprintf(path, sizeof path, "/v1/traces?latency_min=%s", s);
    s[39] = '\0';
    EXPECT_VALID("TruLayer latency_min", ts_req("GET", path, D.key_alpha, NULL), 400, s);
    free(s);
    s = ascii_then_e_pct(39, '2');
    snprintf(path, sizeof path, "/v1/traces?from=%s", s);
    s[39] = '\0';
    EXPECT_VALID("TruLayer from", ts_req("GET", path, D.key_alpha, NULL), 400, s);
    free(s);

    /* Content-Type and Content-Encoding on a JSON route (100 and 64 bytes)
     * and on an OTLP route (100 and 60 bytes) */
    snprintf(h1, sizeof h1, "X-API-KEY: %s", D.key_alpha);
    static const struct {
        const char *what, *path, *header;
        size_t at;
    } hdr[] = {
        {"JSON Content-Type", "/spans-bulk", "Content-Type", 100},
        {"JSON Content-Encoding", "/spans-bulk", "Content-Encoding", 64},
        {"OTLP Content-Type", "/v1/traces", "Content-Type", 100},
        {"OTLP Content-Encoding", "/v1/traces", "Content-Encoding", 60},
    };
    for (size_t i = 0; i < sizeof hdr / sizeof hdr[0]; i++) {
        s = ascii_then_e(hdr[i].at - 1, 'c');
        snprintf(h2, sizeof h2, "%s: %s", hdr[i].header, s);
        s[hdr[i].at - 1] = '\0';
        if (strcmp(hdr[i].what, "OTLP Content-Encoding") == 0) /* the type must pass first */
            snprintf(h1, sizeof h1, "X-API-KEY: %s\r\nContent-Type: application/json", D.key_alpha);
        EXPECT_VALID(hdr[i].what, ts_http("POST", hdr[i].path, hs, "{}", 2), 415, s);
        free(s);
    }
    snprintf(h1, sizeof h1, "X-API-KEY: %s", D.key_alpha);

    /* OTLP JSON enum value, echoed up to 60 bytes */
    s = ascii_then_e(59, 'k');
    snprintf(body, sizeof body,
             "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":"
             "\"0123456789abcdef0123456789abcdef\",\"spanId\":\"0123456789abcdef\",\"name\":\"n\","
             "\"kind\":\"%s\",\"startTimeUnixNano\":\"1\",\"endTimeUnixNano\":\"2\"}]}]}]}",
             s);
    s[59] = '\0';
    want = s;
    snprintf(h2, sizeof h2, "Content-Type: application/json");
    EXPECT_VALID("OTLP enum", ts_http("POST", "/v1/traces", hs, body, strlen(body)), 400, want);
    free(s);
}
END_TEST

/* Messages cut at their buffer's size: ts_err's 256 bytes (a Respan filter
 * key of many two-byte characters) and the API error's 512 (a long path:
 * "no route for GET /no/x" is 22 bytes, so byte 511 splits a character). */
START_TEST(test_bounded_messages)
{
    char key[1024] = "", body[2048], path[4096] = "/no/x";
    for (int i = 0; i < 300; i++)
        strcat(key, "\xc3\xa9");
    /* "Invalid parameters or filters: metadata__x" is 42 bytes: the 255th
     * byte of the message is the first half of a character */
    snprintf(body, sizeof body, "{\"filters\":{\"metadata__x%s\":5}}", key);
    EXPECT_VALID("filter key in a 256-byte message",
                 ts_req("POST", "/api/traces/list/", D.key_alpha, body), 400,
                 "filters: metadata__x\xc3\xa9");
    for (int i = 0; i < 400; i++)
        strcat(path, "%C3%A9");
    EXPECT_VALID("path in a 512-byte message", ts_req("GET", path, D.key_alpha, NULL), 404,
                 "no route for GET /no/x");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("integration-utf8-cuts");
    TCase *tc = tcase_create("cuts");
    tcase_add_unchecked_fixture(tc, up, down);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_respan_span_name_cap);
    tcase_add_test(tc, test_error_echoes);
    tcase_add_test(tc, test_bounded_messages);
    suite_add_tcase(s, tc);
    return ts_it_run(s);
}

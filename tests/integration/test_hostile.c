/* test_hostile.c: the hostile-input table. Malformed, oversized and lying
 * requests are sent over raw sockets (so framing itself can lie), each must
 * get its documented 4xx — never a 5xx, a crash or a hang — and afterwards
 * the daemon must still be healthy with its peak memory inside a bound. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define MAX_BODY 65536
#define MAX_STRING 4096

static ts_daemon d;
static int ncases;

/* Sends raw bytes, returns the status of the first response (0 when the
 * connection closed without one). Fails if nothing happens within 8 s. */
static int raw_status(const char *raw, size_t len)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0), status = 0;
    char buf[4096] = "";
    size_t got = 0;
    struct timespec t0, t1;

    ck_assert_int_ge(fd, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)d.port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    for (size_t off = 0; off < len;) {
        ssize_t n = send(fd, raw + off, len - off, MSG_NOSIGNAL);
        if (n <= 0)
            break; /* the server may answer and close before reading it all */
        off += (size_t)n;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        clock_gettime(CLOCK_MONOTONIC, &t1);
        int left = 8000 - (int)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
        ck_assert_msg(left > 0, "no answer within 8 s (hang)");
        if (poll(&p, 1, left) <= 0)
            continue;
        ssize_t n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
        buf[got] = '\0';
        /* Skip an interim "100 Continue" to the final status line. */
        const char *line = buf;
        if (strncmp(buf, "HTTP/1.1 100", 12) == 0) {
            const char *end = strstr(buf, "\r\n\r\n");
            line = end ? end + 4 : buf + got;
        }
        if (strstr(line, "\r\n") || got == sizeof(buf) - 1)
            break;
    }
    close(fd);
    const char *line = buf;
    if (strncmp(buf, "HTTP/1.1 100", 12) == 0 && strstr(buf, "\r\n\r\n"))
        line = strstr(buf, "\r\n\r\n") + 4;
    if (strlen(line) > 12 && strncmp(line, "HTTP/1.", 7) == 0)
        status = atoi(line + 9);
    return status;
}

/* Builds a request with a correct Content-Length unless hdrs sets one. */
static char *build(const char *method, const char *path, const char *hdrs, const char *body,
                   size_t blen, size_t *len)
{
    size_t cap = strlen(path) + (hdrs ? strlen(hdrs) : 0) + blen + 512;
    char *r = malloc(cap);
    ck_assert_ptr_nonnull(r);
    int n = snprintf(r, cap, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s",
                     method, path, hdrs ? hdrs : "");
    if (!hdrs || !strstr(hdrs, "Content-Length") )
        n += snprintf(r + n, cap - (size_t)n, "Content-Length: %zu\r\n", blen);
    n += snprintf(r + n, cap - (size_t)n, "\r\n");
    memcpy(r + n, body ? body : "", blen);
    *len = (size_t)n + blen;
    return r;
}

static void expect(const char *name, int got, int want)
{
    ncases++;
    ck_assert_msg(got == want, "case '%s': want %d, got %d", name, want, got);
}

static void expect_4xx(const char *name, int got)
{
    ncases++;
    ck_assert_msg(got >= 400 && got < 500, "case '%s': want a 4xx, got %d", name, got);
}

static int send_req(const char *method, const char *path, const char *hdrs, const char *body,
                    size_t blen)
{
    size_t len;
    char *r = build(method, path, hdrs, body, blen, &len);
    int st = raw_status(r, len);
    free(r);
    return st;
}

static char auth_json[256];

/* A JSON body case: bytes, length (0 = strlen) and PromptLayer's status. */
typedef struct body_case {
    const char *name;
    const char *body;
    size_t len;
    int pl_status;
} body_case;

static char *repeat(const char *unit, size_t times, const char *pre, const char *post)
{
    size_t ul = strlen(unit), pl = strlen(pre), sl = strlen(post);
    char *s = malloc(pl + ul * times + sl + 1);
    ck_assert_ptr_nonnull(s);
    memcpy(s, pre, pl);
    for (size_t i = 0; i < times; i++)
        memcpy(s + pl + i * ul, unit, ul);
    memcpy(s + pl + ul * times, post, sl + 1);
    return s;
}

#define SPAN_OK(ctx, extra)                                                                    \
    "{\"spans\":[{\"name\":\"n\",\"context\":" ctx ",\"kind\":\"SpanKind.CLIENT\","           \
    "\"start_time\":1,\"end_time\":2,\"status\":{\"status_code\":\"StatusCode.OK\"}" extra "}]}"
#define CTX "{\"trace_id\":\"t\",\"span_id\":\"s\"}"
/* An open span (no closing braces) for bodies assembled with repeat(). */
#define SPAN_OPEN                                                                              \
    "{\"spans\":[{\"name\":\"n\",\"context\":" CTX ",\"kind\":\"SpanKind.CLIENT\","           \
    "\"start_time\":1,\"end_time\":2,\"status\":{\"status_code\":\"StatusCode.OK\"}"

START_TEST(test_hostile_table)
{
    static const char *const env[] = {"TRACESTORE_MAX_BODY_BYTES=65536",
                                      "TRACESTORE_MAX_STRING_BYTES=4096",
                                      "TRACESTORE_MAX_JSON_DEPTH=32",
                                      "TRACESTORE_MAX_SPANS_PER_REQUEST=50",
                                      "TRACESTORE_MAX_ATTRIBUTES_PER_SPAN=16",
                                      "TRACESTORE_CONNECTION_TIMEOUT_S=2",
                                      NULL};
    ts_d_init(&d, 1, env);
    ts_d_start(&d);
    snprintf(auth_json, sizeof(auth_json), "X-API-KEY: %s\r\nContent-Type: application/json\r\n",
             d.key_alpha);

    char *deep_arr = repeat("[", 40, "{\"spans\":", "");
    char *deep_obj = repeat("{\"a\":", 40, "{\"spans\":[],\"x\":", "");
    char *very_deep = repeat("[", 60000, "", "");
    char *long_str = repeat("x", MAX_STRING + 1, SPAN_OPEN ",\"attributes\":{\"k\":\"", "\"}}]}");
    char *long_id = repeat("a", 129, "{\"spans\":[{\"name\":\"n\",\"context\":{\"trace_id\":\"",
                           "\",\"span_id\":\"s\"},\"kind\":\"SpanKind.CLIENT\",\"start_time\":1,"
                           "\"end_time\":2,\"status\":{\"status_code\":\"StatusCode.OK\"}}]}");
    char *many_attrs = repeat("\"k\":1,", 20, SPAN_OPEN ",\"attributes\":{", "\"z\":1}}]}");
    char *huge_num = repeat("9", 400, SPAN_OPEN ",\"attributes\":{\"n\":", "}}]}");
    char *many_spans = repeat("{},", 60, "{\"spans\":[", "{}]}");
    char *big_body = repeat(" ", MAX_BODY + 10, "{\"spans\":[]", "}");

    const body_case bodies[] = {
        {"empty body", "", 0, 422},
        {"lone brace", "{", 0, 422},
        {"lone bracket", "[", 0, 422},
        {"truncated key", "{\"spans\":", 0, 422},
        {"truncated span", "{\"spans\":[{", 0, 422},
        {"truncated literal", "nul", 0, 422},
        {"trailing comma object", "{\"spans\":[],}", 0, 422},
        {"trailing comma array", "{\"spans\":[1,]}", 0, 422},
        {"single quotes", "{'spans':[]}", 0, 422},
        {"missing colon", "{\"spans\" []}", 0, 422},
        {"trailing garbage", "{\"spans\":[]}garbage", 0, 422},
        {"two documents", "{\"spans\":[]}{}", 0, 422},
        {"BOM", "\xef\xbb\xbf{\"spans\":[]}", 0, 422},
        {"bare string", "\"spans\"", 0, 422},
        {"bare number", "42", 0, 422},
        {"array top level", "[]", 0, 422},
        {"null top level", "null", 0, 422},
        {"nesting over limit (arrays)", NULL, 0, 422},
        {"nesting over limit (objects)", NULL, 0, 422},
        {"nesting 60000 deep", NULL, 0, 422},
        {"\\u0000 in a string", SPAN_OK(CTX, ",\"attributes\":{\"k\":\"a\\u0000b\"}"), 0, 422},
        {"raw NUL in a string", "{\"spans\":[],\"x\":\"a\0b\"}", 21, 422},
        {"raw NUL outside strings", "{\"spans\":[]\0}", 13, 422},
        {"invalid UTF-8 0xff", "{\"spans\":[],\"x\":\"\xff\"}", 0, 422},
        {"overlong UTF-8", "{\"spans\":[],\"x\":\"\xc0\xaf\"}", 0, 422},
        {"UTF-8 surrogate", "{\"spans\":[],\"x\":\"\xed\xa0\x80\"}", 0, 422},
        {"truncated UTF-8", "{\"spans\":[],\"x\":\"\xe2\x82\"}", 0, 422},
        {"UTF-8 above U+10FFFF", "{\"spans\":[],\"x\":\"\xf4\x90\x80\x80\"}", 0, 422},
        {"control char in string", "{\"spans\":[],\"x\":\"a\x01\"}", 0, 422},
        {"unterminated string", "{\"spans\":[],\"x\":\"abc}", 0, 422},
        {"bad escape", "{\"spans\":[],\"x\":\"\\q\"}", 0, 422},
        {"short \\u escape", "{\"spans\":[],\"x\":\"\\u12\"}", 0, 422},
        {"spans is a string", "{\"spans\":\"x\"}", 0, 422},
        {"spans is an object", "{\"spans\":{}}", 0, 422},
        {"span is a number", "{\"spans\":[1]}", 0, 422},
        {"span is null", "{\"spans\":[null]}", 0, 422},
        {"span is empty", "{\"spans\":[{}]}", 0, 422},
        {"no spans key", "{}", 0, 422},
        {"close_after a string", "{\"spans\":[],\"close_after\":\"yes\"}", 0, 422},
        {"trace id 129 chars", NULL, 0, 422},
        {"trace id with space", SPAN_OK("{\"trace_id\":\"a b\",\"span_id\":\"s\"}", ""), 0, 422},
        {"trace id with DEL", SPAN_OK("{\"trace_id\":\"a\x7f\",\"span_id\":\"s\"}", ""), 0, 422},
        {"trace id empty", SPAN_OK("{\"trace_id\":\"\",\"span_id\":\"s\"}", ""), 0, 422},
        {"trace id a number", SPAN_OK("{\"trace_id\":5,\"span_id\":\"s\"}", ""), 0, 422},
        {"trace id non-ASCII", SPAN_OK("{\"trace_id\":\"\xc3\xa9\",\"span_id\":\"s\"}", ""), 0, 422},
        {"span id with slash traversal", SPAN_OK("{\"trace_id\":\"t\",\"span_id\":\"../..\"}", ""), 0, 201},
        {"start_time overflow", "{\"spans\":[{\"name\":\"n\",\"context\":" CTX ",\"kind\":\"SpanKind.CLIENT\",\"start_time\":\"18446744073709551616\",\"end_time\":2,\"status\":{\"status_code\":\"StatusCode.OK\"}}]}", 0, 422},
        {"start_time negative", "{\"spans\":[{\"name\":\"n\",\"context\":" CTX ",\"kind\":\"SpanKind.CLIENT\",\"start_time\":-1,\"end_time\":2,\"status\":{\"status_code\":\"StatusCode.OK\"}}]}", 0, 422},
        {"start_time float", "{\"spans\":[{\"name\":\"n\",\"context\":" CTX ",\"kind\":\"SpanKind.CLIENT\",\"start_time\":1.5,\"end_time\":2,\"status\":{\"status_code\":\"StatusCode.OK\"}}]}", 0, 422},
        {"start_time exponent string", "{\"spans\":[{\"name\":\"n\",\"context\":" CTX ",\"kind\":\"SpanKind.CLIENT\",\"start_time\":\"1e18\",\"end_time\":2,\"status\":{\"status_code\":\"StatusCode.OK\"}}]}", 0, 422},
        {"start_time 1e400", "{\"spans\":[{\"name\":\"n\",\"context\":" CTX ",\"kind\":\"SpanKind.CLIENT\",\"start_time\":1e400,\"end_time\":2,\"status\":{\"status_code\":\"StatusCode.OK\"}}]}", 0, 422},
        {"start_time bool", "{\"spans\":[{\"name\":\"n\",\"context\":" CTX ",\"kind\":\"SpanKind.CLIENT\",\"start_time\":true,\"end_time\":2,\"status\":{\"status_code\":\"StatusCode.OK\"}}]}", 0, 422},
        {"start_time non-numeric", "{\"spans\":[{\"name\":\"n\",\"context\":" CTX ",\"kind\":\"SpanKind.CLIENT\",\"start_time\":\"soon\",\"end_time\":2,\"status\":{\"status_code\":\"StatusCode.OK\"}}]}", 0, 422},
        {"end before start", "{\"spans\":[{\"name\":\"n\",\"context\":" CTX ",\"kind\":\"SpanKind.CLIENT\",\"start_time\":5,\"end_time\":2,\"status\":{\"status_code\":\"StatusCode.OK\"}}]}", 0, 422},
        {"kind a number", "{\"spans\":[{\"name\":\"n\",\"context\":" CTX ",\"kind\":3,\"start_time\":1,\"end_time\":2,\"status\":{\"status_code\":\"StatusCode.OK\"}}]}", 0, 422},
        {"kind unknown", "{\"spans\":[{\"name\":\"n\",\"context\":" CTX ",\"kind\":\"SpanKind.WEIRD\",\"start_time\":1,\"end_time\":2,\"status\":{\"status_code\":\"StatusCode.OK\"}}]}", 0, 422},
        {"status code unknown", "{\"spans\":[{\"name\":\"n\",\"context\":" CTX ",\"kind\":\"SpanKind.CLIENT\",\"start_time\":1,\"end_time\":2,\"status\":{\"status_code\":\"StatusCode.MAYBE\"}}]}", 0, 422},
        {"status missing", "{\"spans\":[{\"name\":\"n\",\"context\":" CTX ",\"kind\":\"SpanKind.CLIENT\",\"start_time\":1,\"end_time\":2}]}", 0, 422},
        {"name a number", "{\"spans\":[{\"name\":7,\"context\":" CTX ",\"kind\":\"SpanKind.CLIENT\",\"start_time\":1,\"end_time\":2,\"status\":{\"status_code\":\"StatusCode.OK\"}}]}", 0, 422},
        {"context a list", SPAN_OK("[]", ""), 0, 422},
        {"parent id too long", SPAN_OK(CTX, ",\"parent_id\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""), 0, 422},
        {"parent id a number", SPAN_OK(CTX, ",\"parent_id\":12"), 0, 422},
        {"description a number", "{\"spans\":[{\"name\":\"n\",\"context\":" CTX ",\"kind\":\"SpanKind.CLIENT\",\"start_time\":1,\"end_time\":2,\"status\":{\"status_code\":\"StatusCode.OK\",\"description\":5}}]}", 0, 422},
        {"model not a string", SPAN_OK(CTX, ",\"log_request\":{\"model\":[1]}"), 0, 422},
        {"tokens as text", SPAN_OK(CTX, ",\"log_request\":{\"output_tokens\":\"lots\"}"), 0, 422},
        {"attributes an array", SPAN_OK(CTX, ",\"attributes\":[]"), 0, 422},
        {"events an object", SPAN_OK(CTX, ",\"events\":{}"), 0, 422},
        {"links a string", SPAN_OK(CTX, ",\"links\":\"x\""), 0, 422},
        {"resource a number", SPAN_OK(CTX, ",\"resource\":1"), 0, 422},
        {"log_request a list", SPAN_OK(CTX, ",\"log_request\":[]"), 0, 422},
        {"negative tokens", SPAN_OK(CTX, ",\"log_request\":{\"input_tokens\":-3}"), 0, 422},
        {"huge tokens", SPAN_OK(CTX, ",\"log_request\":{\"input_tokens\":1e300}"), 0, 422},
        {"NaN-like price", SPAN_OK(CTX, ",\"log_request\":{\"price\":\"NaN\"}"), 0, 422},
        {"bad request time", SPAN_OK(CTX, ",\"log_request\":{\"request_start_time\":\"yesterday\"}"), 0, 422},
        {"string over max_string_bytes", NULL, 0, 422},
        {"too many attributes", NULL, 0, 422},
        {"400-digit number in attributes", NULL, 0, 201},
        {"too many spans", NULL, 0, 413},
        {"body over max_body_bytes", NULL, 0, 413},
        {"duplicate keys (first wins)", "{\"spans\":[],\"spans\":\"x\"}", 0, 201},
    };
    const char *dyn[] = {deep_arr, deep_obj, very_deep, long_id, long_str, many_attrs, huge_num,
                         many_spans, big_body};
    const char *dyn_names[] = {"nesting over limit (arrays)", "nesting over limit (objects)",
                               "nesting 60000 deep", "trace id 129 chars",
                               "string over max_string_bytes", "too many attributes",
                               "400-digit number in attributes", "too many spans",
                               "body over max_body_bytes"};

    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        const body_case *c = &bodies[i];
        const char *b = c->body;
        for (size_t k = 0; !b && k < sizeof(dyn) / sizeof(dyn[0]); k++)
            if (strcmp(dyn_names[k], c->name) == 0)
                b = dyn[k];
        ck_assert_msg(b != NULL, "no body for %s", c->name);
        size_t len = c->len ? c->len : strlen(b);
        expect(c->name, send_req("POST", "/spans-bulk", auth_json, b, len), c->pl_status);
    }

    /* Ids in paths: traversal, encodings, oversize, control characters. */
    const char *bad_paths[][2] = {
        {"/v1/traces/..%2F..%2Fetc%2Fpasswd", "404"},
        {"/v1/traces/%00", "200"}, /* decodes to /v1/traces/: the list */
        {"/v1/traces/%7f", "404"},
        {"/v1/traces/%20", "404"},
        {"/v1/traces/a%0d%0aX-Injected:%201", "404"},
        {"/api/public/v2/traces/%00", "404"}, /* decodes to an empty segment */
        {"/api/public/v2/traces/%c3%a9", "422"},
        {"/api/public/v2/traces/a%20b", "422"},
        {"/api/public/v2/traces/../../../etc/passwd", "404"},
        {"/api/public/v2/traces/%2e%2e", "404"},
        {"/v1/traces/x/../../healthz", "404"},
        {"/v1/traces/%zz", "404"},
        {"/v1/traces/%", "404"},
        {"/nope", "404"},
        {"/", "302"}, /* the web UI's redirect to /ui/ */
        {"/ui/../healthz", "404"},
        {"/ui/a/b", "404"},
        {"/spans-bulk/extra", "404"},
        {"/v1/traces/a/b/c", "404"},
    };
    for (size_t i = 0; i < sizeof(bad_paths) / sizeof(bad_paths[0]); i++)
        expect(bad_paths[i][0], send_req("GET", bad_paths[i][0], auth_json, NULL, 0),
               atoi(bad_paths[i][1]));
    char *long_path = repeat("a", 200, "/api/public/v2/traces/", "");
    expect("GET trace id 200 chars", send_req("GET", long_path, auth_json, NULL, 0), 422);
    long_path[strlen(long_path)] = '\0';
    char *close_long = repeat("a", 200, "/api/public/v2/traces/", "/close");
    expect("close trace id 200 chars", send_req("POST", close_long, auth_json, NULL, 0), 422);
    char *del_long = repeat("a", 200, "/api/traces/", "/");
    char *long_id_path = repeat("b", 129, "/v1/traces/", "");
    expect("delete trace id 200 chars", send_req("DELETE", del_long, auth_json, NULL, 0), 400);
    expect("delete bad start_time",
           send_req("DELETE", "/api/traces/t/?start_time=yesterday", auth_json, NULL, 0), 400);
    expect("delete bad end_time",
           send_req("DELETE", "/api/traces/t/?end_time=2024-13-01T00:00:00Z", auth_json, NULL, 0),
           400);
    expect("delete Feb 30", send_req("DELETE", "/api/traces/t/?start_time=2024-02-30", auth_json,
                                     NULL, 0),
           400);

    /* Headers and auth. */
    const char *ok_body = "{\"spans\":[]}";
    size_t okl = strlen(ok_body);
    char hdr[512];
    expect("no key", send_req("POST", "/spans-bulk", "Content-Type: application/json\r\n", ok_body, okl), 401);
    expect("empty key", send_req("POST", "/spans-bulk", "X-API-KEY: \r\n", ok_body, okl), 401);
    expect("key with NUL-ish junk", send_req("POST", "/spans-bulk", "X-API-KEY: ts_\x01\x02\r\n", ok_body, okl), 401);
    expect("Bearer without key", send_req("GET", "/v1/traces/x", "Authorization: Bearer\r\n", NULL, 0), 401);
    expect("Basic auth", send_req("GET", "/v1/traces/x", "Authorization: Basic dXNlcjpwYXNz\r\n", NULL, 0), 401);
    snprintf(hdr, sizeof(hdr), "X-API-KEY: %s\r\nAuthorization: Bearer %s\r\n", d.key_alpha, d.key_beta);
    expect("two different keys", send_req("GET", "/v1/traces/x", hdr, NULL, 0), 401);
    snprintf(hdr, sizeof(hdr), "X-API-KEY: %sX\r\n", d.key_alpha);
    expect("key plus one char", send_req("GET", "/v1/traces/x", hdr, NULL, 0), 401);
    snprintf(hdr, sizeof(hdr), "X-API-KEY: %.50s\r\n", d.key_alpha);
    expect("key minus one char", send_req("GET", "/v1/traces/x", hdr, NULL, 0), 401);
    snprintf(hdr, sizeof(hdr), "X-API-KEY: %s\r\nX-API-KEY: %s\r\n", d.key_alpha, d.key_alpha);
    expect("X-API-KEY twice, same key", send_req("GET", "/v1/traces/x", hdr, NULL, 0), 401);
    snprintf(hdr, sizeof(hdr), "X-API-KEY: %s\r\nx-api-key: %s\r\n", d.key_alpha, d.key_beta);
    expect("X-API-KEY twice, two keys", send_req("GET", "/v1/traces/x", hdr, NULL, 0), 401);
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\nAuthorization: Bearer %s\r\n",
             d.key_alpha, d.key_alpha);
    expect("Authorization twice", send_req("GET", "/v1/traces/x", hdr, NULL, 0), 401);
    snprintf(hdr, sizeof(hdr), "x-api-key: %s\r\n", d.key_alpha);
    expect("lower-case header name", send_req("GET", "/v1/traces/x", hdr, NULL, 0), 404);
    snprintf(hdr, sizeof(hdr), "Authorization: bearer  %s\r\n", d.key_alpha);
    expect("lower-case scheme, two spaces", send_req("GET", "/v1/traces/x", hdr, NULL, 0), 404);
    char qpath[256];
    snprintf(qpath, sizeof(qpath), "/v1/traces/x?api_key=%s", d.key_alpha);
    expect("key in the query string", send_req("GET", qpath, NULL, NULL, 0), 401);
    snprintf(hdr, sizeof(hdr), "X-API-KEY: %s\r\nContent-Type: application/json\r\n"
             "Expect: 100-continue\r\n", d.key_alpha);
    expect("Expect 100-continue", send_req("POST", "/spans-bulk", hdr, ok_body, okl), 201);
    snprintf(hdr, sizeof(hdr), "X-API-KEY: %s\r\nExpect: 100-continue\r\n"
             "Content-Length: 10000000\r\n", d.key_alpha);
    expect("Expect 100-continue, too big", send_req("POST", "/spans-bulk", hdr, "", 0), 413);
    expect("TruLayer id 129 chars", send_req("GET", long_id_path, auth_json, NULL, 0), 404);
    expect("Respan id with space", send_req("DELETE", "/api/traces/%20/", auth_json, NULL, 0), 400);
    expect("PromptLayer id with tab", send_req("GET", "/api/public/v2/traces/a%09b", auth_json,
                                               NULL, 0), 422);
    char *long_key = repeat("a", 20000, "X-API-KEY: ", "\r\n");
    expect_4xx("20 KB key header", send_req("GET", "/v1/traces/x", long_key, NULL, 0));
    char *huge_hdr = repeat("a", 100000, "X-Junk: ", "\r\n");
    expect_4xx("100 KB header", send_req("GET", "/healthz", huge_hdr, NULL, 0));
    char *many_hdrs = repeat("X-A: b\r\n", 5000, "", "");
    expect_4xx("5000 headers", send_req("GET", "/healthz", many_hdrs, NULL, 0));
    char *huge_url = repeat("a", 100000, "/v1/traces/", "");
    expect_4xx("100 KB URL", send_req("GET", huge_url, auth_json, NULL, 0));
    snprintf(hdr, sizeof(hdr), "X-API-KEY: %s\r\nContent-Type: text/plain\r\n", d.key_alpha);
    expect("text/plain", send_req("POST", "/spans-bulk", hdr, ok_body, okl), 415);
    snprintf(hdr, sizeof(hdr), "X-API-KEY: %s\r\nContent-Type: application/xml\r\n", d.key_alpha);
    expect("application/xml", send_req("POST", "/spans-bulk", hdr, ok_body, okl), 415);
    snprintf(hdr, sizeof(hdr), "X-API-KEY: %s\r\nContent-Type: multipart/form-data; boundary=x\r\n", d.key_alpha);
    expect("multipart", send_req("POST", "/spans-bulk", hdr, ok_body, okl), 415);
    snprintf(hdr, sizeof(hdr), "X-API-KEY: %s\r\nContent-Type: application/json\r\n"
             "Content-Encoding: gzip\r\n", d.key_alpha);
    expect("gzip on a JSON route", send_req("POST", "/spans-bulk", hdr, "\x1f\x8b\x08", 3), 415);
    snprintf(hdr, sizeof(hdr), "X-API-KEY: %s\r\nContent-Type: application/x-protobuf\r\n", d.key_alpha);
    expect("protobuf on a JSON route", send_req("POST", "/spans-bulk", hdr, ok_body, okl), 415);
    snprintf(hdr, sizeof(hdr), "X-API-KEY: %s\r\nContent-Type: application/json; charset=utf-8\r\n", d.key_alpha);
    expect("json with charset", send_req("POST", "/spans-bulk", hdr, ok_body, okl), 201);
    snprintf(hdr, sizeof(hdr), "X-API-KEY: %s\r\nContent-Type: APPLICATION/JSON\r\n", d.key_alpha);
    expect("json upper case", send_req("POST", "/spans-bulk", hdr, ok_body, okl), 201);

    /* Framing lies. */
    snprintf(hdr, sizeof(hdr), "X-API-KEY: %s\r\nContent-Length: 99999999999\r\n", d.key_alpha);
    expect("Content-Length far over the limit", send_req("POST", "/spans-bulk", hdr, ok_body, okl), 413);
    snprintf(hdr, sizeof(hdr), "X-API-KEY: %s\r\nContent-Length: 5\r\n", d.key_alpha);
    expect("Content-Length shorter than body", send_req("POST", "/spans-bulk", hdr, ok_body, okl), 422);
    snprintf(hdr, sizeof(hdr), "X-API-KEY: %s\r\nContent-Length: abc\r\n", d.key_alpha);
    expect_4xx("Content-Length not a number", send_req("POST", "/spans-bulk", hdr, ok_body, okl));
    snprintf(hdr, sizeof(hdr), "X-API-KEY: %s\r\nContent-Length: -5\r\n", d.key_alpha);
    expect_4xx("Content-Length negative", send_req("POST", "/spans-bulk", hdr, ok_body, okl));
    {
        /* Declares more than it sends: the idle timeout (2 s) closes it. */
        snprintf(hdr, sizeof(hdr), "X-API-KEY: %s\r\nContent-Length: 500\r\n", d.key_alpha);
        int st = send_req("POST", "/spans-bulk", hdr, ok_body, okl);
        ncases++;
        ck_assert_msg(st == 0 || (st >= 400 && st < 500), "lying Content-Length: got %d", st);
    }
    {
        static const char chunked_bad[] =
            "POST /spans-bulk HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            "Content-Type: application/json\r\nX-API-KEY: k\r\n\r\nZZZ\r\nabc\r\n0\r\n\r\n";
        expect_4xx("bad chunk size", raw_status(chunked_bad, sizeof(chunked_bad) - 1));
        static const char chunked_huge[] =
            "POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            "FFFFFFFFFFFFFFFFFF\r\nabc\r\n";
        expect_4xx("chunk size overflow", raw_status(chunked_huge, sizeof(chunked_huge) - 1));
    }
    /* libmicrohttpd drops a request line that is not HTTP without an answer
     * (documented in docs/API.md); what matters is no crash and no hang. */
    static const char garbage[] = "GARBAGE\r\n\r\n";
    expect("garbage request line (dropped)", raw_status(garbage, sizeof(garbage) - 1), 0);
    static const char method_only[] = "GET\r\n\r\n";
    expect("method only (dropped)", raw_status(method_only, sizeof(method_only) - 1), 0);
    static const char nohost[] = "GET /healthz HTTP/1.1\r\n\r\n";
    expect_4xx("HTTP/1.1 without Host", raw_status(nohost, sizeof(nohost) - 1));
    /* RFC 9110 15.6.6: an unsupported major version is 505 (libmicrohttpd). */
    static const char badver[] = "GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n";
    expect("HTTP/9.9", raw_status(badver, sizeof(badver) - 1), 505);
    static const char nouri[] = "GET /healthz\r\n\r\n";
    expect("HTTP/0.9 style request", raw_status(nouri, sizeof(nouri) - 1), 400);
    static const char nulhdr[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n";
    {
        int st = raw_status(nulhdr, sizeof(nulhdr) - 1);
        ncases++;
        ck_assert_msg(st == 200 || (st >= 400 && st < 500), "NUL in header: got %d", st);
    }
    static const char lf_only[] = "GET /nope HTTP/1.1\nHost: x\n\n";
    expect_4xx("bare LF line ends", raw_status(lf_only, sizeof(lf_only) - 1));
    expect("unknown method", send_req("BREW", "/spans-bulk", auth_json, NULL, 0), 405);
    expect("PUT on spans-bulk", send_req("PUT", "/spans-bulk", auth_json, ok_body, okl), 405);
    expect("DELETE on close", send_req("DELETE", "/api/public/v2/traces/t/close", auth_json, NULL, 0), 405);
    expect("POST on healthz", send_req("POST", "/healthz", NULL, NULL, 0), 405);

    /* Still healthy, memory bounded. */
    ts_resp *r = ts_req("GET", "/healthz", NULL, NULL);
    TS_STATUS(r, 200);
    ts_resp_free(r);
    char statpath[64], line[256];
    long hwm_kb = -1;
    snprintf(statpath, sizeof(statpath), "/proc/%d/status", (int)d.pid);
    FILE *f = fopen(statpath, "r");
    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            hwm_kb = atol(line + 6);
    fclose(f);
    /* ASan inflates memory; the bound is generous but catches a runaway. */
    ck_assert_msg(hwm_kb > 0 && hwm_kb < 1024 * 1024, "daemon peak RSS %ld KiB", hwm_kb);
    fprintf(stderr, "hostile: %d cases, daemon healthy, peak RSS %ld KiB\n", ncases, hwm_kb);
    ck_assert_int_ge(ncases, 150);

    const void *frees[] = {deep_arr, deep_obj, very_deep, long_str, long_id, many_attrs,
                           huge_num, many_spans, big_body, long_path, close_long, del_long, long_id_path,
                           long_key, huge_hdr, many_hdrs, huge_url};
    for (size_t i = 0; i < sizeof(frees) / sizeof(frees[0]); i++)
        free((void *)frees[i]);
    ts_d_stop(&d);
    ts_d_free(&d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("integration-hostile");
    TCase *tc = tcase_create("hostile");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_hostile_table);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

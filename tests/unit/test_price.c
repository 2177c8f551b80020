/* test_price.c: unit tests for src/cost/price.c and src/codec/prices_json.c:
 * the built-in table (every entry sourced and dated), name normalisation
 * (case, provider prefixes, snapshots), pricing with cache and reasoning
 * tokens never counted twice, unknown models unpriced (never $0), client
 * cost winning, override files and their errors, and ts_ingest_derive
 * pricing end to end. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cost/price.h"
#include "ingest/ingest.h"

static ts_prices *P;

static void setup(void)
{
    ts_err err;
    ck_assert_int_eq(ts_prices_load(NULL, &P, &err), TS_OK);
}

static void teardown(void)
{
    ts_prices_free(P);
    P = NULL;
}

#define NEAR(a, b)                                                                                 \
    ck_assert_msg(fabs((a) - (b)) < 1e-12, "%.15g != %.15g", (double)(a), (double)(b))

START_TEST(builtin_table)
{
    ck_assert_uint_ge(ts_prices_count(P), 40);
    /* every vendor the issue names is present */
    const char *models[] = {"gpt-4o",        "claude-sonnet-4", "gemini-2.5-pro", "mistral-large",
                            "llama-3.3-70b", "deepseek-chat",   "grok-4",         NULL};
    for (int i = 0; models[i]; i++) {
        const ts_price_entry *e = ts_prices_lookup(P, models[i]);
        ck_assert_msg(e != NULL, "%s missing", models[i]);
        ck_assert_msg(e->source && e->source[0] && e->date && strlen(e->date) == 10,
                      "%s: source/date missing", models[i]);
        ck_assert(e->input > 0 && e->output > 0);
    }
    /* the shipped file is the embedded one */
    char path[4096];
    const char *src = getenv("TS_SOURCE_DIR");
    snprintf(path, sizeof(path), "%s/config/prices.json", src ? src : TS_SOURCE_DIR);
    ts_prices *f = NULL;
    ts_err err;
    ck_assert_int_eq(ts_prices_load(path, &f, &err), TS_OK);
    ck_assert_uint_eq(ts_prices_count(f), ts_prices_count(P));
    ts_prices_free(f);
}
END_TEST

START_TEST(normalise_names)
{
    struct {
        const char *in, *want;
    } c[] = {
        {"gpt-4o", "gpt-4o"},
        {"GPT-4o", "gpt-4o"},
        {"openai/gpt-4o", "gpt-4o"},
        {"gpt-4.1-mini", "gpt-4-1-mini"},
        {"us.anthropic.claude-3-5-sonnet-20240620-v1:0", "claude-3-5-sonnet-20240620"},
        {"anthropic.claude-3-haiku-20240307-v1:0", "claude-3-haiku-20240307"},
        {"claude-3-5-sonnet@20240620", "claude-3-5-sonnet-20240620"},
        {"models/gemini-2.5-flash", "gemini-2-5-flash"},
        {"mistral-large-latest", "mistral-large-latest"},
        {"  gpt-4o  ", "gpt-4o"},
    };
    char out[TS_PRICE_NAME_MAX];
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        ts_price_normalise(c[i].in, out, sizeof(out));
        ck_assert_msg(strcmp(out, c[i].want) == 0, "%s -> %s, want %s", c[i].in, out, c[i].want);
    }
}
END_TEST

START_TEST(lookup_prefixes_and_snapshots)
{
    struct {
        const char *in, *want;
    } c[] = {
        {"openai/gpt-4o", "gpt-4o"},
        {"gpt-4o-2024-08-06", "gpt-4o"},
        {"GPT-4O-MINI-2024-07-18", "gpt-4o-mini"},
        {"gpt-4-0613", "gpt-4"},
        {"gpt-4-1106-preview", "gpt-4-turbo"}, /* an alias beats snapshot stripping */
        {"gpt-3.5-turbo-0125", "gpt-3.5-turbo"},
        {"o3-mini-2025-01-31", "o3-mini"},
        {"claude-3-5-sonnet-20241022", "claude-3-5-sonnet"},
        {"claude-3.5-sonnet", "claude-3-5-sonnet"},
        {"claude-3-7-sonnet-latest", "claude-3-7-sonnet"},
        {"anthropic/claude-sonnet-4-5-20250929", "claude-sonnet-4-5"},
        {"us.anthropic.claude-3-5-haiku-20241022-v1:0", "claude-3-5-haiku"},
        {"claude-3-5-sonnet@20240620", "claude-3-5-sonnet"},
        {"gemini-2.5-pro-preview-05-06", "gemini-2.5-pro"},
        {"models/gemini-1.5-pro-002", "gemini-1.5-pro"},
        {"mistral-large-2411", "mistral-large"},
        {"mistral-large-latest", "mistral-large"},
        {"meta-llama/Llama-3.3-70B-Instruct", "llama-3.3-70b"},
        {"deepseek/deepseek-chat", "deepseek-chat"},
        {"xai/grok-4-0709", "grok-4"},
    };
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        const ts_price_entry *e = ts_prices_lookup(P, c[i].in);
        ck_assert_msg(e && strcmp(e->model, c[i].want) == 0, "%s -> %s, want %s", c[i].in,
                      e ? e->model : "NULL", c[i].want);
    }
    /* no prefix guessing: an unknown variant is unknown */
    const char *unknown[] = {"gpt-4o-mini-audio-preview", "my-finetune", "gpt", "",
                             "ft:gpt-4o-mini:org::abc",   "claude",      NULL};
    for (int i = 0; unknown[i]; i++)
        ck_assert_msg(ts_prices_lookup(P, unknown[i]) == NULL, "%s matched", unknown[i]);
    ck_assert_ptr_null(ts_prices_lookup(P, NULL));
    ck_assert_ptr_null(ts_prices_lookup(NULL, "gpt-4o"));
}
END_TEST

static ts_span llm(const char *model, int64_t in, int64_t out)
{
    ts_span s;
    ts_span_init(&s);
    s.type = "llm";
    s.model = (char *)model;
    s.prompt_tokens = in;
    s.completion_tokens = out;
    return s;
}

START_TEST(cost_arithmetic)
{
    ts_price_entry e = {"m", NULL, 2.0, 8.0, 0.5, 3.0, -1, NULL, NULL, NULL, 0};
    double c = -1;
    ts_span s = llm("m", 1000000, 1000000);
    ck_assert_int_eq(ts_price_cost(&e, &s, &c), 1);
    NEAR(c, 10.0);
    /* cached tokens are part of input: priced at their rates, not twice */
    s.cache_read_tokens = 400000;
    s.cache_write_tokens = 100000;
    ts_price_cost(&e, &s, &c);
    NEAR(c, 0.5 * 2.0 + 0.4 * 0.5 + 0.1 * 3.0 + 8.0);
    /* reasoning is part of output; no reasoning rate: the output rate */
    s.reasoning_tokens = 250000;
    ts_price_cost(&e, &s, &c);
    NEAR(c, 0.5 * 2.0 + 0.4 * 0.5 + 0.1 * 3.0 + 8.0);
    e.reasoning = 16.0;
    ts_price_cost(&e, &s, &c);
    NEAR(c, 0.5 * 2.0 + 0.4 * 0.5 + 0.1 * 3.0 + 0.75 * 8.0 + 0.25 * 16.0);
    /* cached tokens reported apart from input (more cached than input):
     * nothing is subtracted */
    s = llm("m", 100, 0);
    s.cache_read_tokens = 1000;
    ts_price_cost(&e, &s, &c);
    NEAR(c, (100 * 2.0 + 1000 * 0.5) / 1e6);
    /* no cache rates: cache tokens cost the input rate */
    ts_price_entry plain = {"p", NULL, 1.0, 1.0, -1, -1, -1, NULL, NULL, NULL, 0};
    s = llm("p", 1000, 0);
    s.cache_read_tokens = 500;
    ts_price_cost(&plain, &s, &c);
    NEAR(c, 1000 / 1e6);
    /* one side missing counts as zero; both missing: no price */
    s = llm("p", TS_TOKENS_ABSENT, 10);
    ck_assert_int_eq(ts_price_cost(&plain, &s, &c), 1);
    NEAR(c, 10 / 1e6);
    s = llm("p", TS_TOKENS_ABSENT, TS_TOKENS_ABSENT);
    ck_assert_int_eq(ts_price_cost(&plain, &s, &c), 0);
}
END_TEST

START_TEST(cost_apply_rules)
{
    ts_span s = llm("openai/gpt-4o-mini-2024-07-18", 1000, 500);
    ts_cost_apply(&s, P);
    ck_assert_int_eq(s.has_cost, 1);
    ck_assert_int_eq(s.unpriced, 0);
    NEAR(s.cost, (1000 * 0.15 + 500 * 0.60) / 1e6);
    /* the client's cost wins */
    s = llm("gpt-4o", 1000, 500);
    s.has_cost = 1;
    s.cost = 42;
    ts_cost_apply(&s, P);
    NEAR(s.cost, 42);
    /* unknown model: null cost, counted unpriced, never $0 */
    s = llm("totally-new-model", 1000, 500);
    ts_cost_apply(&s, P);
    ck_assert_int_eq(s.has_cost, 0);
    ck_assert_int_eq(s.unpriced, 1);
    /* no model, or no tokens: unpriced too */
    s = llm(NULL, 10, 10);
    ts_cost_apply(&s, P);
    ck_assert_int_eq(s.unpriced, 1);
    s = llm("gpt-4o", TS_TOKENS_ABSENT, TS_TOKENS_ABSENT);
    ts_cost_apply(&s, P);
    ck_assert_int_eq(s.unpriced, 1);
    /* only LLM spans are priced (agent spans repeating their children's
     * usage would count it twice) */
    s = llm("gpt-4o", 1000, 500);
    s.type = "agent";
    ts_cost_apply(&s, P);
    ck_assert_int_eq(s.has_cost, 0);
    ck_assert_int_eq(s.unpriced, 0);
    /* Anthropic with cache write/read at their own rates */
    s = llm("claude-3-5-sonnet-20241022", 10000, 1000);
    s.cache_read_tokens = 6000;
    s.cache_write_tokens = 2000;
    ts_cost_apply(&s, P);
    NEAR(s.cost, (2000 * 3.0 + 6000 * 0.30 + 2000 * 3.75 + 1000 * 15.0) / 1e6);
}
END_TEST

START_TEST(derive_prices_with_active_table)
{
    ts_span s = llm(NULL, 2000, 1000);
    s.type = NULL;
    s.model = "gpt-4o";
    ts_ingest_derive(&s);
    ck_assert_str_eq(s.type, "llm");
    ck_assert_int_eq(s.total_tokens, 3000);
    ck_assert_int_eq(s.has_cost, 1);
    NEAR(s.cost, (2000 * 2.5 + 1000 * 10.0) / 1e6);
    s = llm("nope", 1, 1);
    ts_ingest_derive(&s);
    ck_assert_int_eq(s.unpriced, 1);
}
END_TEST

/* Issue 23.4: every LLM type is priced (or unpriced), and only those. */
START_TEST(llm_types_priced)
{
    static const char *const llm_types[] = {"llm",        "chat", "completion", "response",
                                            "generation", "text", "embedding"};
    for (size_t i = 0; i < sizeof(llm_types) / sizeof(llm_types[0]); i++) {
        ts_span s = llm("gpt-4o", 2000, 1000);
        s.type = (char *)llm_types[i];
        ts_cost_apply(&s, P);
        ck_assert_msg(s.has_cost && s.cost_priced, "%s not priced", llm_types[i]);
        s = llm("nope", 1, 1);
        s.type = (char *)llm_types[i];
        ts_cost_apply(&s, P);
        ck_assert_msg(s.unpriced, "%s not counted unpriced", llm_types[i]);
    }
    ts_span s = llm("gpt-4o", 2000, 1000);
    s.type = "task";
    ts_cost_apply(&s, P);
    ck_assert_int_eq(s.has_cost, 0);
    ck_assert_int_eq(s.unpriced, 0);
}
END_TEST

static int parse(const char *json, ts_err *err)
{
    ts_prices *p = NULL;
    int rc = ts_prices_parse(json, strlen(json), &p, err);
    ts_prices_free(p);
    return rc;
}

START_TEST(table_errors)
{
    ts_err err;
    ck_assert_int_eq(parse("{\"models\":[]}", &err), TS_OK);
    ck_assert_int_eq(parse("[]", &err), TS_EINVAL);
    ck_assert_int_eq(parse("{\"models\":{}}", &err), TS_EINVAL);
    ck_assert_int_eq(parse("{\"models\":[{\"model\":\"a\",\"input\":1}]}", &err), TS_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "models[0] (a)"));
    ck_assert_int_eq(parse("{\"models\":[{\"model\":\"a\",\"input\":1,\"output\":-1}]}", &err),
                     TS_EINVAL);
    ck_assert_int_eq(
        parse("{\"models\":[{\"model\":\"a\",\"input\":1,\"output\":1,\"inptu\":2}]}", &err),
        TS_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "inptu"));
    ck_assert_int_eq(parse("{\"models\":[{\"model\":\"A\",\"input\":1,\"output\":1},"
                           "{\"model\":\"openai/a\",\"input\":1,\"output\":1}]}",
                           &err),
                     TS_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "twice"));
    ck_assert_int_eq(parse("{\"models\":[{\"model\":\"a\",\"input\":1,\"output\":1,"
                           "\"aliases\":[\"b\",3]}]}",
                           &err),
                     TS_EINVAL);
}
END_TEST

START_TEST(override_file)
{
    char path[] = "/tmp/ts-prices-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    const char *json = "{\"models\":[{\"model\":\"house-model\",\"input\":1,\"output\":2,"
                       "\"aliases\":[\"hm\"],\"source\":\"test\",\"date\":\"2026-01-01\"}]}";
    ck_assert_int_eq(write(fd, json, strlen(json)), (ssize_t)strlen(json));
    close(fd);
    ts_prices *p = NULL;
    ts_err err;
    ck_assert_int_eq(ts_prices_load(path, &p, &err), TS_OK);
    ck_assert_ptr_nonnull(ts_prices_lookup(p, "HM"));
    ck_assert_ptr_null(ts_prices_lookup(p, "gpt-4o")); /* the file replaces the table */
    ts_prices_free(p);
    unlink(path);
    ck_assert_int_eq(ts_prices_load("/nonexistent/prices.json", &p, &err), TS_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(err.msg, "price_file"));
}
END_TEST

static Suite *price_suite(void)
{
    Suite *s = suite_create("price");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, builtin_table);
    tcase_add_test(tc, normalise_names);
    tcase_add_test(tc, lookup_prefixes_and_snapshots);
    tcase_add_test(tc, cost_arithmetic);
    tcase_add_test(tc, cost_apply_rules);
    tcase_add_test(tc, derive_prices_with_active_table);
    tcase_add_test(tc, llm_types_priced);
    tcase_add_test(tc, table_errors);
    tcase_add_test(tc, override_file);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(price_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

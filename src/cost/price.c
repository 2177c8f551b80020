/* price.c: see price.h. The table is an array of entries plus a sorted
 * index of normalised names (model names and aliases) for bsearch. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cost/price.h"
#include "tracestore/utf8.h"

/* Generated from config/prices.json by cmake/embed_file.cmake. */
extern const char ts_prices_builtin[];
extern const size_t ts_prices_builtin_len;

typedef struct name_ix {
    char name[TS_PRICE_NAME_MAX];
    size_t entry;
} name_ix;

struct ts_prices {
    ts_price_entry *e;
    size_t n;
    name_ix *ix;
    size_t nix;
};

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static int cmp_ix(const void *a, const void *b)
{
    return strcmp(((const name_ix *)a)->name, ((const name_ix *)b)->name);
}

void ts_prices_free(ts_prices *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free((char *)p->e[i].model);
        free((char *)p->e[i].provider);
        free((char *)p->e[i].source);
        free((char *)p->e[i].date);
    }
    free(p->e);
    free(p->ix);
    free(p);
}

size_t ts_prices_count(const ts_prices *p)
{
    return p ? p->n : 0;
}

static int valid_rate(double r, int optional)
{
    return isfinite(r) && (r >= 0 || (optional && r < 0));
}

static int add_name(ts_prices *p, const char *name, size_t entry, ts_err *err)
{
    name_ix *x = &p->ix[p->nix];
    if (strlen(name) >= TS_PRICE_NAME_MAX)
        return ts_err_set(err, TS_EINVAL, "price table: model name '%.*s...' is too long",
                          (int)ts_utf8_prefix(name, 60), name);
    ts_price_normalise(name, x->name, sizeof(x->name));
    if (!x->name[0])
        return ts_err_set(err, TS_EINVAL, "price table: empty model name in entry %zu", entry);
    x->entry = entry;
    p->nix++;
    return TS_OK;
}

int ts_prices_new(const ts_price_entry *e, size_t n, ts_prices **out, ts_err *err)
{
    size_t names = 0;
    int rc = TS_OK;
    ts_prices *p = calloc(1, sizeof(*p));

    *out = NULL;
    for (size_t i = 0; i < n; i++)
        names += 1 + e[i].naliases;
    if (!p || !(p->e = calloc(n ? n : 1, sizeof(*p->e))) ||
        !(p->ix = calloc(names ? names : 1, sizeof(*p->ix)))) {
        rc = ts_err_set(err, TS_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const ts_price_entry *s = &e[i];
        if (!s->model || !valid_rate(s->input, 0) || !valid_rate(s->output, 0) ||
            !valid_rate(s->cache_read, 1) || !valid_rate(s->cache_write, 1) ||
            !valid_rate(s->reasoning, 1)) {
            rc = ts_err_set(err, TS_EINVAL,
                            "price table: entry %zu (%s) has a missing or invalid price", i,
                            s->model ? s->model : "no model name");
            goto out;
        }
        p->e[i] = *s;
        p->e[i].aliases = NULL;
        p->e[i].naliases = 0;
        p->e[i].model = dup_or_null(s->model);
        p->e[i].provider = dup_or_null(s->provider);
        p->e[i].source = dup_or_null(s->source);
        p->e[i].date = dup_or_null(s->date);
        p->n++;
        if ((rc = add_name(p, s->model, i, err)) != TS_OK)
            goto out;
        for (size_t k = 0; k < s->naliases; k++)
            if ((rc = add_name(p, s->aliases[k], i, err)) != TS_OK)
                goto out;
    }
    qsort(p->ix, p->nix, sizeof(*p->ix), cmp_ix);
    for (size_t i = 1; i < p->nix; i++)
        if (strcmp(p->ix[i].name, p->ix[i - 1].name) == 0) {
            rc = ts_err_set(err, TS_EINVAL, "price table: model '%s' is listed twice",
                            p->ix[i].name);
            goto out;
        }
    *out = p;
    p = NULL;
out:
    ts_prices_free(p);
    return rc;
}

int ts_prices_load(const char *path, ts_prices **out, ts_err *err)
{
    *out = NULL;
    if (!path || !path[0])
        return ts_prices_parse(ts_prices_builtin, ts_prices_builtin_len, out, err);
    FILE *f = fopen(path, "rb");
    if (!f)
        return ts_err_set(err, TS_ENOTFOUND, "price_file: cannot open '%s': %s", path,
                          strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    int rc = TS_OK;
    while (buf) {
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (len < cap)
            break;
        if (cap >= ((size_t)64 << 20)) {
            rc = ts_err_set(err, TS_EINVAL, "price_file: '%s' is larger than 64 MiB", path);
            break;
        }
        char *nb = realloc(buf, cap * 2);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    if (!buf)
        rc = ts_err_set(err, TS_ENOMEM, "out of memory");
    else if (ferror(f))
        rc = ts_err_set(err, TS_EIO, "price_file: cannot read '%s'", path);
    fclose(f);
    if (rc == TS_OK) {
        rc = ts_prices_parse(buf, len, out, err);
        if (rc != TS_OK) {
            char msg[sizeof(err->msg)];
            snprintf(msg, sizeof(msg), "%s", err->msg);
            ts_err_set(err, rc, "price_file '%s': %s", path, msg);
        }
    }
    free(buf);
    return rc;
}

/* ---- the process-wide table ---- */

static ts_prices *active;
static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;
static ts_prices *builtin;

static void load_builtin(void)
{
    ts_err err;
    if (ts_prices_load(NULL, &builtin, &err) != TS_OK)
        builtin = NULL; /* cannot happen: the table is checked by unit tests */
}

const ts_prices *ts_prices_active(void)
{
    if (active)
        return active;
    pthread_once(&builtin_once, load_builtin);
    return builtin;
}

void ts_prices_set_active(ts_prices *p)
{
    ts_prices *old = active;
    active = p;
    ts_prices_free(old);
}

/* ---- normalisation and lookup ---- */

static int starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

void ts_price_normalise(const char *model, char *out, size_t cap)
{
    static const char *const regions[] = {"us.", "eu.", "apac.", "global.", NULL};
    static const char *const vendors[] = {"anthropic.", "meta.", "mistral.", "deepseek.", "openai.",
                                          "google.",    "xai.",  "x-ai.",    NULL};
    char buf[TS_PRICE_NAME_MAX];
    size_t n = 0;
    const char *s = model, *slash = strrchr(model, '/');

    if (cap == 0)
        return;
    if (slash)
        s = slash + 1;
    while (*s == ' ')
        s++;
    for (; *s && n + 1 < sizeof(buf); s++)
        buf[n++] = (char)tolower((unsigned char)*s);
    while (n > 0 && buf[n - 1] == ' ')
        n--;
    buf[n] = '\0';
    char *p = buf;
    /* Bedrock ids: "us.anthropic.claude-3-5-sonnet-20240620-v1:0". */
    for (int i = 0; regions[i]; i++)
        if (starts(p, regions[i]))
            for (int j = 0; vendors[j]; j++)
                if (starts(p + strlen(regions[i]), vendors[j])) {
                    p += strlen(regions[i]);
                    break;
                }
    for (int j = 0; vendors[j]; j++)
        if (starts(p, vendors[j]) && p[strlen(vendors[j])]) {
            p += strlen(vendors[j]);
            break;
        }
    char *colon = strchr(p, ':');
    if (colon && colon != p) {
        *colon = '\0';
        /* Bedrock's "-v1" model version goes with the ":0". */
        char *dash = strrchr(p, '-');
        if (dash && dash[1] == 'v' && dash[2] && strspn(dash + 2, "0123456789") == strlen(dash + 2))
            *dash = '\0';
    }
    /* "gpt-4.1" and "gpt-4-1", "claude-3.5-sonnet" and "claude-3-5-sonnet",
     * "claude-3-5-sonnet@20240620" (Vertex) and "-20240620" all match. */
    for (char *c = p; *c; c++)
        if (*c == '.' || *c == '@' || *c == '_')
            *c = '-';
    snprintf(out, cap, "%s", p);
}

static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return n > 0;
}

/* Removes one snapshot suffix from name; 0 when there is none. */
static int strip_snapshot(char *name)
{
    size_t n = strlen(name);
    static const char *const words[] = {"-latest", "-preview", "-exp", NULL};
    for (int i = 0; words[i]; i++) {
        size_t wl = strlen(words[i]);
        if (n > wl && strcmp(name + n - wl, words[i]) == 0) {
            name[n - wl] = '\0';
            return 1;
        }
    }
    /* -YYYY-MM-DD */
    if (n > 11 && name[n - 11] == '-' && all_digits(name + n - 10, 4) && name[n - 6] == '-' &&
        all_digits(name + n - 5, 2) && name[n - 3] == '-' && all_digits(name + n - 2, 2)) {
        name[n - 11] = '\0';
        return 1;
    }
    /* -MM-DD */
    if (n > 6 && name[n - 6] == '-' && all_digits(name + n - 5, 2) && name[n - 3] == '-' &&
        all_digits(name + n - 2, 2)) {
        name[n - 6] = '\0';
        return 1;
    }
    /* -YYYYMMDD, -MMDD, -YYMM, -NNN */
    char *dash = strrchr(name, '-');
    if (dash && dash != name) {
        size_t dl = strlen(dash + 1);
        if ((dl == 8 || dl == 4 || dl == 3) && all_digits(dash + 1, dl)) {
            *dash = '\0';
            return 1;
        }
    }
    return 0;
}

const ts_price_entry *ts_prices_lookup(const ts_prices *p, const char *model)
{
    name_ix key;
    if (!p || !model || !model[0])
        return NULL;
    ts_price_normalise(model, key.name, sizeof(key.name));
    for (int tries = 0; tries < 4 && key.name[0]; tries++) {
        const name_ix *hit = bsearch(&key, p->ix, p->nix, sizeof(*p->ix), cmp_ix);
        if (hit)
            return &p->e[hit->entry];
        if (!strip_snapshot(key.name))
            break;
    }
    return NULL;
}

/* ---- pricing ---- */

static int64_t tok(int64_t v)
{
    return v > 0 ? v : 0;
}

int ts_price_cost(const ts_price_entry *e, const ts_span *s, double *cost)
{
    if (s->prompt_tokens == TS_TOKENS_ABSENT && s->completion_tokens == TS_TOKENS_ABSENT)
        return 0;
    int64_t in = tok(s->prompt_tokens), out = tok(s->completion_tokens);
    int64_t cr = tok(s->cache_read_tokens), cw = tok(s->cache_write_tokens);
    int64_t rs = tok(s->reasoning_tokens);
    /* OTel: input includes cached tokens and output includes reasoning
     * tokens. A client that reports them separately (cached > input) is
     * taken at its word: nothing is subtracted then. */
    int64_t plain_in = cr + cw <= in ? in - cr - cw : in;
    int64_t plain_out = rs <= out ? out - rs : out;
    double r_cr = e->cache_read >= 0 ? e->cache_read : e->input;
    double r_cw = e->cache_write >= 0 ? e->cache_write : e->input;
    double r_rs = e->reasoning >= 0 ? e->reasoning : e->output;
    *cost = ((double)plain_in * e->input + (double)cr * r_cr + (double)cw * r_cw +
             (double)plain_out * e->output + (double)rs * r_rs) /
            1e6;
    return 1;
}

void ts_cost_apply(ts_span *s, const ts_prices *p)
{
    double c;
    s->unpriced = 0;
    if (s->has_cost || !ts_span_type_is_llm(s->type))
        return;
    const ts_price_entry *e = s->model ? ts_prices_lookup(p, s->model) : NULL;
    if (e && ts_price_cost(e, s, &c)) {
        s->has_cost = 1;
        s->cost = c;
        s->cost_priced = 1;
        return;
    }
    s->unpriced = 1;
}

/* fuzz_config.c: libFuzzer target for the configuration parsers
 * (core/config.c): the input is written to a temporary file and loaded as
 * a config file, and split at its first '=' into a key and a value for
 * ts_config_set. Any input must give TS_OK or TS_EINVAL. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"

static void load_file(const uint8_t *data, size_t size)
{
    char path[] = "/tmp/ts-fuzz-config-XXXXXX";
    ts_config cfg;
    ts_err err;
    int fd = mkstemp(path);
    if (fd < 0)
        return;
    size_t off = 0;
    while (off < size) {
        ssize_t w = write(fd, data + off, size - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    close(fd);
    ts_config_defaults(&cfg);
    int rc = ts_config_load_file(&cfg, path, &err);
    unlink(path);
    if (rc != TS_OK && rc != TS_EINVAL)
        abort();
}

static void set_one(const uint8_t *data, size_t size)
{
    ts_config cfg;
    ts_err err;
    char *buf = malloc(size + 1);
    if (!buf)
        return;
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *eq = memchr(buf, '=', size);
    const char *val = "";
    if (eq) {
        *eq = '\0';
        val = eq + 1;
    }
    ts_config_defaults(&cfg);
    int rc = ts_config_set(&cfg, buf, val, &err);
    free(buf);
    if (rc != TS_OK && rc != TS_EINVAL)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    load_file(data, size);
    set_one(data, size);
    return 0;
}

/* gzip.c: see gzip.h. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "codec/gzip.h"

static int too_big(ts_err *err, size_t max)
{
    return ts_err_set(err, TS_ETOOBIG, "decompressed body exceeds max_body_bytes (%zu bytes)", max);
}

int ts_gunzip(const void *in, size_t inlen, size_t max, char **out, size_t *outlen, ts_err *err)
{
    z_stream z;
    char *buf = NULL;
    size_t cap = inlen < max / 4 ? inlen * 4 + 1024 : max + 1, len = 0;
    int rc = TS_OK;

    *out = NULL;
    *outlen = 0;
    if (cap > max + 1)
        cap = max + 1;
    if (inlen == 0)
        return ts_err_set(err, TS_EINVAL, "invalid gzip body: empty");
    if (inlen > UINT_MAX)
        return too_big(err, max);
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
        return ts_err_set(err, TS_ENOMEM, "out of memory");
    if (!(buf = malloc(cap + 1))) {
        rc = ts_err_set(err, TS_ENOMEM, "out of memory");
        goto out;
    }
    z.next_in = (unsigned char *)in;
    z.avail_in = (unsigned)inlen;
    for (;;) {
        if (len == cap) {
            if (cap > max) {
                rc = too_big(err, max);
                goto out;
            }
            size_t ncap = cap > (max + 1) / 2 ? max + 1 : cap * 2;
            char *nb = realloc(buf, ncap + 1);
            if (!nb) {
                rc = ts_err_set(err, TS_ENOMEM, "out of memory");
                goto out;
            }
            buf = nb;
            cap = ncap;
        }
        size_t room = cap - len;
        z.next_out = (unsigned char *)buf + len;
        z.avail_out = room > UINT_MAX ? UINT_MAX : (unsigned)room;
        unsigned before = z.avail_out;
        int zr = inflate(&z, Z_NO_FLUSH);
        len += before - z.avail_out;
        if (len > max) {
            rc = too_big(err, max);
            goto out;
        }
        if (zr == Z_STREAM_END) {
            if (z.avail_in == 0)
                break;
            /* RFC 1952 allows several members; anything else is garbage. */
            if (z.avail_in < 2 || z.next_in[0] != 0x1f || z.next_in[1] != 0x8b) {
                rc =
                    ts_err_set(err, TS_EINVAL, "invalid gzip body: trailing data after the stream");
                goto out;
            }
            if (inflateReset(&z) != Z_OK) {
                rc = ts_err_set(err, TS_ENOMEM, "out of memory");
                goto out;
            }
            continue;
        }
        if (zr == Z_OK || (zr == Z_BUF_ERROR && z.avail_out == 0))
            continue;
        if (zr == Z_BUF_ERROR) {
            rc = ts_err_set(err, TS_EINVAL, "invalid gzip body: truncated stream");
            goto out;
        }
        if (zr == Z_MEM_ERROR) {
            rc = ts_err_set(err, TS_ENOMEM, "out of memory");
            goto out;
        }
        rc = ts_err_set(err, TS_EINVAL, "invalid gzip body: %s", z.msg ? z.msg : "corrupt data");
        goto out;
    }
    buf[len] = '\0';
    *out = buf;
    *outlen = len;
    buf = NULL;
out:
    inflateEnd(&z);
    free(buf);
    return rc;
}

/* gzip.h: Content-Encoding: gzip request bodies (zlib). The output is
 * capped so that a small compressed bomb cannot exhaust memory. */
#ifndef TS_CODEC_GZIP_H
#define TS_CODEC_GZIP_H

#include <stddef.h>

#include "tracestore/err.h"

/* Inflates the gzip stream in (one or more concatenated members) into a
 * malloc'd buffer (*out, *outlen; NUL-terminated; caller frees). More than
 * max bytes of output: TS_ETOOBIG. Corrupt, truncated or trailing data:
 * TS_EINVAL with err naming the problem. */
int ts_gunzip(const void *in, size_t inlen, size_t max, char **out, size_t *outlen, ts_err *err);

#endif

/* otlp_pb.h: OTLP/HTTP protobuf encoding (application/x-protobuf): a
 * decoder of its own for requests, and protobuf-c code generated from
 * src/codec/proto/otlp_trace.proto for the responses. */
#ifndef TS_CODEC_OTLP_PB_H
#define TS_CODEC_OTLP_PB_H

#include <stddef.h>

#include "codec/otlp.h"

/* Decodes an ExportTraceServiceRequest. The wire format is checked first
 * (nesting depth, span count, attributes per list, string sizes, UTF-8),
 * then decoded straight into *out, with protobuf-c 1.4's semantics (merged
 * messages, oneofs, wire types; tests/common/otlp_pb_ref.h is the
 * reference the tests compare with), allocating from a under a budget
 * proportional to len (over it: TS_ETOOBIG). Strings in *out live in a. TS_EINVAL (err names the problem) for a body that is
 * not a valid request, TS_ETOOBIG over max_spans. */
int ts_otlp_pb_decode(const void *buf, size_t len, const ts_otlp_limits *lim, ts_arena *a,
                      ts_otlp_req *out, ts_err *err);

/* What the first pass of ts_otlp_pb_decode counted. */
typedef struct ts_otlp_pb_counts {
    size_t spans, messages, fields;
} ts_otlp_pb_counts;

/* The first pass of ts_otlp_pb_decode alone: the wire format checked
 * against the schema and the limits, with ts_otlp_pb_decode's errors. The
 * reference decoder of the tests runs protobuf-c after it. */
int ts_otlp_pb_scan(const void *buf, size_t len, const ts_otlp_limits *lim, ts_otlp_pb_counts *n,
                    ts_err *err);

/* ExportTraceServiceResponse: partial_success set when rejected > 0 or msg
 * is given. malloc'd (caller frees; never NULL unless OOM), *len may be 0. */
char *ts_otlp_pb_response(long long rejected, const char *msg, size_t *len);

/* google.rpc.Status {code, message}. malloc'd. */
char *ts_otlp_pb_status(int code, const char *msg, size_t *len);

#endif

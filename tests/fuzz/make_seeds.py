#!/usr/bin/env python3
"""make_seeds.py: writes the seed corpora under tests/fuzz/corpus/ (run from
anywhere; committed together with its output). Seeds cover every message
and AnyValue type, both id spellings, bad ids, limits, gzip streams and
price tables, so the replay in `make test` walks the decoders' paths."""
import gzip, json, os, struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

def varint(v):
    v &= (1 << 64) - 1
    out = b""
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])

def tag(f, wt): return varint(f << 3 | wt)
def ld(f, b): return tag(f, 2) + varint(len(b)) + b
def s(f, t): return ld(f, t.encode())
def vi(f, v): return tag(f, 0) + varint(v)
def f64(f, v): return tag(f, 1) + struct.pack("<Q", v)
def dbl(f, v): return tag(f, 1) + struct.pack("<d", v)

def anyv(v):
    if isinstance(v, bool): return vi(2, int(v))
    if isinstance(v, int): return vi(3, v)
    if isinstance(v, float): return dbl(4, v)
    if isinstance(v, bytes): return ld(7, v)
    if isinstance(v, list): return ld(5, b"".join(ld(1, anyv(x)) for x in v))
    if isinstance(v, dict): return ld(6, b"".join(ld(1, kv(k, x)) for k, x in v.items()))
    return s(1, v)

def kv(k, v): return s(1, k) + ld(2, anyv(v))
def kvs(f, d): return b"".join(ld(f, kv(k, v)) for k, v in d.items())

T0 = 1700000000000000000
TID = bytes.fromhex("5b8efff798038103d269b633813fc60c")

def span(tid=TID, sid=b"\x01" * 8, parent=b"", name="chat", kind=3, attrs=None, events=(), links=(), code=0, msg=""):
    b = ld(1, tid) + ld(2, sid) + (ld(4, parent) if parent else b"") + s(5, name) + vi(6, kind)
    b += f64(7, T0) + f64(8, T0 + 1000) + kvs(9, attrs or {})
    for ename, eattrs in events:
        b += ld(11, f64(1, T0 + 5) + s(2, ename) + kvs(3, eattrs))
    for ltid, lsid in links:
        b += ld(13, ld(1, ltid) + ld(2, lsid) + s(3, "k=v") + kvs(4, {"l": 1}))
    if code or msg:
        b += ld(15, s(2, msg) + vi(3, code))
    return b

def request(spans, res=None, scope=("lib", "1.0")):
    ss = ld(1, s(1, scope[0]) + s(2, scope[1]) + kvs(3, {"sa": "x"})) + b"".join(ld(2, x) for x in spans)
    rs = ld(1, kvs(1, res or {"service.name": "svc"})) + ld(2, ss) + s(3, "https://schema")
    return ld(1, rs)

LLM = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
       "gen_ai.request.model": "gpt-4o-mini", "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
       "gen_ai.usage.input_tokens": 1000, "gen_ai.usage.output_tokens": 500,
       "gen_ai.usage.cache_read.input_tokens": 200, "gen_ai.usage.reasoning.output_tokens": 50,
       "gen_ai.prompt.0.role": "user", "gen_ai.prompt.0.content": "hi",
       "gen_ai.completion.0.content": "hello", "session.id": "s", "user.id": "u",
       "promptlayer.metadata.env": "prod", "respan.metadata": {"team": "ml"}}
OI = {"openinference.span.kind": "LLM", "llm.model_name": "claude-3-5-sonnet-20241022",
      "llm.token_count.prompt": 10, "llm.token_count.completion": 20, "llm.cost.total": 0.5,
      "llm.token_count.prompt_details.cache_write": 3, "input.value": "q", "output.value": "a"}
TYPES = {"s": "text", "i": -42, "big": 1 << 60, "d": 1.5, "nan": float("nan"), "b": True,
         "arr": ["a", 1, [2.5, False]], "kv": {"k": {"n": "v"}}, "y": b"\x00\xff", "e": ""}

pb = {
    "llm.bin": request([span(attrs=LLM), span(sid=b"\x02" * 8, parent=b"\x01" * 8, name="tool", kind=1,
                                            attrs={"traceloop.span.kind": "tool"})]),
    "openinference.bin": request([span(attrs=OI, code=2, msg="failed")]),
    "types.bin": request([span(attrs=TYPES, events=[("exception", {"exception.message": "boom"}), ("log", {})],
                               links=[(TID, b"\x03" * 8)])]),
    "bad_ids.bin": request([span(tid=TID[:8]), span(sid=b"\x01" * 4), span(tid=b"\x00" * 16),
                            span(parent=b"\x01\x02"), span(tid=b"")]),
    "empty.bin": b"",
    "empty_rs.bin": ld(1, b""),
    "unknown_fields.bin": vi(99, 7) + ld(98, b"zz") + request([span(attrs={"a": 1})]) + f64(97, 1) + tag(96, 5) + b"abcd",
    "truncated.bin": request([span(attrs=LLM)])[:-7],
    "nested.bin": request([span(attrs={"deep": [[[[[["x"]]]]]]})]),
    # regression: link ids longer than 16 bytes were rendered past the id buffer
    "regress-link-id-too-long.bin": request([span(links=[(b"\x01" * 40, b"\x02" * 3), (b"", b"")])]),
}
js = {
    "llm.json": {"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]},
        "scopeSpans": [{"scope": {"name": "lib", "version": "1"}, "spans": [{
            "traceId": "5B8EFFF798038103D269B633813FC60C", "spanId": "0101010101010101", "parentSpanId": "",
            "name": "chat", "kind": 3, "startTimeUnixNano": str(T0), "endTimeUnixNano": T0 + 1000,
            "attributes": [{"key": k, "value": ({"intValue": str(v)} if isinstance(v, int) else {"stringValue": v})}
                           for k, v in LLM.items() if not isinstance(v, dict)],
            "events": [{"timeUnixNano": str(T0), "name": "exception", "attributes": [{"key": "exception.message", "value": {"stringValue": "x"}}]}],
            "links": [{"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "0202020202020202"}],
            "status": {"code": 2, "message": "bad"}}]}]}]},
    "snake.json": {"resource_spans": [{"scope_spans": [{"spans": [{"trace_id": "5b8efff798038103d269b633813fc60c",
        "span_id": "0101010101010101", "kind": "SPAN_KIND_CLIENT", "start_time_unix_nano": T0, "end_time_unix_nano": T0,
        "attributes": [{"key": "a", "value": {"int_value": 5}}, {"key": "b", "value": {"double_value": "Infinity"}},
                       {"key": "c", "value": {"array_value": {"values": [{"bool_value": True}]}}},
                       {"key": "d", "value": {"kvlist_value": {"values": [{"key": "e", "value": {"bytes_value": "aGk="}}]}}}],
        "status": {"code": "STATUS_CODE_OK"}}]}]}]},
    "empty.json": {"resourceSpans": []},
    "bad_ids.json": {"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz", "spanId": "01"}, {"spanId": "0101010101010101"}]}]}]},
    "bad_types.json": {"resourceSpans": [{"scopeSpans": [{"spans": [{"name": 5, "attributes": {}}]}]}]},
    "legacy.json": {"resourceSpans": [{"instrumentationLibrarySpans": [{"instrumentationLibrary": {"name": "old"}, "spans": [
        {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "0101010101010101", "startTimeUnixNano": "1", "endTimeUnixNano": "2"}]}]}]},
}

def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

for n, b in pb.items():
    write("otlp_pb", n, b)
for n, o in js.items():
    write("otlp_json", n, json.dumps(o).encode())
write("otlp_json", "invalid.json", b'{"resourceSpans":[{"scopeSpans":')
write("otlp_json", "nul.json", b'{"resourceSpans":[],"x":"\\u0000"}')

body = json.dumps(js["llm.json"]).encode()
g = gzip.compress(body, mtime=0)
write("gzip", "request.gz", g)
write("gzip", "two_members.gz", g + gzip.compress(b"second", mtime=0))
write("gzip", "truncated.gz", g[:len(g) // 2])
write("gzip", "trailing.gz", g + b"junk")
write("gzip", "zeros.gz", gzip.compress(b"\0" * 200000, mtime=0))
write("gzip", "not_gzip.gz", b"plain text")

with open(os.path.join(ROOT, "config", "prices.json"), "rb") as f:
    write("prices", "builtin.json", f.read())
write("prices", "small.json", json.dumps({"models": [{"model": "m", "input": 1, "output": 2, "cache_read": 0.5,
    "aliases": ["openai/m-2024-01-01"], "source": "x", "date": "2026-01-01"}]}).encode())
write("prices", "bad_key.json", b'{"models":[{"model":"m","input":1,"output":2,"inptu":3}]}')
write("prices", "dup.json", b'{"models":[{"model":"M","input":1,"output":2},{"model":"m","input":1,"output":2}]}')
write("prices", "name.txt", b"us.anthropic.claude-3-5-sonnet-20240620-v1:0")

# ---- JSON bodies of the vendor APIs, the guard, times, ids, config ----
def wj(target, name, o):
    write(target, name, o if isinstance(o, bytes) else json.dumps(o).encode())

HEX = "0af7651916cd43dd8448eb211c80319c"
UUID = "0192F3A0-7C1E-7A3B-9C2D-1E2F3A4B5C6D"
PL_SPAN = {"name": "openai.chat", "context": {"trace_id": HEX, "span_id": "b7ad6b7169203331", "trace_state": ""},
           "kind": "SpanKind.CLIENT", "parent_id": None, "start_time": "2026-04-20T12:00:00.123456Z",
           "end_time": "2026-04-20T12:00:01Z", "status": {"status_code": "StatusCode.OK"},
           "attributes": {"gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 10,
                          "gen_ai.usage.output_tokens": 5, "big": "12345678901234567890", "list": [1, 2]},
           "events": [{"name": "e", "timestamp": "2026-04-20T12:00:00.5Z", "attributes": {"k": "v"}}],
           "links": [], "resource": {"attributes": {"service.name": "api"}, "schema_url": ""}}
wj("spans_bulk", "sdk.json", {"spans": [PL_SPAN, dict(PL_SPAN, name="child", parent_id="b7ad6b7169203331",
    context={"trace_id": HEX, "span_id": "00f067aa0ba902b7"}, kind="SpanKind.INTERNAL")]})
wj("spans_bulk", "log_request.json", {"workspace_id": 7, "close_after": True, "spans": [dict(PL_SPAN,
    log_request={"provider": "openai", "model": "gpt-4o", "input": {"messages": [{"role": "user", "content": "hi"}]},
                 "output": "hello", "request_start_time": "2026-04-20T12:00:00Z", "request_end_time": "2026-04-20T12:00:01Z",
                 "input_tokens": 3, "output_tokens": 4, "price": 0.001})]})
wj("spans_bulk", "epoch_ns.json", {"spans": [dict(PL_SPAN, start_time="1700000000000000000", end_time=1700000000000000001,
    status={"status_code": "StatusCode.ERROR", "description": "boom"})]})
wj("spans_bulk", "dup.json", {"spans": [PL_SPAN, PL_SPAN]})
wj("spans_bulk", "bad_fields.json", {"spans": [{"name": 5, "context": {"trace_id": "zz"}, "kind": "SpanKind.NOPE",
    "start_time": "yesterday", "end_time": "2026-13-40", "status": {"status_code": 3}, "attributes": []}]})
wj("spans_bulk", "empty.json", {"spans": []})
wj("spans_bulk", "deep.json", b'{"spans":[{"attributes":{"a":' + b'[' * 40 + b']' * 40 + b'}}]}')
wj("spans_bulk", "truncated.json", json.dumps({"spans": [PL_SPAN]}).encode()[:200])

wj("json_guard", "object.json", {"a": [1, 2.5, -3e10, True, None, "x\u00e9\u4e2d\U0001F600"], "b": {"c": {}}})
wj("json_guard", "bigint.json", b'{"n":123456789012345678901234567890,"m":-9223372036854775809,"f":1.5e300}')
wj("json_guard", "nul_escape.json", b'{"a":"x\\u0000y"}')
wj("json_guard", "raw_nul.json", b'{"a":"x\x00y"}')
wj("json_guard", "bad_utf8.json", b'{"a":"\xc3\x28\xed\xa0\x80\xf4\x90\x80\x80"}')
wj("json_guard", "surrogates.json", b'{"a":"\\ud83d\\ude00 \\ud800 \\udc00"}')
wj("json_guard", "deep.json", b'[' * 20 + b']' * 20)
wj("json_guard", "ctrl.json", b'{"a":"\x01\x1f"}')
wj("json_guard", "string_escapes.json", b'"\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9"')
wj("json_guard", "unterminated.json", b'{"a":"abc')

TL = {"id": UUID, "project_id": "rag", "session_id": "c", "name": "n", "input": {"q": 1}, "output": "a",
      "latency_ms": 812, "cost": 0.5, "error": "", "tags": {"tier": "pro"}, "metadata": {"a": 1},
      "started_at": "2026-04-20T12:00:00Z", "ended_at": "2026-04-20T12:00:01Z",
      "spans": [{"name": "g", "type": "llm", "model": "gpt-4o", "prompt_tokens": 10, "completion_tokens": 4,
                 "latency_ms": 100, "metadata": {"cost_usd": 0.25}, "start_time": "2026-04-20T12:00:00.1Z"},
                {"id": "s2", "parent_span_id": "s1", "name": "h", "type": "tool", "cost": 0.1, "error": "boom"}],
      "events": [{"message": "m", "level": "info", "timestamp": "2026-04-20T12:00:00Z", "metadata": {}}]}
wj("trulayer_ingest", "trace.json", TL)
wj("trulayer_ingest", "batch.json", {"traces": [TL, {"tags": ["a"]}, dict(TL, id=HEX)]})
wj("trulayer_ingest", "feedback.json", {"trace_id": UUID, "label": "good", "score": 0.9, "comment": "ok", "metadata": {"k": 1}})
wj("trulayer_ingest", "bad_types.json", {"id": 5, "tags": [1], "spans": [{"name": "x"}, {"type": "x"}], "latency_ms": -1})
wj("trulayer_ingest", "empty_batch.json", {"traces": []})
wj("trulayer_ingest", "external_id.json", {"external_id": "ext-1", "trace_id": "t" * 129, "spans": [{"name": "s", "type": "llm", "started_at": "bad"}]})

RS = {"trace_unique_id": HEX, "span_unique_id": "s1", "span_name": "openai.chat", "span_parent_id": "",
      "span_workflow_name": "wf", "span_path": "a/b", "log_type": "chat", "model": "gpt-4o", "provider_id": "openai",
      "start_time": "2026-04-20T12:00:00Z", "timestamp": "2026-04-20T12:00:01.5Z", "latency": 1.5,
      "prompt_tokens": 10, "completion_tokens": 5, "cost": 0.01, "status_code": 200, "status": "success",
      "prompt_messages": [{"role": "user", "content": "hi"}], "completion_message": {"role": "assistant", "content": "yo"},
      "customer_identifier": "cust", "thread_identifier": "th", "environment": "prod", "metadata": {"k": "v"},
      "usage": {"prompt_tokens": 10, "completion_tokens": 5, "prompt_cache_hit_tokens": 2,
                "prompt_cache_creation_tokens": 1}}
wj("respan_ingest", "data.json", {"data": [RS, dict(RS, span_unique_id="s2", span_parent_id="s1", log_type="custom",
    start_time=None, latency=None, error_message="bad", status_code=500)]})
wj("respan_ingest", "array.json", [RS])
wj("respan_ingest", "minimal.json", [{"trace_unique_id": "t", "span_unique_id": "s"}])
wj("respan_ingest", "derive_start.json", [{"trace_unique_id": "t", "span_unique_id": "s", "timestamp": "2026-04-20T12:00:01Z", "latency": 1e300}])
wj("respan_ingest", "bad.json", [{"span_unique_id": "s", "cost": -1, "latency": "x", "start_time": "2026-02-30"}])
wj("respan_ingest", "spans_key.json", {"spans": []})

wj("track_request", "openai.json", {"api_key": "pl_k1", "span_id": "abc", "provider_type": "openai",
    "kwargs": {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
    "request_response": {"choices": [{"message": {"content": "hello"}}], "usage": {"prompt_tokens": 5, "completion_tokens": 6}},
    "request_start_time": 1700000000.5, "request_end_time": 1700000001.25, "tags": ["x"]})
wj("track_request", "anthropic.json", {"api_key": "k1", "span_id": "abc", "provider_type": "anthropic",
    "kwargs": {"model": "claude-3-5-sonnet-20240620", "messages": []},
    "request_response": {"content": [{"type": "text", "text": "hi"}], "usage": {"input_tokens": 5, "output_tokens": 6}}})
wj("track_request", "completion.json", {"kwargs": {"model": "gpt-3.5-turbo-instruct", "prompt": "say"},
    "request_response": {"choices": [{"text": "said"}]}, "price": 0.002})
wj("track_request", "bad.json", {"span_id": 5, "kwargs": [], "request_response": "x"})
wj("track_request", "no_key.json", {"kwargs": {"model": "unknown-model"}, "request_response": {}})

for name, t in {"utc": "2024-01-15T10:30:00Z", "frac9": "2024-01-15T10:30:00.123456789+05:30",
                "frac12": "2024-02-29 23:59:60.123456789999-0800", "date": "1970-01-01",
                "min": "1677-09-21T00:12:43.145224192Z", "max": "2262-04-11T23:47:16.854775807Z",
                "over": "2262-04-11T23:47:16.854775808Z", "pre1970": "1969-12-31T23:59:59.999999999z",
                "hhmm": "2024-01-15T10:30+0100", "ns": "1700000000000000000", "ns_plus": "+0",
                "ns_over": "9223372036854775808", "bad_day": "2023-02-29T00:00:00Z", "bad_zone": "2024-01-15T10:30:00+24:00",
                "year1": "0001-01-01T00:00:00Z"}.items():
    write("time", name + ".txt", t.encode())
write("time", "int64_min.bin", struct.pack("<q", -(1 << 63)))
write("time", "int64_max.bin", struct.pack("<q", (1 << 63) - 1))
# two int64 times for ts_time_diff_ms: the plain difference overflows
write("time", "regress-diff-ms-overflow.bin", struct.pack("<qq", -(1 << 63), (1 << 63) - 1))
write("time", "diff_neg.bin", struct.pack("<qq", (1 << 63) - 1, -(1 << 63) + 999999))

for name, i in {"hex": HEX, "hex_upper": HEX.upper(), "uuid": UUID, "uuid_lower": UUID.lower(),
                "verbatim": "my-trace-1", "long": "x" * 128, "too_long": "x" * 129, "space": "a b",
                "uuid_bad_dash": "0192F3A07-C1E-7A3B-9C2D-1E2F3A4B5C6D", "hex31": HEX[:31], "empty": ""}.items():
    write("ids", name + ".txt", i.encode())
write("ids", "bits.bin", bytes(range(17)))
write("ids", "high.bin", b"\x80\xff" * 9)

write("config", "full.conf", b"""# tracestore config
listen = 127.0.0.1:8080
db_path = "data/trace store.db"   # quoted
http_threads = 4
max_connections = 4096
per_ip_connections = 0
connection_timeout_s = 30
request_timeout_s = 60
log_level = INFO
max_body_bytes = 8388608
max_spans_per_request = 10000
max_string_bytes = 1048576
max_attributes_per_span = 1024
max_json_depth = 64
max_page_size = 1000
sqlite_synchronous = normal
sqlite_cache_mb = 64
read_connections = 0
writer_queue_max = 4096
writer_batch_max = 256
price_file =
rate_limit_per_key = 0
""")
write("config", "ipv6.conf", b"listen = [::1]:0\n")
write("config", "set.txt", b"max_json_depth=16")
write("config", "bad_number.conf", b"max_spans_per_request = 1e9\n")
write("config", "out_of_range.conf", b"max_json_depth = 99999999999999999999\n")
write("config", "unknown.conf", b"nope = 1\n")
write("config", "no_eq.conf", b"listen\n")
write("config", "quote.conf", b'db_path = "abc\n')
write("config", "long_line.conf", b"db_path = " + b"a" * 5000 + b"\n")
write("config", "crlf.conf", b"log_level = debug\r\nlisten = localhost:1\r\n")

# Trace list filters: Respan bodies (JSON) and TruLayer/Respan query strings.
wj("filters", "respan_filters.json", {"filters": {
    "duration": {"operator": "gte", "value": [2.5]}, "total_cost": {"operator": "lt", "value": [0.1]},
    "start_time": {"operator": "gte", "value": ["2026-04-20T00:00:00Z"]},
    "name": {"operator": "icontains", "value": ["chat"]}, "customer_identifier": {"operator": "in", "value": ["a", "b"]},
    "metadata__tier": {"operator": "", "value": ["pro"]}, "error_count": {"operator": "gt", "value": [0]},
    "model": {"operator": "not", "value": ["gpt-4o"]}, "environment": {"operator": "isnull", "value": [True]},
    "unknown_field": {"operator": "eq", "value": [1]}}})
wj("filters", "respan_empty.json", {"filters": {}})
wj("filters", "respan_bad_op.json", {"filters": {"name": {"operator": "near", "value": [1]}}})
wj("filters", "respan_bad_value.json", {"filters": {"span_count": {"value": ["x"]}, "name": {"value": []}}})
wj("filters", "respan_many.json", {"filters": {"metadata__k%d" % i: {"operator": "in", "value": list(range(20))} for i in range(70)}})
wj("filters", "respan_array.json", [])
write("filters", "tl_all.txt", b"project_id=rag&model=gpt-4o&session_id=s1&error=true&failure_type=timeout"
      b"&from=2026-04-20T00:00:00Z&to=2026-04-21T00:00:00%2B02:00&latency_min=10&latency_max=2000"
      b"&token_count_min=1&token_count_max=99&tag_key=tier&tag_value=pro&limit=50&sort_by=-total_cost")
write("filters", "tl_cursor.txt", b"limit=2&cursor=76313a313730303030303030303030303030303030303a3432")
write("filters", "tl_bad_cursor.txt", b"cursor=76313a2d393232333337323033363835343737353830383a78&limit=-1")
write("filters", "tl_bad_range.txt", b"latency_min=10&latency_max=5&from=2026-04-21T00:00:00Z&to=2026-04-20T00:00:00Z")
write("filters", "tl_tag_half.txt", b"tag_key=a%22b&error=maybe&failure_type=other")
write("filters", "tl_overflow.txt", b"limit=99999999999999999999&token_count_min=+5&sort_by=%2Bname")

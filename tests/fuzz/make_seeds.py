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

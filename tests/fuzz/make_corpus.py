#!/usr/bin/python3
"""Writes the seed corpora of the fuzz targets into tests/fuzz/corpus/<target>/.

Small, meaningful inputs: the contract's examples (protocol.md) in both encodings and
their edge cases. Run it again after changing it; it rewrites only the files it names
(what libFuzzer added to a copy of the corpus is not kept here). Needs python3-msgpack.
"""
import json
import os
import struct
import sys

import msgpack

HERE = os.path.dirname(os.path.abspath(__file__))


def pack(v):
    return msgpack.packb(v, use_bin_type=True)


def ts(seconds, nanos=0):
    return msgpack.Timestamp(seconds, nanos)


def frame(body):
    return struct.pack(">I", len(body)) + body


def ext(code, data):
    return msgpack.ExtType(code, data)


def nested(depth, leaf=0):
    v = leaf
    for _ in range(depth):
        v = [v]
    return v


# Requests, as Python values: every op of the contract, with good and bad arguments.
REQUESTS = {
    "ping": {"op": "ping", "id": 1},
    "hello": {"op": "hello", "id": 2},
    "no_id": {"op": "ping"},
    "id_max": {"op": "ping", "id": 2**53 - 1},
    "id_too_big": {"op": "ping", "id": 2**53},
    "id_negative": {"op": "ping", "id": -1},
    "id_string": {"op": "ping", "id": "7"},
    "op_missing": {"id": 3},
    "op_not_string": {"op": 5, "id": 4},
    "unknown_op": {"op": "cache.frobnicate", "id": 5},
    "args_nil": {"op": "ping", "id": 6, "args": None},
    "args_not_map": {"op": "cache.get", "id": 7, "args": [1]},
    "duplicate_keys": [("op", "hello"), ("op", "ping"), ("id", "x"), ("id", 8)],
    "put": {"op": "cache.put", "id": 10, "args": {"key": "greeting", "value": "hello", "ttl_ms": 60000}},
    "put_durable": {"op": "cache.put", "id": 11, "args": {"key": "k", "value": {"a": [1, 2.5, None, True]}, "durable": True}},
    "put_ns": {"op": "cache.put", "id": 12, "args": {"key": "blob", "ns": "app:1", "value": b"\x00\x01\xff"}},
    "put_ts": {"op": "cache.put", "id": 13, "args": {"key": "when", "value": ts(1_796_410_800, 123_000_000)}},
    "put_int_keys": {"op": "cache.put", "id": 14, "args": {"key": "ik", "value": {1: "one", -2: "minus two"}}},
    "put_too_deep": {"op": "cache.put", "id": 15, "args": {"key": "deep", "value": nested(33)}},
    "put_depth_32": {"op": "cache.put", "id": 16, "args": {"key": "deep", "value": nested(32)}},
    "put_bad_ext": {"op": "cache.put", "id": 17, "args": {"key": "e", "value": ext(5, b"abc")}},
    "put_bad_ns": {"op": "cache.put", "id": 18, "args": {"key": "k", "ns": "no spaces", "value": 1}},
    "put_empty_key": {"op": "cache.put", "id": 19, "args": {"key": "", "value": 1}},
    "put_no_value": {"op": "cache.put", "id": 20, "args": {"key": "k"}},
    "put_nil_value": {"op": "cache.put", "id": 21, "args": {"key": "k", "value": None}},
    "get": {"op": "cache.get", "id": 22, "args": {"key": "greeting"}},
    "get_ns": {"op": "cache.get", "id": 23, "args": {"key": "blob", "ns": "app:1"}},
    "del": {"op": "cache.del", "id": 24, "args": {"key": "greeting"}},
    "clear": {"op": "cache.clear", "id": 25, "args": {"ns": "app:1"}},
    "stats": {"op": "cache.stats", "id": 26},
    "timer_start": {"op": "timer.start", "id": 30, "args": {"task": "write the report", "tags": ["work", "deep"], "planned_ms": 1_500_000, "note": "n"}},
    "timer_start_brief": {"op": "timer.start", "id": 31, "args": {"task": "t", "brief": True}},
    "timer_pause": {"op": "timer.pause", "id": 32, "args": {"id": 1}},
    "timer_resume": {"op": "timer.resume", "id": 33, "args": {"id": 1}},
    "timer_interrupt": {"op": "timer.interrupt", "id": 34, "args": {"id": 1, "reason": "phone"}},
    "timer_stop": {"op": "timer.stop", "id": 35, "args": {"id": 1, "outcome": "abandoned", "focus": 4, "note": "done"}},
    "timer_get": {"op": "timer.get", "id": 36, "args": {"id": 1}},
    "timer_list": {"op": "timer.list", "id": 37, "args": {"from": ts(1_700_000_000), "to": ts(1_900_000_000), "tag": "work", "state": "running", "limit": 10, "after_id": 0}},
    "timer_stats_day": {"op": "timer.stats", "id": 38, "args": {"group_by": "day", "tz_offset_min": -120}},
    "timer_stats_tag": {"op": "timer.stats", "id": 39, "args": {"group_by": "tag", "from": ts(0)}},
    "timer_delete": {"op": "timer.delete", "id": 40, "args": {"id": 1}},
    "admin_status": {"op": "admin.status", "id": 41},
    "admin_rotate": {"op": "admin.rotate_key", "id": 42, "args": {"passphrase": "a new passphrase of some length"}},
}


def to_json(v):
    """The contract's JSON form of a Python value ($bin, $ts)."""
    if isinstance(v, bytes):
        import base64
        return {"$bin": base64.b64encode(v).decode()}
    if isinstance(v, msgpack.Timestamp):
        import datetime
        t = datetime.datetime.fromtimestamp(v.seconds, datetime.timezone.utc)
        frac = f".{v.nanoseconds:09d}".rstrip("0") if v.nanoseconds else ""
        return {"$ts": t.strftime("%Y-%m-%dT%H:%M:%S") + frac + "Z"}
    if isinstance(v, msgpack.ExtType):
        return None
    if isinstance(v, dict):
        return {str(k): to_json(x) for k, x in v.items()}
    if isinstance(v, list):
        return [to_json(x) for x in v]
    return v


def packed_request(v):
    if isinstance(v, list) and v and isinstance(v[0], tuple):  # a map with repeated keys
        out = bytes([0x80 | len(v)])
        for k, x in v:
            out += pack(k) + pack(x)
        return out
    return pack(v)


def json_request(v):
    if isinstance(v, list) and v and isinstance(v[0], tuple):
        return "{" + ",".join(f"{json.dumps(k)}:{json.dumps(x)}" for k, x in v) + "}"
    return json.dumps(to_json(v), separators=(",", ":"))


def corpus():
    c = {name: {} for name in ("frame", "msgpack_validator", "json_lines", "envelope", "request")}

    for name, req in REQUESTS.items():
        body = packed_request(req)
        line = json_request(req).encode()
        c["envelope"][name] = body
        c["request"][name + ".mp"] = body
        c["request"][name + ".json"] = line + b"\n"
        c["json_lines"][name] = line + b"\n"

    # A session's life in one JSON-lines input (ids are global: the guess may miss).
    c["request"]["timer_session.json"] = b"\n".join(json_request(REQUESTS[n]).encode() for n in (
        "timer_start", "timer_pause", "timer_resume", "timer_interrupt", "timer_stop", "timer_list",
        "timer_stats_tag")) + b"\n"
    c["request"]["cache_session.json"] = b"\n".join(json_request(REQUESTS[n]).encode() for n in (
        "put", "get", "put_ns", "get_ns", "del", "clear", "stats")) + b"\n"
    c["request"]["pipelined_blank_lines.json"] = b'\n  \r\n{"op":"ping","id":1}\n\t\n{"op":"hello"}\n'
    c["request"]["bad_first_byte"] = b"GET / HTTP/1.0\r\n\r\n"
    c["request"]["empty"] = b""
    c["request"]["not_json.json"] = b'{"op": ping}\n{"op":"ping","id":9}\n'

    # JSON-lines edge cases.
    for name, text in {
        "numbers": '{"op":"cache.put","args":{"key":"n","value":[0,-0,-1,1.5,-0.0,1e308,1e-308,18446744073709551615,-9223372036854775808,9007199254740993,2.0]}}',
        "strings": '{"op":"ping","x":"\\u00e9\\ud83d\\ude00\\n\\t\\"\\\\\\u0000"}',
        "bin_unpadded": '{"op":"x","v":{"$bin":"QQ"},"w":{"$bin":""}}',
        "bin_bad": '{"op":"x","v":{"$bin":"Q Q="}}',
        "ts_forms": '{"op":"x","a":{"$ts":"2026-12-04T19:00:00Z"},"b":{"$ts":"2026-12-04t19:00:00.123456789+02:00"},"c":{"$ts":"1970-01-01T00:00:60-00:30"},"d":{"$ts":"0000-01-01T00:00:00Z"},"e":{"$ts":"9999-12-31T23:59:59.999999999Z"}}',
        "ts_bad": '{"op":"x","a":{"$ts":"2026-02-30T00:00:00Z"}}',
        "not_wrapper": '{"op":"x","a":{"$bin":"QQ==","more":1},"b":{"$ts":5}}',
        "not_object": '[1,2,3]',
        "deep_64": '{"a":' * 63 + '1' + '}' * 63,
        "deep_65": '{"a":' * 65 + '1' + '}' * 65,
        "blank_and_crlf": '  \r\n{"op":"ping"}\r\n\n',
        "bad_utf8": '{"op":"\xc3\x28"}',
        "trailing": '{"op":"ping"} {"op":"ping"}',
        "duplicate_keys": '{"op":"a","op":"b","id":1,"id":2}',
    }.items():
        c["json_lines"][name] = text.encode("latin-1") + b"\n"

    # Cache values.
    values = {
        "nil": None, "true": True, "int_neg": -(2**63), "uint_max": 2**64 - 1, "float": 1.5,
        "str_utf8": "h\u00e9llo \U0001f600", "bin": b"\x00\xff", "array": [1, "a", None],
        "map_str_int_keys": {"a": 1, 7: 2, -3: [None]}, "ts4": ts(1_700_000_000),
        "ts8": ts(1_700_000_000, 1), "ts12": ts(-1, 999_999_999), "depth_32": nested(32),
        "depth_33": nested(33), "map_depth_33": {"k": nested(32)},
    }
    for name, v in values.items():
        c["msgpack_validator"][name] = pack(v)
    c["msgpack_validator"]["float32"] = b"\xca\x3f\xc0\x00\x00"
    c["msgpack_validator"]["bad_ext_type"] = pack(ext(3, b"\x00" * 4))
    c["msgpack_validator"]["ts_bad_nanos"] = b"\xd7\xff" + struct.pack(">Q", 1_000_000_000 << 34)
    c["msgpack_validator"]["ts_bad_size"] = b"\xd5\xff\x00\x00"
    c["msgpack_validator"]["ts12_extreme"] = b"\xc7\x0c\xff" + struct.pack(">Iq", 0, -(2**63))
    c["msgpack_validator"]["str_bad_utf8"] = b"\xa2\xc3\x28"
    c["msgpack_validator"]["str_surrogate"] = b"\xa3\xed\xa0\x80"
    c["msgpack_validator"]["map_array_key"] = b"\x81\x91\x01\x02"
    c["msgpack_validator"]["truncated"] = b"\x92\x01"
    c["msgpack_validator"]["trailing"] = b"\x01\x02"
    c["msgpack_validator"]["huge_count"] = b"\xdd\xff\xff\xff\xff"
    c["msgpack_validator"]["reserved_c1"] = b"\xc1"
    c["envelope"]["map_array_key"] = b"\x82\x91\xa1x\xa2op\xa4ping\x00"
    c["envelope"]["not_a_map"] = pack([1, 2])

    # Frames: a max_frame byte (<64: the default; else byte-63), 8 seed bytes, the stream.
    def frame_input(max_frame_byte, stream):
        return bytes([max_frame_byte]) + b"\x01\x23\x45\x67\x89\xab\xcd\xef" + stream
    ping = pack(REQUESTS["ping"])
    c["frame"]["binary_two"] = frame_input(0, frame(ping) + frame(pack(REQUESTS["hello"])))
    c["frame"]["binary_partial"] = frame_input(0, frame(ping) + frame(ping)[:7])
    c["frame"]["binary_zero_length"] = frame_input(0, frame(ping) + b"\x00\x00\x00\x00")
    c["frame"]["binary_over_max"] = frame_input(63 + 16, frame(b"\x90" * 17))
    c["frame"]["binary_at_max"] = frame_input(63 + 16, frame(b"\xc0" * 16) + frame(b"\x91\x01"))
    c["frame"]["json_lines"] = frame_input(0, b'{"op":"ping"}\n\n  \r\n{"op":"hello","id":2}\n{"op"')
    c["frame"]["json_too_long"] = frame_input(63 + 8, b'{"op":"ping"}\n')
    c["frame"]["json_at_max"] = frame_input(63 + 13, b'{"op":"ping"}\n{"a":1}')
    c["frame"]["invalid_first_byte"] = frame_input(0, b"GET /\r\n")
    return c


def main():
    out = os.path.join(HERE, "corpus")
    for target, files in corpus().items():
        d = os.path.join(out, target)
        os.makedirs(d, exist_ok=True)
        for name, data in files.items():
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
        print(f"{target}: {len(files)} files", file=sys.stderr)


if __name__ == "__main__":
    main()

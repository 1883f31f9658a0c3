#!/usr/bin/env python3
"""Seeds fuzz/corpus/<target>/ with the inputs of the golden vectors, in each target's input
layout, so fuzzing starts from realistic messages. Idempotent: seed files are named by content."""
import hashlib
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VECTORS = ROOT.parent / "tests" / "vectors"


def put(target: str, data: bytes) -> None:
    folder = ROOT / "corpus" / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ("seed-" + hashlib.sha1(data).hexdigest())).write_bytes(data)


def load(name):
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


for case in load("responses.json")["cases"]:
    put("response_parse", case["http_status"].to_bytes(2, "little") + case["body"].encode())

for case in load("callbacks.json")["verify"]:
    head = "\n".join(f"{k}: {v}" for k, v in case["headers"]).encode()
    put("callback_verify_parse", head + b"\0" + case["body"].encode())
for case in load("callbacks.json")["parse"]:
    put("callback_verify_parse", b"\x01\0" + case["body"].encode())

for case in load("server.json")["cases"]:
    head = "\n".join(f"{k}: {v}" for k, v in case["headers"]).encode()
    put("incoming_request", head + b"\0" + case["query"].encode() + b"\0" + case["body"].encode())

# The C ABI target: the same bodies as raw bytes (its strings are split at 0xFF bytes).
for case in load("callbacks.json")["parse"]:
    put("ffi_inputs", case["body"].encode())
for case in load("responses.json")["cases"]:
    put("ffi_inputs", case["body"].encode())
for case in load("requests.json")["cases"]:
    p = case["params"]
    if "caller" in p:
        fields = [p["caller_acc"], p["caller"], p["callee"] if "callee" in p else ",".join(p["callees"])]
        put("ffi_inputs", b"\xff".join(f.encode() for f in fields))

# The client target: whole raw HTTP responses, as a hostile or broken server might send them.
def http(status: str, headers: list, body: bytes, length: bool = True) -> bytes:
    head = [f"HTTP/1.1 {status}"] + headers
    if length:
        head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


JSON = ["Content-Type: application/json;charset=utf-8"]
for case in load("responses.json")["cases"]:
    put("client_response", http(f"{case['http_status']} X", JSON, case["body"].encode()))
RECORD = (b'{"code":200,"obj":{"session":"6453168498234567","type":"1","status":"SUCCESS",'
          b'"members":[{"caller":true,"callee":"13888888888","duration":30}]}}')
for raw in [
    http("200 OK", JSON, b'{"code":200,"obj":{"session":"7c4b7673-4f70-4164-82a0-decb84d77914"}}'),
    http("200 OK", JSON, RECORD),
    http("302 Found", ["Location: /call/ecp/startcall.action"], b""),
    http("307 Temporary Redirect", ["Location: http://127.0.0.1:9/x"], b'{"code":200,"obj":{"session":"s"}}'),
    http("500 Internal Server Error", ["Content-Type: text/html"], b"<html><body>502 Bad Gateway</body></html>"),
    http("200 OK", JSON, b'{"code":200,"obj":{"sess'),
    http("200 OK", JSON + ["Content-Length: 500"], b'{"code":200,"obj":{"session":"abc"}}', length=False),
    http("200 OK", JSON + ["Transfer-Encoding: chunked"],
         b'10\r\n{"code":200,"obj\r\n1a\r\n":{"session":"chunked"}}\r\n0\r\n\r\n', length=False),
    http("200 OK", JSON + ["Content-Length: 99999999999999"], b'{"code":200}', length=False),
    b"HTTP/1.1 100 Continue\r\n\r\n" + http("200 OK", JSON, b'{"code":200,"obj":{"session":"after-100"}}'),
    http("200 OK", JSON + ["Connection: close"], b'{"code":414,"msg":"bad checksum"}', length=False),
    b'HTTP/1.0 200 OK\r\n\r\n{"code":200,"obj":{"session":"http10"}}',
]:
    put("client_response", raw)

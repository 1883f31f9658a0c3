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

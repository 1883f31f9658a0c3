#!/usr/bin/env python3
"""Cross-checks every digest in tests/vectors/*.json with two tools independent of the library:
Python's hashlib and `openssl dgst` (skipped, and said so, when openssl is absent).

It also pins the values the documentation publishes, so a regenerated file cannot drift.
Prints 'N passed, N failed' and exits non-zero on any failure.
"""
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OPENSSL = shutil.which("openssl")
passed = failed = 0


def openssl(alg: str, data: bytes) -> str:
    out = subprocess.run([OPENSSL, "dgst", "-" + alg, "-r"], input=data, capture_output=True, check=True)
    return out.stdout.split()[0].decode()


def expect(what: str, alg: str, data: bytes, digest: str) -> None:
    global passed, failed
    tools = [("hashlib", hashlib.new(alg, data).hexdigest())]
    if OPENSSL:
        tools.append(("openssl", openssl(alg, data)))
    for tool, got in tools:
        if got == digest:
            passed += 1
        else:
            failed += 1
            print(f"FAIL {what}: {tool} {alg} gives {got}, vector says {digest}")


def load(name):
    return json.loads((HERE / name).read_text(encoding="utf-8"))


def header(pairs, name):
    return next((v for k, v in pairs if k.lower() == name.lower()), None)


# The values the documentation publishes.
expect("doc request vector", "sha1", b"xxxxxxxx1234561440570500", "90d19362ba1584524bbd9b375b006837a4f676db")
expect("doc callback MD5", "md5", b'{"callback":"{}","eventType":"10"}', "5556767e4727e5582025ab1fff82753b")
expect("doc callback CheckSum", "sha1", b"xxxxxxxx5556767e4727e5582025ab1fff82753b1440570500855",
       "6949a942f8477bb839a74ac5726ec4c28a762686")

signing = load("signing.json")
for c in signing["sign"]:
    if "headers" in c["expect"]:
        data = (c["secret"] + c["nonce"] + str(c["cur_time"])).encode()
        expect("signing: " + c["name"], "sha1", data, header(c["expect"]["headers"], "CheckSum"))
for c in signing["checksum"]:
    expect("checksum", "sha1", (c["secret"] + c["nonce"] + c["cur_time"]).encode(), c["checksum"])

req = load("requests.json")
for c in req["cases"]:
    if "headers" in c["expect"]:
        data = (req["secret"] + req["nonce"] + str(req["cur_time"])).encode()
        expect("request: " + c["name"], "sha1", data, header(c["expect"]["headers"], "CheckSum"))

for c in load("callbacks.json")["verify"]:
    if c["expect"] == "ok":
        md5 = header(c["headers"], "MD5")
        expect("callback MD5: " + c["name"], "md5", c["body"].encode(), md5)
        data = (c["secret"] + md5 + header(c["headers"], "CurTime")).encode()
        expect("callback CheckSum: " + c["name"], "sha1", data, header(c["headers"], "CheckSum"))

srv = load("server.json")
for c in srv["cases"]:
    if "request" in c["expect"]:
        h = c["headers"]
        data = (srv["secret"] + header(h, "Nonce") + header(h, "CurTime")).encode()
        expect("server: " + c["name"], "sha1", data, header(h, "CheckSum"))

ex = load("exchanges.json")
for c in ex["cases"]:
    for k, a in enumerate(c["expect"]["attempts"], 1):
        data = (ex["secret"] + a["nonce"] + a["cur_time"]).encode()
        expect("exchange: %s, attempt %d" % (c["name"], k), "sha1", data, a["checksum"])

if not OPENSSL:
    print("note: openssl not found, digests checked with hashlib only")
print(f"vectors: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)

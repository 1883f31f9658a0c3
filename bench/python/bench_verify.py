"""Callback verification in Python: yunxin_ecp's CallbackVerifier.verify against a hand-rolled
verifier on hashlib (md5 of the body, sha1 of secret + MD5 + CurTime, hmac.compare_digest for
both, the AppKey and CurTime checks), on a 1088-byte call-end body, with where the time goes:
bare hashlib.md5 of the same body beside it, the verifier's fixed cost (an empty body), and the
header shapes web frameworks hand over (a dict, Starlette's raw ASGI pairs, Werkzeug's
EnvironHeaders).

Run: python bench/python/bench_verify.py   (in a venv with yunxin_ecp)"""
import hashlib
import hmac
import json
import time
from typing import Callable, Dict, List, Mapping, Tuple

import yunxin_ecp
from common import APP_KEY, APP_SECRET, CREDENTIALS, best_of

TOLERANCE_MS = 300_000


def call_end_body(size: int) -> bytes:
    """A call-end body of exactly `size` bytes (a real record, padded in the hang cause)."""
    record = (
        '{\\"callee\\":\\"13777777777\\",\\"caller\\":\\"13888888888\\",\\"createtime\\":1484118614911,'
        '\\"durationSec\\":61,\\"initAccount\\":\\"liuxuanlin\\",\\"legs\\":[{\\"endTime\\":\\"2017-01-11 15:10:30\\",'
        '\\"endpoint\\":\\"13888888888\\",\\"hangCause\\":\\"NORMAL_CLEARING\\"},{\\"endTime\\":\\"2017-01-11 15:10:30\\",'
        '\\"endpoint\\":\\"13777777777\\",\\"hangCause\\":\\"NORMAL_CLEARING%s\\"}],'
        '\\"session\\":\\"7c4b7673-4f70-4164-82a0-decb84d77914\\",\\"starttime\\":\\"2017-01-11 15:10:30\\",'
        '\\"status\\":\\"SUCCESS\\"}'
    )
    template = '{"callback":"' + record + '","eventType":"10"}'
    pad = size - len(template % "")
    assert pad >= 0, "size too small"
    body = (template % ("_" * pad)).encode()
    assert len(body) == size
    return body


def hand_rolled(body: bytes, headers: Mapping[str, str], now_ms: int) -> None:
    """What a careful integration writes with the standard library."""
    md5 = headers.get("MD5")
    check_sum = headers.get("CheckSum")
    cur_time = headers.get("CurTime")
    if md5 is None or check_sum is None or cur_time is None:
        raise ValueError("missing header")
    if not cur_time.isdigit() or (len(cur_time) > 1 and cur_time[0] == "0"):
        raise ValueError("malformed CurTime")
    if not hmac.compare_digest(hashlib.md5(body).hexdigest(), md5):
        raise ValueError("md5 mismatch")
    expected = hashlib.sha1((APP_SECRET + md5 + cur_time).encode("utf-8")).hexdigest()
    if not hmac.compare_digest(expected, check_sum):
        raise ValueError("checksum mismatch")
    app_key = headers.get("AppKey")
    if app_key is not None and app_key != APP_KEY:
        raise ValueError("app key mismatch")
    if abs(now_ms - int(cur_time)) > TOLERANCE_MS:
        raise ValueError("stale or future")


def hand_rolled_and_parse(body: bytes, headers: Mapping[str, str], now_ms: int) -> object:
    """Verified as above, then the event and its record: the body is JSON whose `callback` is the
    record, itself JSON in a string."""
    hand_rolled(body, headers, now_ms)
    event = json.loads(body)
    return json.loads(event["callback"])


class EnvironHeaders:
    """Werkzeug's (Flask's) request.headers as the verifier sees it: not a dict, has items()."""

    def __init__(self, headers: Dict[str, str]) -> None:
        self._environ = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}

    def items(self) -> List[Tuple[str, str]]:
        return [(k[5:].replace("_", "-").title(), v) for k, v in self._environ.items()]


def main() -> None:
    body = call_end_body(1088)
    now_ms = int(time.time() * 1000)
    signed = yunxin_ecp.sign_callback(CREDENTIALS, body, cur_time_ms=now_ms)
    # A real request carries more than the signature: a few ordinary headers beside it.
    headers: Dict[str, str] = {
        "Host": "app.example.com",
        "User-Agent": "Java/1.8.0",
        "Accept": "*/*",
        "Content-Length": str(len(body)),
        **signed,
    }
    raw_pairs = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    environ = EnvironHeaders(headers)
    empty = b""
    empty_headers = {**headers, **yunxin_ecp.sign_callback(CREDENTIALS, empty, cur_time_ms=now_ms)}

    verifier = yunxin_ecp.CallbackVerifier(CREDENTIALS)
    verify = verifier.verify
    # Both sides accept the genuine callback and refuse a tampered one.
    verify(body, headers, now_ms=now_ms)
    hand_rolled(body, headers, now_ms)
    tampered = body[:-2] + b" }"
    for check in (lambda: verify(tampered, headers, now_ms=now_ms), lambda: hand_rolled(tampered, headers, now_ms)):
        try:
            check()
            raise SystemExit("a tampered body was accepted")
        except (yunxin_ecp.CallbackVerificationError, ValueError):
            pass

    cases: List[Tuple[str, Callable[[], object]]] = [
        ("hashlib.md5(body).hexdigest() alone", lambda: hashlib.md5(body).hexdigest()),
        ("hand-rolled hashlib verify (dict)", lambda: hand_rolled(body, headers, now_ms)),
        ("CallbackVerifier.verify, dict", lambda: verify(body, headers, now_ms=now_ms)),
        ("CallbackVerifier.verify, ASGI raw pairs", lambda: verify(body, raw_pairs, now_ms=now_ms)),
        ("CallbackVerifier.verify, EnvironHeaders", lambda: verify(body, environ, now_ms=now_ms)),
        ("CallbackVerifier.verify, empty body, dict", lambda: verify(empty, empty_headers, now_ms=now_ms)),
        ("CallbackVerifier.verify, clock read", lambda: verify(body, headers)),
        ("CallbackVerifier.verify_and_parse, dict", lambda: verifier.verify_and_parse(body, headers, now_ms=now_ms)),
        ("hand-rolled verify + two json.loads", lambda: hand_rolled_and_parse(body, headers, now_ms)),
    ]
    rounds, n = 7, 20_000
    best: Dict[str, float] = {}
    for _ in range(3):  # interleaved, so every case sees the same machine
        for name, fn in cases:
            t = best_of(rounds, n, fn)
            best[name] = min(best.get(name, t), t)

    ours = best["CallbackVerifier.verify, dict"]
    theirs = best["hand-rolled hashlib verify (dict)"]
    print(f"python callback verify, {len(body)}-byte body, {len(headers)} headers (best of {rounds} x {n}, 3 rounds):")
    for name, _ in cases:
        print(f"  {name:<44} {best[name] * 1e9:8.0f} ns")
    fixed = best["CallbackVerifier.verify, empty body, dict"]
    print(
        f"  verify's fixed cost (empty body) {fixed * 1e9:.0f} ns; the 1088 bytes add "
        f"{(ours - fixed) * 1e9:.0f} ns (hashlib.md5 alone: {best[cases[0][0]] * 1e9:.0f} ns)"
    )
    print(
        f"python callback verify: yunxin_ecp {ours * 1e9:.0f} ns/op vs hand-rolled hashlib "
        f"{theirs * 1e9:.0f} ns/op: the library runs at {theirs / ours:.2f}x the hand-rolled speed"
    )
    ours = best["CallbackVerifier.verify_and_parse, dict"]
    theirs = best["hand-rolled verify + two json.loads"]
    print(
        f"python callback verify_and_parse: yunxin_ecp {ours * 1e9:.0f} ns/op vs hand-rolled "
        f"verify + json.loads {theirs * 1e9:.0f} ns/op: {theirs / ours:.2f}x"
    )


if __name__ == "__main__":
    main()

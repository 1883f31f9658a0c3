"""Shared pieces of the Python benchmarks: a mock ECP server in a child process (so its CPU
never counts as the client's), and the hand-rolled peer written the way the documentation's
samples suggest."""
from __future__ import annotations

import hashlib
import secrets
import subprocess
import sys
import time
from typing import Optional

import yunxin_ecp
from yunxin_ecp.testing import SAMPLE_APP_KEY, SAMPLE_APP_SECRET

_CHILD = """
import sys
from yunxin_ecp.testing import MockServer
mock = MockServer()
latency = float(sys.argv[1])
if latency:
    mock.set_latency(latency)
print(mock.base_url, flush=True)
sys.stdin.read()
mock.stop()
"""


class MockProcess:
    """A yunxin_ecp.testing.MockServer in a child interpreter; stops when the block ends."""

    def __init__(self, latency_s: float = 0.0) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(latency_s)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.base_url = self.proc.stdout.readline().strip()
        if not self.base_url.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"mock did not start: {self.base_url!r}")

    def __enter__(self) -> "MockProcess":
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def hand_rolled_headers(app_key: str, app_secret: str) -> dict[str, str]:
    """The signer most integrations carry: a random nonce, the clock, hashlib."""
    nonce = secrets.token_hex(16)
    cur_time = str(int(time.time()))
    check_sum = hashlib.sha1((app_secret + nonce + cur_time).encode("utf-8")).hexdigest()
    return {"AppKey": app_key, "Nonce": nonce, "CurTime": cur_time, "CheckSum": check_sum}


def best_of(rounds: int, n: int, fn) -> float:
    """Seconds per call: the best of `rounds` rounds of `n` calls."""
    best: Optional[float] = None
    for _ in range(rounds):
        began = time.perf_counter()
        for _ in range(n):
            fn()
        per = (time.perf_counter() - began) / n
        best = per if best is None else min(best, per)
    assert best is not None
    return best


CREDENTIALS = yunxin_ecp.Credentials(SAMPLE_APP_KEY, SAMPLE_APP_SECRET)
APP_KEY, APP_SECRET = SAMPLE_APP_KEY, SAMPLE_APP_SECRET

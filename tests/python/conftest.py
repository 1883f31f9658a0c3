"""Shared helpers of the Python suite: the golden vectors, and a local HTTP receiver for callbacks."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterator, List, Tuple

import pytest

VECTORS = Path(__file__).resolve().parents[1] / "vectors"


def load_vectors(name: str) -> Any:
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


def cases(name: str, key: str) -> List[Any]:
    """Every case of one group of a vector file, as pytest parameters named after the case."""
    data = load_vectors(name)[key]
    assert data, f"{name}:{key} holds no case"
    return [pytest.param(c, id=c.get("name", f"{key}-{i}")) for i, c in enumerate(data)]


class Receiver:
    """A stdlib HTTP server on 127.0.0.1 that hands every POST to ``handle`` and records it."""

    def __init__(self, handle: Callable[[bytes, Any], int]) -> None:
        self.received: List[Tuple[bytes, List[Tuple[str, str]], int]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                status = handle(body, self.headers)
                receiver.received.append((body, list(self.headers.items()), status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/ecp/callback"

    def __enter__(self) -> "Receiver":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def receiver_factory() -> Iterator[Callable[[Callable[[bytes, Any], int]], Receiver]]:
    started: List[Receiver] = []

    def make(handle: Callable[[bytes, Any], int]) -> Receiver:
        r = Receiver(handle).__enter__()
        started.append(r)
        return r

    yield make
    for r in started:
        r.__exit__(None, None, None)


def through_recording_proxy(child_code: str) -> Tuple[bytes, str]:
    """Runs ``child_code`` in a child Python with every proxy variable pointing at a "proxy" on
    loopback that records the first request line reaching it and answers nothing. Returns that
    request head and the child's standard output (the child must exit 0)."""
    import os
    import socket
    import subprocess
    import sys

    with socket.socket() as proxy:
        proxy.bind(("127.0.0.1", 0))
        proxy.listen(8)
        proxy.settimeout(20)
        url = "http://127.0.0.1:%d" % proxy.getsockname()[1]
        env = dict(os.environ, HTTP_PROXY=url, HTTPS_PROXY=url, ALL_PROXY=url, NO_PROXY="", no_proxy="")
        child = subprocess.Popen(
            [sys.executable, "-c", child_code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            conn, _ = proxy.accept()
            with conn:
                conn.settimeout(10)
                head = b""
                while b"\r\n" not in head:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    head += chunk
            out, err = child.communicate(timeout=30)
        finally:
            child.kill()
    assert child.returncode == 0, err
    return head, out


EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "python"


def run_example(name: str, *args: str) -> str:
    """Runs an example as a new user would: a fresh interpreter, no YUNXIN_* variables, only the
    system PATH; returns its standard output (it must exit 0)."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONIOENCODING": "utf-8"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout

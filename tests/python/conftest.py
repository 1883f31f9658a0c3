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

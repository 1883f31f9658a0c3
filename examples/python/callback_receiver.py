"""A minimal call-end callback receiver on the standard library.

Every POST is verified on its raw body bytes (MD5, CheckSum, CurTime within five minutes) before
anything is read from it; refused callbacks get 403 (400 when malformed). The service may deliver
the same record more than once, so each session is processed once. It answers at once: the
service wants a reply within 5 s, so slow work belongs on a queue.

    python examples/python/callback_receiver.py --port 8000   # YUNXIN_APP_KEY / YUNXIN_APP_SECRET
    python examples/python/callback_receiver.py --demo        # against a local mock of the service
"""

import argparse
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional

from yunxin_ecp import CallbackVerificationError, CallbackVerifier, CallEndEvent, CallRecord, Credentials
from yunxin_ecp.integrations import DEFAULT_MAX_BODY_BYTES
from yunxin_ecp.testing import SAMPLE_APP_KEY, SAMPLE_APP_SECRET, MockServer


class CallbackServer(ThreadingHTTPServer):
    """An HTTP server that verifies callbacks with one app's credentials and remembers sessions."""

    def __init__(self, address: tuple[str, int], credentials: Credentials) -> None:
        super().__init__(address, CallbackHandler)
        self.verifier = CallbackVerifier(credentials)
        self.processed: list[CallRecord] = []
        self.duplicates = 0
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def first_time(self, session: Optional[str]) -> bool:
        """True the first time a session is seen (records without one are always processed)."""
        if session is None:
            return True
        with self._lock:
            if session in self._seen:
                self.duplicates += 1
                return False
            self._seen.add(session)
            return True

    def process(self, record: CallRecord) -> None:
        """The application's work: here, keep and print the record."""
        with self._lock:
            self.processed.append(record)
        print(
            f"call {record.session} ended: answered={record.answered}, "
            f"{record.billed_minutes} min, {record.cost} yuan"
        )


class CallbackHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (the standard library's name)
        assert isinstance(self.server, CallbackServer)
        # A call-end callback is a few KiB; anyone can reach this port, so a body is read only
        # when it says its length and that length is at most the cap (1 MiB, the integrations'
        # default), never more than it says.
        declared = self.headers.get("Content-Length") or ""
        if not declared.isdigit():
            self.answer(411)
            return
        if int(declared) > DEFAULT_MAX_BODY_BYTES:
            self.answer(413)
            return
        body = self.rfile.read(int(declared))  # the raw bytes: never verify re-serialized JSON
        try:
            event = self.server.verifier.verify_and_parse(body, self.headers)
        except CallbackVerificationError as e:
            self.log_message("refused callback: %s", e.reason)
            self.answer(400 if e.reason == "malformed" else 403)
            return
        if isinstance(event, CallEndEvent) and self.server.first_time(event.session):
            self.server.process(event.record)
        self.answer(200)

    def answer(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write(f"receiver: {format % args}\n")


def demo() -> int:
    """Places a call and a conference on a mock that delivers every callback twice."""
    receiver = CallbackServer(("127.0.0.1", 0), Credentials(SAMPLE_APP_KEY, SAMPLE_APP_SECRET))
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    host, port = receiver.server_address[:2]
    try:
        with MockServer(callback_url=f"http://{host!s}:{port}/ecp/callback", duplicate_callbacks=True) as mock:
            client = mock.client()
            client.start_call(caller_acc="liuxuanlin", caller="13888888888", callee="13777777777", max_dur=100)
            client.start_conference(
                caller_acc="liuxuanlin", caller="13888888888", callees=["13777777777", "13666666666"], max_dur=100
            )
            deliveries = mock.wait_for_callbacks(4, timeout=10)
    finally:
        receiver.shutdown()
        receiver.server_close()
    print(f"{len(deliveries)} deliveries, {len(receiver.processed)} processed, {receiver.duplicates} duplicates skipped")
    ok = len(deliveries) == 4 and all(d.status == 200 for d in deliveries)
    return 0 if ok and len(receiver.processed) == 2 and receiver.duplicates == 2 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--demo", action="store_true", help="run against a local mock and exit")
    args = parser.parse_args()
    if args.demo:
        return demo()
    receiver = CallbackServer(("0.0.0.0", args.port), Credentials.from_env())
    print(f"verifying callbacks on port {args.port}")
    receiver.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())

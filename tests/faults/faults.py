"""The fault table's Python side: every fault the mock can inject, against yunxin_ecp.Client,
for a start call and for a query. Prints one tab-separated ROW per case and DONE at the end,
for scripts/fault-table.py. The outcome words are the same in every language.

The mock's call-end callbacks go to a standard-library HTTP receiver here; the last row says
whether every call the mock placed had its callback received, acknowledged and verified."""
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yunxin_ecp as yx
from yunxin_ecp.testing import MockServer

# (kind, ms, size): the same faults, in the same order, as every other language's program.
FAULTS = [
    ("delay", 1500, None),
    ("reset_before_response", None, None),
    ("reset_mid_body", None, None),
    ("html_502", None, None),
    ("empty_body", None, None),
    ("garbage_json", None, None),
    ("oversized", None, 4 * 1024 * 1024),
    ("rate_limited", None, None),
    ("server_error", None, None),
    ("busy_503", None, None),
    ("redirect", None, None),
]


def describe(error: "yx.YunxinError | None") -> str:
    if error is None:
        return "ok"
    if isinstance(error, yx.ApiError):
        return f"api {error.code} [{error.retry_advice}]"
    if isinstance(error, yx.ProtocolError):
        return f"protocol {error.kind} [{error.retry_advice}]"
    if isinstance(error, yx.TransportError):
        return f"transport {error.kind} sent={str(error.maybe_sent).lower()} [{error.retry_advice}]"
    return f"{type(error).__name__} [{error.retry_advice}]"


class Receiver(BaseHTTPRequestHandler):
    """Acknowledges every POST with 200 after keeping its headers and raw body."""

    received: "list[tuple[dict[str, str], bytes]]" = []
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with self.lock:
            self.received.append((dict(self.headers.items()), body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def callbacks_outcome(mock: MockServer, verifier: yx.CallbackVerifier) -> str:
    placed = {record["session"] for record in mock.sessions()}
    deadline = time.monotonic() + 10
    while len(Receiver.received) < len(placed) and time.monotonic() < deadline:
        time.sleep(0.01)
    verified, refused = set(), 0
    with Receiver.lock:
        received = list(Receiver.received)
    for headers, body in received:
        try:
            event = verifier.verify_and_parse(body, headers)
        except yx.CallbackVerificationError:
            refused += 1
            continue
        if isinstance(event, yx.CallEndEvent):
            verified.add(event.session)
        else:
            refused += 1
    lost = len(placed - verified)
    if lost == 0 and refused == 0:
        return f"all {len(placed)} verified"
    return f"{lost} lost, {refused} refused of {len(placed)}"


def duplicate_outcome(verifier: yx.CallbackVerifier) -> str:
    """The first callback received, delivered twice to a handler behind the duplicate guard, as
    a sender that got no answer in time delivers it again."""
    with Receiver.lock:
        received = list(Receiver.received[:1])
    if not received:
        return "no callback received"
    headers, body = received[0]
    guard = yx.DeliveryGuard()
    handled = 0
    for _ in range(2):
        try:
            delivery = verifier.verify(body, headers)
        except yx.CallbackVerificationError:
            return "refused"
        if guard.claim(delivery) == "first":
            handled += 1  # the handler
            guard.complete(delivery)
    return f"handled {handled} of 2 deliveries"


def main() -> None:
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    with MockServer(callback_url="http://127.0.0.1:%d/cb" % receiver.server_address[1]) as mock:
        verifier = yx.CallbackVerifier(mock.credentials)
        client = yx.Client(
            credentials=mock.credentials,
            base_url=mock.base_url,
            timeout=1.0,
            connect_timeout=1.0,
            backoff=0.05,
        )
        call = dict(caller_acc="liuxuanlin", caller="13888888888", callee="13777777777", max_dur=100)
        session = client.start_call(**call).session
        for kind, ms, size in FAULTS:
            for operation in ("start_call", "query"):
                mock.clear_faults()
                mock.inject_fault(kind, times=1, ms=ms, size=size)
                began = time.perf_counter()
                error = None
                try:
                    if operation == "start_call":
                        client.start_call(**call)
                    else:
                        client.query_session(session, kind="call")
                except yx.YunxinError as e:
                    error = e
                took = (time.perf_counter() - began) * 1000
                print(f"ROW\t{kind}\t{operation}\t{describe(error)}\t{took:.0f}", flush=True)
                if kind == "delay":
                    time.sleep(max(0.0, 1.6 - took / 1000))  # let the delayed request finish
        # Where the redirect fault pointed: nothing may have reached it, signed headers and all.
        print(f"ROW\tredirect\tlocation_host\t{mock.stats().redirect_target_hits} requests\t0", flush=True)
        began = time.perf_counter()
        outcome = callbacks_outcome(mock, verifier)
        took = (time.perf_counter() - began) * 1000
        print(f"ROW\tcallbacks\tdelivered\t{outcome}\t{took:.0f}", flush=True)
        began = time.perf_counter()
        duplicate = duplicate_outcome(verifier)
        took = (time.perf_counter() - began) * 1000
        print(f"ROW\tduplicate_delivery\thandler\t{duplicate}\t{took:.0f}", flush=True)
    receiver.shutdown()
    print("DONE", flush=True)


if __name__ == "__main__":
    sys.exit(main())

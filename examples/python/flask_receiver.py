"""A Flask receiver of call-end callbacks.

``@verified_callback(verifier)`` checks each callback on its raw body (``MD5``, ``CheckSum``,
``CurTime`` within five minutes) and passes the verified event to the view as ``event=``; forged
and stale callbacks are answered 403 (400 when the body is not a callback) before the view runs.
Delivery can repeat, so each session is processed once.

    YUNXIN_APP_KEY=... YUNXIN_APP_SECRET=... \
        flask --app 'examples/python/flask_receiver.py:create_app_from_env()' run
    python examples/python/flask_receiver.py --demo   # against a local mock of the service

``--demo`` serves the app with Werkzeug on an ephemeral port of 127.0.0.1, lets a local mock of
the ECP service place a call and a conference and post their callbacks to it (each twice), and
shows that a forged callback is refused.
"""

import argparse
import sys
import threading
import urllib.error
import urllib.request
from typing import Dict, Optional, Tuple

from flask import Flask
from werkzeug.serving import make_server

from yunxin_ecp import CallbackEvent, CallbackVerifier, CallEndEvent, CallRecord, Credentials
from yunxin_ecp.integrations.flask import verified_callback
from yunxin_ecp.testing import MockServer


class Records:
    """The processed records, one per session (a real app keeps them in its database)."""

    def __init__(self) -> None:
        self.by_session: Dict[str, CallRecord] = {}
        self.duplicates = 0
        self._lock = threading.Lock()

    def first_time(self, record: CallRecord) -> bool:
        with self._lock:
            if record.session is None or record.session in self.by_session:
                self.duplicates += 1
                return False
            self.by_session[record.session] = record
            return True


def create_app(credentials: Credentials) -> Tuple[Flask, Records]:
    app = Flask(__name__)
    records = Records()

    @app.post("/ecp/callback")
    @verified_callback(CallbackVerifier(credentials))
    def ecp_callback(event: CallbackEvent) -> Tuple[str, int]:
        if isinstance(event, CallEndEvent) and records.first_time(event.record):
            r = event.record
            print(f"call {r.session} ended: answered={r.answered}, {r.billed_minutes} min, {r.cost} yuan")
        return "", 200  # at once: YunXin wants an answer within 5 s

    return app, records


def post(url: str, body: bytes, headers: Dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1: no proxy
    try:
        with opener.open(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as e:
        return int(e.code)


def demo() -> int:
    app, records = create_app(Credentials("fd460d34e786e7754e505bc4fab0f027", "xxxxxxxx"))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/ecp/callback"
    forged_status: Optional[int] = None
    try:
        with MockServer(callback_url=url, duplicate_callbacks=True) as mock:
            client = mock.client()
            client.start_call(caller_acc="liuxuanlin", caller="13888888888", callee="13777777777", max_dur=100)
            client.start_conference(
                caller_acc="liuxuanlin", caller="13888888888", callees=["13777777777", "13666666666"], max_dur=100
            )
            deliveries = mock.wait_for_callbacks(4, timeout=10)
            genuine = deliveries[0]
            forged_status = post(url, genuine.body.replace(b"liuxuanlin", b"mallory"), dict(genuine.headers))
    finally:
        server.shutdown()
    statuses = sorted({str(d.status) for d in deliveries})
    guarded = len(deliveries) - len(records.by_session) - records.duplicates
    print(f"{len(deliveries)} deliveries (answered {', '.join(statuses)}), {len(records.by_session)} processed, "
          f"{guarded} repeats answered by the duplicate guard, {records.duplicates} skipped by session")
    print(f"forged callback: HTTP {forged_status}")
    ok = len(deliveries) == 4 and all(d.status == 200 for d in deliveries) and forged_status == 403
    return 0 if ok and len(records.by_session) == 2 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--demo", action="store_true", help="run against a local mock and exit")
    args = parser.parse_args()
    if args.demo:
        return demo()
    parser.print_help()
    return 2


def create_app_from_env() -> Flask:
    """The app for ``flask --app '...:create_app_from_env()' run``, verifying with the
    credentials in ``YUNXIN_APP_KEY`` and ``YUNXIN_APP_SECRET``."""
    return create_app(Credentials.from_env())[0]


if __name__ == "__main__":
    sys.exit(main())

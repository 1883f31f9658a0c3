"""A Django receiver of call-end callbacks, as a single-file Django project.

``@verified_callback(verifier)`` makes the view CSRF-exempt (YunXin cannot send a token: the
signature is the protection) and POST-only, checks each callback on the raw ``request.body``
(``MD5``, ``CheckSum``, ``CurTime`` within five minutes) and calls the view with the verified
event; forged and stale callbacks are answered 403 (400 when the body is not a callback) before
the view runs. Delivery can repeat, so each session is processed once.

In a project, put the view in an app's ``views.py`` and route it in ``urls.py``; this file
configures Django itself only so that it runs alone:

    YUNXIN_APP_KEY=... YUNXIN_APP_SECRET=... python examples/python/django_receiver.py runserver
    python examples/python/django_receiver.py --demo   # against a local mock of the service

``--demo`` serves the project's WSGI application on an ephemeral port of 127.0.0.1, lets a local
mock of the ECP service place a call and a conference and post their callbacks to it (each
twice), and shows that a forged callback and a GET are refused.
"""

import sys
import threading
import urllib.error
import urllib.request
from typing import Any, Dict, Optional
from wsgiref.simple_server import WSGIRequestHandler, make_server

import django
from django.conf import settings

from yunxin_ecp import CallbackEvent, CallbackVerifier, CallEndEvent, CallRecord, Credentials
from yunxin_ecp.testing import SAMPLE_APP_KEY, SAMPLE_APP_SECRET, MockServer

DEMO = "--demo" in sys.argv[1:]

settings.configure(
    DEBUG=False,
    SECRET_KEY="example-only-not-secret",
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    # CsrfViewMiddleware is on, as in every Django project: the decorator exempts the view.
    MIDDLEWARE=["django.middleware.common.CommonMiddleware", "django.middleware.csrf.CsrfViewMiddleware"],
    INSTALLED_APPS=[],
)
django.setup()

from django.http import HttpRequest, HttpResponse  # noqa: E402 (after settings.configure)
from django.urls import path  # noqa: E402

from yunxin_ecp.integrations.django import verified_callback  # noqa: E402

CREDENTIALS = Credentials(SAMPLE_APP_KEY, SAMPLE_APP_SECRET) if DEMO else Credentials.from_env()
PROCESSED: Dict[str, CallRecord] = {}
DUPLICATES = [0]
_lock = threading.Lock()


@verified_callback(CallbackVerifier(CREDENTIALS))
def ecp_callback(request: HttpRequest, event: CallbackEvent) -> HttpResponse:
    if isinstance(event, CallEndEvent):
        record = event.record
        with _lock:  # a real app deduplicates in its database, on the session
            if record.session is None or record.session in PROCESSED:
                DUPLICATES[0] += 1
                return HttpResponse(status=200)
            PROCESSED[record.session] = record
        print(f"call {record.session} ended: answered={record.answered}, {record.billed_minutes} min, {record.cost} yuan")
    return HttpResponse(status=200)  # at once: YunXin wants an answer within 5 s


urlpatterns = [path("ecp/callback", ecp_callback)]


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def send(url: str, body: Optional[bytes], headers: Dict[str, str], method: str = "POST") -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method=method)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1: no proxy
    try:
        with opener.open(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as e:
        return int(e.code)


def demo() -> int:
    from django.core.wsgi import get_wsgi_application

    server = make_server("127.0.0.1", 0, get_wsgi_application(), handler_class=QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/ecp/callback"
    try:
        with MockServer(callback_url=url, duplicate_callbacks=True) as mock:
            client = mock.client()
            client.start_call(caller_acc="liuxuanlin", caller="13888888888", callee="13777777777", max_dur=100)
            client.start_conference(
                caller_acc="liuxuanlin", caller="13888888888", callees=["13777777777", "13666666666"], max_dur=100
            )
            deliveries = mock.wait_for_callbacks(4, timeout=10)
            genuine = deliveries[0]
            forged = send(url, genuine.body.replace(b"liuxuanlin", b"mallory"), dict(genuine.headers))
            get = send(url, None, {}, method="GET")
    finally:
        server.shutdown()
    statuses = sorted({str(d.status) for d in deliveries})
    guarded = len(deliveries) - len(PROCESSED) - DUPLICATES[0]
    print(f"{len(deliveries)} deliveries (answered {', '.join(statuses)}), {len(PROCESSED)} processed, "
          f"{guarded} repeats answered by the duplicate guard, {DUPLICATES[0]} skipped by session")
    print(f"forged callback: HTTP {forged}; GET: HTTP {get}")
    ok = len(deliveries) == 4 and all(d.status == 200 for d in deliveries) and (forged, get) == (403, 405)
    return 0 if ok and len(PROCESSED) == 2 else 1


if __name__ == "__main__":
    if DEMO:
        sys.exit(demo())
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)

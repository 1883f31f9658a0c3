"""yunxin_ecp.integrations: Flask, Django and FastAPI (Starlette) receivers, through each
framework's own test client, with callbacks signed by the mock and forged ones."""

import asyncio
import inspect
import itertools
import json
import time
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest

import yunxin_ecp as yx
from yunxin_ecp.testing import SAMPLE_APP_KEY, SAMPLE_APP_SECRET, MockServer

CREDS = yx.Credentials(SAMPLE_APP_KEY, SAMPLE_APP_SECRET)
VERIFIER = yx.CallbackVerifier(CREDS)
CALL: Dict[str, Any] = {"caller_acc": "liuxuanlin", "caller": "13888888888", "callee": "13777777777", "max_dur": 100}
Headers = List[Tuple[str, str]]
CAP = 1024 * 1024  # the documented default of max_body_bytes
SMALL = 200  # the cap of the /ecp/small routes
ASGI_CHUNK = 64 * 1024  # what the ASGI driver hands the app per http.request message


def now_ms() -> int:
    return int(time.time() * 1000)


@pytest.fixture(scope="module")
def delivered() -> Tuple[bytes, Headers, str]:
    """A real call-end callback, signed by the mock (its delivery went nowhere)."""
    with MockServer(callback_url="http://127.0.0.1:9/ecp/callback") as mock:
        session = mock.client().start_call(**CALL).session
        (delivery,) = mock.wait_for_callbacks(1, timeout=10)
    return delivery.body, list(delivery.headers), session


# Each signing a millisecond apart: a distinct delivery to the integrations' duplicate guards, as
# the sender's deliveries of different callbacks are.
_DISTINCT = itertools.count()


def signed(body: bytes, creds: yx.Credentials = CREDS, at: Optional[int] = None) -> Headers:
    at = now_ms() + next(_DISTINCT) if at is None else at
    return list(yx.sign_callback(creds, body, cur_time_ms=at).items())


def replace(headers: Headers, name: str, value: str) -> Headers:
    return [(k, value if k == name else v) for k, v in headers]


def callback_of_size(size: int, session: str = "big") -> bytes:
    """A call-end callback body of exactly ``size`` bytes (padded inside the record)."""
    head = b'{"callback":"{\\"session\\":\\"' + session.encode() + b'\\",\\"pad\\":\\"'
    tail = b'\\"}","eventType":"10"}'
    assert size >= len(head) + len(tail)
    return head + b"x" * (size - len(head) - len(tail)) + tail


class Body:
    """A request body the framework pulls with ``read(n)``, counting every byte pulled: ``data``,
    or endless when None. An endless body read without a bound fails the request."""

    def __init__(self, data: Optional[bytes] = None) -> None:
        self.data = data
        self.pulled = 0

    def read(self, size: Optional[int] = -1) -> bytes:
        if self.data is None:
            assert size is not None and size >= 0, "an endless body read to its end"
            n = min(size, ASGI_CHUNK)
            self.pulled += n
            return b" " * n
        end = len(self.data) if size is None or size < 0 else min(len(self.data), self.pulled + size)
        chunk = self.data[self.pulled : end]
        self.pulled = end
        return chunk

    def readline(self, size: Optional[int] = -1) -> bytes:  # Django's LimitedStream takes it too
        return self.read(size)

    @property
    def done(self) -> bool:
        return self.data is not None and self.pulled >= len(self.data)


def asgi_post(app: Any, path: str, headers: Headers, body: Body, content_length: Optional[int]) -> Tuple[int, bytes]:
    """One POST straight into an ASGI app, its body handed over ``ASGI_CHUNK`` bytes per message
    as the app asks for them: what uvicorn does with a chunked body."""
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    if content_length is not None:
        raw.append((b"content-length", str(content_length).encode()))
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"",
        "headers": raw, "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
    }
    status: List[int] = []
    answer: List[bytes] = []

    async def receive() -> Dict[str, Any]:
        if body.done:
            return {"type": "http.disconnect"}
        chunk = body.read(ASGI_CHUNK)
        return {"type": "http.request", "body": chunk, "more_body": not body.done}

    async def send(message: Dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])
        elif message["type"] == "http.response.body":
            answer.append(message.get("body", b""))

    asyncio.run(app(scope, receive, send))
    return status[0], b"".join(answer)


# One small app per framework, each recording what its view received.


class Seen:
    def __init__(self) -> None:
        self.events: List[Any] = []
        self.bodies: List[bytes] = []
        # The /ecp/flaky views fail this many times (raising, or answering 500 when answer_500).
        self.failures = 0
        self.answer_500 = False

    def flaky(self, event: Any) -> int:
        """Records the event, or fails: what a /ecp/flaky view does; its status."""
        if self.failures > 0:
            self.failures -= 1
            if not self.answer_500:
                raise RuntimeError("the handler failed")
            return 500
        self.events.append(event)
        return 200


def flask_app(seen: Seen) -> Any:
    import flask

    from yunxin_ecp.integrations.flask import verified_callback

    app = flask.Flask("flask_test")

    @app.post("/ecp/callback")
    @verified_callback(VERIFIER)
    def ecp_callback(event: yx.CallbackEvent) -> Tuple[str, int]:
        seen.events.append(event)
        seen.bodies.append(flask.request.get_data())  # still readable after verification
        return "", 200

    @app.post("/ecp/async")
    @verified_callback(VERIFIER)
    async def ecp_async(event: yx.CallbackEvent) -> Tuple[str, int]:
        seen.events.append(event)
        return "", 200

    @app.post("/ecp/small")
    @verified_callback(VERIFIER, max_body_bytes=SMALL)
    def ecp_small(event: yx.CallbackEvent) -> Tuple[str, int]:
        seen.events.append(event)
        seen.bodies.append(flask.request.get_data())
        return "", 200

    @app.post("/ecp/flaky")
    @verified_callback(VERIFIER)
    def ecp_flaky(event: yx.CallbackEvent) -> Tuple[str, int]:
        return "", seen.flaky(event)

    @app.post("/ecp/every")
    @verified_callback(VERIFIER, deduplicate=False)
    def ecp_every(event: yx.CallbackEvent) -> Tuple[str, int]:
        seen.events.append(event)
        return "", 200

    return app


class FlaskDriver:
    name = "flask"
    overshoot = 1  # a blocking stream is asked for no more than the cap and one byte
    stops_at_content_length = True  # Werkzeug reads no further than Content-Length

    def __init__(self) -> None:
        self.seen = Seen()
        self.client = flask_app(self.seen).test_client()

    def post(self, body: bytes, headers: Headers, path: str = "/ecp/callback") -> Tuple[int, bytes]:
        r = self.client.post(path, data=body, headers=headers)
        return r.status_code, r.get_data()

    def post_stream(
        self, body: Body, headers: Headers, content_length: Optional[int], path: str = "/ecp/callback"
    ) -> Tuple[int, bytes]:
        environ: Dict[str, Any] = {"wsgi.input": body}
        if content_length is None:
            # What a WSGI server that de-chunks the body sets (Werkzeug's own, gunicorn).
            environ["wsgi.input_terminated"] = True
        else:
            environ["CONTENT_LENGTH"] = str(content_length)
        r = self.client.post(path, headers=headers, environ_overrides=environ)
        return r.status_code, r.get_data()

    def get(self) -> int:
        return int(self.client.get("/ecp/callback").status_code)


_django_ready = False


def django_setup() -> None:
    global _django_ready
    if _django_ready:
        return
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        SECRET_KEY="tests-only",
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=__name__,
        MIDDLEWARE=["django.middleware.common.CommonMiddleware", "django.middleware.csrf.CsrfViewMiddleware"],
        INSTALLED_APPS=[],
        LOGGING_CONFIG=None,
    )
    import django

    django.setup()
    _django_ready = True


DJANGO_SEEN = Seen()
urlpatterns: List[Any] = []


def django_urls() -> None:
    from django.http import HttpRequest, HttpResponse
    from django.urls import path

    from yunxin_ecp.integrations.django import verified_callback

    @verified_callback(VERIFIER)
    def ecp_callback(request: HttpRequest, event: yx.CallbackEvent, tenant: str = "") -> HttpResponse:
        DJANGO_SEEN.events.append(event)
        DJANGO_SEEN.bodies.append(request.body)
        return HttpResponse(status=200)

    @verified_callback(VERIFIER)
    async def ecp_async(request: HttpRequest, event: yx.CallbackEvent) -> HttpResponse:
        DJANGO_SEEN.events.append(event)
        return HttpResponse(status=200)

    @verified_callback(VERIFIER, max_body_bytes=SMALL)
    def ecp_small(request: HttpRequest, event: yx.CallbackEvent) -> HttpResponse:
        DJANGO_SEEN.events.append(event)
        DJANGO_SEEN.bodies.append(request.body)
        return HttpResponse(status=200)

    @verified_callback(VERIFIER)
    def ecp_flaky(request: HttpRequest, event: yx.CallbackEvent) -> HttpResponse:
        return HttpResponse(status=DJANGO_SEEN.flaky(event))

    @verified_callback(VERIFIER, deduplicate=False)
    def ecp_every(request: HttpRequest, event: yx.CallbackEvent) -> HttpResponse:
        DJANGO_SEEN.events.append(event)
        return HttpResponse(status=200)

    urlpatterns[:] = [
        path("ecp/callback", ecp_callback),
        path("ecp/async", ecp_async),
        path("ecp/small", ecp_small),
        path("ecp/flaky", ecp_flaky),
        path("ecp/every", ecp_every),
        path("t/<str:tenant>/ecp/callback", ecp_callback),
    ]


class DjangoDriver:
    name = "django"
    overshoot = 1
    stops_at_content_length = True  # under WSGI; post_stream goes through ASGI without one

    def __init__(self) -> None:
        django_setup()
        django_urls()
        from django.test import Client

        DJANGO_SEEN.events.clear()
        DJANGO_SEEN.bodies.clear()
        self.seen = DJANGO_SEEN
        self.client = Client(enforce_csrf_checks=True)  # the decorator must make CSRF moot

    def post(self, body: bytes, headers: Headers, path: str = "/ecp/callback") -> Tuple[int, bytes]:
        # A WSGI server joins a header sent twice with commas (wsgiref, gunicorn, uWSGI).
        meta: Dict[str, str] = {}
        for k, v in headers:
            key = "CONTENT_TYPE" if k.lower() == "content-type" else "HTTP_" + k.upper().replace("-", "_")
            meta[key] = f"{meta[key]},{v}" if key in meta else v
        content_type = meta.pop("CONTENT_TYPE", "application/json")
        r = self.client.generic("POST", path, data=body, content_type=content_type, **meta)
        return r.status_code, r.content

    def post_stream(
        self, body: Body, headers: Headers, content_length: Optional[int], path: str = "/ecp/callback"
    ) -> Tuple[int, bytes]:
        if content_length is not None:
            # WSGI, through the whole handler: Django reads no further than CONTENT_LENGTH.
            meta: Dict[str, Any] = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers}
            meta.update({"CONTENT_LENGTH": str(content_length), "wsgi.input": body})
            r = self.client.generic("POST", path, content_type="application/json", **meta)
            return r.status_code, r.content
        # ASGI: Django's handler spools the whole body into a file before any view runs and makes
        # the request read from it; the Body stands for that file, read by the view as it is.
        from django.core.handlers.asgi import ASGIRequest
        from django.urls import resolve

        scope = {
            "type": "http", "method": "POST", "path": path, "query_string": b"", "root_path": "",
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
            "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
        }
        request = ASGIRequest(scope, body)  # type: ignore[arg-type]
        match = resolve(path)
        response = match.func(request, *match.args, **match.kwargs)
        if inspect.isawaitable(response):
            response = asyncio.run(response)  # type: ignore[arg-type]
        return response.status_code, response.content

    def get(self) -> int:
        return int(self.client.get("/ecp/callback").status_code)


def fastapi_app(seen: Seen, handler: bool) -> Any:
    from fastapi import Depends, FastAPI, Request

    from fastapi import HTTPException

    from yunxin_ecp.integrations.fastapi import CallbackAnswered, callback_refused_handler, verified_callback

    app = FastAPI(exception_handlers={CallbackAnswered: callback_refused_handler} if handler else {})

    @app.post("/ecp/callback")
    async def ecp_callback(request: Request, event: yx.CallbackEvent = Depends(verified_callback(VERIFIER))) -> Dict[str, str]:
        seen.events.append(event)
        seen.bodies.append(await request.body())  # cached by Starlette: still readable
        return {}

    @app.post("/ecp/small")
    async def ecp_small(
        request: Request, event: yx.CallbackEvent = Depends(verified_callback(VERIFIER, max_body_bytes=SMALL))
    ) -> Dict[str, str]:
        seen.events.append(event)
        seen.bodies.append(await request.body())
        return {}

    @app.post("/ecp/flaky")
    async def ecp_flaky(event: yx.CallbackEvent = Depends(verified_callback(VERIFIER))) -> Dict[str, str]:
        if seen.flaky(event) != 200:
            raise HTTPException(status_code=500)  # an endpoint's way to answer 500
        return {}

    @app.post("/ecp/every")
    async def ecp_every(event: yx.CallbackEvent = Depends(verified_callback(VERIFIER, deduplicate=False))) -> Dict[str, str]:
        seen.events.append(event)
        return {}

    return app


class FastAPIDriver:
    name = "fastapi"
    overshoot = ASGI_CHUNK  # an ASGI message is taken whole: the one that crosses the cap
    stops_at_content_length = False  # ASGI servers pass on what comes; the cap stops it

    def __init__(self, handler: bool = True) -> None:
        from fastapi.testclient import TestClient

        self.seen = Seen()
        self.app = fastapi_app(self.seen, handler)
        self.client = TestClient(self.app)

    def post(self, body: bytes, headers: Headers, path: str = "/ecp/callback") -> Tuple[int, bytes]:
        r = self.client.post(path, content=body, headers=headers)
        return r.status_code, r.content

    def post_stream(
        self, body: Body, headers: Headers, content_length: Optional[int], path: str = "/ecp/callback"
    ) -> Tuple[int, bytes]:
        return asgi_post(self.app, path, headers, body, content_length)

    def get(self) -> int:
        return int(self.client.get("/ecp/callback").status_code)


DRIVERS = [FlaskDriver, DjangoDriver, FastAPIDriver]


@pytest.fixture(params=DRIVERS, ids=[d.name for d in DRIVERS])
def app(request: pytest.FixtureRequest) -> Iterator[Any]:
    yield request.param()


def refused_with(app: Any, body: bytes, headers: Headers, status: int, reason: str) -> None:
    got_status, got_body = app.post(body, headers)
    assert got_status == status, got_body
    assert json.loads(got_body) == {"error": "callback refused", "reason": reason}
    # Nothing of the request is echoed: not the body, not a header value.
    for _, value in headers:
        if len(value) >= 8:
            assert value.encode() not in got_body
    assert app.seen.events == []


def test_a_callback_signed_by_the_mock_reaches_the_view(app: Any, delivered: Tuple[bytes, Headers, str]) -> None:
    body, headers, session = delivered
    status, _ = app.post(body, headers)
    assert status == 200
    (event,) = app.seen.events
    assert isinstance(event, yx.CallEndEvent) and event.session == session
    assert event.record.caller == "13888888888" and event.record.answered
    assert app.seen.bodies == [body]


def test_other_events_reach_the_view_untouched(app: Any) -> None:
    body = b'{"eventType":"1","fromAccount":"a"}'
    status, _ = app.post(body, signed(body))
    assert status == 200
    (event,) = app.seen.events
    assert isinstance(event, yx.OtherEvent) and event.raw == body.decode()


def test_a_tampered_body(app: Any, delivered: Tuple[bytes, Headers, str]) -> None:
    body, headers, _ = delivered
    refused_with(app, body.replace(b"13777777777", b"13777777778"), headers, 403, "md5_mismatch")


def test_the_wrong_secret(app: Any) -> None:
    body = b'{"callback":"{\\"session\\":\\"s\\"}","eventType":"10"}'
    refused_with(app, body, signed(body, yx.Credentials(SAMPLE_APP_KEY, "not-the-secret")), 403, "checksum_mismatch")


def test_a_header_sent_twice(app: Any, delivered: Tuple[bytes, Headers, str]) -> None:
    body, headers, _ = delivered
    forged = dict(headers)["CheckSum"][::-1]
    status, answer = app.post(body, headers + [("CheckSum", forged)])
    assert status == 403
    assert json.loads(answer) == {"error": "callback refused", "reason": "duplicate_header"}
    assert app.seen.events == []


def test_a_stale_callback(app: Any) -> None:
    body = b'{"callback":"{\\"session\\":\\"s\\"}","eventType":"10"}'
    refused_with(app, body, signed(body, at=now_ms() - 301_000), 403, "stale")


def test_a_replayed_callback_of_the_mock(app: Any, delivered: Tuple[bytes, Headers, str]) -> None:
    body, headers, _ = delivered
    old = replace(headers, "CurTime", str(now_ms() - 3_600_000))  # and so the CheckSum no longer matches
    refused_with(app, body, old, 403, "checksum_mismatch")


def test_missing_headers(app: Any, delivered: Tuple[bytes, Headers, str]) -> None:
    body, headers, _ = delivered
    refused_with(app, body, [(k, v) for k, v in headers if k != "MD5"], 403, "missing_header")
    refused_with(app, body, [], 403, "missing_header")


def test_a_signed_body_that_is_not_a_callback(app: Any) -> None:
    body = b"<xml>not json</xml>"
    refused_with(app, body, signed(body), 400, "malformed")


def test_a_large_body_is_verified_on_its_bytes(app: Any) -> None:
    body = b'{"callback":"{\\"session\\":\\"s\\",\\"pad\\":\\"' + b"x" * 200_000 + b'\\"}","eventType":"10"}'
    status, _ = app.post(body, signed(body))
    assert status == 200 and app.seen.events[0].session == "s"


def test_flask_and_django_async_views() -> None:
    body = b'{"callback":"{\\"session\\":\\"a\\"}","eventType":"10"}'
    for driver in (FlaskDriver(), DjangoDriver()):
        status, _ = driver.post(body, signed(body), path="/ecp/async")
        assert status == 200 and driver.seen.events[-1].session == "a", driver.name
        status, _ = driver.post(body + b" ", signed(body), path="/ecp/async")
        assert status == 403, driver.name


def test_django_is_post_only_and_csrf_exempt() -> None:
    driver = DjangoDriver()
    assert driver.get() == 405
    body = b'{"callback":"{\\"session\\":\\"s\\"}","eventType":"10"}'
    # enforce_csrf_checks=True and no token: the signature is the protection.
    status, _ = driver.post(body, signed(body))
    assert status == 200
    # URL arguments still reach the view after the event.
    status, _ = driver.post(body, signed(body), path="/t/acme/ecp/callback")
    assert status == 200 and len(driver.seen.events) == 2


def test_fastapi_without_the_handler_answers_in_its_own_shape() -> None:
    driver = FastAPIDriver(handler=False)
    body = b'{"callback":"{}","eventType":"10"}'
    status, answer = driver.post(body + b" ", signed(body))
    assert status == 403
    assert json.loads(answer) == {"detail": {"error": "callback refused", "reason": "md5_mismatch"}}


def test_starlette_endpoint() -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from yunxin_ecp.integrations.fastapi import CallbackAnswered, callback_refused_handler, verified_callback

    verify = verified_callback(VERIFIER)
    handled: List[str] = []

    async def endpoint(request: Request) -> JSONResponse:
        async with verify.handling(request) as event:
            handled.append(getattr(event, "session", ""))
            return JSONResponse({"session": getattr(event, "session", None)})

    app = Starlette(
        routes=[Route("/ecp/callback", endpoint, methods=["POST"])],
        exception_handlers={CallbackAnswered: callback_refused_handler},
    )
    client = TestClient(app)
    body = b'{"callback":"{\\"session\\":\\"st\\"}","eventType":"10"}'
    headers = signed(body)
    r = client.post("/ecp/callback", content=body, headers=headers)
    assert (r.status_code, r.json()) == (200, {"session": "st"})
    r = client.post("/ecp/callback", content=body, headers=headers)
    assert (r.status_code, r.json(), handled) == (200, {"result": "duplicate"}, ["st"])
    r = client.post("/ecp/callback", content=body, headers=signed(body, yx.Credentials(SAMPLE_APP_KEY, "x")))
    assert (r.status_code, r.json()) == (403, {"error": "callback refused", "reason": "checksum_mismatch"})


def test_refusals_are_logged_without_the_request(caplog: pytest.LogCaptureFixture) -> None:
    driver = FlaskDriver()
    body = b'{"callback":"{}","eventType":"10"}'
    headers = signed(body, yx.Credentials(SAMPLE_APP_KEY, "x"))
    with caplog.at_level("WARNING", logger="yunxin_ecp.integrations"):
        driver.post(body, headers)
    (record,) = [r for r in caplog.records if r.name == "yunxin_ecp.integrations"]
    assert "checksum_mismatch" in record.getMessage()
    assert dict(headers)["CheckSum"] not in record.getMessage() and "callback" not in record.getMessage()[40:]


def test_a_verifier_is_required() -> None:
    from yunxin_ecp.integrations import django, fastapi, flask

    for module in (flask, django, fastapi):
        with pytest.raises(TypeError, match="CallbackVerifier"):
            module.verified_callback(CREDS)  # type: ignore[arg-type]


def test_the_frameworks_are_imported_with_their_module_only() -> None:
    import subprocess
    import sys

    code = (
        "import sys, yunxin_ecp, yunxin_ecp.integrations\n"
        "assert not {'flask', 'django', 'fastapi', 'starlette'} & set(sys.modules), sorted(sys.modules)\n"
        "import yunxin_ecp.integrations.flask\n"
        "assert 'flask' in sys.modules and 'django' not in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_public_names_are_documented() -> None:
    import yunxin_ecp.integrations
    from yunxin_ecp.integrations import django, fastapi, flask

    for module in (yunxin_ecp.integrations, flask, django, fastapi):
        assert (module.__doc__ or "").strip()
        for name in module.__all__:
            assert (getattr(module, name).__doc__ or "").strip(), f"{module.__name__}.{name}"
    assert "AsyncClient" in yx.__all__ and (yx.AsyncClient.__doc__ or "").strip()


# The body cap: nothing read past max_body_bytes, 413 before the handler


TOO_LARGE = {"error": "callback refused", "reason": "too_large"}
# Headers that look like a callback's and verify nothing: the cap is checked first.
JUNK: Headers = [("AppKey", SAMPLE_APP_KEY), ("CurTime", "1"), ("MD5", "0" * 32), ("CheckSum", "0" * 40)]


def too_large(app: Any, answer: Tuple[int, bytes]) -> None:
    assert answer[0] == 413, answer
    assert json.loads(answer[1]) == TOO_LARGE
    assert app.seen.events == []


def test_a_content_length_over_the_cap_is_refused_before_reading(app: Any, caplog: pytest.LogCaptureFixture) -> None:
    body = Body()  # endless: had anything read it to the end, the test would hang or fail
    with caplog.at_level("WARNING", logger="yunxin_ecp.integrations"):
        too_large(app, app.post_stream(body, JUNK, content_length=CAP + 1))
    assert body.pulled == 0
    assert any("too_large" in r.getMessage() for r in caplog.records if r.name == "yunxin_ecp.integrations")
    # An ordinary request, its Content-Length one byte over.
    big = callback_of_size(CAP + 1)
    too_large(app, app.post(big, signed(big)))


def test_a_chunked_body_over_the_cap_stops_being_read(app: Any) -> None:
    body = Body()  # endless, and no Content-Length
    too_large(app, app.post_stream(body, JUNK, content_length=None))
    assert CAP < body.pulled <= CAP + app.overshoot


def test_a_body_longer_than_its_content_length(app: Any) -> None:
    body = Body()
    answer = app.post_stream(body, JUNK, content_length=10)
    if app.stops_at_content_length:  # the framework reads what was announced, and no further
        assert answer[0] == 403 and body.pulled == 10 and app.seen.events == []
    else:
        too_large(app, answer)
        assert CAP < body.pulled <= CAP + app.overshoot


def test_a_body_of_exactly_the_cap_is_verified(app: Any) -> None:
    body = callback_of_size(CAP)
    assert app.post(body, signed(body))[0] == 200
    assert app.post_stream(Body(body), signed(body), content_length=None)[0] == 200
    assert [e.session for e in app.seen.events] == ["big", "big"]
    assert app.seen.bodies == [body, body]  # and the handler can still read it
    app.seen.events.clear()
    over = callback_of_size(CAP + 1)
    too_large(app, app.post_stream(Body(over), signed(over), content_length=None))


def test_a_cap_of_its_own(app: Any) -> None:
    body = callback_of_size(SMALL, "small")
    assert app.post(body, signed(body), path="/ecp/small")[0] == 200
    assert app.post_stream(Body(body), signed(body), content_length=None, path="/ecp/small")[0] == 200
    assert [e.session for e in app.seen.events] == ["small", "small"]
    assert app.seen.bodies == [body, body]
    app.seen.events.clear()
    over = callback_of_size(SMALL + 1, "small")
    too_large(app, app.post(over, signed(over), path="/ecp/small"))
    streamed = Body(over)
    too_large(app, app.post_stream(streamed, signed(over), content_length=None, path="/ecp/small"))
    assert streamed.pulled == SMALL + 1
    # The default route takes it.
    assert app.post(over, signed(over))[0] == 200


def test_the_default_cap_is_one_mib_and_documented() -> None:
    import yunxin_ecp.integrations
    from yunxin_ecp.integrations import DEFAULT_MAX_BODY_BYTES, django, fastapi, flask

    assert DEFAULT_MAX_BODY_BYTES == CAP == 1_048_576
    assert "DEFAULT_MAX_BODY_BYTES" in yunxin_ecp.integrations.__all__
    for module in (yunxin_ecp.integrations, flask, django, fastapi):
        assert "max_body_bytes" in (module.__doc__ or ""), module.__name__
    for module in (flask, django, fastapi):
        parameter = inspect.signature(module.verified_callback).parameters["max_body_bytes"]
        assert (parameter.kind, parameter.default) == (inspect.Parameter.KEYWORD_ONLY, CAP)


@pytest.mark.parametrize(
    "cap, error, words",
    [
        (0, ValueError, "max_body_bytes must be a positive number of bytes, not 0"),
        (-1, ValueError, "max_body_bytes must be a positive number of bytes, not -1"),
        (1.5, TypeError, "max_body_bytes must be an int (a number of bytes), not float"),
        ("1024", TypeError, "max_body_bytes must be an int (a number of bytes), not str"),
        (True, TypeError, "max_body_bytes must be an int (a number of bytes), not bool"),
        (None, TypeError, "max_body_bytes must be an int (a number of bytes), not NoneType"),
    ],
)
def test_a_cap_that_is_not_a_positive_int_is_refused(cap: Any, error: type, words: str) -> None:
    from yunxin_ecp.integrations import django, fastapi, flask

    for module in (flask, django, fastapi):
        with pytest.raises(error) as e:
            module.verified_callback(VERIFIER, max_body_bytes=cap)
        assert str(e.value) == words, module.__name__


def test_fastapi_too_large_is_a_callback_refused() -> None:
    from yunxin_ecp.integrations.fastapi import CallbackRefused, CallbackTooLarge

    e = CallbackTooLarge(100)
    assert isinstance(e, CallbackRefused)
    assert (e.status_code, e.payload, e.detail, e.error, e.max_body_bytes) == (413, TOO_LARGE, TOO_LARGE, None, 100)
    # Without callback_refused_handler, FastAPI's own shape.
    driver = FastAPIDriver(handler=False)
    status, answer = driver.post_stream(Body(), JUNK, content_length=None)
    assert (status, json.loads(answer)) == (413, {"detail": TOO_LARGE})


# Repeated deliveries: each integration's default guard


def post_or_500(app: Any, body: bytes, headers: Headers, path: str) -> Tuple[int, bytes]:
    """A POST whose handler may raise: the framework's test client hands the exception over
    where a server would answer 500."""
    try:
        return app.post(body, headers, path=path)
    except RuntimeError:
        return 500, b""


def test_a_repeated_delivery_reaches_the_view_once(app: Any) -> None:
    body = b'{"callback":"{\\"session\\":\\"again\\"}","eventType":"10"}'
    headers = signed(body)
    first = app.post(body, headers, path="/ecp/flaky")
    second = app.post(body, headers, path="/ecp/flaky")
    assert first[0] == 200
    assert (second[0], json.loads(second[1])) == (200, {"result": "duplicate"})
    assert [e.session for e in app.seen.events] == ["again"]
    # Signed afresh (a new CurTime), it is another delivery to the guard.
    assert app.post(body, signed(body), path="/ecp/flaky")[0] == 200
    assert len(app.seen.events) == 2


@pytest.mark.parametrize("answer_500", [False, True], ids=["raises", "answers_500"])
def test_a_failed_handler_lets_the_next_delivery_through(app: Any, answer_500: bool) -> None:
    if answer_500 and app.name == "fastapi":
        pytest.skip("a FastAPI endpoint answers 500 by raising: the other case")
    body = b'{"callback":"{\\"session\\":\\"retry\\"}","eventType":"10"}'
    headers = signed(body)
    app.seen.failures, app.seen.answer_500 = 1, answer_500
    status, _ = post_or_500(app, body, headers, "/ecp/flaky")
    assert status == 500 and app.seen.events == []
    status, answer = app.post(body, headers, path="/ecp/flaky")
    assert status == 200 and answer != b'{"result":"duplicate"}'
    assert [e.session for e in app.seen.events] == ["retry"]


def test_deduplicate_false_hands_every_delivery_over(app: Any) -> None:
    body = b'{"callback":"{\\"session\\":\\"each\\"}","eventType":"10"}'
    headers = signed(body)
    assert [app.post(body, headers, path="/ecp/every")[0] for _ in range(2)] == [200, 200]
    assert [e.session for e in app.seen.events] == ["each", "each"]


def test_the_guard_arguments_are_checked() -> None:
    from yunxin_ecp.integrations import django, fastapi, flask

    for module in (flask, django, fastapi):
        with pytest.raises(TypeError, match="guard must be a DeliveryGuard, not dict"):
            module.verified_callback(VERIFIER, guard={})  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="guard is given but deduplicate is False"):
            module.verified_callback(VERIFIER, guard=yx.DeliveryGuard(), deduplicate=False)


class FailingStore:
    """A store whose backend is down; its error text holds what it connects with."""

    def claim(self, key: str, expires_at_ms: int, now_ms: int) -> str:
        raise ConnectionError("redis://:hunter22@127.0.0.1:6379 refused")

    def complete(self, key: str, expires_at_ms: int) -> None:
        pass

    def release(self, key: str) -> None:
        pass


def test_a_failing_store_turns_the_delivery_away_with_503(caplog: pytest.LogCaptureFixture) -> None:
    import flask

    from yunxin_ecp.integrations.flask import verified_callback

    app = flask.Flask("store_test")
    seen: List[Any] = []

    @app.post("/cb")
    @verified_callback(VERIFIER, guard=yx.DeliveryGuard(FailingStore()))
    def cb(event: yx.CallbackEvent) -> Tuple[str, int]:
        seen.append(event)
        return "", 200

    body = b'{"eventType":"1"}'
    with caplog.at_level("ERROR", logger="yunxin_ecp.integrations"):
        r = app.test_client().post("/cb", data=body, headers=signed(body))
    assert (r.status_code, r.get_json()) == (503, {"error": "callback refused", "reason": "store_unavailable"})
    assert seen == []
    text = " ".join(r.getMessage() for r in caplog.records)
    assert "ConnectionError raised by the store's claim()" in text and "hunter22" not in text


def test_two_deliveries_at_once_get_one_handler_call() -> None:
    """The second delivery arrives while the first is in its handler: 409, and one call."""
    import threading

    import flask

    from yunxin_ecp.integrations.flask import verified_callback

    app = flask.Flask("concurrent_test")
    inside, release = threading.Event(), threading.Event()
    calls: List[Any] = []

    @app.post("/cb")
    @verified_callback(VERIFIER)
    def cb(event: yx.CallbackEvent) -> Tuple[str, int]:
        calls.append(event)
        inside.set()
        release.wait(30)  # bounded: the test releases it as soon as the second one is answered
        return "", 200

    body = b'{"callback":"{\\"session\\":\\"twice\\"}","eventType":"10"}'
    headers = signed(body)
    first: List[int] = []
    worker = threading.Thread(target=lambda: first.append(app.test_client().post("/cb", data=body, headers=headers).status_code))
    worker.start()
    try:
        assert inside.wait(30)
        second = app.test_client().post("/cb", data=body, headers=headers)
        assert (second.status_code, second.get_json()) == (409, {"error": "callback refused", "reason": "in_progress"})
    finally:
        release.set()
        worker.join(30)
    assert first == [200] and len(calls) == 1
    third = app.test_client().post("/cb", data=body, headers=headers)
    assert (third.status_code, third.get_json(), len(calls)) == (200, {"result": "duplicate"}, 1)

"""AsyncClient: the blocking Client's surface, validation, exceptions and retry rules, on httpx.

Round trips and faults run against the in-process mock; what the mock cannot do (a redirect, a
body trickling in, an answer without Content-Length, each httpx failure) runs against a small
local server or an httpx.MockTransport. Where a behaviour is shared, both clients are driven
through the same case and must agree."""

import asyncio
import builtins
import contextlib
import inspect
import logging
import math
import re
import socket
import subprocess
import sys
import threading
import time
from typing import Any, Awaitable, Callable, Dict, Iterator, List, Optional, Tuple, TypeVar

import httpx
import pytest
from conftest import through_recording_proxy

import yunxin_ecp as yx
from yunxin_ecp.testing import SAMPLE_APP_KEY, SAMPLE_APP_SECRET, MockServer, Outcome

CALL: Dict[str, Any] = {"caller_acc": "liuxuanlin", "caller": "13888888888", "callee": "13777777777", "max_dur": 100}
CONF: Dict[str, Any] = {
    "caller_acc": "liuxuanlin", "caller": "13888888888", "callees": ["13777777777", "13666666666"], "max_dur": 100
}
CREDS = yx.Credentials(SAMPLE_APP_KEY, SAMPLE_APP_SECRET)
T = TypeVar("T")


def run(coro: Awaitable[T]) -> T:
    async def main() -> T:
        return await coro

    return asyncio.run(main())


@pytest.fixture
def mock() -> Iterator[MockServer]:
    with MockServer() as server:
        yield server


def aclient(mock: MockServer, **kw: Any) -> yx.AsyncClient:
    return yx.AsyncClient(credentials=mock.credentials, base_url=mock.base_url, **kw)


def outcome(fn: Callable[[], Any]) -> Tuple[str, Dict[str, Any]]:
    """What a call did: its exception's class and attributes, or "ok"."""
    try:
        fn()
        return "ok", {}
    except yx.YunxinError as e:
        attrs = {k: v for k, v in vars(e).items()}
        return type(e).__name__, {**attrs, "message": str(e)}


# Round trips


def test_start_call_and_query_like_the_blocking_client(mock: MockServer) -> None:
    async def go() -> Tuple[yx.Started, yx.CallRecord]:
        async with aclient(mock) as client:
            started = await client.start_call(**CALL)
            return started, await client.query_session(started.session)

    started, record = run(go())
    assert len(started.session) == 36 and started.raw == {"session": started.session}
    assert (record.session, record.duration_sec, record.answered, record.cost.fen) == (started.session, 42, True, 12)
    start, query = mock.requests()
    assert (start.endpoint, start.code, start.session) == ("start_call", 200, started.session)
    assert start.params() == {"callerAcc": "liuxuanlin", "caller": "13888888888", "callee": "13777777777", "maxDur": "100"}
    assert start.refusal is None  # the mock checked the signature
    assert start.header("Content-Type") == "application/x-www-form-urlencoded;charset=utf-8"
    assert (start.header("User-Agent") or "").startswith(f"yunxin-ecp/{yx.__version__} httpx/")
    assert query.params() == {"session": started.session, "type": "1"}
    assert start.header("Nonce") != query.header("Nonce")
    # The blocking client sends the same request.
    mock.client().start_call(**CALL)
    again = mock.requests()[-1]
    assert again.params() == start.params() and again.path == start.path
    signed = ("AppKey", "Nonce", "CurTime", "CheckSum", "Content-Type")
    assert all(again.header(h) and start.header(h) for h in signed)


def test_start_conference_and_query(mock: MockServer) -> None:
    mock.set_outcome("13777777777", Outcome.answered(125))

    async def go() -> yx.CallRecord:
        async with aclient(mock) as client:
            started = await client.start_conference(**CONF)
            return await client.query_session(started.session, kind="conference")

    record = run(go())
    assert record.is_conference and record.members == ["13888888888", "13777777777", "13666666666"]
    assert (record.billed_minutes, record.cost.fen) == (2, 24)
    assert mock.requests()[0].params()["callee"] == '["13777777777","13666666666"]'


def test_surface_and_defaults_match_the_blocking_client() -> None:
    blocking = inspect.signature(yx.Client)
    ours = inspect.signature(yx.AsyncClient)
    shared = [p for p in ours.parameters.values() if p.name not in ("http_client", "transport")]
    assert [(p.name, p.kind) for p in shared] == [(p.name, p.kind) for p in blocking.parameters.values()]
    for p in shared:
        if p.name != "base_url":  # the native signature shows `...`
            assert p.default == blocking.parameters[p.name].default, p.name
    assert ours.parameters["base_url"].default is None  # YUNXIN_BASE_URL, else the service
    for name in ("start_call", "start_conference", "query_session"):
        assert inspect.iscoroutinefunction(getattr(yx.AsyncClient, name))
        theirs = inspect.signature(getattr(yx.Client, name))
        mine = inspect.signature(getattr(yx.AsyncClient, name))
        assert [(p.name, p.kind) for p in list(mine.parameters.values())[1:]] == [
            (p.name, p.kind) for p in theirs.parameters.values()
        ][-len(mine.parameters) + 1:], name
    client = yx.AsyncClient("k", "s")
    assert (client.base_url, client.app_key) == ("https://api.netease.im", "k")
    assert repr(client) == "AsyncClient(app_key='k', base_url='https://api.netease.im')"
    assert "s'" not in repr(client)
    run(client.aclose())


# The same validation and the same exceptions as the blocking client


SETTINGS: List[Dict[str, Any]] = [
    {"base_url": "ftp://x"},
    {"timeout": 0},
    {"connect_timeout": -1.0},
    {"max_response_bytes": 0},
    {"timeout": 9.3e18},
    {"timeout": math.inf},
    {"timeout": 601},
    {"backoff": 1e12},
    {"connect_timeout": math.nan},
    {"backoff": -1.0},
    {"max_response_bytes": -1},
    {"max_response_bytes": 2**64},
    {"max_retries": -1},
    {"max_retries": True},
    {"max_retries": "2"},
    {"timeout": "5"},
]


@pytest.mark.parametrize("settings", SETTINGS, ids=[repr(s) for s in SETTINGS])
def test_settings_are_refused_as_the_blocking_client_refuses_them(settings: Dict[str, Any]) -> None:
    def build(cls: Any) -> Tuple[str, str]:
        try:
            cls("k", "s", **settings)
        except Exception as e:  # noqa: BLE001 (compared below, whatever it is)
            return type(e).__name__, str(e)
        return "ok", ""

    blocking, ours = build(yx.Client), build(yx.AsyncClient)
    assert blocking[0] != "ok"
    assert ours == blocking


ARGUMENTS: List[Tuple[str, Dict[str, Any]]] = [
    ("start_call", {**CALL, "callee": "+8613777777777"}),
    ("start_call", {**CALL, "max_dur": 0}),
    ("start_call", {**CALL, "max_dur": "100"}),
    ("start_call", {**CALL, "max_dur": True}),
    ("start_call", {**CALL, "caller_acc": ""}),
    ("start_call", {**CALL, "callee": CALL["caller"]}),
    ("start_conference", {**CONF, "callees": ["13777777777"]}),
    ("start_conference", {**CONF, "callees": ["13777777777", "0571"]}),
    ("start_conference", {**CONF, "callees": "13777777777"}),
    ("start_conference", {**CONF, "callees": ["13777777777", 13666666666]}),
    ("query_session", {"session": ""}),
    ("query_session", {"session": "x" * 200}),
    ("query_session", {"session": "s", "kind": "conf"}),
]


@pytest.mark.parametrize("method, kwargs", ARGUMENTS, ids=[f"{m}-{i}" for i, (m, _) in enumerate(ARGUMENTS)])
def test_arguments_are_refused_as_the_blocking_client_refuses_them(
    mock: MockServer, method: str, kwargs: Dict[str, Any]
) -> None:
    def refusal(call: Callable[[], Any]) -> Tuple[str, str, Dict[str, Any]]:
        try:
            call()
        except yx.ValidationError as e:
            return "ValidationError", str(e), {k: getattr(e, k) for k in ("field", "argument", "rule", "index")}
        except TypeError as e:
            return "TypeError", str(e), {}
        return "ok", "", {}

    blocking = refusal(lambda: getattr(mock.client(), method)(**kwargs))
    client = aclient(mock)
    ours = refusal(lambda: run(getattr(client, method)(**kwargs)))
    assert blocking[0] != "ok" and ours == blocking
    assert mock.requests() == []


def test_credentials_from_the_environment(mock: MockServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YUNXIN_APP_KEY", SAMPLE_APP_KEY)
    monkeypatch.setenv("YUNXIN_APP_SECRET", SAMPLE_APP_SECRET)
    client = yx.AsyncClient(base_url=mock.base_url)
    assert client.app_key == SAMPLE_APP_KEY
    assert run(client.start_call(**CALL)).session
    monkeypatch.delenv("YUNXIN_APP_SECRET")
    with pytest.raises(yx.ValidationError) as e:
        yx.AsyncClient(base_url=mock.base_url)
    assert (e.value.field, e.value.argument, e.value.rule) == ("YUNXIN_APP_SECRET", "app_secret", "not_set")
    assert "YUNXIN_APP_SECRET is not set" in str(e.value)
    with pytest.raises(TypeError):
        yx.AsyncClient(SAMPLE_APP_KEY, SAMPLE_APP_SECRET, credentials=CREDS)


# Faults: what is retried, and what is never sent twice


def test_reset_before_response_on_start_is_not_retried(mock: MockServer) -> None:
    mock.inject_fault("reset_before_response")
    with pytest.raises(yx.TransportError) as e:
        run(aclient(mock).start_call(**CALL))
    assert (e.value.kind, e.value.maybe_sent, e.value.retry_advice, e.value.attempts) == ("io", True, "outcome_unknown", 1)
    assert "query before trying again" in str(e.value)
    assert isinstance(e.value.__cause__, httpx.HTTPError)
    assert mock.start_count == 1 and len(mock.requests()) == 1


def test_reset_on_query_is_retried(mock: MockServer) -> None:
    async def go() -> None:
        async with aclient(mock) as client:
            session = (await client.start_call(**CALL)).session
            mock.inject_fault("reset_before_response")
            assert (await client.query_session(session)).session == session

    run(go())
    assert [r.fault for r in mock.requests()] == [None, "reset_before_response", None]


def test_reset_mid_body_on_start(mock: MockServer) -> None:
    mock.inject_fault("reset_mid_body")
    with pytest.raises(yx.TransportError) as e:
        run(aclient(mock).start_call(**CALL))
    assert e.value.maybe_sent and e.value.retry_advice == "outcome_unknown"
    assert mock.start_count == 1 and len(mock.requests()) == 1


def test_rate_limited_start_is_retried_signed_afresh(mock: MockServer) -> None:
    mock.inject_fault("rate_limited")
    started = run(aclient(mock).start_call(**CALL))
    first, second = mock.requests()
    assert (first.code, second.code, second.session) == (416, 200, started.session)
    assert first.header("Nonce") != second.header("Nonce")
    assert mock.start_count == 1


def test_busy_start_is_retried_once_only(mock: MockServer) -> None:
    mock.inject_fault("busy_503", times=3)
    with pytest.raises(yx.ApiError) as e:
        run(aclient(mock, backoff=0.01).start_call(**CALL))
    assert (e.value.code, e.value.retry_advice) == (503, "never")
    assert "already sent again once" in str(e.value)
    assert [r.code for r in mock.requests()] == [503, 503]
    # A query is retried on 503 as long as retries remain.
    mock.clear_faults()
    mock.inject_fault("busy_503", times=3)
    with pytest.raises(yx.ApiError):
        run(aclient(mock, backoff=0.01).query_session("7c4b7673-4f70-4164-82a0-decb84d77914"))
    assert [r.code for r in mock.requests()][2:] == [503, 503, 503]


def test_server_error_on_start_leaves_the_outcome_unknown(mock: MockServer) -> None:
    mock.inject_fault("server_error")
    with pytest.raises(yx.ApiError) as e:
        run(aclient(mock).start_call(**CALL))
    assert (e.value.code, e.value.retry_advice, e.value.retryable) == (500, "outcome_unknown", False)
    assert mock.start_count == 1 and len(mock.requests()) == 1


@pytest.mark.parametrize(
    "fault, kind, status",
    [("html_502", "html", 502), ("empty_body", "empty", 200), ("garbage_json", "truncated", 200)],
)
def test_unusable_answers(mock: MockServer, fault: str, kind: str, status: int) -> None:
    async def go() -> None:
        async with aclient(mock) as client:
            mock.inject_fault(fault)  # type: ignore[arg-type]
            with pytest.raises(yx.ProtocolError) as e:
                await client.start_call(**CALL)
            assert (e.value.kind, e.value.http_status, e.value.retry_advice) == (kind, status, "outcome_unknown")
            assert len(mock.requests()) == 1
            # A query is read-only: the same faults are retried away.
            session = (await client.start_call(**CALL)).session
            mock.inject_fault(fault)  # type: ignore[arg-type]
            assert (await client.query_session(session)).session == session

    run(go())


def test_the_size_limit(mock: MockServer) -> None:
    mock.inject_fault("oversized", size=2048)
    with pytest.raises(yx.ProtocolError) as e:
        run(aclient(mock, max_retries=0, max_response_bytes=1024).start_call(**CALL))
    assert (e.value.kind, e.value.detail) == ("too_large", "over 1024 bytes")
    mock.inject_fault("oversized", size=2048)
    assert run(aclient(mock, max_retries=0).start_call(**CALL)).session
    # The blocking client's words, for the same answer.
    mock.inject_fault("oversized", size=2048)
    with pytest.raises(yx.ProtocolError) as b:
        mock.client(max_retries=0, max_response_bytes=1024).start_call(**CALL)
    assert str(b.value) == str(e.value)


def test_a_delay_within_the_timeout_and_a_timeout(mock: MockServer) -> None:
    mock.inject_fault("delay", ms=200)
    t0 = time.monotonic()
    assert run(aclient(mock, timeout=5).start_call(**CALL)).session
    assert time.monotonic() - t0 >= 0.2
    mock.inject_fault("delay", ms=1500)
    with pytest.raises(yx.TimeoutError) as e:
        run(aclient(mock, timeout=0.3).start_call(**CALL))
    assert (e.value.kind, e.value.maybe_sent, e.value.retry_advice, e.value.attempts) == (
        "timeout", True, "outcome_unknown", 1)
    assert len(mock.requests()) <= 2  # the first call, and this one: not retried


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


def test_nothing_sent_is_retried_and_says_so() -> None:
    base = f"http://127.0.0.1:{closed_port()}"
    with pytest.raises(yx.TransportError) as e:
        run(yx.AsyncClient(credentials=CREDS, base_url=base, backoff=0.01).start_call(**CALL))
    err = e.value
    assert not isinstance(err, yx.TimeoutError)
    assert (err.kind, err.maybe_sent, err.retry_advice, err.attempts, err.endpoint) == (
        "connect", False, "safe", 3, "start_call")
    assert "the request was not sent" in str(err) and SAMPLE_APP_SECRET not in str(err)
    with pytest.raises(yx.TransportError) as b:
        yx.Client(credentials=CREDS, base_url=base, backoff=0.01).start_call(**CALL)
    assert (b.value.kind, b.value.maybe_sent, b.value.retry_advice, b.value.attempts) == (
        err.kind, err.maybe_sent, err.retry_advice, err.attempts)


def test_concurrent_calls_overlap(mock: MockServer) -> None:
    mock.set_latency(0.3)

    async def go() -> List[yx.Started]:
        async with aclient(mock) as client:
            return await asyncio.gather(*(client.start_call(**CALL) for _ in range(20)))

    t0 = time.monotonic()
    started = run(go())
    elapsed = time.monotonic() - t0
    assert len({s.session for s in started}) == 20 and mock.start_count == 20
    assert elapsed < 2.0, f"20 calls of 0.3 s took {elapsed:.2f} s: they did not overlap"


# What only a hostile or broken server does: a small local HTTP server with scripted answers


class Scripted:
    """Answers each connection with the next scripted raw response (bytes, or a callable that
    writes to the socket itself), and records every request head."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.heads: List[bytes] = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d" % self.sock.getsockname()[1]

    def serve(self) -> None:
        while self.answers:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(10)
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                self.heads.append(data.split(b"\r\n\r\n")[0])
                answer = self.answers.pop(0)
                try:
                    if callable(answer):
                        answer(conn)
                    else:
                        conn.sendall(answer)
                except OSError:
                    pass

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def scripted() -> Iterator[Callable[..., Scripted]]:
    servers: List[Scripted] = []

    def make(*answers: Any) -> Scripted:
        s = Scripted(*answers)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.close()


REDIRECT = (
    b"HTTP/1.1 302 Found\r\nLocation: https://elsewhere.example/call/ecp/startcall.action\r\n"
    b'Content-Length: 40\r\nConnection: close\r\n\r\n{"code":200,"obj":{"session":"not-this"}}'
)


def test_a_redirect_is_never_followed(scripted: Callable[..., Scripted]) -> None:
    server = scripted(REDIRECT, REDIRECT)
    with pytest.raises(yx.ProtocolError) as e:
        run(yx.AsyncClient(credentials=CREDS, base_url=server.url).start_call(**CALL))
    err = e.value
    assert (err.kind, err.http_status, err.retry_advice) == ("redirect", 302, "outcome_unknown")
    assert err.detail == "Location: https://elsewhere.example/call/ecp/startcall.action"
    with pytest.raises(yx.ProtocolError) as b:
        yx.Client(credentials=CREDS, base_url=server.url).start_call(**CALL)
    assert (b.value.kind, b.value.detail, str(b.value)) == (err.kind, err.detail, str(err))
    assert len(server.heads) == 2  # one request each, none to the Location


def test_a_redirect_is_not_followed_through_a_client_that_follows_them(scripted: Callable[..., Scripted]) -> None:
    server = scripted(REDIRECT)

    async def go() -> None:
        async with httpx.AsyncClient(follow_redirects=True) as http:
            client = yx.AsyncClient(credentials=CREDS, base_url=server.url, http_client=http)
            with pytest.raises(yx.ProtocolError) as e:
                await client.start_call(**CALL)
            assert e.value.kind == "redirect"
            await client.aclose()
            assert not http.is_closed  # not ours to close

    run(go())
    assert len(server.heads) == 1


def chunked_forever(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
    chunk = b"x" * 4096
    for _ in range(1024):
        conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))


def trickle(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{")
    for _ in range(40):
        time.sleep(0.1)
        conn.sendall(b" ")


def test_a_body_without_length_is_cut_at_the_limit(scripted: Callable[..., Scripted]) -> None:
    server = scripted(chunked_forever)
    t0 = time.monotonic()
    with pytest.raises(yx.ProtocolError) as e:
        run(yx.AsyncClient(credentials=CREDS, base_url=server.url, max_response_bytes=10_000, max_retries=0)
            .query_session("s"))
    assert (e.value.kind, e.value.detail, e.value.http_status) == ("too_large", "over 10000 bytes", 200)
    assert time.monotonic() - t0 < 3


def test_the_timeout_bounds_a_whole_attempt(scripted: Callable[..., Scripted]) -> None:
    # Every read returns within httpx's read timeout; the attempt's deadline still ends it.
    server = scripted(trickle)
    t0 = time.monotonic()
    with pytest.raises(yx.TimeoutError) as e:
        run(yx.AsyncClient(credentials=CREDS, base_url=server.url, timeout=0.5).start_call(**CALL))
    assert time.monotonic() - t0 < 2
    assert (e.value.kind, e.value.maybe_sent, e.value.retry_advice, e.value.attempts) == (
        "timeout", True, "outcome_unknown", 1)
    assert len(server.heads) == 1


# Each httpx failure, through a transport: whether the request may have been sent decides all


def failing(exc: Exception, answer: Optional[httpx.Response] = None) -> Tuple[httpx.MockTransport, List[httpx.Request]]:
    seen: List[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if answer is not None and len(seen) > 1:
            return answer
        raise exc

    return httpx.MockTransport(handle), seen


OK_QUERY = httpx.Response(200, json={"code": 200, "obj": {"session": "s", "durationSec": 3}})


@pytest.mark.parametrize(
    "exc, kind, maybe_sent",
    [
        (httpx.ConnectError("refused"), "connect", False),
        (httpx.ConnectTimeout("slow"), "connect", False),
        (httpx.PoolTimeout("busy pool"), "timeout", False),
        (httpx.ProxyError("bad proxy"), "connect", False),
        (httpx.ReadTimeout("slow answer"), "timeout", True),
        (httpx.WriteTimeout("slow send"), "timeout", True),
        (httpx.ReadError("reset"), "io", True),
        (httpx.WriteError("broken pipe"), "io", True),
        (httpx.RemoteProtocolError("Server disconnected without sending a response."), "io", True),
    ],
)
def test_httpx_failures(exc: Exception, kind: str, maybe_sent: bool) -> None:
    transport, seen = failing(exc)
    client = yx.AsyncClient(credentials=CREDS, transport=transport, backoff=0)
    with pytest.raises(yx.TransportError) as e:
        run(client.start_call(**CALL))
    err = e.value
    assert (err.kind, err.maybe_sent) == (kind, maybe_sent)
    assert isinstance(err, yx.TimeoutError) == (kind == "timeout")
    assert err.retry_advice == ("outcome_unknown" if maybe_sent else "safe")
    # A start that may have been placed is sent once; one provably not sent, up to 3 times.
    assert len(seen) == err.attempts == (1 if maybe_sent else 3)
    assert err.__cause__ is exc and str(exc) in err.detail
    # A query is retried either way, and succeeds when the service comes back.
    transport, seen = failing(exc, OK_QUERY)
    record = run(yx.AsyncClient(credentials=CREDS, transport=transport, backoff=0).query_session("s"))
    assert (record.session, len(seen)) == ("s", 2)


def test_a_tls_failure_is_a_tls_error() -> None:
    import ssl

    err = httpx.ConnectError("handshake")
    err.__cause__ = ssl.SSLCertVerificationError("certificate verify failed")
    transport, seen = failing(err)
    with pytest.raises(yx.TransportError) as e:
        run(yx.AsyncClient(credentials=CREDS, transport=transport, max_retries=0).start_call(**CALL))
    assert (e.value.kind, e.value.maybe_sent) == ("tls", False)


def test_each_attempt_is_signed_afresh_and_backs_off() -> None:
    seen: List[Tuple[float, httpx.Request]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append((time.monotonic(), request))
        return httpx.Response(200, json={"code": 416, "msg": "rate limited"})

    client = yx.AsyncClient(credentials=CREDS, transport=httpx.MockTransport(handle), backoff=0.1, max_retries=2)
    with pytest.raises(yx.ApiError) as e:
        run(client.query_session("s"))
    assert (e.value.code, e.value.retry_advice) == (416, "backoff")
    assert len(seen) == 3
    nonces = {r.headers["Nonce"] for _, r in seen}
    assert len(nonces) == 3
    for _, r in seen:
        assert r.headers["CheckSum"] == yx.checksum(SAMPLE_APP_SECRET, r.headers["Nonce"], r.headers["CurTime"])
    # Equal jitter: the first wait is 50 to 100 ms, the second 100 to 200 ms.
    (t0, _), (t1, _), (t2, _) = seen
    assert 0.05 <= t1 - t0 < 0.5 and 0.1 <= t2 - t1 < 0.6


def test_max_retries_zero_sends_once() -> None:
    transport, seen = failing(httpx.ConnectError("refused"))
    with pytest.raises(yx.TransportError) as e:
        run(yx.AsyncClient(credentials=CREDS, transport=transport, max_retries=0).query_session("s"))
    assert (e.value.attempts, len(seen)) == (1, 1)


def test_http_client_and_transport_are_exclusive() -> None:
    async def go() -> None:
        async with httpx.AsyncClient() as http:
            with pytest.raises(TypeError, match="either"):
                yx.AsyncClient("k", "s", http_client=http, transport=httpx.MockTransport(lambda r: OK_QUERY))
            with pytest.raises(TypeError, match="httpx.AsyncClient"):
                yx.AsyncClient("k", "s", http_client=object())  # type: ignore[arg-type]

    run(go())


def test_aclose_closes_its_own_client() -> None:
    async def go() -> None:
        client = yx.AsyncClient("k", "s", transport=httpx.MockTransport(lambda r: OK_QUERY))
        async with client as same:
            assert same is client
            assert (await client.query_session("s")).session == "s"
        with pytest.raises(RuntimeError):
            await client.query_session("s")

    run(go())


# The environment: proxies, and a Python without httpx


PROXY_CHILD = """
import asyncio
import yunxin_ecp as yx
from yunxin_ecp.testing import MockServer

async def main():
    with MockServer() as mock:
        client = yx.AsyncClient(credentials=mock.credentials, base_url=mock.base_url, max_retries=0, timeout=5)
        print((await client.start_call(caller_acc="liuxuanlin", caller="13888888888", callee="13777777777", max_dur=100)).session)
    remote = yx.AsyncClient("k", "s", base_url="http://ecp.invalid", max_retries=0, timeout=5)
    try:
        await remote.query_session("x")
    except yx.YunxinError as e:
        print(type(e).__name__)

asyncio.run(main())
"""


def test_an_environment_proxy_is_skipped_for_a_local_mock_only() -> None:
    head, out = through_recording_proxy(PROXY_CHILD)
    session, outcome = out.split()
    assert len(session) == 36, out
    assert b"ecp.invalid" in head.splitlines()[0], head
    assert outcome in ("TransportError", "ProtocolError"), out


NO_HTTPX_CHILD = """
import sys
sys.modules["httpx"] = None  # as if it were not installed
import yunxin_ecp
from yunxin_ecp import AsyncClient, Client
assert "httpx" not in [m for m in sys.modules if sys.modules[m] is not None]
try:
    AsyncClient("k", "s")
except ImportError as e:
    print(e)
"""


def test_the_package_imports_without_httpx() -> None:
    done = subprocess.run([sys.executable, "-c", NO_HTTPX_CHILD], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == 'yunxin_ecp.AsyncClient needs httpx: pip install httpx sniffio (the "async" extra)'


def test_importing_the_package_does_not_import_httpx() -> None:
    code = "import sys, yunxin_ecp, yunxin_ecp.integrations; print('httpx' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr


def test_blocking_client_in_a_thread(mock: MockServer) -> None:
    # The documented alternative: the blocking client in a worker thread (it releases the GIL).
    client = mock.client()

    async def go() -> List[yx.Started]:
        return await asyncio.gather(*(asyncio.to_thread(client.start_call, **CALL) for _ in range(3)))

    assert len({s.session for s in run(go())}) == 3


# Cancellation: never swallowed nor replaced; once a start may have been sent, it says so


@contextlib.contextmanager
def when_httpcore_logs(step: str, then: Callable[[], Any]) -> Iterator[None]:
    """Runs ``then`` once, when httpcore logs ``step`` of an exchange (its DEBUG events:
    ``connect_tcp.started``, ``send_request_body.complete`` once the whole request is written
    to the socket...). httpcore logs from inside the task that sends, so ``then`` runs in that
    task, between that step and the next: no sleep, no race."""

    class Handler(logging.Handler):
        fired = False

        def emit(self, record: logging.LogRecord) -> None:
            if not self.fired and record.getMessage().split(" ", 1)[0] == step:
                self.fired = True
                then()

    handler = Handler(logging.DEBUG)
    loggers = [logging.getLogger(name) for name in ("httpcore.connection", "httpcore.http11")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.removeHandler(handler)
            logger.setLevel(level)
    assert handler.fired, f"httpcore never logged {step}"


def cancelled_at(step: str, call: Callable[[yx.AsyncClient], Awaitable[Any]], client: yx.AsyncClient) -> BaseException:
    """Runs ``call(client)`` in a task, cancels that task at ``step`` and returns the exception
    the call raised, after checking that awaiting the task raises CancelledError."""
    raised: List[BaseException] = []

    async def go() -> None:
        async def calling() -> None:
            try:
                await call(client)
            except BaseException as e:
                raised.append(e)
                raise

        async with client:
            task = asyncio.create_task(calling())
            with when_httpcore_logs(step, task.cancel):
                with pytest.raises(asyncio.CancelledError):
                    await task

    run(go())
    (e,) = raised
    return e


def notes(e: BaseException) -> List[str]:
    return list(getattr(e, "__notes__", []))


def events(caplog: pytest.LogCaptureFixture) -> List[logging.LogRecord]:
    """The client's events after its first (``client ready``, where it sends)."""
    return [r for r in caplog.records if r.name == "yunxin_ecp" and not r.getMessage().startswith("client ready")]


def names(records: List[logging.LogRecord]) -> List[str]:
    """The events' names: what comes before their first field."""
    return [r.getMessage().split(" id=")[0] for r in records]


NEVER = 600_000  # ms: an answer held longer than any test; stopping the mock ends the wait


def test_a_start_cancelled_once_sent_says_the_call_may_exist(mock: MockServer, caplog: pytest.LogCaptureFixture) -> None:
    mock.inject_fault("delay", ms=NEVER)
    with caplog.at_level(logging.WARNING, logger="yunxin_ecp"):
        e = cancelled_at("send_request_body.complete", lambda c: c.start_call(**CALL), aclient(mock))
    assert type(e) is asyncio.CancelledError  # as it came: not swallowed, not replaced
    (note,) = notes(e)
    assert note == (
        "yunxin_ecp: cancelled when the start_call request may already have been sent (attempt 1): "
        "it may have taken effect (for a start, the call may have been placed); query or check before "
        'sending it again (retry_advice "outcome_unknown")'
    )
    (record,) = events(caplog)
    assert record.levelno == logging.WARNING
    assert re.fullmatch(r"cancelled id=[0-9a-f]{8} endpoint=start_call attempt=1 advice=outcome_unknown", record.getMessage())


def test_a_conference_cancelled_once_sent_says_so_too(mock: MockServer, caplog: pytest.LogCaptureFixture) -> None:
    mock.inject_fault("delay", ms=NEVER)
    with caplog.at_level(logging.WARNING, logger="yunxin_ecp"):
        e = cancelled_at("send_request_body.complete", lambda c: c.start_conference(**CONF), aclient(mock))
    (note,) = notes(e)
    assert note.startswith("yunxin_ecp: cancelled when the start_conf request") and "the call may have been placed" in note
    (record,) = events(caplog)
    assert "endpoint=start_conf " in record.getMessage()


def test_a_query_cancelled_once_sent_is_just_cancelled(mock: MockServer, caplog: pytest.LogCaptureFixture) -> None:
    mock.inject_fault("delay", ms=NEVER)
    with caplog.at_level(logging.DEBUG, logger="yunxin_ecp"):
        e = cancelled_at("send_request_body.complete", lambda c: c.query_session("s-1"), aclient(mock))
    assert type(e) is asyncio.CancelledError
    assert notes(e) == [] and names(events(caplog)) == ["request sent"]


def test_a_start_cancelled_while_connecting_was_not_sent(mock: MockServer, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="yunxin_ecp"):
        e = cancelled_at("connect_tcp.started", lambda c: c.start_call(**CALL), aclient(mock))
    assert type(e) is asyncio.CancelledError
    assert notes(e) == [] and names(events(caplog)) == ["request sent"]
    assert mock.requests() == [] and mock.start_count == 0


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.timeout is new in 3.11")
def test_an_outer_timeout_has_the_noted_cancellation_as_its_cause(
    mock: MockServer, caplog: pytest.LogCaptureFixture
) -> None:
    mock.inject_fault("delay", ms=NEVER)

    async def go() -> BaseException:
        loop = asyncio.get_running_loop()
        async with aclient(mock) as client:
            with pytest.raises(builtins.TimeoutError) as e:
                async with asyncio.timeout(None) as deadline:
                    # Runs out the moment the request is written, while the answer is held.
                    with when_httpcore_logs("send_request_body.complete", lambda: deadline.reschedule(loop.time())):
                        await client.start_call(**CALL)
            return e.value

    with caplog.at_level(logging.WARNING, logger="yunxin_ecp"):
        timeout = run(go())
    assert not isinstance(timeout, yx.YunxinError)  # the caller's deadline, not the attempt's
    cause = timeout.__cause__
    assert type(cause) is asyncio.CancelledError
    assert len(notes(cause)) == 1 and "the call may have been placed" in notes(cause)[0]
    assert len(events(caplog)) == 1


class Held(httpx.AsyncBaseTransport):
    """A transport that says nothing of its progress and never answers."""

    def __init__(self) -> None:
        self.entered: Optional[asyncio.Event] = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert self.entered is not None
        self.entered.set()
        await asyncio.Event().wait()
        raise AssertionError("never answered")


def held_and_cancelled(call: Callable[[yx.AsyncClient], Awaitable[Any]]) -> BaseException:
    transport = Held()
    client = yx.AsyncClient(credentials=CREDS, base_url="http://127.0.0.1:9", transport=transport)
    raised: List[BaseException] = []

    async def go() -> None:
        transport.entered = asyncio.Event()

        async def calling() -> None:
            try:
                await call(client)
            except BaseException as e:
                raised.append(e)
                raise

        task = asyncio.create_task(calling())
        await transport.entered.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(go())
    (e,) = raised
    return e


def test_through_a_transport_of_its_own_a_cancelled_start_may_have_been_sent(caplog: pytest.LogCaptureFixture) -> None:
    # Such a transport cannot tell whether the request left: once the exchange began, it may have.
    with caplog.at_level(logging.WARNING, logger="yunxin_ecp"):
        e = held_and_cancelled(lambda c: c.start_call(**CALL))
    assert len(notes(e)) == 1 and notes(e)[0].startswith("yunxin_ecp: cancelled when the start_call request")
    assert len(events(caplog)) == 1
    assert notes(held_and_cancelled(lambda c: c.query_session("s-1"))) == []


@pytest.mark.parametrize("idempotent", [False, True])
def test_a_cancelled_request_is_noted_unless_idempotent(idempotent: bool, caplog: pytest.LogCaptureFixture) -> None:
    request = yx.ApiRequest("/nimserver/user/create.action", {"accid": "a"}, idempotent=idempotent)
    with caplog.at_level(logging.WARNING, logger="yunxin_ecp"):
        e = held_and_cancelled(lambda c: c.request(request))
    assert type(e) is asyncio.CancelledError
    if idempotent:
        assert notes(e) == [] and events(caplog) == []
    else:
        assert notes(e) == [
            "yunxin_ecp: cancelled when the api request may already have been sent (attempt 1): "
            "it may have taken effect (for a start, the call may have been placed); query or check before "
            'sending it again (retry_advice "outcome_unknown")'
        ]
        (record,) = events(caplog)
        assert re.fullmatch(r"cancelled id=[0-9a-f]{8} endpoint=api attempt=1 advice=outcome_unknown", record.getMessage())


# The events: the exchange's, logged by both clients alike


def conversation(
    mock: MockServer, caplog: pytest.LogCaptureFixture, fault: str, times: int, send: Callable[[], Any]
) -> List[Tuple[str, str, Dict[str, str]]]:
    """The ``yunxin_ecp`` events of one call under ``fault``, as (level, name, fields), with the
    random id and the measured time replaced (the id checked to be the call's one id)."""
    caplog.clear()
    mock.clear_faults()
    mock.inject_fault(fault, times=times)  # type: ignore[arg-type]
    try:
        send()
    except yx.YunxinError:
        pass
    seen = []
    ids = set()
    for r in caplog.records:
        if r.name != "yunxin_ecp":
            continue
        name, _, rest = r.getMessage().partition(" id=")
        fields = dict(f.split("=", 1) for f in f"id={rest}".split(" ")) if rest else {}
        if "id" in fields:
            ids.add(fields.pop("id"))
        if "elapsed_ms" in fields:
            assert fields.pop("elapsed_ms").isdigit()
        seen.append((r.levelname, name, fields))
    assert len(ids) == 1, "one id for the call and its retries"
    return seen


@pytest.mark.parametrize(
    "fault, times, expect",
    [
        ("busy_503", 1, ["request sent", "response", "retry", "request sent", "response"]),
        ("busy_503", 2, ["request sent", "response", "retry", "request sent", "response", "gave up"]),
        ("reset_before_response", 1, ["request sent", "no response", "gave up"]),
        ("redirect", 1, ["request sent", "response", "gave up"]),
    ],
)
def test_the_events_are_the_blocking_clients(
    mock: MockServer, caplog: pytest.LogCaptureFixture, fault: str, times: int, expect: List[str]
) -> None:
    caplog.set_level(logging.DEBUG, logger="yunxin_ecp")
    yx.refresh_logging()
    try:
        blocking = conversation(mock, caplog, fault, times, lambda: mock.client(backoff=0).start_call(**CALL))
        ours = conversation(mock, caplog, fault, times, lambda: run(aclient(mock, backoff=0).start_call(**CALL)))
    finally:
        caplog.set_level(logging.WARNING, logger="yunxin_ecp")
        yx.refresh_logging()
    assert ours == blocking
    assert [name for _, name, _ in ours if not name.startswith("client ready")] == expect
    levels = {name: level for level, name, _ in ours}
    assert (levels["request sent"], levels.get("retry", "INFO"), levels.get("gave up", "WARNING")) == (
        "DEBUG", "INFO", "WARNING")
    sent = [fields for _, name, fields in ours if name == "request sent"]
    assert sent[0] == {"endpoint": "start_call", "path": "/call/ecp/startcall.action", "attempt": "1"}


def test_an_unexpected_exception_of_the_stack_is_still_an_attempt_that_may_have_been_sent() -> None:
    # A response hook of an http_client passed in (httpx's docs show raise_for_status there)
    # raises something that is no httpx.RequestError: the start may have placed its call.
    calls: List[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, json={"code": 200, "obj": {"session": "c0ffee00-0000-4000-8000-000000000001"}})

    async def hook(response: httpx.Response) -> None:
        raise RuntimeError("a hook of the caller's")

    async def go() -> BaseException:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer), event_hooks={"response": [hook]}) as http:
            client = yx.AsyncClient("k", "s", base_url="http://ecp.test", http_client=http)
            with pytest.raises(yx.YunxinError) as e:
                await client.start_call(caller_acc="a", caller="13888888888", callee="13777777777", max_dur=60)
            return e.value

    error = run(go())
    assert isinstance(error, yx.TransportError), repr(error)
    assert (error.kind, error.maybe_sent, error.retry_advice) == ("io", True, "outcome_unknown")
    assert len(calls) == 1



def test_a_failed_attempts_cause_keeps_no_signed_header() -> None:
    """The httpx error stays the cause, without its request nor the frames that held the headers
    (what an error reporter would capture with it)."""

    def reset() -> BaseException:
        try:
            raise ConnectionResetError(104, "Connection reset by peer")
        except ConnectionResetError as inner:
            try:
                raise httpx.ReadError("reset") from inner
            except httpx.ReadError as outer:
                return outer

    exc = reset()
    transport, seen = failing(exc)  # type: ignore[arg-type]
    with pytest.raises(yx.TransportError) as e:
        run(yx.AsyncClient(credentials=CREDS, transport=transport, max_retries=0).start_call(**CALL))
    (sent,) = seen
    checksum = sent.headers["CheckSum"]
    assert len(checksum) == 40
    cause = e.value.__cause__
    assert cause is exc and isinstance(cause.__cause__, ConnectionResetError)
    with pytest.raises(RuntimeError):
        exc.request  # httpx's words for a request it does not hold
    link: Optional[BaseException] = cause
    while link is not None:
        assert link.__traceback__ is None, type(link)
        link = link.__cause__ or link.__context__
    assert checksum not in repr(e.value) and checksum not in str(e.value)

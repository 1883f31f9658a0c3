"""Client round trips and fault modes against yunxin_ecp.testing, and the GIL released during I/O."""

import math
import threading
import time
from decimal import Decimal
from typing import Iterator, List

import pytest
from conftest import through_recording_proxy

import yunxin_ecp as yx
from yunxin_ecp.testing import SAMPLE_APP_KEY, SAMPLE_APP_SECRET, MockServer, Outcome

CALL = {"caller_acc": "liuxuanlin", "caller": "13888888888", "callee": "13777777777", "max_dur": 100}
CONF = {"caller_acc": "liuxuanlin", "caller": "13888888888", "callees": ["13777777777", "13666666666"], "max_dur": 100}


@pytest.fixture
def mock() -> Iterator[MockServer]:
    with MockServer() as server:
        yield server


@pytest.fixture
def client(mock: MockServer) -> yx.Client:
    return mock.client(timeout=5)


def test_start_call_and_query(mock: MockServer, client: yx.Client) -> None:
    started = client.start_call(**CALL)  # type: ignore[arg-type]
    assert len(started.session) == 36 and started.raw == {"session": started.session}
    record = client.query_session(started.session)
    assert (record.session, record.init_account, record.caller, record.callee) == (
        started.session, "liuxuanlin", "13888888888", "13777777777")
    assert (record.duration_sec, record.answered, record.billed_minutes, record.status) == (42, True, 1, "SUCCESS")
    assert record.cost.fen == 12 and record.cost.yuan == Decimal("0.12")
    assert [leg.hang_cause for leg in record.legs] == ["NORMAL_CLEARING", "NORMAL_CLEARING"]
    assert [leg.endpoint for leg in record.legs] == ["13888888888", "13777777777"]
    assert record.raw == mock.sessions()[0]

    start, query = mock.requests()
    assert (start.endpoint, start.method, start.path, start.code, start.session) == (
        "start_call", "POST", "/call/ecp/startcall.action", 200, started.session)
    assert start.params() == {"callerAcc": "liuxuanlin", "caller": "13888888888", "callee": "13777777777", "maxDur": "100"}
    assert start.header("appkey") == SAMPLE_APP_KEY
    # The mock keeps no live signature in its log: it would be replayable for five minutes.
    assert start.header("CheckSum") == "<redacted, 40 characters>"
    assert start.refusal is None and start.code == 200
    assert start.header("Content-Type") == "application/x-www-form-urlencoded;charset=utf-8"
    assert query.params() == {"session": started.session, "type": "1"}
    assert start.header("Nonce") != query.header("Nonce")
    assert mock.start_count == 1


def test_start_conference_and_query(mock: MockServer, client: yx.Client) -> None:
    mock.set_outcome("13777777777", Outcome.answered(125))
    started = client.start_conference(**CONF)  # type: ignore[arg-type]
    record = client.query_session(started.session, kind="conference")
    assert record.is_conference and record.members == ["13888888888", "13777777777", "13666666666"]
    assert (record.duration_sec, record.billed_minutes, record.cost.fen, record.legs) == (100, 2, 24, [])
    assert mock.requests()[0].params()["callee"] == '["13777777777","13666666666"]'
    with pytest.raises(yx.ApiError) as e:
        client.query_session(started.session, kind="call")  # wrong type: not found
    assert (e.value.code, e.value.endpoint, e.value.retryable) == (404, "query_by_session", False)


def test_unanswered_call_reports_success_but_not_answered(mock: MockServer, client: yx.Client) -> None:
    mock.set_outcome("13777777777", Outcome.no_answer("USER_BUSY"))
    record = client.query_session(client.start_call(**CALL).session)  # type: ignore[arg-type]
    assert (record.status, record.answered, record.duration_sec, record.billed_minutes, record.cost.fen) == (
        "SUCCESS", False, 0, 0, 0)
    assert {leg.hang_cause for leg in record.legs} == {"USER_BUSY"}


def test_credentials_from_arguments_and_environment(mock: MockServer, monkeypatch: pytest.MonkeyPatch) -> None:
    by_args = yx.Client(SAMPLE_APP_KEY, SAMPLE_APP_SECRET, base_url=mock.base_url)
    assert by_args.start_call(**CALL).session  # type: ignore[arg-type]
    by_creds = yx.Client(credentials=yx.Credentials(SAMPLE_APP_KEY, SAMPLE_APP_SECRET), base_url=mock.base_url)
    assert by_creds.start_call(**CALL).session  # type: ignore[arg-type]
    monkeypatch.setenv("YUNXIN_APP_KEY", SAMPLE_APP_KEY)
    monkeypatch.setenv("YUNXIN_APP_SECRET", SAMPLE_APP_SECRET)
    by_env = yx.Client(base_url=mock.base_url)
    assert by_env.app_key == SAMPLE_APP_KEY and by_env.base_url == mock.base_url
    assert by_env.start_call(**CALL).session  # type: ignore[arg-type]
    assert SAMPLE_APP_SECRET not in repr(by_env) and SAMPLE_APP_KEY in repr(by_env)
    monkeypatch.delenv("YUNXIN_APP_KEY")
    with pytest.raises(yx.ValidationError) as e:
        yx.Client(base_url=mock.base_url)
    assert e.value.field == "YUNXIN_APP_KEY"
    with pytest.raises(yx.ValidationError) as e:
        yx.Client(SAMPLE_APP_KEY)
    assert (e.value.field, e.value.rule) == ("appSecret", "empty")
    with pytest.raises(TypeError):
        yx.Client(SAMPLE_APP_KEY, SAMPLE_APP_SECRET, credentials=yx.Credentials("a", "b"))
    assert yx.Client(SAMPLE_APP_KEY, SAMPLE_APP_SECRET).base_url == "https://api.netease.im"


def test_client_settings_are_validated() -> None:
    with pytest.raises(yx.ValidationError) as e:
        yx.Client("k", "s", base_url="ftp://x")
    assert (e.value.field, e.value.rule) == ("baseUrl", "url")
    cases = [
        ({"timeout": 0}, "timeout"),
        ({"connect_timeout": -1.0}, "connect_timeout"),
        ({"max_response_bytes": 0}, "max_response_bytes"),
    ]
    for kw, field in cases:
        with pytest.raises(yx.ValidationError) as e:
            yx.Client("k", "s", **kw)  # type: ignore[arg-type]
        assert (e.value.field, e.value.rule) == (field, "not_positive")
    # Absurd, negative and non-numeric settings: a ValidationError naming the argument, never a
    # raw OverflowError, a silent clamp to zero, or a panic on the first request.
    refused = [
        ({"timeout": 9.3e18}, "timeout", "at_most"),
        ({"connect_timeout": 9.3e18}, "connect_timeout", "at_most"),
        ({"timeout": math.inf}, "timeout", "at_most"),
        ({"timeout": 600.5}, "timeout", "at_most"),
        ({"backoff": 1e12}, "backoff", "at_most"),
        ({"connect_timeout": math.nan}, "connect_timeout", "not_positive"),
        ({"timeout": -0.5}, "timeout", "not_positive"),
        ({"backoff": -1.0}, "backoff", "negative"),
        ({"backoff": math.nan}, "backoff", "negative"),
        ({"max_response_bytes": -1}, "max_response_bytes", "not_integer"),
        ({"max_response_bytes": 2**64}, "max_response_bytes", "not_integer"),
        ({"max_retries": -1}, "max_retries", "not_integer"),
        ({"max_retries": True}, "max_retries", "not_integer"),
    ]
    for kw, field, rule in refused:
        with pytest.raises(yx.ValidationError) as e:
            yx.Client("k", "s", **kw)  # type: ignore[arg-type]
        assert (e.value.field, e.value.rule) == (field, rule), kw
        assert field in str(e.value)
    with pytest.raises(yx.ValidationError, match="at most 600 seconds"):
        yx.Client("k", "s", timeout=601)
    with pytest.raises(yx.ValidationError, match="positive number of seconds"):
        yx.Client("k", "s", timeout=0.0)
    assert yx.Client("k", "s", timeout=600, backoff=0).base_url == "https://api.netease.im"


def test_absurd_timeouts_never_reach_a_request(mock: MockServer) -> None:
    # 9.3e18 s used to build, then panic ("overflow when adding duration to instant") on every
    # call with a PanicException that ``except Exception`` does not catch.
    with pytest.raises(yx.ValidationError):
        mock.client(timeout=9.3e18)
    with pytest.raises(yx.ValidationError):
        mock.client(connect_timeout=9.3e18)
    assert mock.requests() == []


def test_arguments_are_validated_before_sending(mock: MockServer, client: yx.Client) -> None:
    with pytest.raises(yx.ValidationError) as e:
        client.start_call(**{**CALL, "callee": "+8613777777777"})  # type: ignore[arg-type]
    assert (e.value.field, e.value.rule) == ("callee", "country_code")
    with pytest.raises(yx.ValidationError) as e:
        client.start_conference(**{**CONF, "callees": ["13777777777"]})  # type: ignore[arg-type]
    assert (e.value.field, e.value.rule) == ("callee", "count")
    with pytest.raises(yx.ValidationError):
        client.query_session("")
    assert mock.requests() == []


def test_service_refusals(mock: MockServer, client: yx.Client) -> None:
    with pytest.raises(yx.ApiError) as e:
        client.start_call(**{**CALL, "caller_acc": "nobody"})  # type: ignore[arg-type]
    assert (e.value.code, e.value.message, e.value.http_status) == (414, "bad param 'callerAcc'", 200)
    mock.set_ecp_enabled(False)
    with pytest.raises(yx.ApiError) as e:
        client.start_call(**CALL)  # type: ignore[arg-type]
    assert (e.value.code, e.value.message, e.value.retryable, e.value.retry_advice) == (403, "no authorization", False, "never")
    assert "ECP not enabled" in e.value.meaning
    wrong = yx.Client(SAMPLE_APP_KEY, "not-the-secret", base_url=mock.base_url)
    with pytest.raises(yx.ApiError) as e:
        wrong.query_session("7c4b7673-4f70-4164-82a0-decb84d77914")
    assert (e.value.code, e.value.message, e.value.raw_body) == (414, "bad http header", '{"desc":"bad http header","code":414}')
    assert mock.requests()[-1].refusal == "checksum_mismatch"
    assert "not-the-secret" not in str(e.value)


def test_fault_reset_before_response_on_start_is_not_retried(mock: MockServer, client: yx.Client) -> None:
    mock.inject_fault("reset_before_response")
    with pytest.raises(yx.TransportError) as e:
        client.start_call(**CALL)  # type: ignore[arg-type]
    assert (e.value.kind, e.value.maybe_sent, e.value.retry_advice, e.value.attempts) == ("io", True, "outcome_unknown", 1)
    assert mock.start_count == 1 and len(mock.sessions()) == 1  # the call WAS placed
    assert [r.fault for r in mock.requests()] == ["reset_before_response"]


def test_fault_reset_on_query_is_retried(mock: MockServer, client: yx.Client) -> None:
    session = client.start_call(**CALL).session  # type: ignore[arg-type]
    mock.inject_fault("reset_before_response")
    assert client.query_session(session).session == session
    assert [r.fault for r in mock.requests()] == [None, "reset_before_response", None]


def test_fault_reset_mid_body(mock: MockServer, client: yx.Client) -> None:
    mock.inject_fault("reset_mid_body")
    with pytest.raises(yx.TransportError) as e:
        client.start_call(**CALL)  # type: ignore[arg-type]
    assert e.value.maybe_sent and e.value.retry_advice == "outcome_unknown"
    assert mock.start_count == 1


def test_fault_rate_limited_start_is_retried_with_backoff(mock: MockServer, client: yx.Client) -> None:
    mock.inject_fault("rate_limited")
    started = client.start_call(**CALL)  # type: ignore[arg-type]
    assert [r.code for r in mock.requests()] == [416, 200]
    assert mock.start_count == 1 and mock.requests()[1].session == started.session


def test_fault_busy_start_is_retried_once_only(mock: MockServer, client: yx.Client) -> None:
    mock.inject_fault("busy_503", times=3)
    with pytest.raises(yx.ApiError) as e:
        client.start_call(**CALL)  # type: ignore[arg-type]
    assert (e.value.code, e.value.retry_advice) == (503, "never")
    assert "already sent again once" in str(e.value)
    assert [r.code for r in mock.requests()] == [503, 503]
    assert mock.start_count == 0


def test_fault_server_error_on_start_leaves_the_outcome_unknown(mock: MockServer, client: yx.Client) -> None:
    mock.inject_fault("server_error")
    with pytest.raises(yx.ApiError) as e:
        client.start_call(**CALL)  # type: ignore[arg-type]
    assert (e.value.code, e.value.retry_advice, e.value.retryable) == (500, "outcome_unknown", False)
    assert "the call may have been placed" in str(e.value)
    assert mock.start_count == 1 and len(mock.requests()) == 1


@pytest.mark.parametrize(
    "fault, kind, status",
    [("html_502", "html", 502), ("empty_body", "empty", 200), ("garbage_json", "truncated", 200)],
)
def test_fault_unusable_answers(mock: MockServer, client: yx.Client, fault: str, kind: str, status: int) -> None:
    mock.inject_fault(fault)  # type: ignore[arg-type]
    with pytest.raises(yx.ProtocolError) as e:
        client.start_call(**CALL)  # type: ignore[arg-type]
    assert (e.value.kind, e.value.http_status, e.value.retry_advice) == (kind, status, "outcome_unknown")
    assert len(mock.requests()) == 1
    # A query is read-only: the same faults are retried away.
    session = mock.requests()[0].session or client.start_call(**CALL).session  # type: ignore[arg-type]
    mock.inject_fault(fault)  # type: ignore[arg-type]
    assert client.query_session(session).session == session


def test_a_redirect_is_never_followed(mock: MockServer, client: yx.Client) -> None:
    # The mock's redirect points at its own /_mock/redirect-target, which answers a success and
    # counts every request: a client that followed it would send its signed headers there.
    mock.inject_fault("redirect")
    with pytest.raises(yx.ProtocolError) as e:
        client.start_call(**CALL)  # type: ignore[arg-type]
    assert (e.value.kind, e.value.http_status, e.value.retry_advice) == ("redirect", 302, "outcome_unknown")
    assert e.value.detail is not None and "/_mock/redirect-target/" in e.value.detail
    assert "redirect-target-session" not in str(e.value)
    assert mock.start_count == 0 and mock.stats().redirect_target_hits == 0
    # A query is retried, to the same base URL only.
    session = client.start_call(**CALL).session  # type: ignore[arg-type]
    mock.inject_fault("redirect", times=3)
    with pytest.raises(yx.ProtocolError) as e:
        client.query_session(session)
    assert (e.value.kind, e.value.retry_advice) == ("redirect", "safe")
    assert mock.stats().redirect_target_hits == 0


def test_fault_oversized_answer(mock: MockServer) -> None:
    mock.inject_fault("oversized", size=2 * 1024 * 1024)
    with pytest.raises(yx.ProtocolError) as e:
        mock.client(max_retries=0).start_call(**CALL)  # type: ignore[arg-type]
    assert e.value.kind == "too_large"


def test_max_response_bytes_sets_the_limit(mock: MockServer) -> None:
    # The same 2 KiB answer: refused under a 1 KiB limit, accepted under the default 1 MiB.
    mock.inject_fault("oversized", size=2048)
    with pytest.raises(yx.ProtocolError) as e:
        mock.client(max_retries=0, max_response_bytes=1024).start_call(**CALL)  # type: ignore[arg-type]
    assert e.value.kind == "too_large"
    mock.inject_fault("oversized", size=2048)
    assert mock.client(max_retries=0).start_call(**CALL).session  # type: ignore[arg-type]


def test_fault_delay_within_the_timeout(mock: MockServer, client: yx.Client) -> None:
    mock.inject_fault("delay", ms=200)
    t0 = time.monotonic()
    assert client.start_call(**CALL).session  # type: ignore[arg-type]
    assert time.monotonic() - t0 >= 0.2


def test_the_gil_is_released_during_network_calls(mock: MockServer, client: yx.Client) -> None:
    mock.set_latency(0.4)
    sessions: List[str] = []

    def place() -> None:
        sessions.append(client.start_call(**CALL).session)  # type: ignore[arg-type]

    threads = [threading.Thread(target=place) for _ in range(3)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    assert len(set(sessions)) == 3
    assert 0.4 <= elapsed < 1.0, f"3 calls of 0.4 s took {elapsed:.2f} s: they did not overlap"

    # Pure-Python work goes on while one thread waits on the network.
    ticks = 0
    stop = threading.Event()

    def tick() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1

    ticker = threading.Thread(target=tick)
    ticker.start()
    try:
        client.query_session(sessions[0])
    finally:
        stop.set()
        ticker.join()
    assert ticks > 1000


PROXY_CHILD = """
import yunxin_ecp as yx
from yunxin_ecp.testing import MockServer

with MockServer() as mock:
    client = mock.client(max_retries=0, timeout=5)
    print(client.start_call(caller_acc="liuxuanlin", caller="13888888888", callee="13777777777", max_dur=100).session)
remote = yx.Client("k", "s", base_url="http://ecp.invalid", max_retries=0, timeout=5)
try:
    remote.query_session("x")
except yx.YunxinError as e:
    print(type(e).__name__)
"""


def test_an_environment_proxy_is_skipped_for_a_local_mock_only() -> None:
    head, out = through_recording_proxy(PROXY_CHILD)
    session, outcome = out.split()
    # The mock was reached direct; the proxy's first (and only) request was for the remote host.
    assert len(session) == 36, out
    assert b"ecp.invalid" in head.splitlines()[0], head
    assert outcome in ("TransportError", "ProtocolError"), out

"""yunxin_ecp.testing: the mock server as a user's test suite drives it."""

import pytest

import yunxin_ecp as yx
from yunxin_ecp import _native
from yunxin_ecp.testing import (
    FAULT_KINDS,
    SAMPLE_ACCIDS,
    SAMPLE_APP_KEY,
    SAMPLE_APP_SECRET,
    MockServer,
    Outcome,
)

CALL = {"caller_acc": "liuxuanlin", "caller": "13888888888", "callee": "13777777777", "max_dur": 100}


def test_constants() -> None:
    assert SAMPLE_APP_KEY == "fd460d34e786e7754e505bc4fab0f027" and SAMPLE_APP_SECRET == "xxxxxxxx"
    assert SAMPLE_ACCIDS == ("liuxuanlin", "abcd", "call817", "demo")
    # The same list as the stubs' Literal type of inject_fault(kind=...).
    assert FAULT_KINDS == (
        "delay", "reset_before_response", "reset_mid_body", "html_502", "empty_body",
        "garbage_json", "oversized", "rate_limited", "server_error", "busy_503", "redirect",
    )


def test_context_manager_starts_and_stops() -> None:
    with MockServer() as mock:
        assert mock.running and mock.base_url.startswith("http://127.0.0.1:")
        assert repr(mock) == f"MockServer(base_url='{mock.base_url}')"
        assert mock.credentials.app_key == SAMPLE_APP_KEY
    assert not mock.running and repr(mock).endswith(", stopped)")
    mock.stop()  # again: nothing happens
    with pytest.raises(RuntimeError, match="stopped"):
        mock.requests()
    with pytest.raises(yx.TransportError) as e:
        yx.Client(SAMPLE_APP_KEY, SAMPLE_APP_SECRET, base_url=mock.base_url, max_retries=0).start_call(**CALL)  # type: ignore[arg-type]
    assert (e.value.kind, e.value.maybe_sent) == ("connect", False)


def test_exceptions_inside_the_block_propagate() -> None:
    with pytest.raises(KeyError):
        with MockServer():
            raise KeyError("x")


def test_ephemeral_ports_do_not_collide() -> None:
    with MockServer() as a, MockServer() as b:
        assert a.base_url != b.base_url
        a.client().start_call(**CALL)  # type: ignore[arg-type]
        assert (a.start_count, b.start_count) == (1, 0)


def test_custom_app_and_accids() -> None:
    with MockServer(app_key="myapp", app_secret="s3cret", accids=["alice"]) as mock:
        client = yx.Client("myapp", "s3cret", base_url=mock.base_url)
        assert client.start_call(**{**CALL, "caller_acc": "alice"}).session  # type: ignore[arg-type]
        with pytest.raises(yx.ApiError) as e:
            client.start_call(**CALL)  # type: ignore[arg-type]
        assert e.value.message == "bad param 'callerAcc'"
        assert mock.client().app_key == "myapp"
    with pytest.raises(yx.ValidationError):
        MockServer(app_secret="")


def test_fixed_clock_accepts_requests_signed_at_that_time() -> None:
    creds = yx.Credentials(SAMPLE_APP_KEY, SAMPLE_APP_SECRET)
    auth = creds.sign(nonce="123456", cur_time=1700000000)
    with MockServer(fixed_clock_secs=1700000000, window_secs=0) as mock:
        import urllib.request

        p = yx.StartCall(**CALL).prepare(auth, base_url=mock.base_url)  # type: ignore[arg-type]
        req = urllib.request.Request(p.url, data=p.content, headers=p.headers, method="POST")
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert yx.parse_start_response(resp.status, resp.read()).session


def test_default_outcome_and_outcomes() -> None:
    o = Outcome.answered(61)
    assert (o.kind, o.duration_sec, o.hang_cause, repr(o)) == ("answered", 61, None, "Outcome.answered(61)")
    n = Outcome.no_answer()
    assert (n.kind, n.duration_sec, n.hang_cause) == ("no_answer", 0, "NO_USER_RESPONSE")
    assert repr(Outcome.no_answer("USER_BUSY")) == "Outcome.no_answer('USER_BUSY')"
    assert Outcome.answered(1) == Outcome.answered(1) and Outcome.answered(1) != n
    with MockServer(default_outcome=Outcome.answered(61)) as mock:
        client = mock.client()
        assert client.query_session(client.start_call(**CALL).session).billed_minutes == 2  # type: ignore[arg-type]
        mock.set_default_outcome(Outcome.no_answer("USER_BUSY"))
        record = client.query_session(client.start_call(**CALL).session)  # type: ignore[arg-type]
        assert not record.answered and record.legs[0].hang_cause == "USER_BUSY"


def test_recorded_requests_stats_and_reset() -> None:
    with MockServer() as mock:
        client = mock.client()
        started = client.start_call(**CALL)  # type: ignore[arg-type]
        mock.inject_fault("rate_limited", times=1)
        client.query_session(started.session)
        first, limited, query = mock.requests()
        assert [r.seq for r in (first, limited, query)] == [1, 2, 3]
        assert (first.method, first.path, first.query, first.endpoint, first.http_status) == (
            "POST", "/call/ecp/startcall.action", "", "start_call", 200)
        assert first.body == "callerAcc=liuxuanlin&caller=13888888888&callee=13777777777&maxDur=100"
        assert (first.code, first.refusal, first.session, first.fault) == (200, None, started.session, None)
        assert first.header("CheckSum") == {k.lower(): v for k, v in first.headers}["checksum"]
        assert first.header("X-Nothing") is None
        assert (limited.fault, limited.code, limited.session) == ("rate_limited", 416, None)
        assert query.endpoint == "query_by_session" and query.params()["session"] == started.session
        assert "RecordedRequest(seq=1, method='POST'" in repr(first)
        stats = mock.stats()
        assert (stats.requests, stats.start_count, stats.sessions, stats.callbacks, stats.faults_pending) == (3, 1, 1, 0, 0)
        assert stats.connections >= 1 and "MockStats(requests=3" in repr(stats)
        assert [s["session"] for s in mock.sessions()] == [started.session]
        mock.inject_fault("server_error", times=5)
        assert mock.stats().faults_pending == 5
        mock.clear_faults()
        assert mock.stats().faults_pending == 0
        mock.reset()
        assert (mock.requests(), mock.sessions(), mock.start_count) == ([], [], 0)


def test_fault_arguments_are_checked() -> None:
    with MockServer() as mock:
        with pytest.raises(ValueError, match="unknown fault kind 'nope'"):
            mock.inject_fault("nope")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="needs ms"):
            mock.inject_fault("delay")
        with pytest.raises(ValueError, match="needs bytes"):
            mock.inject_fault("oversized")
        for kind in FAULT_KINDS:
            mock.inject_fault(kind, ms=1, size=4096)  # type: ignore[arg-type]
        assert mock.stats().faults_pending == len(FAULT_KINDS)


def test_requests_to_other_paths_are_recorded() -> None:
    import urllib.error
    import urllib.request

    with MockServer() as mock:
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(mock.base_url + "/nim/user/create.action", data=b"x", timeout=10)
        assert e.value.code == 404
        (r,) = mock.requests()
        assert (r.path, r.endpoint, r.http_status) == ("/nim/user/create.action", None, 404)


def test_the_pytest_fixture(yunxin_mock: MockServer) -> None:
    assert yunxin_mock.running
    assert yunxin_mock.client().start_call(**CALL).session  # type: ignore[arg-type]
    assert yunxin_mock.start_count == 1


def test_native_module_is_internal() -> None:
    assert _native.MockServer is MockServer


def test_the_mock_stays_usable_while_another_thread_waits() -> None:
    import threading
    import time

    # No callback URL, so the waiter waits its whole timeout: the call must be served while it
    # does (checked by the waiter still waiting, not by a wall-clock guess that a busy machine
    # can break).
    with MockServer() as mock:
        waiter = threading.Thread(target=mock.wait_for_callbacks, args=(1,), kwargs={"timeout": 3.0})
        waiter.start()
        time.sleep(0.05)
        mock.client().start_call(**CALL)  # type: ignore[arg-type]
        assert len(mock.requests()) == 1 and mock.stats().start_count == 1
        assert waiter.is_alive()
        waiter.join()

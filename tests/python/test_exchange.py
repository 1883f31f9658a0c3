"""Exchange: the core's sans-IO attempt loop for any HTTP stack. The scripted conversations are
in test_vectors.py (tests/vectors/exchanges.json); here is the Python surface around them."""

import re
from typing import Any, Dict

import pytest

import yunxin_ecp as yx
from yunxin_ecp.testing import SAMPLE_APP_KEY, SAMPLE_APP_SECRET

CREDS = yx.Credentials(SAMPLE_APP_KEY, SAMPLE_APP_SECRET)
BASE = "http://127.0.0.1:9"
CALL: Dict[str, Any] = {"caller_acc": "liuxuanlin", "caller": "13888888888", "callee": "13777777777", "max_dur": 100}
STARTED = b'{"code":200,"obj":{"session":"s-1"}}'


def start() -> "yx.Exchange[yx.Started]":
    return yx.Exchange(yx.StartCall(**CALL), CREDS, base_url=BASE)


def test_a_round_trip_with_the_system_entropy() -> None:
    exchange = start()
    assert (exchange.endpoint, exchange.attempts) == ("start_call", 0)
    attempt = exchange.send()
    prepared = attempt.prepared
    assert (attempt.number, prepared.url, prepared.method) == (1, BASE + "/call/ecp/startcall.action", "POST")
    assert (attempt.connect_timeout, attempt.timeout, attempt.max_response_bytes) == (5.0, 15.0, 1048576)
    h = prepared.headers
    assert re.fullmatch(r"[0-9a-f]{32}", h["Nonce"]) and h["CheckSum"] == yx.checksum(
        SAMPLE_APP_SECRET, h["Nonce"], h["CurTime"])
    step = exchange.receive(200, STARTED, elapsed=0.002)
    assert (step.retry_after, step.done, step.error) == (None, True, None)
    assert isinstance(step.result, yx.Started) and step.result.session == "s-1"
    assert re.fullmatch(r"Next\(result=Started\(session='s-1'\)\)", repr(step))
    lines = exchange.take_events()
    assert [(level, line.split(" id=")[0]) for level, line in lines] == [("debug", "request sent"), ("debug", "response")]
    assert lines[1][1].endswith("attempt=1 http_status=200 code=200 elapsed_ms=2")
    assert exchange.take_events() == []


def test_a_retry_is_signed_afresh_and_the_result_waits_for_it() -> None:
    exchange = yx.Exchange(yx.QueryBySession("s-1"), CREDS, base_url=BASE, backoff=0.1)
    first = exchange.send().prepared.headers["Nonce"]
    step = exchange.receive(200, b'{"code":503}')
    assert step.retry_after is not None and 0.05 <= step.retry_after <= 0.1 and not step.done
    with pytest.raises(yx.ValidationError) as e:
        step.result
    assert e.value.field == "exchange"
    assert exchange.send().prepared.headers["Nonce"] != first
    record = exchange.receive(200, b'{"code":200,"obj":{"session":"s-1","durationSec":61}}').result
    assert isinstance(record, yx.CallRecord) and record.billed_minutes == 2


def test_an_error_is_raised_by_result_and_held_by_error() -> None:
    exchange = start()
    exchange.send()
    step = exchange.fail("timeout", maybe_sent=True, detail="read timed out")
    assert step.done and isinstance(step.error, yx.TimeoutError)
    assert (step.error.maybe_sent, step.error.retry_advice, step.error.detail) == (True, "outcome_unknown", "read timed out")
    with pytest.raises(yx.TimeoutError) as e:
        step.result
    assert e.value is step.error


def test_an_api_request_gives_its_json() -> None:
    request = yx.ApiRequest("/nimserver/user/getUinfos.action", {"accids": '["a"]'}, idempotent=True)
    exchange = yx.Exchange(request, CREDS, base_url=BASE)
    assert exchange.endpoint == "api"
    exchange.send()
    assert exchange.receive(200, '{"code":200,"uinfos":[]}').result == {"code": 200, "uinfos": []}


def test_misuse_is_refused() -> None:
    exchange = start()
    with pytest.raises(yx.ValidationError) as e:
        exchange.receive(200, STARTED).result
    assert e.value.field == "exchange"
    exchange.send()
    with pytest.raises(yx.ValidationError):
        exchange.send()  # the attempt's outcome is awaited
    with pytest.raises(ValueError, match="kind"):
        exchange.fail("dns", maybe_sent=False)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="StartCall"):
        yx.Exchange("startcall", CREDS)  # type: ignore[call-overload]
    # Settings are refused as Client refuses them.
    for bad in ({"base_url": "ftp://x"}, {"base_url": BASE, "timeout": 0}, {"base_url": BASE, "max_retries": -1}):
        with pytest.raises(yx.ValidationError) as v:
            yx.Exchange(yx.StartCall(**CALL), CREDS, **bad)
        with pytest.raises(yx.ValidationError) as c:
            yx.Client(credentials=CREDS, **bad)
        assert (v.value.field, v.value.rule, str(v.value)) == (c.value.field, c.value.rule, str(c.value))


@pytest.mark.parametrize(
    "request_, maybe_sent, advice",
    [
        (yx.StartCall(**CALL), True, "outcome_unknown"),
        (yx.StartCall(**CALL), False, "safe"),
        (yx.QueryBySession("s-1"), True, "safe"),
        (yx.ApiRequest("/nimserver/user/create.action", {"accid": "a"}), True, "outcome_unknown"),
        (yx.ApiRequest("/nimserver/user/create.action", {"accid": "a"}, idempotent=True), True, "safe"),
    ],
)
def test_cancel_gives_the_advice_and_the_event(request_: Any, maybe_sent: bool, advice: str) -> None:
    exchange = yx.Exchange(request_, CREDS, base_url=BASE)
    exchange.send()
    exchange.take_events()
    assert exchange.cancel(maybe_sent=maybe_sent) == advice
    events = exchange.take_events()
    if advice == "safe":
        assert events == []
    else:
        ((level, line),) = events
        assert level == "warn" and re.fullmatch(
            rf"cancelled id=[0-9a-f]{{8}} endpoint={exchange.endpoint} attempt=1 advice=outcome_unknown", line)
    with pytest.raises(yx.ValidationError):
        exchange.send()  # over


def test_a_cancel_between_attempts_is_safe() -> None:
    exchange = start()
    exchange.send()
    assert exchange.receive(200, b'{"code":416}').retry_after is not None
    assert exchange.cancel(maybe_sent=True) == "safe"  # nothing in flight while waiting to retry


def test_credentials_and_base_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YUNXIN_APP_KEY", "k" * 32)
    monkeypatch.setenv("YUNXIN_APP_SECRET", "s" * 12)
    monkeypatch.setenv("YUNXIN_BASE_URL", "http://127.0.0.1:8")
    attempt = yx.Exchange(yx.QueryBySession("s-1")).send()
    assert attempt.prepared.url == "http://127.0.0.1:8/call/ecp/queryBySession.action"
    assert attempt.prepared.headers["AppKey"] == "k" * 32


def test_fixed_entropy_is_for_tests() -> None:
    exchange = yx.Exchange(yx.StartCall(**CALL), CREDS, base_url=BASE, _entropy=(["n" * 16], 1440570500, 0))
    h = exchange.send().prepared.headers
    assert (h["Nonce"], h["CurTime"]) == ("n" * 16, "1440570500")
    with pytest.raises(ValueError, match="nonce"):
        yx.Exchange(yx.StartCall(**CALL), CREDS, base_url=BASE, _entropy=([], 0, 0))


def test_generic_in_annotations() -> None:
    alias = yx.Exchange[yx.Started]
    assert alias.__origin__ is yx.Exchange and alias.__args__ == (yx.Started,)  # type: ignore[attr-defined]
    assert yx.Next[Any].__origin__ is yx.Next  # type: ignore[attr-defined]

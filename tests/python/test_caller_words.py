"""Errors in the caller's words: a ValidationError names the Python argument the caller used
beside the wire field, says which values are allowed, and says when an environment variable is
not set or a millisecond time was given in seconds."""

import time
from typing import Any, Callable, Dict

import pytest

import yunxin_ecp as yx
from yunxin_ecp import server
from yunxin_ecp.testing import SAMPLE_APP_KEY, SAMPLE_APP_SECRET

CREDS = yx.Credentials(SAMPLE_APP_KEY, SAMPLE_APP_SECRET)
CALL: Dict[str, Any] = {"caller_acc": "liuxuanlin", "caller": "13888888888", "callee": "13777777777", "max_dur": 100}
CONF: Dict[str, Any] = {
    "caller_acc": "liuxuanlin", "caller": "13888888888", "callees": ["13777777777", "13666666666"], "max_dur": 100
}


def refused(fn: Callable[[], Any]) -> yx.ValidationError:
    with pytest.raises(yx.ValidationError) as e:
        fn()
    return e.value


@pytest.mark.parametrize(
    "build, argument, field, rule, message",
    [
        (lambda: yx.StartCall(**{**CALL, "max_dur": 0}), "max_dur", "maxDur", "not_positive",
         "invalid max_dur (maxDur): must be a positive integer"),
        (lambda: yx.StartCall(**{**CALL, "max_dur": 2**40}), "max_dur", "maxDur", "not_integer",
         "invalid max_dur (maxDur): must be a decimal integer in range"),
        (lambda: yx.StartCall(**{**CALL, "caller_acc": "a b"}), "caller_acc", "callerAcc", "charset",
         "invalid caller_acc (callerAcc): may only contain characters of [A-Za-z0-9_@.-]"),
        (lambda: yx.StartCall(**{**CALL, "callee": "+8613777777777"}), "callee", "callee", "country_code",
         "invalid callee: must not carry a country code"),
        (lambda: yx.StartConference(**{**CONF, "callees": ["13777777777"]}), "callees", "callee", "count",
         "invalid callees (callee): must hold 2 to 7 entries, got 1"),
        (lambda: yx.StartConference(**{**CONF, "callees": ["13777777777", "13777777777"]}), "callees", "callee",
         "duplicate", "invalid callees[1] (callee[1]): lists 13777777777 more than once"),
        (lambda: yx.QueryBySession("s", kind="conf"), "kind", "type", "one_of",  # type: ignore[arg-type]
         'invalid kind (type): must be "call" or "conference"'),
        (lambda: yx.QueryBySession(""), "session", "session", "empty", "invalid session: must not be empty"),
        (lambda: yx.Client("k", "s", base_url="ftp://x"), "base_url", "baseUrl", "url",
         "invalid base_url (baseUrl): must be an absolute http:// or https:// URL"),
        (lambda: yx.Credentials("", "s"), "app_key", "appKey", "empty", "invalid app_key (appKey): must not be empty"),
        (lambda: yx.Client("k", "s", timeout=0), "timeout", "timeout", "not_positive",
         "invalid timeout: must be a positive number of seconds"),
        (lambda: CREDS.sign(nonce="a-b", cur_time=1), "nonce", "nonce", "charset", "invalid nonce:"),
        (lambda: CREDS.sign(nonce="abc", cur_time=1440570500855), "cur_time", "CurTime", "milliseconds",
         "invalid cur_time (CurTime): looks like milliseconds"),
    ],
)
def test_the_python_argument_and_the_wire_field(
    build: Callable[[], Any], argument: str, field: str, rule: str, message: str
) -> None:
    e = refused(build)
    assert (e.argument, e.field, e.rule) == (argument, field, rule)
    assert str(e).startswith(message), str(e)


def test_the_same_words_from_the_clients() -> None:
    client = yx.Client(credentials=CREDS, base_url="http://127.0.0.1:9")
    e = refused(lambda: client.start_call(**{**CALL, "max_dur": 0}))
    assert str(e) == "invalid max_dur (maxDur): must be a positive integer"
    e = refused(lambda: client.start_conference(**{**CONF, "callees": ["1"]}))
    assert e.argument == "callees" and str(e).startswith("invalid callees (callee): must hold 2 to 7 entries")
    e = refused(lambda: client.query_session("s", kind="calls"))  # type: ignore[arg-type]
    assert (e.argument, e.field) == ("kind", "type") and '"call" or "conference"' in str(e)


def test_the_wire_values_of_kind_are_still_accepted() -> None:
    assert yx.QueryBySession("s", kind="2").kind == "conference"  # type: ignore[arg-type]


def test_an_incoming_request_is_refused_in_wire_words() -> None:
    # Server side, the parameter came over the wire: no Python argument carried it.
    e = refused(lambda: server.parse_request("/call/ecp/startcall.action",
                                             body="callerAcc=liuxuanlin&caller=13888888888&callee=13777777777&maxDur=0"))
    assert (e.argument, e.field) == ("maxDur", "maxDur") and str(e) == "invalid maxDur: must be a positive integer"


def test_a_type_error_names_the_entry() -> None:
    with pytest.raises(TypeError, match=r"callees\[1\] must be a str \(a phone number\), not int"):
        yx.StartConference(**{**CONF, "callees": ["13777777777", 13666666666]})
    with pytest.raises(TypeError, match="callees must be a list of numbers"):
        yx.StartConference(**{**CONF, "callees": 13777777777})


@pytest.mark.parametrize("missing", ["YUNXIN_APP_KEY", "YUNXIN_APP_SECRET"])
def test_an_unset_environment_variable_says_so(monkeypatch: pytest.MonkeyPatch, missing: str) -> None:
    monkeypatch.setenv("YUNXIN_APP_KEY", SAMPLE_APP_KEY)
    monkeypatch.setenv("YUNXIN_APP_SECRET", SAMPLE_APP_SECRET)
    monkeypatch.delenv(missing)
    for build in (yx.Client, yx.Credentials.from_env):
        e = refused(build)
        assert (e.field, e.rule, e.argument) == (missing, "not_set", "app_key" if missing.endswith("KEY") else "app_secret")
        assert str(e).startswith(f"the environment variable {missing} is not set: set YUNXIN_APP_KEY and YUNXIN_APP_SECRET")
        assert "app_key and app_secret" in str(e)
    monkeypatch.setenv(missing, "")
    e = refused(yx.Client)
    assert f"{missing} is set but empty" in str(e)


def test_a_bad_app_key_in_the_environment_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YUNXIN_APP_KEY", "has space")
    monkeypatch.setenv("YUNXIN_APP_SECRET", "s")
    e = refused(yx.Client)
    assert (e.field, e.rule) == ("appKey", "charset")
    assert str(e).startswith("the environment variable YUNXIN_APP_KEY is set to a value that may only contain")
    assert "has space" not in str(e)


def test_callback_times_in_seconds_are_refused() -> None:
    body = b'{"callback":"{}","eventType":"10"}'
    now_ms = int(time.time() * 1000)
    headers = yx.sign_callback(CREDS, body, cur_time_ms=now_ms)
    verifier = yx.CallbackVerifier(CREDS)
    for check in (verifier.verify, verifier.verify_and_parse):
        e = refused(lambda: check(body, headers, now_ms=now_ms // 1000))
        assert (e.field, e.argument, e.rule) == ("now_ms", "now_ms", "seconds")
        assert str(e).startswith(f"invalid now_ms: {now_ms // 1000} looks like seconds; callbacks are timed in Unix milliseconds")
    verifier.verify(body, headers, now_ms=now_ms)
    e = refused(lambda: yx.sign_callback(CREDS, body, cur_time_ms=int(time.time())))
    assert (e.field, e.rule) == ("cur_time_ms", "seconds")
    # The boundary: 10^11 ms (1973) is milliseconds, anything below is not.
    yx.sign_callback(CREDS, body, cur_time_ms=10**11)
    refused(lambda: yx.sign_callback(CREDS, body, cur_time_ms=10**11 - 1))

"""Every exception path of the package and every attribute the exceptions carry."""

import builtins
import pickle
import socket
from typing import Any, Dict, Type

import pytest

import yunxin_ecp as yx
from yunxin_ecp import server
from yunxin_ecp.testing import MockServer

CREDS = yx.Credentials("fd460d34e786e7754e505bc4fab0f027", "xxxxxxxx")


def test_one_root() -> None:
    for cls in (
        yx.ValidationError,
        yx.ApiError,
        yx.ProtocolError,
        yx.TransportError,
        yx.TimeoutError,
        yx.CallbackVerificationError,
        yx.AuthRefusedError,
    ):
        assert issubclass(cls, yx.YunxinError) and issubclass(cls, Exception)
    assert issubclass(yx.ValidationError, ValueError)
    assert issubclass(yx.TimeoutError, yx.TransportError) and issubclass(yx.TimeoutError, builtins.TimeoutError)
    assert yx.TimeoutError is not builtins.TimeoutError


@pytest.mark.parametrize(
    "cls, attrs",
    [
        (yx.YunxinError, {"retry_advice": "never", "retryable": False}),
        (yx.ValidationError, {"field": "callee", "rule": "count", "index": 3}),
        (
            yx.ApiError,
            {"code": 416, "message": "rate limited", "http_status": 200, "meaning": "rate limited",
             "raw_body": "{}", "endpoint": "start_call", "retry_advice": "backoff", "retryable": True},
        ),
        (yx.ProtocolError, {"kind": "html", "detail": None, "http_status": 502, "raw_body": "<html>", "endpoint": "start_conf"}),
        (yx.TransportError, {"kind": "connect", "maybe_sent": False, "attempts": 3, "detail": "refused", "endpoint": "query_by_session"}),
        (yx.TimeoutError, {"kind": "timeout", "maybe_sent": True, "attempts": 1, "detail": "read", "endpoint": "start_call"}),
        (yx.CallbackVerificationError, {"reason": "missing_header", "header": "MD5"}),
        (yx.AuthRefusedError, {"reason": "missing_header", "header": "Nonce"}),
    ],
)
def test_exceptions_pickle_with_their_attributes(cls: Type[yx.YunxinError], attrs: Dict[str, Any]) -> None:
    e = cls("message text", **attrs)
    again = pickle.loads(pickle.dumps(e))
    assert type(again) is cls and str(again) == "message text"
    for name, value in attrs.items():
        assert getattr(again, name) == value


def test_validation_error_from_the_core() -> None:
    with pytest.raises(yx.ValidationError) as e:
        yx.StartConference(caller_acc="liuxuanlin", caller="13888888888", callees=["13777777777", "0571"], max_dur=10)
    err = e.value
    assert (err.field, err.rule, err.index, err.retry_advice, err.retryable) == ("callee", "landline_length", 1, "never", False)
    # The Python argument first, the wire field beside it.
    assert err.argument == "callees"
    assert str(err).startswith("invalid callees[1] (callee[1]): a landline is 0, the area code and the number")


@pytest.mark.parametrize(
    "endpoint, status, body, code, message, advice, retryable",
    [
        ("start_call", 200, '{"desc":"bad http header","code":414}', 414, "bad http header", "never", False),
        ("start_call", 200, '{"code":"416","msg":"rate limited"}', 416, "rate limited", "backoff", True),
        ("start_call", 200, '{"code":500,"msg":"server internal error"}', 500, "server internal error", "outcome_unknown", False),
        ("start_conf", 200, '{"code":503,"msg":"server busy"}', 503, "server busy", "once_after_delay", True),
        ("query_by_session", 200, '{"code":500,"msg":"oops"}', 500, "oops", "safe", True),
        ("query_by_session", 200, '{"code":503}', 503, None, "backoff", True),
        ("start_call", 200, '{"code":403,"msg":"no authorization"}', 403, "no authorization", "never", False),
    ],
)
def test_api_error_attributes(endpoint: str, status: int, body: str, code: int, message: Any, advice: str, retryable: bool) -> None:
    with pytest.raises(yx.ApiError) as e:
        if endpoint == "query_by_session":
            yx.parse_query_response(status, body)
        else:
            yx.parse_start_response(status, body, conference=endpoint == "start_conf")
    err = e.value
    assert (err.code, err.message, err.retry_advice, err.retryable) == (code, message, advice, retryable)
    assert (err.http_status, err.raw_body, err.endpoint) == (status, body, endpoint)
    assert err.meaning and err.meaning != "unknown code"
    assert f"code {code}" in str(err)
    if advice == "outcome_unknown":
        assert "query before trying again" in str(err)


@pytest.mark.parametrize(
    "status, body, kind",
    [
        (502, "<html><body>502 Bad Gateway</body></html>", "html"),
        (200, "", "empty"),
        (200, '{"code":200,"obj":{"sess', "truncated"),
        (200, "Service Unavailable", "not_json"),
        (200, "[1,2]", "not_an_object"),
        (200, '{"msg":"x"}', "missing_code"),
        (200, '{"code":"abc"}', "bad_code"),
        (200, '{"code":200,"obj":{}}', "missing_result"),
        (500, '{"code":200,"obj":{"session":"s"}}', "http_status"),
    ],
)
def test_protocol_error_attributes(status: int, body: str, kind: str) -> None:
    with pytest.raises(yx.ProtocolError) as e:
        yx.parse_start_response(status, body)
    err = e.value
    assert (err.kind, err.http_status, err.raw_body, err.endpoint) == (kind, status, body, "start_call")
    assert (err.retry_advice, err.retryable) == ("outcome_unknown", False)
    if kind == "missing_result":
        return  # for a query, an empty obj is an (empty) record
    with pytest.raises(yx.ProtocolError) as q:
        yx.parse_query_response(status, body)
    assert (q.value.kind, q.value.endpoint, q.value.retry_advice, q.value.retryable) == (
        kind, "query_by_session", "safe", True)


def test_protocol_error_400_is_never_retried() -> None:
    with pytest.raises(yx.ProtocolError) as e:
        yx.parse_query_response(400, "<html>Bad Request</html>")
    assert (e.value.kind, e.value.retry_advice, e.value.retryable) == ("html", "never", False)
    assert "HTTP 400 means the URL and the body do not match" in str(e.value)


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


def test_transport_error_nothing_sent() -> None:
    client = yx.Client(credentials=CREDS, base_url=f"http://127.0.0.1:{closed_port()}", max_retries=2)
    with pytest.raises(yx.TransportError) as e:
        client.start_call(caller_acc="liuxuanlin", caller="13888888888", callee="13777777777", max_dur=100)
    err = e.value
    assert not isinstance(err, yx.TimeoutError)
    assert (err.kind, err.maybe_sent, err.retry_advice, err.retryable) == ("connect", False, "safe", True)
    assert err.attempts == 3 and err.endpoint == "start_call"
    assert "the request was not sent" in str(err) and "xxxxxxxx" not in str(err)


def test_timeout_error_may_have_been_sent() -> None:
    with MockServer() as mock:
        mock.inject_fault("delay", ms=1500)
        client = mock.client(timeout=0.3)
        with pytest.raises(yx.TimeoutError) as e:
            client.start_call(caller_acc="liuxuanlin", caller="13888888888", callee="13777777777", max_dur=100)
        err = e.value
        assert isinstance(err, builtins.TimeoutError) and isinstance(err, yx.TransportError)
        assert (err.kind, err.maybe_sent, err.retry_advice, err.retryable, err.attempts) == (
            "timeout", True, "outcome_unknown", False, 1)
        assert "query before trying again" in str(err)
        assert len(mock.requests()) <= 1  # not retried: the call may have been placed


def test_callback_verification_error_attributes() -> None:
    verifier = yx.CallbackVerifier(CREDS, skip_time_check=True)
    with pytest.raises(yx.CallbackVerificationError) as e:
        verifier.verify(b"{}", {"CurTime": "1", "CheckSum": "x"})
    assert (e.value.reason, e.value.header, e.value.retryable) == ("missing_header", "MD5", False)
    assert str(e.value) == "callback refused: header MD5 is missing"
    with pytest.raises(yx.CallbackVerificationError) as e:
        yx.parse_callback(b"not json")
    assert (e.value.reason, e.value.header) == ("malformed", None)


def test_auth_refused_error_attributes() -> None:
    with pytest.raises(yx.AuthRefusedError) as e:
        server.verify_request({"AppKey": CREDS.app_key, "CurTime": "1", "CheckSum": "x"}, CREDS)
    assert (e.value.reason, e.value.header) == ("missing_header", "Nonce")
    assert str(e.value) == "bad http header: Nonce is missing"
    h = CREDS.sign(nonce="abc", cur_time=1700000000).headers
    with pytest.raises(yx.AuthRefusedError) as e:
        server.verify_request(h, yx.Credentials(CREDS.app_key, "another"), now_secs=1700000000)
    assert (e.value.reason, e.value.header) == ("checksum_mismatch", None)
    assert "another" not in str(e.value)


def test_type_errors_are_not_yunxin_errors() -> None:
    with pytest.raises(TypeError) as e:
        yx.CallbackVerifier(CREDS).verify("text body", {})  # type: ignore[arg-type]
    assert not isinstance(e.value, yx.YunxinError)
    assert "raw bytes" in str(e.value)

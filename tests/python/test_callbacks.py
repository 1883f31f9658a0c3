"""Call-end callbacks: verification on raw bytes with every header shape web frameworks hand over,
and end to end through a real HTTP receiver that the mock POSTs signed callbacks to."""

import json
import time
from typing import Any, Callable, Dict, Iterator, List, Mapping, Set, Tuple

import pytest
from conftest import Receiver

import yunxin_ecp as yx
from yunxin_ecp.testing import SAMPLE_APP_KEY, SAMPLE_APP_SECRET, MockServer, Outcome

CREDS = yx.Credentials(SAMPLE_APP_KEY, SAMPLE_APP_SECRET)
BODY = b'{"callback":"{\\"durationSec\\":61,\\"session\\":\\"s-1\\"}","eventType":"10"}'
NOW = 1_700_000_000_000
CALL = {"caller_acc": "liuxuanlin", "caller": "13888888888", "callee": "13777777777", "max_dur": 100}


def signed(body: bytes = BODY, at: int = NOW) -> Dict[str, str]:
    return yx.sign_callback(CREDS, body, cur_time_ms=at)


def test_sign_callback_headers() -> None:
    h = yx.sign_callback(CREDS, b'{"callback":"{}","eventType":"10"}', cur_time_ms=1440570500855)
    assert h == {
        "Content-Type": "application/json",
        "AppKey": SAMPLE_APP_KEY,
        "CurTime": "1440570500855",
        "MD5": "5556767e4727e5582025ab1fff82753b",
        "CheckSum": "6949a942f8477bb839a74ac5726ec4c28a762686",
    }
    fresh = yx.sign_callback(CREDS, BODY)
    assert abs(int(fresh["CurTime"]) - time.time() * 1000) < 5000
    yx.CallbackVerifier(CREDS).verify(BODY, fresh)  # the clock is the default


class DjangoHeaders(Mapping[str, str]):
    """Like Django's request.headers: a case-insensitive mapping with title-cased names."""

    def __init__(self, headers: Dict[str, str]) -> None:
        self._h = {k.title(): v for k, v in headers.items()}

    def __getitem__(self, key: str) -> str:
        return self._h[key.title()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._h)

    def __len__(self) -> int:
        return len(self._h)


class EnvironHeaders:
    """Like Werkzeug's EnvironHeaders (Flask): not a Mapping, but has items()."""

    def __init__(self, headers: Dict[str, str]) -> None:
        self._items = [(k.upper(), v) for k, v in headers.items()]

    def items(self) -> List[Tuple[str, str]]:
        return list(self._items)


def header_shapes() -> List[Any]:
    h = signed()
    return [
        pytest.param(h, id="dict"),
        pytest.param({k.lower(): v for k, v in h.items()}, id="lowercase dict (Starlette)"),
        pytest.param(DjangoHeaders(h), id="Django request.headers"),
        pytest.param(EnvironHeaders(h), id="Flask EnvironHeaders"),
        pytest.param(list(h.items()), id="list of pairs"),
        pytest.param([(k.lower().encode(), v.encode()) for k, v in h.items()], id="ASGI raw bytes"),
        pytest.param(iter(list(h.items())), id="iterator of pairs"),
    ]


@pytest.mark.parametrize("headers", header_shapes())
def test_verify_any_header_shape(headers: Any) -> None:
    event = yx.CallbackVerifier(CREDS).verify_and_parse(BODY, headers, now_ms=NOW + 1000)
    assert isinstance(event, yx.CallEndEvent)
    assert (event.session, event.record.duration_sec, event.record.billed_minutes, event.record.cost.fen) == (
        "s-1", 61, 2, 24)


@pytest.mark.parametrize("body", [BODY, bytearray(BODY), memoryview(BODY)])
def test_verify_any_bytes_like_body(body: Any) -> None:
    yx.CallbackVerifier(CREDS).verify(body, signed(), now_ms=NOW)


def test_verify_refuses_text_bodies() -> None:
    with pytest.raises(TypeError, match="raw bytes"):
        yx.CallbackVerifier(CREDS).verify(BODY.decode(), signed(), now_ms=NOW)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="raw bytes"):
        yx.parse_callback(BODY.decode())  # type: ignore[arg-type]


def test_verify_refuses_malformed_headers() -> None:
    v = yx.CallbackVerifier(CREDS)
    with pytest.raises(TypeError, match="pair"):
        v.verify(BODY, ["MD5"], now_ms=NOW)  # type: ignore[list-item]
    with pytest.raises(TypeError, match="str or bytes"):
        v.verify(BODY, {"MD5": 5}, now_ms=NOW)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="mapping"):
        v.verify(BODY, 42, now_ms=NOW)  # type: ignore[arg-type]


def reason(verifier: yx.CallbackVerifier, body: bytes, headers: Any, now_ms: int) -> str:
    try:
        verifier.verify(body, headers, now_ms=now_ms)
        return "ok"
    except yx.CallbackVerificationError as e:
        return e.reason


def test_refusals() -> None:
    v = yx.CallbackVerifier(CREDS)
    h = signed()
    assert reason(v, BODY + b" ", h, NOW) == "md5_mismatch"
    assert reason(v, BODY, {**h, "CheckSum": h["CheckSum"].upper()}, NOW) == "checksum_mismatch"
    assert reason(v, BODY, {**h, "MD5": h["MD5"].upper()}, NOW) == "md5_mismatch"
    assert reason(v, BODY, {**h, "AppKey": "another"}, NOW) == "app_key_mismatch"
    assert reason(v, BODY, {k: x for k, x in h.items() if k != "AppKey"}, NOW) == "ok"
    assert reason(v, BODY, {**h, "CurTime": "17e11"}, NOW) == "malformed_cur_time"
    assert reason(yx.CallbackVerifier(yx.Credentials(SAMPLE_APP_KEY, "other")), BODY, h, NOW) == "checksum_mismatch"
    # The MD5 of re-serialized JSON is a classic bug: it does not match the bytes received.
    reserialized = json.dumps(json.loads(BODY)).encode()
    assert reason(v, reserialized, h, NOW) == "md5_mismatch"


def test_time_window() -> None:
    v = yx.CallbackVerifier(CREDS)
    assert (v.tolerance_ms, v.skip_time_check, v.app_key) == (300_000, False, SAMPLE_APP_KEY)
    h = signed()
    assert reason(v, BODY, h, NOW + 300_000) == "ok"
    assert reason(v, BODY, h, NOW + 300_001) == "stale"
    assert reason(v, BODY, h, NOW - 300_001) == "future"
    exact = yx.CallbackVerifier(CREDS, tolerance_ms=0)
    assert exact.tolerance_ms == 0
    assert reason(exact, BODY, h, NOW) == "ok" and reason(exact, BODY, h, NOW + 1) == "stale"
    skip = yx.CallbackVerifier(CREDS, skip_time_check=True)
    assert (skip.tolerance_ms, skip.skip_time_check) == (None, True)
    assert reason(skip, BODY, h, NOW + 10**9) == "ok"
    assert "skip_time_check=True" in repr(skip) and "tolerance_ms=300000" in repr(v)
    assert SAMPLE_APP_SECRET not in repr(v) + repr(skip)


@pytest.mark.parametrize("tolerance", [-1, True, False, 2**64, 1.5])
def test_a_tolerance_that_is_not_a_count_of_milliseconds_is_refused(tolerance: object) -> None:
    # -1 used to raise a raw OverflowError; True was taken as 1 ms.
    with pytest.raises((yx.ValidationError, TypeError)) as e:
        yx.CallbackVerifier(CREDS, tolerance_ms=tolerance)  # type: ignore[arg-type]
    assert "tolerance_ms" in str(e.value)
    if not isinstance(tolerance, float):
        assert isinstance(e.value, yx.ValidationError)
        assert (e.value.field, e.value.rule) == ("tolerance_ms", "not_integer")


@pytest.mark.parametrize("tolerance", [3_600_001, 10**12, 2**64 - 1])
def test_a_tolerance_over_an_hour_is_refused(tolerance: int) -> None:
    # 10**12 ms and more switched the time check off: a callback signed in 2001 passed.
    with pytest.raises(yx.ValidationError) as e:
        yx.CallbackVerifier(CREDS, tolerance_ms=tolerance)
    assert (e.value.field, e.value.rule) == ("tolerance_ms", "at_most")
    assert yx.CallbackVerifier(CREDS, tolerance_ms=3_600_000).tolerance_ms == 3_600_000


def test_a_signature_header_sent_twice_is_refused_naming_it() -> None:
    v = yx.CallbackVerifier(CREDS)
    h = list(signed().items())
    forged = [("checksum", "0" * 40)] + h
    with pytest.raises(yx.CallbackVerificationError) as e:
        v.verify(BODY, forged, now_ms=NOW)
    assert (e.value.reason, e.value.header) == ("duplicate_header", "CheckSum")


def test_other_events_pass_through_untouched() -> None:
    body = b'{"eventType":"1","fromAccount":"a"}'
    event = yx.CallbackVerifier(CREDS).verify_and_parse(body, signed(body), now_ms=NOW)
    assert isinstance(event, yx.OtherEvent)
    assert (event.event_type, event.raw) == ("1", body.decode())
    assert repr(event) == "OtherEvent(event_type='1')"


def test_documented_conference_record() -> None:
    body = (
        b'{"callback":"{\\"createtime\\":1484103244335,\\"durationSec\\":0,\\"initAccount\\":\\"call817\\",'
        b'\\"members\\":\\"[\\\\\\"18605811***\\\\\\",\\\\\\"18158125678\\\\\\",\\\\\\"15967169***\\\\\\"]\\",'
        b'\\"session\\":\\"4ea1e712-cfd5-4891-b66a-4aa71fe65383\\",\\"starttime\\":\\"2017-01-11 10:52:38\\",'
        b'\\"status\\":\\"SUCCESS\\"}","eventType":"10"}'
    )
    event = yx.parse_callback(body)
    assert isinstance(event, yx.CallEndEvent)
    r = event.record
    assert r.members == ["18605811***", "18158125678", "15967169***"] and r.is_conference
    assert (r.init_account, r.answered, r.status, r.cost.fen) == ("call817", False, "SUCCESS", 0)
    assert repr(event) == "CallEndEvent(session='4ea1e712-cfd5-4891-b66a-4aa71fe65383')"


# End to end: the mock POSTs signed callbacks to a stdlib HTTP server in this process.


def verifying_handler(verifier: yx.CallbackVerifier, seen: Set[str], processed: List[yx.CallRecord]) -> Callable[[bytes, Any], int]:
    def handle(body: bytes, headers: Any) -> int:
        try:
            event = verifier.verify_and_parse(body, headers)  # http.server's headers: a Message
        except yx.CallbackVerificationError:
            return 403
        if isinstance(event, yx.CallEndEvent) and event.session not in seen:
            seen.add(event.session or "")
            processed.append(event.record)
        return 200

    return handle


def test_callbacks_through_a_real_http_receiver(receiver_factory: Callable[..., Receiver]) -> None:
    seen: Set[str] = set()
    processed: List[yx.CallRecord] = []
    receiver = receiver_factory(verifying_handler(yx.CallbackVerifier(CREDS), seen, processed))
    with MockServer(callback_url=receiver.url, duplicate_callbacks=True) as mock:
        mock.set_outcome("13666666666", Outcome.no_answer())
        client = mock.client()
        call = client.start_call(**CALL)  # type: ignore[arg-type]
        conf = client.start_conference(
            caller_acc="liuxuanlin", caller="13888888888", callees=["13666666666", "13777777777"], max_dur=100
        )
        deliveries = mock.wait_for_callbacks(4, timeout=10)
        assert len(deliveries) == 4
        assert sorted((d.session, d.attempt, d.status) for d in deliveries) == sorted(
            [(call.session, 1, 200), (call.session, 2, 200), (conf.session, 1, 200), (conf.session, 2, 200)]
        )
        assert all(d.url == receiver.url and d.error is None for d in deliveries)
        # Each session processed once, with the record the query returns.
        assert sorted(r.session or "" for r in processed) == sorted([call.session, conf.session])
        by_session = {r.session: r for r in processed}
        queried = client.query_session(call.session)
        got = by_session[call.session]
        assert (got.duration_sec, got.answered, got.callee, got.raw) == (42, True, "13777777777", queried.raw)
        conf_record = by_session[conf.session]
        assert conf_record.is_conference and not conf_record.answered
        assert conf_record.members == ["13888888888", "13666666666", "13777777777"]
        # What the receiver got is byte for byte what the mock sent, with its signature.
        for body, headers, status in receiver.received:
            assert status == 200
            names = {k.lower() for k, _ in headers}
            assert {"md5", "checksum", "curtime", "appkey", "content-type"} <= names
            assert any(d.body == body for d in deliveries)


def test_a_receiver_with_the_wrong_secret_refuses(receiver_factory: Callable[..., Receiver]) -> None:
    wrong = yx.CallbackVerifier(yx.Credentials(SAMPLE_APP_KEY, "wrong"))
    receiver = receiver_factory(verifying_handler(wrong, set(), []))
    with MockServer(callback_url=receiver.url) as mock:
        mock.client().start_call(**CALL)  # type: ignore[arg-type]
        (delivery,) = mock.wait_for_callbacks(1, timeout=10)
        assert delivery.status == 403
        headers = dict(delivery.headers)
        assert yx.checksum(SAMPLE_APP_SECRET, headers["MD5"], headers["CurTime"]) == headers["CheckSum"]
        yx.CallbackVerifier(CREDS).verify(delivery.body, delivery.headers)

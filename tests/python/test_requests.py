"""Request builders for people who bring their own HTTP stack, and the matching parsers."""

import json
import urllib.parse
import urllib.request
from decimal import Decimal
from typing import Tuple

import pytest

import yunxin_ecp as yx
from yunxin_ecp.testing import MockServer

KEY = "fd460d34e786e7754e505bc4fab0f027"
CREDS = yx.Credentials(KEY, "xxxxxxxx")
AUTH = CREDS.sign(nonce="123456", cur_time=1440570500)


def call(**kw: object) -> yx.StartCall:
    args: dict = {"caller_acc": "liuxuanlin", "caller": "13888888888", "callee": "13777777777", "max_dur": 100}
    args.update(kw)
    return yx.StartCall(**args)


def test_start_call_prepared_with_fixed_auth() -> None:
    c = call()
    assert (c.caller_acc, c.caller, c.callee, c.max_dur) == ("liuxuanlin", "13888888888", "13777777777", 100)
    assert c.form_body() == "callerAcc=liuxuanlin&caller=13888888888&callee=13777777777&maxDur=100"
    p = c.prepare(AUTH)
    assert p.endpoint == "start_call"
    assert p.method == "POST"
    assert p.url == "https://api.netease.im/call/ecp/startcall.action"
    assert p.body == c.form_body() and p.content == p.body.encode()
    assert p.headers == {
        "AppKey": KEY,
        "Nonce": "123456",
        "CurTime": "1440570500",
        "CheckSum": "90d19362ba1584524bbd9b375b006837a4f676db",
        "Content-Type": "application/x-www-form-urlencoded;charset=utf-8",
    }
    assert p.header_pairs == list(p.headers.items())
    assert "startcall.action" in repr(p) and "StartCall(caller_acc='liuxuanlin'" in repr(c)


def test_prepare_with_credentials_signs_afresh_each_time() -> None:
    a = call().prepare(CREDS, base_url="http://127.0.0.1:8080/")
    b = call().prepare(CREDS, base_url="http://127.0.0.1:8080/")
    assert a.url == "http://127.0.0.1:8080/call/ecp/startcall.action"
    assert a.headers["Nonce"] != b.headers["Nonce"]
    for p in (a, b):
        h = p.headers
        assert h["CheckSum"] == yx.checksum("xxxxxxxx", h["Nonce"], h["CurTime"])


def test_prepare_refuses_other_signers_and_bad_base_urls() -> None:
    with pytest.raises(TypeError, match="Credentials"):
        call().prepare("xxxxxxxx")  # type: ignore[arg-type]
    with pytest.raises(yx.ValidationError) as e:
        call().prepare(AUTH, base_url="api.netease.im")
    assert (e.value.field, e.value.rule) == ("baseUrl", "url")


def test_conference_sends_a_real_json_array() -> None:
    conf = yx.StartConference(
        caller_acc="liuxuanlin", caller="13888888888", callees=(n for n in ["13777777777", "13666666666"]), max_dur=100
    )
    assert conf.callees == ["13777777777", "13666666666"]
    p = conf.prepare(AUTH)
    assert p.endpoint == "start_conf" and p.url.endswith("/call/ecp/startconf.action")
    form = dict(urllib.parse.parse_qsl(p.body))
    assert json.loads(form["callee"]) == ["13777777777", "13666666666"]
    assert form["callee"] == '["13777777777","13666666666"]'
    assert "StartConference(" in repr(conf)


def test_query_by_session() -> None:
    q = yx.QueryBySession("7c4b7673-4f70-4164-82a0-decb84d77914", kind="conference")
    assert (q.session, q.kind) == ("7c4b7673-4f70-4164-82a0-decb84d77914", "conference")
    assert q.form_body() == "session=7c4b7673-4f70-4164-82a0-decb84d77914&type=2"
    assert yx.QueryBySession("s").kind == "call"
    p = q.prepare(AUTH)
    assert p.endpoint == "query_by_session" and p.url.endswith("/call/ecp/queryBySession.action")
    with pytest.raises(yx.ValidationError) as e:
        yx.QueryBySession("s", kind="calls")  # type: ignore[arg-type]
    assert (e.value.field, e.value.rule) == ("type", "one_of")
    with pytest.raises(yx.ValidationError) as e:
        yx.QueryBySession("")
    assert (e.value.field, e.value.rule) == ("session", "empty")


@pytest.mark.parametrize(
    "kw, field, rule, index",
    [
        ({"caller": "+8613888888888"}, "caller", "country_code", None),
        ({"callee": "138 8888 8888"}, "callee", "separator", None),
        ({"callee": "13888888888"}, "callee", "duplicate", None),
        ({"caller_acc": "x" * 33}, "callerAcc", "length", None),
        ({"caller_acc": "a b"}, "callerAcc", "charset", None),
        ({"max_dur": 0}, "maxDur", "not_positive", None),
        ({"max_dur": -1}, "maxDur", "not_integer", None),
        ({"max_dur": 2**32}, "maxDur", "not_integer", None),
    ],
)
def test_start_call_validation(kw: dict, field: str, rule: str, index: object) -> None:
    with pytest.raises(yx.ValidationError) as e:
        call(**kw)
    assert (e.value.field, e.value.rule, e.value.index) == (field, rule, index)
    assert isinstance(e.value, ValueError) and isinstance(e.value, yx.YunxinError)
    assert field in str(e.value)


@pytest.mark.parametrize("max_dur", [100.0, "100", True, None])
def test_max_dur_must_be_an_int(max_dur: object) -> None:
    with pytest.raises(TypeError, match="max_dur"):
        call(max_dur=max_dur)


def test_max_dur_takes_any_integer_type() -> None:
    class Seconds:
        def __index__(self) -> int:
            return 60

    class MyInt(int):
        pass

    assert call(max_dur=Seconds()).max_dur == 60
    assert call(max_dur=MyInt(61)).max_dur == 61
    with pytest.raises(yx.ValidationError) as e:
        call(max_dur=10**40)
    assert (e.value.field, e.value.rule) == ("maxDur", "not_integer")


def test_conference_validation_names_the_entry() -> None:
    with pytest.raises(yx.ValidationError) as e:
        yx.StartConference(caller_acc="liuxuanlin", caller="13888888888", callees=["13777777777", "+8613666666666"], max_dur=1)
    assert (e.value.field, e.value.rule, e.value.index) == ("callee", "country_code", 1)
    with pytest.raises(yx.ValidationError) as e:
        yx.StartConference(caller_acc="liuxuanlin", caller="13888888888", callees=["13777777777"], max_dur=1)
    assert (e.value.field, e.value.rule) == ("callee", "count")
    with pytest.raises(yx.ValidationError) as e:
        yx.StartConference(caller_acc="liuxuanlin", caller="13888888888", callees=["13777777777", "13888888888"], max_dur=1)
    assert (e.value.field, e.value.rule, e.value.index) == ("callee", "duplicate", 1)
    with pytest.raises(TypeError, match="list"):
        yx.StartConference(caller_acc="liuxuanlin", caller="13888888888", callees="['13777777777']", max_dur=1)


@pytest.mark.parametrize("body", [b'{"code":200,"obj":{"session":"s-1"}}', bytearray(b'{"code":200,"obj":{"session":"s-1"}}'),
                                  memoryview(b'{"code":200,"obj":{"session":"s-1"}}'), '{"code":200,"obj":{"session":"s-1"}}'])
def test_parsers_take_bytes_or_text(body: object) -> None:
    started = yx.parse_start_response(200, body)  # type: ignore[arg-type]
    assert started.session == "s-1" and started.raw == {"session": "s-1"}
    assert repr(started) == "Started(session='s-1')"


def test_parsers_refuse_other_types() -> None:
    with pytest.raises(TypeError, match="bytes"):
        yx.parse_start_response(200, 42)  # type: ignore[arg-type]


def test_query_response_to_typed_record() -> None:
    body = json.dumps(
        {
            "code": 200,
            "obj": {
                "session": "s-1", "initAccount": "liuxuanlin", "caller": "13888888888", "callee": "13777777777",
                "createtime": 1484118614911, "starttime": "2017-01-11 15:10:30", "durationSec": "61",
                "status": "SUCCESS", "extra": [1, 2.5, None, True],
                "legs": [{"endpoint": "13888888888", "endTime": "2017-01-11 15:11:31", "hangCause": "NORMAL_CLEARING"}],
            },
        }
    )
    r = yx.parse_query_response(200, body)
    assert (r.session, r.init_account, r.caller, r.callee) == ("s-1", "liuxuanlin", "13888888888", "13777777777")
    assert (r.create_time_ms, r.start_time, r.duration_sec, r.status) == (1484118614911, "2017-01-11 15:10:30", 61, "SUCCESS")
    assert r.answered is True and r.billed_minutes == 2 and r.is_conference is False and r.members is None
    assert r.cost == yx.Cost(24) and r.cost.fen == 24 and r.cost.yuan == Decimal("0.24") and str(r.cost) == "0.24"
    assert r.cost_at(fen_per_minute=150).yuan == Decimal("3.00")
    assert r.raw["extra"] == [1, 2.5, None, True]
    leg = r.legs[0]
    assert (leg.endpoint, leg.end_time, leg.hang_cause) == ("13888888888", "2017-01-11 15:11:31", "NORMAL_CLEARING")
    assert "NORMAL_CLEARING" in repr(leg) and "answered=True" in repr(r)


def test_cost_is_exact_and_ordered() -> None:
    assert yx.Cost(12) < yx.Cost(24) and yx.Cost(5) == yx.Cost(5) and hash(yx.Cost(5)) == hash(yx.Cost(5))
    assert str(yx.Cost(1205)) == "12.05" and yx.Cost(1205).yuan == Decimal("12.05")
    assert repr(yx.Cost(7)) == "Cost(fen=7)"
    assert not isinstance(yx.Cost(7).yuan, float)


def send(p: yx.PreparedRequest) -> Tuple[int, bytes]:
    req = urllib.request.Request(p.url, data=p.content, headers=p.headers, method=p.method)
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status, resp.read()


def test_round_trip_with_urllib_against_the_mock() -> None:
    with MockServer() as mock:
        started = yx.parse_start_response(*send(call().prepare(CREDS, base_url=mock.base_url)))
        conf = yx.StartConference(caller_acc="liuxuanlin", caller="13888888888", callees=["13777777777", "13666666666"], max_dur=100)
        started_conf = yx.StartConference.parse_response(*send(conf.prepare(CREDS, base_url=mock.base_url)))
        record = yx.parse_query_response(*send(yx.QueryBySession(started.session).prepare(CREDS, base_url=mock.base_url)))
        conf_record = yx.QueryBySession.parse_response(
            *send(yx.QueryBySession(started_conf.session, kind="conference").prepare(CREDS, base_url=mock.base_url))
        )
        assert record.session == started.session and record.callee == "13777777777" and record.answered
        assert conf_record.members == ["13888888888", "13777777777", "13666666666"] and conf_record.is_conference
        assert [r.code for r in mock.requests()] == [200, 200, 200, 200]
        # An old signature is refused as the service refuses it.
        stale = call().prepare(AUTH, base_url=mock.base_url)
        with pytest.raises(yx.ApiError) as e:
            yx.parse_start_response(*send(stale))
        assert (e.value.code, e.value.message) == (414, "bad http header")
        assert mock.requests()[-1].refusal == "outside_window"

"""Every golden vector of tests/vectors/*.json, run through the Python package exactly as the Rust
runner (core/tests/vectors.rs) runs it through the core. One pytest test per case."""

from typing import Any, Dict, List, Union

import pytest
from conftest import VECTORS, cases, load_vectors

import yunxin_ecp as yx
from yunxin_ecp import server

REQUESTS = load_vectors("requests.json")
SERVER = load_vectors("server.json")
EXCHANGES = load_vectors("exchanges.json")


def validation_json(e: yx.ValidationError) -> Dict[str, Any]:
    error: Dict[str, Any] = {"field": e.field, "rule": e.rule}
    if e.index is not None:
        error["index"] = e.index
    return {"error": error}


def pairs(headers: List[List[str]]) -> List[List[str]]:
    return [list(p) for p in headers]


# signing.json


@pytest.mark.parametrize("case", cases("signing.json", "sign"))
def test_sign(case: Dict[str, Any]) -> None:
    creds = yx.Credentials(case["app_key"], case["secret"])
    try:
        h = creds.sign(nonce=case["nonce"], cur_time=case["cur_time"])
        got: Dict[str, Any] = {"headers": [list(p) for p in h.pairs()]}
        assert list(h.headers.items()) == [tuple(p) for p in got["headers"]]
    except yx.ValidationError as e:
        got = validation_json(e)
    assert got == case["expect"]


@pytest.mark.parametrize("case", cases("signing.json", "credentials"))
def test_credentials(case: Dict[str, Any]) -> None:
    try:
        yx.Credentials(case["app_key"], case["secret"])
        got: Any = "ok"
    except yx.ValidationError as e:
        got = validation_json(e)
    assert got == case["expect"]


@pytest.mark.parametrize("case", cases("signing.json", "checksum"))
def test_checksum(case: Dict[str, Any]) -> None:
    assert yx.checksum(case["secret"], case["nonce"], case["cur_time"]) == case["checksum"]
    if case["cur_time"].isdigit():
        assert yx.checksum(case["secret"], case["nonce"], int(case["cur_time"])) == case["checksum"]


# requests.json


def build_request(case: Dict[str, Any]) -> yx.PreparedRequest:
    creds = yx.Credentials(REQUESTS["app_key"], REQUESTS["secret"])
    auth = creds.sign(nonce=REQUESTS["nonce"], cur_time=REQUESTS["cur_time"])
    p = case["params"]
    request: Union[yx.StartCall, yx.StartConference, yx.QueryBySession]
    if case["request"] == "start_call":
        request = yx.StartCall(
            caller_acc=p["caller_acc"], caller=p["caller"], callee=p["callee"], max_dur=p["max_dur"]
        )
    elif case["request"] == "start_conf":
        request = yx.StartConference(
            caller_acc=p["caller_acc"], caller=p["caller"], callees=p["callees"], max_dur=p["max_dur"]
        )
    elif case["request"] == "query":
        request = yx.QueryBySession(p["session"], kind=p["kind"])
    else:
        raise AssertionError(f"unknown request {case['request']}")
    if "base_url" in case:
        return request.prepare(auth, base_url=case["base_url"])
    return request.prepare(auth)


@pytest.mark.parametrize("case", cases("requests.json", "cases"))
def test_request(case: Dict[str, Any]) -> None:
    try:
        r = build_request(case)
        got: Dict[str, Any] = {
            "method": r.method,
            "url": r.url,
            "headers": [list(h) for h in r.header_pairs],
            "body": r.body,
        }
        assert r.headers == dict(r.header_pairs)
        assert r.content == r.body.encode()
        assert r.endpoint == {"start_call": "start_call", "start_conf": "start_conf", "query": "query_by_session"}[
            case["request"]
        ]
    except yx.ValidationError as e:
        got = validation_json(e)
    assert got == case["expect"]


# responses.json


def record_json(r: yx.CallRecord) -> Dict[str, Any]:
    return {
        "session": r.session,
        "duration_sec": r.duration_sec,
        "answered": r.answered,
        "billed_minutes": r.billed_minutes,
        "cost_fen": r.cost.fen,
        "legs": len(r.legs),
        "members": r.members,
    }


@pytest.mark.parametrize("case", cases("responses.json", "cases"))
def test_response(case: Dict[str, Any]) -> None:
    status, body, endpoint = case["http_status"], case["body"], case["endpoint"]
    got: Dict[str, Any]
    try:
        if endpoint == "start_call":
            got = {"ok": {"session": yx.parse_start_response(status, body.encode()).session}}
            assert yx.StartCall.parse_response(status, body).session == got["ok"]["session"]
        elif endpoint == "start_conf":
            got = {"ok": {"session": yx.parse_start_response(status, body.encode(), conference=True).session}}
            assert yx.StartConference.parse_response(status, body).session == got["ok"]["session"]
        elif endpoint == "query_by_session":
            got = {"ok": record_json(yx.parse_query_response(status, body.encode()))}
            assert record_json(yx.QueryBySession.parse_response(status, body)) == got["ok"]
        else:
            raise AssertionError(f"unknown endpoint {endpoint}")
    except yx.ApiError as e:
        assert "/call/ecp/" in str(e), f"message names no endpoint: {e}"
        assert e.endpoint == endpoint and e.http_status == status and e.raw_body == body
        assert e.retryable == (e.retry_advice in ("safe", "backoff", "once_after_delay"))
        got = {"error": {"kind": "api", "code": e.code, "message": e.message, "retry": e.retry_advice}}
    except yx.ProtocolError as e:
        assert "/call/ecp/" in str(e), f"message names no endpoint: {e}"
        assert e.endpoint == endpoint and e.http_status == status
        # A redirect's body is never read: it may look like a success, and it is not one.
        assert e.raw_body == ("" if e.kind == "redirect" else body)
        got = {"error": {"kind": "protocol", "protocol": e.kind, "retry": e.retry_advice}}
    assert got == case["expect"]


# callbacks.json


@pytest.mark.parametrize("case", cases("callbacks.json", "verify"))
def test_callback_verify(case: Dict[str, Any]) -> None:
    creds = yx.Credentials(case["app_key"], case["secret"])
    tolerance = case["tolerance_ms"]
    if isinstance(tolerance, int):
        verifier = yx.CallbackVerifier(creds, tolerance_ms=tolerance)
    else:  # "skip", as the Rust runner reads anything but a number
        verifier = yx.CallbackVerifier(creds, skip_time_check=True)
    try:
        verifier.verify(case["body"].encode(), case["headers"], now_ms=case["now_ms"])
        got = "ok"
    except yx.CallbackVerificationError as e:
        got = e.reason
        assert case["secret"] not in str(e)
        assert case["secret"] not in repr(verifier)
        assert case["secret"] not in repr(creds)
    assert got == case["expect"]
    # The same headers as raw ASGI byte pairs, and as a dict when no name repeats.
    forms: List[Any] = [[(k.encode("latin-1"), v.encode("latin-1")) for k, v in case["headers"]]]
    if len({k.lower() for k, _ in case["headers"]}) == len(case["headers"]):
        forms.append(dict(case["headers"]))
    for headers in forms:
        try:
            verifier.verify(case["body"].encode(), headers, now_ms=case["now_ms"])
            again = "ok"
        except yx.CallbackVerificationError as e:
            again = e.reason
        assert again == case["expect"]


@pytest.mark.parametrize("case", cases("callbacks.json", "parse"))
def test_callback_parse(case: Dict[str, Any]) -> None:
    got: Dict[str, Any]
    try:
        event = yx.parse_callback(case["body"].encode())
        if isinstance(event, yx.CallEndEvent):
            r = event.record
            assert event.session == r.session and event.event_type == "10"
            got = {
                "type": "call_end",
                "session": r.session,
                "init_account": r.init_account,
                "caller": r.caller,
                "callee": r.callee,
                "create_time_ms": r.create_time_ms,
                "start_time": r.start_time,
                "status": r.status,
                "duration_sec": r.duration_sec,
                "answered": r.answered,
                "billed_minutes": r.billed_minutes,
                "cost_fen": r.cost.fen,
                "members": r.members,
                "hang_causes": [leg.hang_cause for leg in r.legs],
            }
        else:
            got = {"type": "other", "event_type": event.event_type, "raw": event.raw}
    except yx.CallbackVerificationError as e:
        got = {"error": e.reason}
    assert got == case["expect"]


# server.json


@pytest.mark.parametrize("case", cases("server.json", "cases"))
def test_server(case: Dict[str, Any]) -> None:
    creds = yx.Credentials(SERVER["app_key"], SERVER["secret"])
    got: Dict[str, Any]
    try:
        found = server.verify_request(
            case["headers"], creds, now_secs=case["now_secs"], window_secs=SERVER["window_secs"]
        )
        assert found is creds
    except yx.AuthRefusedError as e:
        got = {"reply": server.reply_bad_http_header(), "refusal": e.reason}
        assert got == case["expect"]
        return
    try:
        r = server.parse_request(case["path"], query=case["query"], body=case["body"].encode())
        if isinstance(r, yx.StartCall):
            got = {
                "request": "start_call",
                "params": {"caller_acc": r.caller_acc, "caller": r.caller, "callee": r.callee, "max_dur": r.max_dur},
            }
        elif isinstance(r, yx.StartConference):
            got = {
                "request": "start_conf",
                "params": {"caller_acc": r.caller_acc, "caller": r.caller, "callees": r.callees, "max_dur": r.max_dur},
            }
        else:
            got = {"request": "query", "params": {"session": r.session, "kind": r.kind}}
    except yx.ValidationError as e:
        got = {"reply": server.reply_bad_param(e.field), "field": e.field}
    assert got == case["expect"]


# exchanges.json: scripted conversations, fed to Exchange as the Rust runner feeds the core's,
# with fixed nonces (one per expected attempt), clock and jitter.


def exchange_request(r: Dict[str, Any]) -> Union[yx.StartCall, yx.StartConference, yx.QueryBySession, yx.ApiRequest]:
    if r["kind"] == "start_call":
        return yx.StartCall(caller_acc=r["caller_acc"], caller=r["caller"], callee=r["callee"], max_dur=r["max_dur"])
    if r["kind"] == "start_conf":
        return yx.StartConference(
            caller_acc=r["caller_acc"], caller=r["caller"], callees=r["callees"], max_dur=r["max_dur"]
        )
    if r["kind"] == "query":
        return yx.QueryBySession(r["session"], kind=r["type"])
    assert r["kind"] == "api", r["kind"]
    return yx.ApiRequest(r["path"], [tuple(p) for p in r["params"]], idempotent=r["idempotent"])


def exchange_result(next: "yx.Next[Any]") -> Dict[str, Any]:
    """The result as the Rust runner writes it (core/tests/vectors.rs exchange_result_json)."""
    error = next.error
    if error is None:
        value = next.result
        if isinstance(value, yx.Started):
            return {"started": {"session": value.session}}
        if isinstance(value, yx.CallRecord):
            return {"record": {"session": value.session, "answered": value.answered,
                               "billed_minutes": value.billed_minutes}}
        return {"json": value}
    with pytest.raises(yx.YunxinError) as raised:
        next.result  # raises the same error
    assert raised.value is error
    if isinstance(error, yx.ApiError):
        e: Dict[str, Any] = {"kind": "api", "code": error.code, "retry": error.retry_advice}
        if error.message is not None:
            e["message"] = error.message
        return {"error": e}
    if isinstance(error, yx.ProtocolError):
        return {"error": {"kind": "protocol", "protocol": error.kind, "retry": error.retry_advice}}
    if isinstance(error, yx.TransportError):
        return {"error": {"kind": "transport", "transport": error.kind, "maybe_sent": error.maybe_sent,
                          "retry": error.retry_advice}}
    return {"unexpected": str(error)}


@pytest.mark.parametrize("case", cases("exchanges.json", "cases"))
def test_exchange(case: Dict[str, Any]) -> None:
    v, expect = EXCHANGES, case["expect"]
    nonces = [a["nonce"] for a in expect["attempts"]]
    exchange: yx.Exchange[Any] = yx.Exchange(
        exchange_request(case["request"]),
        yx.Credentials(v["app_key"], v["secret"]),
        base_url=v["base_url"],
        max_retries=case["settings"]["max_retries"],
        backoff=case["settings"]["backoff_ms"] / 1000,
        _entropy=(nonces, v["now_secs"], v["jitter"]),
    )
    attempts: List[Dict[str, Any]] = []
    waits: List[int] = []
    script = case["script"]
    for _ in range(len(script) + 1):  # bounded: one more attempt than scripted is a failure
        attempt = exchange.send()
        assert attempt.number == len(attempts) + 1
        headers = attempt.prepared.headers
        attempts.append({"url": attempt.prepared.url, "nonce": headers["Nonce"], "cur_time": headers["CurTime"],
                         "checksum": headers["CheckSum"]})
        assert len(attempts) <= len(script), f"attempt {len(attempts)} was not scripted"
        assert (attempt.connect_timeout, attempt.timeout, attempt.max_response_bytes) == (5.0, 15.0, 1048576)
        step = script[len(attempts) - 1]
        if "answer" in step:
            a = step["answer"]
            next = exchange.receive(a["status"], a["body"].encode(), location=a.get("location"), elapsed=0.001)
        elif "failure" in step:
            f = step["failure"]
            next = exchange.fail(f["kind"], maybe_sent=f["maybe_sent"], detail="scripted", elapsed=0.001)
        else:
            next = exchange.too_large(step["too_large"]["status"], elapsed=0.001)
        if next.retry_after is None:
            break
        assert not next.done and next.error is None
        waits.append(round(next.retry_after * 1000))
    assert next.done
    got = {"attempts": attempts, "waits_ms": waits, "result": exchange_result(next)}
    assert got == expect
    # Done: no further attempt, and the events told the whole story with no secret in it.
    with pytest.raises(yx.ValidationError) as e:
        exchange.send()
    assert e.value.field == "exchange"
    lines = [line for _, line in exchange.take_events()]
    names = [line.split(" id=")[0] for line in lines]
    assert names.count("request sent") == len(attempts) and names.count("retry") == len(waits)
    assert names[-1] == ("gave up" if "error" in expect["result"] else "response")
    text = "\n".join(lines)
    for secret in [v["secret"], *nonces, *(a["checksum"] for a in attempts)]:
        assert secret not in text


def test_every_vector_file_is_run() -> None:
    """A new vector file or group must get a runner here, as in every other language."""
    run = {
        "signing.json": {"sign", "credentials", "checksum"},
        "requests.json": {"cases"},
        "responses.json": {"cases"},
        "callbacks.json": {"verify", "parse"},
        "server.json": {"cases"},
        "exchanges.json": {"cases"},
    }
    files = {p.name for p in VECTORS.glob("*.json")}
    assert files == set(run)
    for name, groups in run.items():
        data = load_vectors(name)
        assert {k for k, v in data.items() if isinstance(v, list)} == groups, name

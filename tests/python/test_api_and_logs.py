"""Any YunXin server API through the same clients (``ApiRequest``, ``Client.request``,
``AsyncClient.request``), the client's events in ``logging``, and the ``yunxin-ecp`` console
script. Only 127.0.0.1 is contacted."""

import asyncio
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from typing import Any, Iterator, List, Tuple

import pytest

import yunxin_ecp as yx
from yunxin_ecp.testing import SAMPLE_APP_KEY, SAMPLE_APP_SECRET, MockServer

CALL = {"caller_acc": "liuxuanlin", "caller": "13888888888", "callee": "13777777777", "max_dur": 100}


class ServerApi(BaseHTTPRequestHandler):
    """A stand-in for another YunXin server API: user creation succeeds, anything else is 414."""

    seen: List[Tuple[str, bytes]] = []

    def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.seen.append((self.path, body))
        if self.path == "/nimserver/user/create.action":
            answer = {"code": 200, "info": {"token": "t0k3n", "accid": "demo"}}
        else:
            answer = {"code": 414, "desc": "parameter error"}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def mock() -> Iterator[MockServer]:
    with MockServer() as server:
        yield server


@pytest.fixture
def server_api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), ServerApi)
    Thread(target=server.serve_forever, daemon=True).start()
    ServerApi.seen = []
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def test_api_request_is_validated_and_prepared() -> None:
    for bad in ["user/create.action", "/a/../b", "/a?x=1", "https://evil.example/a", "/a b", ""]:
        with pytest.raises(yx.ValidationError) as e:
            yx.ApiRequest(bad)
        assert e.value.field == "path", bad
    with pytest.raises(TypeError, match="params"):
        yx.ApiRequest("/a", {"flag": True})  # type: ignore[dict-item]
    request = yx.ApiRequest("/nimserver/user/create.action", {"accid": "demo", "n": 7})
    assert (request.path, request.params, request.idempotent) == (
        "/nimserver/user/create.action", [("accid", "demo"), ("n", "7")], False)
    prepared = request.prepare(yx.Credentials(SAMPLE_APP_KEY, SAMPLE_APP_SECRET), base_url="http://127.0.0.1:9")
    assert prepared.url == "http://127.0.0.1:9/nimserver/user/create.action" and prepared.endpoint == "api"
    assert prepared.body == "accid=demo&n=7"
    h = prepared.headers
    expected = hashlib.sha1((SAMPLE_APP_SECRET + h["Nonce"] + h["CurTime"]).encode()).hexdigest()
    assert h["CheckSum"] == expected
    assert request.parse_response(200, b'{"code":200,"info":{"a":1}}') == {"code": 200, "info": {"a": 1}}
    with pytest.raises(yx.ApiError) as api:
        request.parse_response(200, b'{"code":416,"desc":"slow down"}')
    assert (api.value.code, api.value.meaning) == (416, "rate limited")


def test_client_request_any_path(server_api: str) -> None:
    client = yx.Client(SAMPLE_APP_KEY, SAMPLE_APP_SECRET, base_url=server_api)
    answer = client.request(yx.ApiRequest("/nimserver/user/create.action", {"accid": "demo"}))
    assert answer == {"code": 200, "info": {"token": "t0k3n", "accid": "demo"}}
    with pytest.raises(yx.ApiError) as e:
        client.request(yx.ApiRequest("/nimserver/user/nope.action", {"accid": "demo"}))
    assert (e.value.code, e.value.retry_advice) == (414, "never")
    assert [path for path, _ in ServerApi.seen] == ["/nimserver/user/create.action", "/nimserver/user/nope.action"]


def test_a_generic_request_is_resent_only_when_it_never_left_or_is_idempotent(mock: MockServer) -> None:
    client = mock.client(timeout=5, backoff=0)
    session = client.start_call(**CALL).session  # type: ignore[arg-type]
    query = yx.ApiRequest("/call/ecp/queryBySession.action", {"session": session, "type": "1"})
    assert client.request(query)["obj"]["session"] == session
    before = len(mock.requests())
    mock.inject_fault("server_error")
    with pytest.raises(yx.ApiError) as e:
        client.request(query)
    assert (e.value.code, e.value.retry_advice) == (500, "outcome_unknown")
    assert len(mock.requests()) == before + 1
    idempotent = yx.ApiRequest(query.path, query.params, idempotent=True)
    mock.inject_fault("server_error")
    assert client.request(idempotent)["obj"]["session"] == session
    mock.inject_fault("redirect")
    with pytest.raises(yx.ProtocolError) as p:
        client.request(query)
    assert p.value.kind == "redirect" and mock.stats().redirect_target_hits == 0


def test_async_client_request(mock: MockServer, server_api: str) -> None:

    async def run() -> Tuple[Any, Any]:
        async with yx.AsyncClient(SAMPLE_APP_KEY, SAMPLE_APP_SECRET, base_url=server_api) as client:
            created = await client.request(yx.ApiRequest("/nimserver/user/create.action", {"accid": "demo"}))
        async with yx.AsyncClient(credentials=mock.credentials, base_url=mock.base_url, backoff=0) as client:
            session = (await client.start_call(**CALL)).session  # type: ignore[arg-type]
            mock.inject_fault("server_error")
            query = yx.ApiRequest("/call/ecp/queryBySession.action", {"session": session, "type": "1"})
            with pytest.raises(yx.ApiError) as e:
                await client.request(query)
            return created, e.value

    created, error = asyncio.run(run())
    assert created["info"]["token"] == "t0k3n"
    assert (error.code, error.retry_advice) == (500, "outcome_unknown")


def test_events_reach_logging_masked(mock: MockServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="yunxin_ecp")
    yx.refresh_logging()
    client = mock.client(timeout=5, backoff=0)
    mock.inject_fault("busy_503")
    client.start_call(**CALL)  # type: ignore[arg-type]
    records = [r for r in caplog.records if r.name == "yunxin_ecp"]
    messages = [r.getMessage() for r in records]
    assert any(m.startswith("request sent") and "attempt=1" in m for m in messages), messages
    assert any(m.startswith("retry") for m in messages), messages
    assert any(m.startswith("response") and "status=200" in m for m in messages), messages
    ids = {re.search(r"id=(\w+)", m).group(1) for m in messages if "id=" in m}  # type: ignore[union-attr]
    assert len(ids) == 1, "one id for the call and its retry"
    text = "\n".join(messages)
    assert not re.search(r"\d{11}", text), "no full phone number"
    for request in mock.requests():
        nonce = request.header("Nonce")
        assert nonce and nonce not in text
    assert SAMPLE_APP_SECRET not in text


def console_script() -> str:
    found = shutil.which("yunxin-ecp", path=str(Path(sys.executable).parent))
    assert found, "pip install ./py installs the yunxin-ecp console script"
    return found


def run_command(*args: str, **env: str) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("YUNXIN_")}
    environment.update(env)
    return subprocess.run([console_script(), *args], capture_output=True, text=True, env=environment, timeout=60)


def test_console_script_is_the_command() -> None:
    helped = run_command("--help")
    assert helped.returncode == 0 and "verify-callback" in helped.stdout
    assert run_command("--no-such-flag").returncode == 2
    signed = run_command(
        "sign", "--nonce", "abc123", "--cur-time", "1700000000", "--json",
        YUNXIN_APP_KEY=SAMPLE_APP_KEY, YUNXIN_APP_SECRET=SAMPLE_APP_SECRET,
    )
    assert signed.returncode == 0, signed.stderr
    headers = json.loads(signed.stdout)
    text = json.dumps(headers)
    expected = hashlib.sha1((SAMPLE_APP_SECRET + "abc123" + "1700000000").encode()).hexdigest()
    assert expected in text and "abc123" in text
    assert run_command("sign").returncode == 4, "no credentials: refused locally"


def test_console_script_against_the_mock_with_events(mock: MockServer) -> None:
    creds = {"YUNXIN_APP_KEY": SAMPLE_APP_KEY, "YUNXIN_APP_SECRET": SAMPLE_APP_SECRET}
    placed = run_command(
        "--base-url", mock.base_url, "--json", "-v", "call", "liuxuanlin", "13888888888", "13777777777",
        "--max-dur", "100", **creds,
    )
    assert placed.returncode == 0, placed.stderr
    session = json.loads(placed.stdout)["session"]
    assert [s["session"] for s in mock.sessions()] == [session]
    assert "request sent" in placed.stderr and "13777777777" not in placed.stderr
    queried = run_command("--base-url", mock.base_url, "--json", "query", session, **creds)
    assert queried.returncode == 0, queried.stderr
    assert json.loads(queried.stdout)["session"] == session

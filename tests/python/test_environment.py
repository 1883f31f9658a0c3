"""What every client takes from the environment, by the core's one rule: ``YUNXIN_BASE_URL``
when no base URL is given, and the proxy (never ``HTTP_PROXY`` for https or under CGI); and
what no client lets an answer carry back: the attempt's Nonce and CheckSum, or the secret."""

import asyncio
import logging
import re
from typing import Any, Dict, Iterator, Optional, Tuple

import httpx
import pytest

import yunxin_ecp as yx
from yunxin_ecp._native import _ClientConfig

PROXY_VARIABLES = (
    "YUNXIN_BASE_URL",
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
    "REQUEST_METHOD",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    yield


def test_every_client_sends_to_yunxin_base_url_when_none_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    assert yx.Client("k", "s").base_url == "https://api.netease.im"
    monkeypatch.setenv("YUNXIN_BASE_URL", "http://127.0.0.1:9")
    assert yx.Client("k", "s").base_url == "http://127.0.0.1:9"
    client = yx.AsyncClient("k", "s")
    assert client.base_url == "http://127.0.0.1:9"
    asyncio.run(client.aclose())
    # The caller's choice wins.
    assert yx.Client("k", "s", base_url="http://127.0.0.1:7").base_url == "http://127.0.0.1:7"
    client = yx.AsyncClient("k", "s", base_url="http://127.0.0.1:7")
    assert client.base_url == "http://127.0.0.1:7"
    asyncio.run(client.aclose())


@pytest.mark.parametrize(("value", "rule"), [("ftp://nope", "url"), ("", "empty")])
def test_a_bad_yunxin_base_url_is_refused_naming_it(monkeypatch: pytest.MonkeyPatch, value: str, rule: str) -> None:
    monkeypatch.setenv("YUNXIN_BASE_URL", value)
    for build in (lambda: yx.Client("k", "s"), lambda: yx.AsyncClient("k", "s")):
        with pytest.raises(yx.ValidationError) as e:
            build()
        assert (e.value.field, e.value.rule) == ("YUNXIN_BASE_URL", rule)


def proxy_of(base_url: str) -> Optional[Tuple[str, str]]:
    return _ClientConfig("k", "s", base_url=base_url).proxy


def test_the_proxy_is_the_cores_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:1")
    # Never for an https base URL (httpx and ureq would both have taken it for any scheme).
    assert proxy_of("https://api.netease.im") is None
    assert proxy_of("http://ecp.test") == ("http://127.0.0.1:1", "HTTP_PROXY")
    # Under CGI, HTTP_PROXY may be a request's Proxy: header ("httpoxy"): never read.
    monkeypatch.setenv("REQUEST_METHOD", "POST")
    assert proxy_of("http://ecp.test") is None
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:2")
    assert proxy_of("http://ecp.test") == ("http://127.0.0.1:2", "http_proxy")
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:3")
    assert proxy_of("https://api.netease.im") == ("http://127.0.0.1:3", "HTTPS_PROXY")
    monkeypatch.setenv("NO_PROXY", "netease.im")
    assert proxy_of("https://api.netease.im") is None
    assert proxy_of("http://127.0.0.1:8080") is None


def test_the_async_clients_first_event_says_where_and_through_what(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:1")
    monkeypatch.setenv("REQUEST_METHOD", "GET")
    with caplog.at_level(logging.DEBUG, logger="yunxin_ecp"):
        client = yx.AsyncClient("k", "s", base_url="http://ecp.test")
    asyncio.run(client.aclose())
    ready = [r.getMessage() for r in caplog.records if r.getMessage().startswith("client ready")]
    assert ready == ["client ready base_url=http://ecp.test proxy=none"]
    # And the httpx client it built routes nothing through the environment's HTTP_PROXY.
    assert client._http._transport_for_url(httpx.URL("http://ecp.test/x")) is client._http._transport


def echoing(status: int, body_of: Any) -> httpx.MockTransport:
    """A server that answers with the request's own headers in its body."""

    def answer(request: httpx.Request) -> httpx.Response:
        head = "\n".join(f"{k}: {v}" for k, v in request.headers.items())
        return httpx.Response(status, content=body_of(head).encode())

    return httpx.MockTransport(answer)


ECHOES = [
    (200, lambda head: '{"code":414,"desc":' + __import__("json").dumps(head) + "}"),
    (502, lambda head: f"<html><pre>{head.upper()}</pre></html>"),
]


@pytest.mark.parametrize(("status", "body_of"), ECHOES)
def test_an_echoed_signature_never_reaches_the_async_clients_error(status: int, body_of: Any) -> None:
    seen: Dict[str, str] = {}

    def answer(request: httpx.Request) -> httpx.Response:
        seen.update({k.lower(): v for k, v in request.headers.items()})
        return echoing(status, body_of).handle_request(request)

    async def go() -> BaseException:
        async with yx.AsyncClient("k", "echo-secret-123", base_url="http://ecp.test", max_retries=0,
                                  transport=httpx.MockTransport(answer)) as client:
            with pytest.raises(yx.YunxinError) as e:
                await client.start_call(caller_acc="a", caller="13888888888", callee="13777777777", max_dur=60)
            return e.value

    error = asyncio.run(go())
    nonce, checksum = seen["nonce"], seen["checksum"]
    assert len(checksum) == 40
    texts = [str(error), repr(error)] + [str(v) for v in vars(error).values()]
    for text in texts:
        lowered = text.lower()
        assert nonce not in lowered and checksum not in lowered, text
    assert any("[redacted]" in text for text in texts), texts
    assert re.search(r"\b(414|502)\b", str(error)), str(error)

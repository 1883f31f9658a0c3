"""Your own HTTP stack, with the built-in clients' decisions: here the standard library's urllib.

``Exchange(request, credentials)`` is the whole attempt loop as a state machine: ``send()``
hands out an attempt, signed now (``AppKey``, ``Nonce``, ``CurTime``, ``CheckSum``) with its
timeouts and size cap; you POST it and report what came back (``receive``), that the body went
past the cap (``too_large``) or that no answer came (``fail``, saying whether the request may
have left). It answers how long to wait before the next attempt, or the result (or raises the
typed error). Redirects are never followed: the 3xx goes back to the exchange as it came. The
same loop works with requests, httpx, aiohttp or pycurl; ``AsyncClient`` is this loop on httpx.

Runs against a local mock of the service (``--demo`` says so explicitly; there is no other mode).

    python examples/python/own_http_client.py [--demo]
"""

import logging
import socket
import ssl
import sys
import time
import urllib.error
import urllib.request
from http.client import HTTPResponse
from typing import IO, Any, Literal, Optional, TypeVar, Union

from yunxin_ecp import (
    ApiError,
    Attempt,
    Credentials,
    Exchange,
    Next,
    QueryBySession,
    StartCall,
)
from yunxin_ecp.testing import SAMPLE_APP_KEY, SAMPLE_APP_SECRET, MockServer

T = TypeVar("T")
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING}
log = logging.getLogger("yunxin_ecp")


class RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """Hands a 3xx back as it came (an ``HTTPError``) instead of following it: following would
    send the signed headers to another host, and a start a second time."""

    def redirect_request(
        self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str, headers: Any, newurl: str
    ) -> Optional[urllib.request.Request]:
        return None


# No proxy from the environment for this demo's local mock; the redirect handler replaced.
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), RefuseRedirects())


def read_capped(response: Union[HTTPResponse, urllib.error.HTTPError], limit: int, deadline: float) -> Optional[bytes]:
    """The body, or ``None`` past ``limit`` bytes; a ``TimeoutError`` past the attempt's deadline."""
    chunks: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() > deadline:
            raise TimeoutError("no complete answer within the attempt's timeout")
        chunk = response.read(min(65536, limit + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return None


def transfer(exchange: Exchange[T], attempt: Attempt) -> Next[T]:
    """POSTs one attempt with urllib and reports what came of it to the exchange."""
    prepared = attempt.prepared
    request = urllib.request.Request(prepared.url, data=prepared.content, headers=prepared.headers, method="POST")
    started = time.monotonic()
    deadline = started + attempt.timeout
    try:
        # urllib has one timeout, for connecting and for each read (so connect_timeout cannot be
        # told apart); the deadline bounds the whole attempt.
        response: Union[HTTPResponse, urllib.error.HTTPError]
        try:
            response = opener.open(request, timeout=attempt.timeout)
        except urllib.error.HTTPError as e:  # a 3xx refused, a 4xx or 5xx page: an answer all the same
            response = e
        with response:
            status = response.status or 0
            location = response.headers.get("Location")
            body = read_capped(response, attempt.max_response_bytes, deadline)
    except urllib.error.URLError as e:  # connecting, or writing the request
        # Only a failure to connect proves that the request never left.
        kind: Literal["connect", "tls", "io"] = "io"
        if isinstance(e.reason, ssl.SSLError):
            kind = "tls"
        elif isinstance(e.reason, (ConnectionRefusedError, socket.gaierror)):
            kind = "connect"
        return exchange.fail(kind, maybe_sent=kind == "io", detail=str(e.reason), elapsed=time.monotonic() - started)
    except TimeoutError as e:  # waiting on the answer, after the request was written
        return exchange.fail("timeout", maybe_sent=True, detail=str(e), elapsed=time.monotonic() - started)
    except OSError as e:  # a reset, a broken pipe ...
        return exchange.fail("io", maybe_sent=True, detail=str(e), elapsed=time.monotonic() - started)
    elapsed = time.monotonic() - started
    if body is None:
        return exchange.too_large(status, elapsed=elapsed)
    return exchange.receive(status, body, location=location, elapsed=elapsed)


def drive(exchange: Exchange[T]) -> T:
    """Sends attempts until the exchange is done; returns its result or raises its error."""
    while True:  # the exchange ends after at most max_retries + 1 attempts
        attempt = exchange.send()
        print(f"{attempt.prepared.method} {attempt.prepared.url} (attempt {attempt.number})")
        step = transfer(exchange, attempt)
        for level, line in exchange.take_events():  # request sent, response, retry, gave up
            log.log(LEVELS[level], line)
        if step.retry_after is None:
            return step.result
        print(f"  retrying in {step.retry_after:.3f} s")
        time.sleep(step.retry_after)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="  log: %(levelname)s %(message)s", stream=sys.stdout)
    with MockServer() as mock:
        base_url = mock.base_url
        creds = Credentials(SAMPLE_APP_KEY, SAMPLE_APP_SECRET)  # the official samples' app
        print(f"signing as {creds!r}")

        call = StartCall(caller_acc="liuxuanlin", caller="13888888888", callee="13777777777", max_dur=100)
        mock.inject_fault("rate_limited")  # the first attempt is refused with 416: sent again, signed afresh
        started = drive(Exchange(call, creds, base_url=base_url, backoff=0.05))
        print(f"session: {started.session}")

        mock.inject_fault("redirect")  # a 302 is refused, never followed; a query is asked again
        record = drive(Exchange(QueryBySession(started.session, kind="call"), creds, base_url=base_url, backoff=0.05))
        print(f"answered: {record.answered}, duration: {record.duration_sec} s, cost: {record.cost.yuan} yuan")
        print(f"redirects followed: {mock.stats().redirect_target_hits}")

        # A request signed with the wrong secret is refused the way the service refuses it.
        try:
            drive(Exchange(call, Credentials(creds.app_key, "not-the-secret"), base_url=base_url))
        except ApiError as e:
            print(f"wrong secret: code {e.code} ({e.message}), retryable: {e.retryable}")
            return 0
        print("the wrong secret was accepted", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

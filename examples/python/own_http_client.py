"""Signing and parsing for your own HTTP stack: here the standard library's urllib.

``StartCall(...).prepare(credentials)`` gives the method, URL, headers (``AppKey``, ``Nonce``,
``CurTime``, ``CheckSum``, ``Content-Type``) and form body; ``parse_start_response`` and
``parse_query_response`` read what came back. The same works with requests, httpx or aiohttp.
Runs against a local mock of the service.

    python examples/python/own_http_client.py
"""

import sys
import urllib.error
import urllib.request

from yunxin_ecp import (
    ApiError,
    Credentials,
    PreparedRequest,
    QueryBySession,
    StartCall,
    parse_query_response,
    parse_start_response,
)
from yunxin_ecp.testing import SAMPLE_APP_KEY, SAMPLE_APP_SECRET, MockServer


def send(prepared: PreparedRequest) -> tuple[int, bytes]:
    request = urllib.request.Request(
        prepared.url, data=prepared.content, headers=prepared.headers, method=prepared.method
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as e:  # a 4xx/5xx still carries a body worth parsing
        return int(e.code), bytes(e.read())


def main() -> int:
    with MockServer() as mock:
        base_url = mock.base_url
        creds = Credentials(SAMPLE_APP_KEY, SAMPLE_APP_SECRET)  # the official samples' app
        print(f"signing as {creds!r}")

        call = StartCall(caller_acc="liuxuanlin", caller="13888888888", callee="13777777777", max_dur=100)
        prepared = call.prepare(creds, base_url=base_url)  # fresh nonce and CurTime, every time
        print(f"{prepared.method} {prepared.url}\n  CheckSum {prepared.headers['CheckSum']}\n  {prepared.body}")
        started = parse_start_response(*send(prepared))
        print(f"session: {started.session}")

        query = QueryBySession(started.session, kind="call").prepare(creds, base_url=base_url)
        record = parse_query_response(*send(query))
        print(f"answered: {record.answered}, duration: {record.duration_sec} s, cost: {record.cost.yuan} yuan")

        # A request signed with the wrong secret is refused the way the service refuses it.
        wrong = call.prepare(Credentials(creds.app_key, "not-the-secret"), base_url=base_url)
        try:
            parse_start_response(*send(wrong))
        except ApiError as e:
            print(f"wrong secret: code {e.code} ({e.message}), retryable: {e.retryable}")
            return 0
        print("the wrong secret was accepted", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

"""Async end to end: yunxin_ecp.AsyncClient against a hand-rolled httpx.AsyncClient that signs
with hashlib, both sending batches of 200 concurrent queryBySession requests to the same
in-process mock (yunxin_ecp.testing.MockServer, on its own threads). Prints requests per second
and the client's CPU per request (CPU time of the event loop's thread, so the mock's threads do
not count) for both sides, from one run, rounds interleaved.

Run: python bench/python/bench_async.py   (in a venv with yunxin_ecp[async])"""
import asyncio
import time
from typing import Awaitable, Callable, Dict, Tuple

import httpx

import yunxin_ecp
from common import APP_KEY, APP_SECRET, hand_rolled_headers
from yunxin_ecp.testing import MockServer

CONCURRENT = 200
BATCHES = 10
ROUNDS = 3


async def measure(query: Callable[[], Awaitable[None]]) -> Tuple[float, float]:
    """(requests per second, client CPU microseconds per request) over BATCHES batches."""
    await asyncio.gather(*(query() for _ in range(CONCURRENT)))  # warm the pool
    wall, cpu = time.perf_counter(), time.thread_time()
    for _ in range(BATCHES):
        await asyncio.gather(*(query() for _ in range(CONCURRENT)))
    wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
    n = CONCURRENT * BATCHES
    return n / wall, cpu / n * 1e6


async def run(base_url: str, session: str) -> Dict[str, Tuple[float, float]]:
    url = base_url + "/call/ecp/queryBySession.action"
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=32)  # AsyncClient's own
    async with yunxin_ecp.AsyncClient(APP_KEY, APP_SECRET, base_url=base_url) as client, httpx.AsyncClient(
        trust_env=False, limits=limits, timeout=15
    ) as http:

        async def library() -> None:
            record = await client.query_session(session, kind="call")
            assert record.session == session

        async def hand_rolled() -> None:
            headers = hand_rolled_headers(APP_KEY, APP_SECRET)
            headers["Content-Type"] = "application/x-www-form-urlencoded;charset=utf-8"
            reply = await http.post(url, data={"session": session, "type": "1"}, headers=headers)
            body = reply.json()
            assert body["code"] == 200 and body["obj"]["session"] == session

        results: Dict[str, Tuple[float, float]] = {}
        for _ in range(ROUNDS):  # interleaved rounds; keep the best of each
            for name, query in (("httpx", hand_rolled), ("yunxin_ecp", library)):
                rps, cpu = await measure(query)
                best = results.get(name)
                if best is None or rps > best[0]:
                    results[name] = (rps, cpu)
        return results


def main() -> None:
    with MockServer() as mock:
        session = mock.client().start_call(
            caller_acc="liuxuanlin", caller="13888888888", callee="13777777777", max_dur=100
        ).session
        results = asyncio.run(run(mock.base_url, session))
    (ours_rps, ours_cpu), (theirs_rps, theirs_cpu) = results["yunxin_ecp"], results["httpx"]
    print(
        f"python async client, {BATCHES} x {CONCURRENT} concurrent queries: AsyncClient {ours_rps:.0f} req/s "
        f"({ours_cpu:.0f} us CPU/req) vs hand-rolled httpx.AsyncClient + hashlib {theirs_rps:.0f} req/s "
        f"({theirs_cpu:.0f} us CPU/req): {ours_rps / theirs_rps:.2f}x the requests per second, "
        f"{ours_cpu / theirs_cpu:.2f}x the CPU per request"
    )


if __name__ == "__main__":
    main()

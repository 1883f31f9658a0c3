"""End to end in Python: yunxin_ecp.Client against a hand-rolled requests.Session client, both
sending sequential keep-alive queryBySession requests to the same local mock (in a child
process). Prints requests per second and client CPU per request for both.

Run: bash scripts/bench.sh"""
import time

import requests

import yunxin_ecp
from common import APP_KEY, APP_SECRET, MockProcess, hand_rolled_headers

N = 2000


def measure(fn) -> tuple[float, float]:
    """(requests per second, client CPU microseconds per request) over N calls."""
    fn()  # warm the connection
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(N):
        fn()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return N / wall, cpu / N * 1e6


def main() -> None:
    with MockProcess() as mock:
        client = yunxin_ecp.Client(APP_KEY, APP_SECRET, base_url=mock.base_url)
        session = client.start_call(
            caller_acc="liuxuanlin", caller="13888888888", callee="13777777777", max_dur=100
        ).session

        def library() -> None:
            record = client.query_session(session, kind="call")
            assert record.session == session

        http = requests.Session()
        # The baseline at its best: without this, requests re-reads the proxy environment on
        # every call (the library reads it once, when the client is built).
        http.trust_env = False
        url = mock.base_url + "/call/ecp/queryBySession.action"

        def hand_rolled() -> None:
            headers = hand_rolled_headers(APP_KEY, APP_SECRET)
            headers["Content-Type"] = "application/x-www-form-urlencoded;charset=utf-8"
            reply = http.post(url, data={"session": session, "type": "1"}, headers=headers, timeout=15)
            body = reply.json()
            assert body["code"] == 200 and body["obj"]["session"] == session

        results = {}
        for _ in range(2):  # interleaved rounds; keep the best of each
            for name, fn in (("requests", hand_rolled), ("yunxin_ecp", library)):
                rps, cpu = measure(fn)
                best = results.get(name)
                if best is None or rps > best[0]:
                    results[name] = (rps, cpu)
        (ours_rps, ours_cpu), (theirs_rps, theirs_cpu) = results["yunxin_ecp"], results["requests"]
        print(
            f"python client, {N} sequential keep-alive queries: yunxin_ecp {ours_rps:.0f} req/s "
            f"({ours_cpu:.0f} us CPU/req) vs requests.Session {theirs_rps:.0f} req/s "
            f"({theirs_cpu:.0f} us CPU/req): {ours_rps / theirs_rps:.2f}x the requests per second, "
            f"{theirs_cpu / ours_cpu:.2f}x less CPU (target >= 2x req/s)"
        )


if __name__ == "__main__":
    main()

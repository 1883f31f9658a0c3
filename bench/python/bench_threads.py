"""Concurrency: one yunxin_ecp.Client shared by 8 threads against 1 thread, with the mock adding
50 ms to every request. The speedup in throughput shows whether the GIL is released during I/O.

Run: bash scripts/bench.sh"""
import threading
import time

import yunxin_ecp
from common import APP_KEY, APP_SECRET, MockProcess

PER_THREAD = 20


def run(client: yunxin_ecp.Client, session: str, threads: int) -> float:
    """Requests per second with `threads` threads, each sending PER_THREAD queries."""
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(PER_THREAD):
                client.query_session(session, kind="call")
        except BaseException as e:  # reported below
            errors.append(e)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    began = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise errors[0]
    return threads * PER_THREAD / elapsed


def main() -> None:
    with MockProcess(latency_s=0.05) as mock:
        client = yunxin_ecp.Client(APP_KEY, APP_SECRET, base_url=mock.base_url)
        session = client.start_call(
            caller_acc="liuxuanlin", caller="13888888888", callee="13777777777", max_dur=100
        ).session
        run(client, session, 8)  # open the pooled connections
        one = run(client, session, 1)
        eight = run(client, session, 8)
        print(
            f"python threads, mock latency 50 ms: 1 thread {one:.1f} req/s, 8 threads sharing one "
            f"client {eight:.1f} req/s: speedup {eight / one:.2f}x (target >= 7)"
        )


if __name__ == "__main__":
    main()

"""The fault table's Python side: every fault the mock can inject, against yunxin_ecp.Client,
for a start call and for a query. Prints one tab-separated ROW per case and DONE at the end,
for scripts/fault-table.py. The outcome words are the same in every language."""
import sys
import time

import yunxin_ecp as yx
from yunxin_ecp.testing import MockServer

# (kind, ms, size): the same faults, in the same order, as every other language's program.
FAULTS = [
    ("delay", 1500, None),
    ("reset_before_response", None, None),
    ("reset_mid_body", None, None),
    ("html_502", None, None),
    ("empty_body", None, None),
    ("garbage_json", None, None),
    ("oversized", None, 4 * 1024 * 1024),
    ("rate_limited", None, None),
    ("server_error", None, None),
    ("busy_503", None, None),
]


def describe(error: "yx.YunxinError | None") -> str:
    if error is None:
        return "ok"
    if isinstance(error, yx.ApiError):
        return f"api {error.code} [{error.retry_advice}]"
    if isinstance(error, yx.ProtocolError):
        return f"protocol {error.kind} [{error.retry_advice}]"
    if isinstance(error, yx.TransportError):
        return f"transport {error.kind} sent={str(error.maybe_sent).lower()} [{error.retry_advice}]"
    return f"{type(error).__name__} [{error.retry_advice}]"


def main() -> None:
    with MockServer() as mock:
        client = yx.Client(
            credentials=mock.credentials,
            base_url=mock.base_url,
            timeout=1.0,
            connect_timeout=1.0,
            backoff=0.05,
        )
        call = dict(caller_acc="liuxuanlin", caller="13888888888", callee="13777777777", max_dur=100)
        session = client.start_call(**call).session
        for kind, ms, size in FAULTS:
            for operation in ("start_call", "query"):
                mock.clear_faults()
                mock.inject_fault(kind, times=1, ms=ms, size=size)
                began = time.perf_counter()
                error = None
                try:
                    if operation == "start_call":
                        client.start_call(**call)
                    else:
                        client.query_session(session, kind="call")
                except yx.YunxinError as e:
                    error = e
                took = (time.perf_counter() - began) * 1000
                print(f"ROW\t{kind}\t{operation}\t{describe(error)}\t{took:.0f}", flush=True)
                if kind == "delay":
                    time.sleep(max(0.0, 1.6 - took / 1000))  # let the delayed request finish
    print("DONE", flush=True)


if __name__ == "__main__":
    sys.exit(main())

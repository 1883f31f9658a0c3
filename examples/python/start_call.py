"""The documentation's start-call sample (发起单人专线电话), in Python.

The service rings the caller (13888888888), then the callee (13777777777), and bridges them; the
call is cut after ``max_dur`` seconds. By default this runs against a local mock of the service.
With ``--live`` it places a real, billable call with the credentials in ``YUNXIN_APP_KEY`` and
``YUNXIN_APP_SECRET``.

    python examples/python/start_call.py [--live]
"""

import sys

from yunxin_ecp import Client, YunxinError
from yunxin_ecp.testing import MockServer


def place_call(client: Client) -> int:
    try:
        started = client.start_call(
            caller_acc="liuxuanlin", caller="13888888888", callee="13777777777", max_dur=100
        )
    except YunxinError as e:
        # e.retry_advice == "outcome_unknown" means the call may exist: query, do not resend.
        print(f"not placed: {e}", file=sys.stderr)
        return 1
    print(f"session: {started.session}")
    record = client.query_session(started.session, kind="call")
    print(f"answered: {record.answered}, billed minutes: {record.billed_minutes}, cost: {record.cost} yuan")
    for leg in record.legs:
        print(f"  leg {leg.endpoint}: {leg.hang_cause}")
    return 0


def main(argv: list[str]) -> int:
    if "--live" in argv:
        return place_call(Client())
    with MockServer() as mock:
        print(f"using a local mock of the service at {mock.base_url}")
        return place_call(mock.client())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The documentation's start-conference sample (发起专线会议), in Python.

The caller (13888888888) and two callees join one phone conference. The callee list is sent as a
real JSON array (the official Java and C# samples send ``['...','...']``, which is not JSON). By
default this runs against a local mock of the service; ``--live`` places a real, billable
conference with the credentials in ``YUNXIN_APP_KEY`` and ``YUNXIN_APP_SECRET``.

    python examples/python/start_conference.py [--live]
"""

import sys

from yunxin_ecp import Client, ValidationError, YunxinError
from yunxin_ecp.testing import MockServer

CALLEES = ["13777777777", "13666666666"]


def place_conference(client: Client) -> int:
    try:
        started = client.start_conference(
            caller_acc="liuxuanlin", caller="13888888888", callees=CALLEES, max_dur=100
        )
    except ValidationError as e:
        print(f"refused before sending: {e} (field {e.field}, rule {e.rule})", file=sys.stderr)
        return 2
    except YunxinError as e:
        print(f"not placed: {e}", file=sys.stderr)
        return 1
    print(f"session: {started.session}")
    record = client.query_session(started.session, kind="conference")
    print(f"members: {', '.join(record.members or [])}")
    print(f"answered: {record.answered}, billed minutes: {record.billed_minutes}, cost: {record.cost} yuan")
    return 0


def main(argv: list[str]) -> int:
    if "--live" in argv:
        return place_conference(Client())
    with MockServer() as mock:
        print(f"using a local mock of the service at {mock.base_url}")
        return place_conference(mock.client())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The ``yunxin-ecp`` console script: the command's own Rust code, run through the native module."""

import logging
import signal
import sys

from ._native import run_cli


def main() -> None:
    # Ctrl-C stops the command (`yunxin-ecp mock` runs until then) as it stops the binary:
    # Python's own handler would only set a flag that the Rust code never reads.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    # `-v` turns the client's events on; here they reach `logging`, so print them as the binary
    # does, on standard error, and only them (the HTTP stack's own records stay below the root
    # logger's default WARNING). Without `-v` the command keeps them off.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("[%(levelname)s %(name)s] %(message)s"))
    events = logging.getLogger("yunxin_ecp")
    events.addHandler(handler)
    events.setLevel(logging.DEBUG)
    events.propagate = False
    sys.exit(run_cli(["yunxin-ecp", *sys.argv[1:]]))


if __name__ == "__main__":
    main()

"""A faithful local mock of the ECP service, for your own test suites.

``MockServer()`` starts in-process on an ephemeral port of 127.0.0.1 and runs until ``stop()``
or the end of a ``with`` block::

    from yunxin_ecp.testing import MockServer, Outcome

    with MockServer() as mock:
        mock.set_outcome("13777777777", Outcome.no_answer("USER_BUSY"))
        client = mock.client()
        started = client.start_call(
            caller_acc="liuxuanlin", caller="13888888888", callee="13777777777", max_dur=100
        )
        assert client.query_session(started.session).answered is False
        assert mock.start_count == 1

With pytest, the ``yunxin_mock`` fixture (registered automatically when this package is
installed) yields a fresh ``MockServer`` per test and stops it afterwards.
"""

from ._native import (
    FAULT_KINDS,
    SAMPLE_ACCIDS,
    SAMPLE_APP_KEY,
    SAMPLE_APP_SECRET,
    CallbackDelivery,
    MockServer,
    MockStats,
    Outcome,
    RecordedRequest,
)

__all__ = [
    "MockServer",
    "Outcome",
    "RecordedRequest",
    "CallbackDelivery",
    "MockStats",
    "FAULT_KINDS",
    "SAMPLE_ACCIDS",
    "SAMPLE_APP_KEY",
    "SAMPLE_APP_SECRET",
]

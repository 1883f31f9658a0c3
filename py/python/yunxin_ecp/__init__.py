"""NetEase YunXin server-API signing and the ECP (专线电话) API, from one Rust implementation.

Sign requests (``checksum``, ``Credentials.sign_now``), build them for your own HTTP client
(``StartCall(...).prepare(credentials)``) and parse the answers (``parse_start_response``,
``parse_query_response``), or let ``Client`` do the round trip. ``Exchange`` is the whole
attempt loop (signing, redirect refusal, size cap, retries, events) for your own HTTP stack. Verify call-end callbacks on the
raw body with ``CallbackVerifier``. Every failure is a ``YunxinError``. ``AsyncClient`` is the
same client for asyncio, on httpx (the ``async`` extra), and
``yunxin_ecp.integrations`` verifies callbacks in Flask, Django and FastAPI views.

``yunxin_ecp.testing`` holds a local mock of the service for your own tests, and
``yunxin_ecp.server`` the service's side (signature checks and parameter reading).

The client's events (request sent, response, retry, gave up; never a header, a body or a full
phone number) reach the standard ``logging`` module under the logger ``"yunxin_ecp"``. Levels
are cached after the first event: call ``refresh_logging()`` after changing them at run time.
The ``yunxin-ecp`` command comes with the package (``yunxin-ecp --help``).
"""

import logging
from typing import Union

from ._async import AsyncClient
from ._errors import (
    ApiError,
    AuthRefusedError,
    CallbackVerificationError,
    DeliveryStoreError,
    ProtocolError,
    TimeoutError,
    TransportError,
    ValidationError,
    YunxinError,
)
from ._native import (
    DEFAULT_BASE_URL,
    DEFAULT_TOLERANCE_MS,
    ApiRequest,
    Attempt,
    AuthHeaders,
    CallbackVerifier,
    CallEndEvent,
    CallRecord,
    Client,
    Cost,
    Credentials,
    Delivery,
    DeliveryGuard,
    Exchange,
    Leg,
    Next,
    OtherEvent,
    PreparedRequest,
    QueryBySession,
    StartCall,
    StartConference,
    Started,
    __version__,
    checksum,
    generate_nonce,
    parse_callback,
    parse_query_response,
    parse_start_response,
    refresh_logging,
    sign_callback,
)

# A library's logger stays silent until the application configures logging (no "gave up" lines
# on standard error through logging's last-resort handler).
logging.getLogger("yunxin_ecp").addHandler(logging.NullHandler())

CallbackEvent = Union[CallEndEvent, OtherEvent]
"""What a callback carries: ``CallEndEvent`` for a finished call, ``OtherEvent`` otherwise."""

__all__ = [
    "__version__",
    "DEFAULT_BASE_URL",
    "DEFAULT_TOLERANCE_MS",
    "checksum",
    "generate_nonce",
    "Credentials",
    "AuthHeaders",
    "StartCall",
    "StartConference",
    "QueryBySession",
    "PreparedRequest",
    "ApiRequest",
    "parse_start_response",
    "parse_query_response",
    "Started",
    "CallRecord",
    "Leg",
    "Cost",
    "CallbackVerifier",
    "CallbackEvent",
    "CallEndEvent",
    "OtherEvent",
    "parse_callback",
    "sign_callback",
    "Delivery",
    "DeliveryGuard",
    "Client",
    "AsyncClient",
    "Exchange",
    "Attempt",
    "Next",
    "refresh_logging",
    "YunxinError",
    "ValidationError",
    "ApiError",
    "ProtocolError",
    "TransportError",
    "TimeoutError",
    "CallbackVerificationError",
    "AuthRefusedError",
    "DeliveryStoreError",
]

"""Verified call-end callbacks in FastAPI (and Starlette) endpoints.

::

    from fastapi import Depends, FastAPI
    from yunxin_ecp import CallbackEvent, CallbackVerifier, CallEndEvent, Credentials
    from yunxin_ecp.integrations.fastapi import CallbackAnswered, callback_refused_handler, verified_callback

    verifier = CallbackVerifier(Credentials.from_env())
    app = FastAPI(exception_handlers={CallbackAnswered: callback_refused_handler})

    @app.post("/ecp/callback")
    async def ecp_callback(event: CallbackEvent = Depends(verified_callback(verifier))) -> dict:
        if isinstance(event, CallEndEvent):
            ...  # a repeated delivery never gets here twice (see below)
        return {}

``verified_callback(verifier)`` is a dependency with ``yield``: it reads the raw body from
``request.stream()``, verifies it against the request's headers exactly as received (every copy
of each) and yields the verified ``CallEndEvent`` or ``OtherEvent``; the endpoint can still read
the body with ``await request.body()``. A refused callback raises ``CallbackRefused``, an
``HTTPException`` with status 403 (400 when the body is not a callback): FastAPI answers it with
``{"detail": {"error": "callback refused", "reason": ...}}``, or, with
``callback_refused_handler`` installed for ``CallbackAnswered`` as above, with
``{"error": "callback refused", "reason": ...}``. A repeated delivery raises
``CallbackNotHandled`` (200 for one handled before, 409 while another request handles it, 503
when the guard's store fails); when the endpoint returns, the delivery is recorded as handled,
and when it raises, released so that the sender's next attempt is handled. On FastAPI 0.121 or
later, write ``Depends(verify, scope="function")``: the delivery is then recorded before the answer
goes out (with the default scope FastAPI runs that step after sending the answer, and a
redelivery arriving in between is answered 409, to come again later). In a Starlette
endpoint: ``async with verify.handling(request) as event:`` with
``verify = verified_callback(verifier)``, and the handler installed for the JSON answer.

A body longer than ``max_body_bytes`` (``DEFAULT_MAX_BODY_BYTES``, 1 MiB, unless given) raises
``CallbackTooLarge``, a ``CallbackRefused`` with status 413 and the reason ``"too_large"``: at
once when the ``Content-Length`` header says so (nothing is received), otherwise as soon as the
body received passes the limit (it stops receiving after the chunk that crossed it; the ASGI
server decides how large a chunk is, uvicorn's are at most 64 KiB). An endpoint with a body
parameter has FastAPI read the whole body before any dependency runs: keep the callback
endpoint free of one.
"""

import logging
from contextlib import asynccontextmanager
from typing import Any, AsyncContextManager, AsyncIterator, Dict, List, Optional, Tuple, Union

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from .._errors import CallbackVerificationError
from .._native import CallbackVerifier, CallEndEvent, Delivery, DeliveryGuard, OtherEvent
from . import (
    DEFAULT_MAX_BODY_BYTES,
    _checked_limit,
    _claim,
    _declared_too_large,
    _guard,
    _settle,
    _too_large,
    refusal,
)

__all__ = [
    "verified_callback",
    "VerifiedCallback",
    "CallbackAnswered",
    "CallbackRefused",
    "CallbackTooLarge",
    "CallbackNotHandled",
    "callback_refused_handler",
]

_log = logging.getLogger("yunxin_ecp.integrations")

_Event = Union[CallEndEvent, OtherEvent]


class CallbackAnswered(HTTPException):
    """A callback answered without the endpoint: ``payload`` is the answer's JSON (also the
    ``detail``). ``callback_refused_handler`` answers every kind with its status and payload."""

    detail: Any  # FastAPI answers any JSON value as {"detail": ...}

    def _answer(self, status: int, payload: Dict[str, str]) -> None:
        HTTPException.__init__(self, status_code=status)
        self.detail = payload
        self.payload: Dict[str, str] = payload


class CallbackRefused(CallbackAnswered):
    """A call-end callback was refused: status 403, or 400 for a body that is not a callback
    (413 for the subclass ``CallbackTooLarge``).

    ``payload`` is the answer's JSON, ``{"error": "callback refused", "reason": ...}`` (also the
    ``detail``), and ``error`` the ``CallbackVerificationError`` (None for a body too large).
    """

    def __init__(self, error: CallbackVerificationError) -> None:
        self._answer(*refusal(error))
        self.error: Optional[CallbackVerificationError] = error


class CallbackTooLarge(CallbackRefused):
    """A callback body longer than ``max_body_bytes``: status 413, reason ``"too_large"``;
    ``error`` is None. ``callback_refused_handler`` answers it like any ``CallbackRefused``."""

    def __init__(self, max_body_bytes: int) -> None:
        self._answer(*_too_large())
        self.error = None
        self.max_body_bytes = max_body_bytes


class CallbackNotHandled(CallbackAnswered):
    """A verified delivery the endpoint does not handle (again): a repeat of one handled before
    (200, ``{"result": "duplicate"}``), one another request is handling (409), or a failed
    delivery store (503). ``claim`` says which: ``"duplicate"``, ``"in_progress"`` or
    ``"store_unavailable"``."""

    def __init__(self, claim: str, answer: Tuple[int, Dict[str, str]]) -> None:
        self._answer(*answer)
        self.claim = claim


async def callback_refused_handler(request: Request, exc: Exception) -> JSONResponse:
    """Answers any ``CallbackAnswered`` (a refusal, a repeat) with its status and JSON."""
    if not isinstance(exc, CallbackAnswered):  # registered for another class by mistake
        raise exc
    return JSONResponse(exc.payload, status_code=exc.status_code)


class VerifiedCallback:
    """The dependency ``verified_callback`` returns. FastAPI runs it around the endpoint: it
    yields the verified event, then records the delivery as handled when the endpoint returns,
    or releases it when the endpoint raises (so the sender's next attempt is handled).

    In a Starlette endpoint, use ``async with verify.handling(request) as event:`` around the
    work: the same, without FastAPI."""

    def __init__(self, verifier: CallbackVerifier, limit: int, deliveries: Optional[DeliveryGuard]) -> None:
        self._verifier = verifier
        self._limit = limit
        self._deliveries = deliveries

    async def __call__(self, request: Request) -> AsyncIterator[_Event]:
        event, delivery = await self._verify(request)
        try:
            yield event
        except BaseException:
            _settle(self._deliveries, delivery, False)
            raise
        _settle(self._deliveries, delivery, True)

    def handling(self, request: Request) -> AsyncContextManager[_Event]:
        """The verified event for the block's work, settled as the dependency settles it; raises
        ``CallbackAnswered`` instead when the callback is refused or not to be handled (again)."""
        return asynccontextmanager(self.__call__)(request)

    async def _verify(self, request: Request) -> Tuple[_Event, Delivery]:
        body = await _body(request, self._limit)
        if body is None:
            _log.warning(
                "call-end callback refused (too_large, over %d bytes) from %s", self._limit, _client(request)
            )
            raise CallbackTooLarge(self._limit)
        try:
            # The ASGI scope's raw (name, value) pairs: every copy of a header, no decoding.
            delivery, event = self._verifier.verify_delivery(body, request.scope["headers"])
        except CallbackVerificationError as e:
            _log.warning("call-end callback refused (%s) from %s", e.reason, _client(request))
            raise CallbackRefused(e) from None
        claimed = _claim(self._deliveries, delivery)
        if claimed is not None:
            reason = claimed[1].get("reason", claimed[1].get("result", ""))
            raise CallbackNotHandled(reason, claimed)
        return event, delivery


def verified_callback(
    verifier: CallbackVerifier,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    guard: Optional[DeliveryGuard] = None,
    deduplicate: bool = True,
) -> VerifiedCallback:
    """A dependency yielding the verified callback, or raising ``CallbackRefused``
    (``CallbackTooLarge`` for a body over ``max_body_bytes``, a positive number of bytes) or
    ``CallbackNotHandled`` for a repeated delivery (see the package's docs; ``guard``,
    ``deduplicate``)."""
    if not isinstance(verifier, CallbackVerifier):
        raise TypeError(f"verified_callback takes a CallbackVerifier, not {type(verifier).__name__}")
    return VerifiedCallback(verifier, _checked_limit(max_body_bytes), _guard(guard, deduplicate))


async def _body(request: Request, limit: int) -> Optional[bytes]:
    """The raw body, or None when it is longer than ``limit``: refused on its ``Content-Length``
    before anything is received, else received chunk by chunk and given up on after the chunk
    that passes the limit."""
    if _declared_too_large(request.headers.get("content-length"), limit):
        return None
    chunks: List[bytes] = []
    size = 0
    stream = request.stream()
    try:
        async for chunk in stream:
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
    finally:
        await stream.aclose()
    body = b"".join(chunks)
    # Where request.body() looks first (Starlette caches the body there): the endpoint reads the
    # same bytes again.
    request._body = body
    return body


def _client(request: Request) -> Optional[str]:
    return request.client.host if request.client else None

"""Verified call-end callbacks in FastAPI (and Starlette) endpoints.

::

    from fastapi import Depends, FastAPI
    from yunxin_ecp import CallbackEvent, CallbackVerifier, CallEndEvent, Credentials
    from yunxin_ecp.integrations.fastapi import CallbackRefused, callback_refused_handler, verified_callback

    verifier = CallbackVerifier(Credentials.from_env())
    app = FastAPI(exception_handlers={CallbackRefused: callback_refused_handler})

    @app.post("/ecp/callback")
    async def ecp_callback(event: CallbackEvent = Depends(verified_callback(verifier))) -> dict:
        if isinstance(event, CallEndEvent):
            ...  # deduplicate on event.session: delivery can repeat
        return {}

``verified_callback(verifier)`` is an async dependency: it reads the raw body from
``request.stream()``, verifies it against the request's headers exactly as received (every copy
of each) and returns the verified ``CallEndEvent`` or ``OtherEvent``; the endpoint can still read
the body with ``await request.body()``. A refused callback raises ``CallbackRefused``, an
``HTTPException`` with status 403 (400 when the body is not a callback): FastAPI answers it with
``{"detail": {"error": "callback refused", "reason": ...}}``, or, with
``callback_refused_handler`` installed as above, with
``{"error": "callback refused", "reason": ...}``. In a Starlette endpoint, call it directly:
``event = await verify(request)`` with ``verify = verified_callback(verifier)``, and install the
handler for the JSON answer.

A body longer than ``max_body_bytes`` (``DEFAULT_MAX_BODY_BYTES``, 1 MiB, unless given) raises
``CallbackTooLarge``, a ``CallbackRefused`` with status 413 and the reason ``"too_large"``: at
once when the ``Content-Length`` header says so (nothing is received), otherwise as soon as the
body received passes the limit (it stops receiving after the chunk that crossed it; the ASGI
server decides how large a chunk is, uvicorn's are at most 64 KiB). An endpoint with a body
parameter has FastAPI read the whole body before any dependency runs: keep the callback
endpoint free of one.
"""

import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional, Union

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from .._errors import CallbackVerificationError
from .._native import CallbackVerifier, CallEndEvent, OtherEvent
from . import DEFAULT_MAX_BODY_BYTES, _checked_limit, _declared_too_large, _too_large, refusal

__all__ = ["verified_callback", "CallbackRefused", "CallbackTooLarge", "callback_refused_handler"]

_log = logging.getLogger("yunxin_ecp.integrations")

_Event = Union[CallEndEvent, OtherEvent]


class CallbackRefused(HTTPException):
    """A call-end callback was refused: status 403, or 400 for a body that is not a callback
    (413 for the subclass ``CallbackTooLarge``).

    ``payload`` is the answer's JSON, ``{"error": "callback refused", "reason": ...}`` (also the
    ``detail``), and ``error`` the ``CallbackVerificationError`` (None for a body too large).
    """

    detail: Any  # FastAPI answers any JSON value as {"detail": ...}

    def __init__(self, error: CallbackVerificationError) -> None:
        self._refuse(*refusal(error))
        self.error: Optional[CallbackVerificationError] = error

    def _refuse(self, status: int, payload: Dict[str, str]) -> None:
        HTTPException.__init__(self, status_code=status)
        self.detail = payload
        self.payload: Dict[str, str] = payload


class CallbackTooLarge(CallbackRefused):
    """A callback body longer than ``max_body_bytes``: status 413, reason ``"too_large"``;
    ``error`` is None. ``callback_refused_handler`` answers it like any ``CallbackRefused``."""

    def __init__(self, max_body_bytes: int) -> None:
        self._refuse(*_too_large())
        self.error = None
        self.max_body_bytes = max_body_bytes


async def callback_refused_handler(request: Request, exc: Exception) -> JSONResponse:
    """Answers ``CallbackRefused`` with its status and ``{"error": ..., "reason": ...}``."""
    if not isinstance(exc, CallbackRefused):  # registered for another class by mistake
        raise exc
    return JSONResponse(exc.payload, status_code=exc.status_code)


def verified_callback(
    verifier: CallbackVerifier, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
) -> Callable[[Request], Awaitable[_Event]]:
    """An async dependency returning the verified callback, or raising ``CallbackRefused``
    (``CallbackTooLarge`` for a body over ``max_body_bytes``, a positive number of bytes)."""
    if not isinstance(verifier, CallbackVerifier):
        raise TypeError(f"verified_callback takes a CallbackVerifier, not {type(verifier).__name__}")
    limit = _checked_limit(max_body_bytes)

    async def verified_callback_event(request: Request) -> _Event:
        body = await _body(request, limit)
        if body is None:
            _log.warning("call-end callback refused (too_large, over %d bytes) from %s", limit, _client(request))
            raise CallbackTooLarge(limit)
        try:
            # The ASGI scope's raw (name, value) pairs: every copy of a header, no decoding.
            return verifier.verify_and_parse(body, request.scope["headers"])
        except CallbackVerificationError as e:
            _log.warning("call-end callback refused (%s) from %s", e.reason, _client(request))
            raise CallbackRefused(e) from None

    return verified_callback_event


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

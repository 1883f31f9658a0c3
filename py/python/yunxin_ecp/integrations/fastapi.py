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

``verified_callback(verifier)`` is an async dependency: it reads the raw body with
``await request.body()``, verifies it against the request's headers exactly as received (every
copy of each) and returns the verified ``CallEndEvent`` or ``OtherEvent``. A refused callback
raises ``CallbackRefused``, an ``HTTPException`` with status 403 (400 when the body is not a
callback): FastAPI answers it with ``{"detail": {"error": "callback refused", "reason": ...}}``,
or, with ``callback_refused_handler`` installed as above, with
``{"error": "callback refused", "reason": ...}``. In a Starlette endpoint, call it directly:
``event = await verify(request)`` with ``verify = verified_callback(verifier)``, and install the
handler for the JSON answer.
"""

import logging
from typing import Any, Awaitable, Callable, Dict, Union

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from .._errors import CallbackVerificationError
from .._native import CallbackVerifier, CallEndEvent, OtherEvent
from . import refusal

__all__ = ["verified_callback", "CallbackRefused", "callback_refused_handler"]

_log = logging.getLogger("yunxin_ecp.integrations")

_Event = Union[CallEndEvent, OtherEvent]


class CallbackRefused(HTTPException):
    """A call-end callback was refused: status 403, or 400 for a body that is not a callback.

    ``payload`` is the answer's JSON, ``{"error": "callback refused", "reason": ...}`` (also the
    ``detail``), and ``error`` the ``CallbackVerificationError``.
    """

    detail: Any  # FastAPI answers any JSON value as {"detail": ...}

    def __init__(self, error: CallbackVerificationError) -> None:
        status, payload = refusal(error)
        super().__init__(status_code=status)
        self.detail = payload
        self.payload: Dict[str, str] = payload
        self.error = error


async def callback_refused_handler(request: Request, exc: Exception) -> JSONResponse:
    """Answers ``CallbackRefused`` with its status and ``{"error": ..., "reason": ...}``."""
    if not isinstance(exc, CallbackRefused):  # registered for another class by mistake
        raise exc
    return JSONResponse(exc.payload, status_code=exc.status_code)


def verified_callback(verifier: CallbackVerifier) -> Callable[[Request], Awaitable[_Event]]:
    """An async dependency returning the verified callback, or raising ``CallbackRefused``."""
    if not isinstance(verifier, CallbackVerifier):
        raise TypeError(f"verified_callback takes a CallbackVerifier, not {type(verifier).__name__}")

    async def verified_callback_event(request: Request) -> _Event:
        body = await request.body()
        try:
            # The ASGI scope's raw (name, value) pairs: every copy of a header, no decoding.
            return verifier.verify_and_parse(body, request.scope["headers"])
        except CallbackVerificationError as e:
            client = request.client.host if request.client else None
            _log.warning("call-end callback refused (%s) from %s", e.reason, client)
            raise CallbackRefused(e) from None

    return verified_callback_event

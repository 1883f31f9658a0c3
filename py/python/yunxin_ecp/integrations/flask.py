"""Verified call-end callbacks in Flask views.

::

    from flask import Flask
    from yunxin_ecp import CallbackVerifier, CallEndEvent, Credentials
    from yunxin_ecp.integrations.flask import verified_callback

    app = Flask(__name__)
    verifier = CallbackVerifier(Credentials.from_env())

    @app.post("/ecp/callback")
    @verified_callback(verifier)
    def ecp_callback(event):
        if isinstance(event, CallEndEvent):
            ...  # deduplicate on event.session: delivery can repeat
        return "", 200

The decorator reads the raw body from ``request.stream`` in bounded chunks, verifies it against
``request.headers`` and passes the verified ``CallEndEvent`` or ``OtherEvent`` as the keyword
argument ``event``; the view can still read the body with ``request.get_data()``. A refused
callback never reaches the view: it is answered with 403 (400 when the body is not a callback)
and ``{"error": "callback refused", "reason": "<reason>"}``. Async views (``flask[async]``) work
too.

A body longer than ``max_body_bytes`` (``DEFAULT_MAX_BODY_BYTES``, 1 MiB, unless given) is
answered 413 with ``{"error": "callback refused", "reason": "too_large"}``: at once when
``request.content_length`` says so (nothing is read), otherwise as soon as the chunked body
passes the limit. An app-wide ``MAX_CONTENT_LENGTH`` below it still applies first.
"""

import functools
import inspect
import logging
from typing import Any, Callable, Dict, Optional, Tuple, Union

import flask

from .._errors import CallbackVerificationError
from .._native import CallbackVerifier, CallEndEvent, OtherEvent
from . import DEFAULT_MAX_BODY_BYTES, _checked_limit, _declared_too_large, _read_capped, _too_large, refusal

__all__ = ["verified_callback"]

_log = logging.getLogger("yunxin_ecp.integrations")

_Event = Union[CallEndEvent, OtherEvent]


def verified_callback(
    verifier: CallbackVerifier, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A view decorator that verifies the call-end callback and passes it as ``event=``; a body
    over ``max_body_bytes`` (a positive number of bytes) is answered 413 unread."""
    if not isinstance(verifier, CallbackVerifier):
        raise TypeError(f"verified_callback takes a CallbackVerifier, not {type(verifier).__name__}")
    limit = _checked_limit(max_body_bytes)

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_verified(*args: Any, **kwargs: Any) -> Any:
                event, refused = _verify(verifier, limit)
                if refused is not None:
                    return refused
                return await view(*args, event=event, **kwargs)

            return async_verified

        @functools.wraps(view)
        def verified(*args: Any, **kwargs: Any) -> Any:
            event, refused = _verify(verifier, limit)
            if refused is not None:
                return refused
            return view(*args, event=event, **kwargs)

        return verified

    return decorator


def _verify(verifier: CallbackVerifier, limit: int) -> Tuple[Optional[_Event], Optional[flask.Response]]:
    request = flask.request
    body = _body(request, limit)
    if body is None:
        status, payload = _too_large()
        _log.warning("call-end callback refused (too_large, over %d bytes) from %s", limit, request.remote_addr)
        return None, _json(payload, status)
    try:
        return verifier.verify_and_parse(body, request.headers), None
    except CallbackVerificationError as e:
        status, payload = refusal(e)
        _log.warning("call-end callback refused (%s) from %s", e.reason, request.remote_addr)
        return None, _json(payload, status)


def _body(request: flask.Request, limit: int) -> Optional[bytes]:
    """The raw body, or None when it is longer than ``limit``: refused on its ``Content-Length``
    before anything is read, else read from ``request.stream`` no further than ``limit + 1``
    bytes (never ``get_data()``, which reads to the end however long that is)."""
    if _declared_too_large(request.headers.get("Content-Length"), limit):
        return None
    # Already read (get_data() in a before_request hook, say): Werkzeug keeps it here.
    cached = getattr(request, "_cached_data", None)
    if isinstance(cached, bytes):
        return cached if len(cached) <= limit else None
    body = _read_capped(request.stream.read, limit)
    if body is not None:
        # Where get_data(), .json and the form parser look first: the view reads the same bytes.
        request._cached_data = body
    return body


def _json(payload: Dict[str, str], status: int) -> flask.Response:
    response = flask.jsonify(payload)
    response.status_code = status
    return response

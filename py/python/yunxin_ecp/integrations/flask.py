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
from .._native import CallbackVerifier, CallEndEvent, Delivery, DeliveryGuard, OtherEvent
from . import (
    DEFAULT_MAX_BODY_BYTES,
    _checked_limit,
    _claim,
    _declared_too_large,
    _guard,
    _read_capped,
    _settle,
    _too_large,
    refusal,
)

__all__ = ["verified_callback"]

_log = logging.getLogger("yunxin_ecp.integrations")

_Event = Union[CallEndEvent, OtherEvent]


def verified_callback(
    verifier: CallbackVerifier,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    guard: Optional[DeliveryGuard] = None,
    deduplicate: bool = True,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A view decorator that verifies the call-end callback and passes it as ``event=``; a body
    over ``max_body_bytes`` (a positive number of bytes) is answered 413 unread. A repeated
    delivery is answered without the view (see the package's docs; ``guard``, ``deduplicate``)."""
    if not isinstance(verifier, CallbackVerifier):
        raise TypeError(f"verified_callback takes a CallbackVerifier, not {type(verifier).__name__}")
    limit = _checked_limit(max_body_bytes)
    deliveries = _guard(guard, deduplicate)

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_verified(*args: Any, **kwargs: Any) -> Any:
                outcome = _verify(verifier, deliveries, limit)
                if isinstance(outcome, flask.Response):
                    return outcome
                event, delivery = outcome
                try:
                    response = flask.make_response(await view(*args, event=event, **kwargs))
                except BaseException:
                    _settle(deliveries, delivery, False)
                    raise
                _settle(deliveries, delivery, 200 <= response.status_code < 300)
                return response

            return async_verified

        @functools.wraps(view)
        def verified(*args: Any, **kwargs: Any) -> Any:
            outcome = _verify(verifier, deliveries, limit)
            if isinstance(outcome, flask.Response):
                return outcome
            event, delivery = outcome
            try:
                response = flask.make_response(view(*args, event=event, **kwargs))
            except BaseException:
                _settle(deliveries, delivery, False)
                raise
            _settle(deliveries, delivery, 200 <= response.status_code < 300)
            return response

        return verified

    return decorator


def _verify(
    verifier: CallbackVerifier, deliveries: Optional[DeliveryGuard], limit: int
) -> Union[Tuple[_Event, Delivery], flask.Response]:
    """The verified event and its delivery, or the answer that ends the request here."""
    request = flask.request
    body = _body(request, limit)
    if body is None:
        status, payload = _too_large()
        _log.warning("call-end callback refused (too_large, over %d bytes) from %s", limit, request.remote_addr)
        return _json(payload, status)
    try:
        delivery, event = verifier.verify_delivery(body, request.headers)
    except CallbackVerificationError as e:
        status, payload = refusal(e)
        _log.warning("call-end callback refused (%s) from %s", e.reason, request.remote_addr)
        return _json(payload, status)
    claimed = _claim(deliveries, delivery)
    if claimed is not None:
        return _json(claimed[1], claimed[0])
    return event, delivery


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

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

The decorator reads the raw body with ``request.get_data(cache=True)`` (the view can still read
it), verifies it against ``request.headers`` and passes the verified ``CallEndEvent`` or
``OtherEvent`` as the keyword argument ``event``. A refused callback never reaches the view: it
is answered with 403 (400 when the body is not a callback) and
``{"error": "callback refused", "reason": "<reason>"}``. Async views (``flask[async]``) work too.
"""

import functools
import inspect
import logging
from typing import Any, Callable, Optional, Tuple, Union

import flask

from .._errors import CallbackVerificationError
from .._native import CallbackVerifier, CallEndEvent, OtherEvent
from . import refusal

__all__ = ["verified_callback"]

_log = logging.getLogger("yunxin_ecp.integrations")

_Event = Union[CallEndEvent, OtherEvent]


def verified_callback(verifier: CallbackVerifier) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A view decorator that verifies the call-end callback and passes it as ``event=``."""
    if not isinstance(verifier, CallbackVerifier):
        raise TypeError(f"verified_callback takes a CallbackVerifier, not {type(verifier).__name__}")

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_verified(*args: Any, **kwargs: Any) -> Any:
                event, refused = _verify(verifier)
                if refused is not None:
                    return refused
                return await view(*args, event=event, **kwargs)

            return async_verified

        @functools.wraps(view)
        def verified(*args: Any, **kwargs: Any) -> Any:
            event, refused = _verify(verifier)
            if refused is not None:
                return refused
            return view(*args, event=event, **kwargs)

        return verified

    return decorator


def _verify(verifier: CallbackVerifier) -> Tuple[Optional[_Event], Optional[flask.Response]]:
    request = flask.request
    body = request.get_data(cache=True)
    try:
        return verifier.verify_and_parse(body, request.headers), None
    except CallbackVerificationError as e:
        status, payload = refusal(e)
        _log.warning("call-end callback refused (%s) from %s", e.reason, request.remote_addr)
        response = flask.jsonify(payload)
        response.status_code = status
        return None, response

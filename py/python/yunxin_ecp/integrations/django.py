"""Verified call-end callbacks in Django function views.

::

    from django.http import HttpResponse
    from yunxin_ecp import CallbackVerifier, CallEndEvent, Credentials
    from yunxin_ecp.integrations.django import verified_callback

    verifier = CallbackVerifier(Credentials.from_env())

    @verified_callback(verifier)
    def ecp_callback(request, event):
        if isinstance(event, CallEndEvent):
            ...  # deduplicate on event.session: delivery can repeat
        return HttpResponse(status=200)

The decorated view is exempt from CSRF protection (YunXin cannot send a token: the signature is
the protection) and answers anything but POST with 405. It verifies the raw ``request.body``
against ``request.headers`` and calls the view as ``view(request, event, *args, **kwargs)`` with
the verified ``CallEndEvent`` or ``OtherEvent``. A refused callback never reaches the view: it
is answered with 403 (400 when the body is not a callback) and
``{"error": "callback refused", "reason": "<reason>"}``. Async views work too.
"""

import functools
import inspect
import logging
from typing import Any, Callable, Optional, Tuple, Union

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse

from .._errors import CallbackVerificationError
from .._native import CallbackVerifier, CallEndEvent, OtherEvent
from . import refusal

__all__ = ["verified_callback"]

_log = logging.getLogger("yunxin_ecp.integrations")

_Event = Union[CallEndEvent, OtherEvent]


def verified_callback(verifier: CallbackVerifier) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A function-view decorator: CSRF-exempt, POST only, the verified callback passed as the
    view's second argument."""
    if not isinstance(verifier, CallbackVerifier):
        raise TypeError(f"verified_callback takes a CallbackVerifier, not {type(verifier).__name__}")

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        wrapped: Callable[..., Any]
        if inspect.iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_verified(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                event, refused = _verify(verifier, request)
                if refused is not None:
                    return refused
                return await view(request, event, *args, **kwargs)

            wrapped = async_verified
        else:

            @functools.wraps(view)
            def verified(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                event, refused = _verify(verifier, request)
                if refused is not None:
                    return refused
                return view(request, event, *args, **kwargs)

            wrapped = verified
        # What django.views.decorators.csrf.csrf_exempt sets, for sync and async views alike.
        setattr(wrapped, "csrf_exempt", True)
        return wrapped

    return decorator


def _verify(verifier: CallbackVerifier, request: HttpRequest) -> Tuple[Optional[_Event], Optional[HttpResponse]]:
    if request.method != "POST":
        return None, HttpResponseNotAllowed(["POST"])
    try:
        return verifier.verify_and_parse(request.body, request.headers), None
    except CallbackVerificationError as e:
        status, payload = refusal(e)
        _log.warning("call-end callback refused (%s) from %s", e.reason, request.META.get("REMOTE_ADDR"))
        return None, JsonResponse(payload, status=status)

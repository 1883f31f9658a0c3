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

A body longer than ``max_body_bytes`` (``DEFAULT_MAX_BODY_BYTES``, 1 MiB, unless given) is
answered 413 with ``{"error": "callback refused", "reason": "too_large"}``: at once when
``CONTENT_LENGTH`` says so (nothing is read), otherwise as soon as the body read passes the
limit. The body is read in bounded chunks and kept where ``request.body`` finds it, so the view
reads the same bytes. This limit is the decorator's own: Django's
``DATA_UPLOAD_MAX_MEMORY_SIZE`` may be ``None``, and not every Django version applies it to a
body without ``Content-Length``. Under ASGI, Django itself spools the whole body to a temporary
file (memory up to ``FILE_UPLOAD_MAX_MEMORY_SIZE``, the rest on disk) before any view runs:
bound the request size in the ASGI server or the proxy in front of it as well.
"""

import functools
import io
import inspect
import logging
from typing import Any, Callable, Optional, Tuple, Union

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse

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
    """A function-view decorator: CSRF-exempt, POST only, the verified callback passed as the
    view's second argument; a body over ``max_body_bytes`` (a positive number of bytes) is
    answered 413 unread. A repeated delivery is answered without the view (see the package's
    docs; ``guard``, ``deduplicate``)."""
    if not isinstance(verifier, CallbackVerifier):
        raise TypeError(f"verified_callback takes a CallbackVerifier, not {type(verifier).__name__}")
    limit = _checked_limit(max_body_bytes)
    deliveries = _guard(guard, deduplicate)

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        wrapped: Callable[..., Any]
        if inspect.iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_verified(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                outcome = _verify(verifier, deliveries, request, limit)
                if isinstance(outcome, HttpResponse):
                    return outcome
                event, delivery = outcome
                try:
                    response = await view(request, event, *args, **kwargs)
                except BaseException:
                    _settle(deliveries, delivery, False)
                    raise
                _settle(deliveries, delivery, _succeeded(response))
                return response

            wrapped = async_verified
        else:

            @functools.wraps(view)
            def verified(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                outcome = _verify(verifier, deliveries, request, limit)
                if isinstance(outcome, HttpResponse):
                    return outcome
                event, delivery = outcome
                try:
                    response = view(request, event, *args, **kwargs)
                except BaseException:
                    _settle(deliveries, delivery, False)
                    raise
                _settle(deliveries, delivery, _succeeded(response))
                return response

            wrapped = verified
        # What django.views.decorators.csrf.csrf_exempt sets, for sync and async views alike.
        setattr(wrapped, "csrf_exempt", True)
        return wrapped

    return decorator


def _succeeded(response: Any) -> bool:
    """Whether the view's answer is a 2xx (anything without a status counts as handled)."""
    status = getattr(response, "status_code", 200)
    return isinstance(status, int) and 200 <= status < 300


def _verify(
    verifier: CallbackVerifier, deliveries: Optional[DeliveryGuard], request: HttpRequest, limit: int
) -> Union[Tuple[_Event, Delivery], HttpResponse]:
    """The verified event and its delivery, or the answer that ends the request here."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    body = _body(request, limit)
    if body is None:
        status, payload = _too_large()
        _log.warning(
            "call-end callback refused (too_large, over %d bytes) from %s", limit, request.META.get("REMOTE_ADDR")
        )
        return JsonResponse(payload, status=status)
    try:
        delivery, event = verifier.verify_delivery(body, request.headers)
    except CallbackVerificationError as e:
        status, payload = refusal(e)
        _log.warning("call-end callback refused (%s) from %s", e.reason, request.META.get("REMOTE_ADDR"))
        return JsonResponse(payload, status=status)
    claimed = _claim(deliveries, delivery)
    if claimed is not None:
        return JsonResponse(claimed[1], status=claimed[0])
    return event, delivery


def _body(request: HttpRequest, limit: int) -> Optional[bytes]:
    """The raw body, or None when it is longer than ``limit``: refused on its ``CONTENT_LENGTH``
    before anything is read, else read with ``request.read()`` no further than ``limit + 1``
    bytes."""
    if _declared_too_large(request.META.get("CONTENT_LENGTH"), limit):
        return None
    if hasattr(request, "_body") or getattr(request, "_read_started", False):
        # Read already (a middleware used request.body): it is in memory. Or the stream was
        # read some other way, and request.body raises Django's own RawPostDataException.
        held = request.body
        return held if len(held) <= limit else None
    body = _read_capped(request.read, limit)
    if body is not None:
        # What request.body itself does after reading: the view (and request.POST) read the same
        # bytes again.
        request._body = body
        request._stream = io.BytesIO(body)
    return body

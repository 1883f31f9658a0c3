"""Call-end callbacks verified in web frameworks, on the raw body each framework received.

``yunxin_ecp.integrations.flask``, ``.django`` and ``.fastapi`` (also for Starlette) each offer
``verified_callback(verifier, *, max_body_bytes=DEFAULT_MAX_BODY_BYTES)``: a view decorator
(Flask, Django) or a dependency (FastAPI) that hands the handler the verified ``CallEndEvent`` or
``OtherEvent`` and answers a refused callback itself, with 403 (400 for a body that is not a
callback) and a small JSON body such as
``{"error": "callback refused", "reason": "checksum_mismatch"}``. The body and the headers are
never echoed. Each module imports its framework when it is imported, not before.

The body is read only up to ``max_body_bytes`` (``DEFAULT_MAX_BODY_BYTES``, 1 MiB, by default: a
call-end callback is a few KiB). A request whose ``Content-Length`` says more is answered 413,
``{"error": "callback refused", "reason": "too_large"}``, before a byte of its body is read; a
body without a ``Content-Length`` (chunked), or longer than it claimed, is read in bounded
chunks and answered the same as soon as it is past the limit, so nothing much beyond the limit
is ever held in memory. ``max_body_bytes`` must be a positive number of bytes.

Repeated deliveries are handled once. A sender that gets no 200 in time delivers the same
callback again; each integration claims every verified delivery in a ``DeliveryGuard`` before the
handler runs (``guard=``, by default a fresh one in this process's memory; ``deduplicate=False``
for none). A delivery handled before is answered 200, ``{"result": "duplicate"}``, without the
handler; one that another request is handling right now is answered 409 (the sender tries again
later); when the guard's store fails, 503. A handler that raises (or, in Flask and Django,
answers other than 2xx) releases the delivery, so the sender's next attempt is handled. With
several processes, give each integration a guard over a shared store
(``DeliveryGuard(store=...)``, e.g. Redis).
"""

import io
import operator
from typing import Callable, Dict, Optional, SupportsIndex, Tuple, cast

import logging

from .. import _native
from .._errors import CallbackVerificationError, DeliveryStoreError
from .._native import Delivery, DeliveryGuard

__all__ = ["refusal", "DEFAULT_MAX_BODY_BYTES"]

#: The largest callback body the integrations read by default: 1 MiB (a call-end callback is a
#: few KiB). Settable per integration with ``verified_callback(..., max_body_bytes=...)``.
DEFAULT_MAX_BODY_BYTES: int = _native.DEFAULT_MAX_BODY_BYTES

# The most asked of a blocking stream in one read.
_CHUNK = 64 * 1024


def refusal(error: CallbackVerificationError) -> Tuple[int, Dict[str, str]]:
    """The HTTP status and JSON body that answer a refused callback: 400 when the body is not a
    callback (``reason == "malformed"``), 403 otherwise. Only the reason is told: never the body,
    a header or the expected signature. The same answer in every language (the core decides)."""
    return _native.callback_refusal(error.reason)


def _too_large() -> Tuple[int, Dict[str, str]]:
    """The status and JSON body that answer a body over ``max_body_bytes``."""
    return _native.callback_refusal("too_large")


def _checked_limit(max_body_bytes: object) -> int:
    """``max_body_bytes`` as an int, or the error that names it."""
    if isinstance(max_body_bytes, bool) or not hasattr(type(max_body_bytes), "__index__"):
        raise TypeError(
            f"max_body_bytes must be an int (a number of bytes), not {type(max_body_bytes).__name__}"
        )
    limit = operator.index(cast(SupportsIndex, max_body_bytes))
    if limit <= 0:
        raise ValueError(f"max_body_bytes must be a positive number of bytes, not {limit}")
    return limit


_log = logging.getLogger("yunxin_ecp.integrations")


def _guard(guard: Optional[DeliveryGuard], deduplicate: bool) -> Optional[DeliveryGuard]:
    """The guard an integration uses: the one given, else a fresh in-memory one, or none when
    ``deduplicate`` is false."""
    if guard is not None and not isinstance(guard, DeliveryGuard):
        raise TypeError(f"guard must be a DeliveryGuard, not {type(guard).__name__}")
    if not deduplicate:
        if guard is not None:
            raise ValueError("guard is given but deduplicate is False: pass one or the other")
        return None
    return guard if guard is not None else DeliveryGuard()


def _claim(guard: Optional[DeliveryGuard], delivery: Delivery) -> Optional[Tuple[int, Dict[str, str]]]:
    """None when the handler is to run; else the status and JSON body that answer without it:
    a duplicate (200), a delivery being handled by another request (409), a failed store (503)."""
    if guard is None:
        return None
    try:
        claim = guard.claim(delivery)
    except DeliveryStoreError as e:
        _log.error("call-end callback turned away: %s", e)
        return _native.callback_refusal("store_unavailable")
    if claim == "duplicate":
        _log.info("call-end callback delivered again: acknowledged, not handled again (key %s)", delivery.key)
        return _native.callback_duplicate_answer()
    if claim == "in_progress":
        _log.info("call-end callback delivered again while being handled: 409 (key %s)", delivery.key)
        return _native.callback_refusal("in_progress")
    return None


def _settle(guard: Optional[DeliveryGuard], delivery: Delivery, handled: bool) -> None:
    """After the handler: repeats are duplicates from now on when it succeeded; when it failed,
    the sender's next attempt is handled. A failing store is logged: the answer stands."""
    if guard is None:
        return
    try:
        if handled:
            guard.complete(delivery)
        else:
            guard.release(delivery)
    except DeliveryStoreError as e:
        _log.error("call-end callback %s not recorded: %s", "completion" if handled else "failure", e)


def _declared_too_large(value: Optional[str], limit: int) -> bool:
    """Whether a ``Content-Length`` value already says more than ``limit`` (absent or not a plain
    number: it says nothing, and the body is bounded while it is read)."""
    return _native.callback_declared_too_large(value, limit)


def _read_capped(read: Callable[[int], bytes], limit: int) -> Optional[bytes]:
    """Reads a blocking stream to its end, asking for no more than ``limit + 1`` bytes in all;
    None when the body is longer than ``limit``."""
    buffer = io.BytesIO()
    size = 0
    while size <= limit:
        chunk = read(min(_CHUNK, limit + 1 - size))
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            return None
        buffer.write(chunk)
    return buffer.getvalue()

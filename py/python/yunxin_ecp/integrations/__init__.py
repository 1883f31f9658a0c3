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
"""

import io
import operator
from typing import Callable, Dict, Optional, SupportsIndex, Tuple, cast

from .. import _native
from .._errors import CallbackVerificationError

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

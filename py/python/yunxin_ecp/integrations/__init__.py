"""Call-end callbacks verified in web frameworks, on the raw body each framework received.

``yunxin_ecp.integrations.flask``, ``.django`` and ``.fastapi`` (also for Starlette) each offer
``verified_callback(verifier)``: a view decorator (Flask, Django) or a dependency (FastAPI) that
hands the handler the verified ``CallEndEvent`` or ``OtherEvent`` and answers a refused callback
itself, with 403 (400 for a body that is not a callback) and a small JSON body such as
``{"error": "callback refused", "reason": "checksum_mismatch"}``. The body and the headers are
never echoed. Each module imports its framework when it is imported, not before.
"""

from typing import Dict, Tuple

from .._errors import CallbackVerificationError

__all__ = ["refusal"]


def refusal(error: CallbackVerificationError) -> Tuple[int, Dict[str, str]]:
    """The HTTP status and JSON body that answer a refused callback: 400 when the body is not a
    callback (``reason == "malformed"``), 403 otherwise. Only the reason is told: never the body,
    a header or the expected signature."""
    status = 400 if error.reason == "malformed" else 403
    return status, {"error": "callback refused", "reason": error.reason}

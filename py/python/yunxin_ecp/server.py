"""The service's side of an ECP request, for proxies and test servers.

``verify_request`` checks the four auth headers exactly as the gateway does (any refusal is
answered with ``reply_bad_http_header()``), ``parse_request`` reads the parameters from the query
string and the form body together (accepting what the official samples send: parameters in the
query string, single-quoted conference callee lists), and the ``reply_*`` functions give the
service's answer bodies byte for byte.
"""

from ._errors import AuthRefusedError
from ._native import (
    REQUEST_WINDOW_SECS,
    parse_request,
    reply_bad_http_header,
    reply_bad_param,
    reply_error,
    reply_started,
    verify_request,
)

__all__ = [
    "REQUEST_WINDOW_SECS",
    "AuthRefusedError",
    "verify_request",
    "parse_request",
    "reply_bad_http_header",
    "reply_bad_param",
    "reply_error",
    "reply_started",
]

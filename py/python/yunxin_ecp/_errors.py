"""The exceptions of yunxin_ecp: one root, ``YunxinError``, and a subclass per kind of failure.

They mirror the error kinds of the Rust core, which raises them with its own messages (the same
words in every language). Every attribute has a default so that the exceptions pickle and can be
built in tests.
"""

import builtins
from typing import Optional

__all__ = [
    "YunxinError",
    "ValidationError",
    "ApiError",
    "ProtocolError",
    "TransportError",
    "TimeoutError",
    "CallbackVerificationError",
    "AuthRefusedError",
    "DeliveryStoreError",
]


class YunxinError(Exception):
    """Root of every exception this package raises.

    ``retry_advice`` says whether the same request may be sent again: ``"never"``, ``"safe"``,
    ``"backoff"`` (after an exponential backoff), ``"once_after_delay"``, or
    ``"outcome_unknown"`` (a start request may have placed its call: query before trying again).
    ``retryable`` is true when a retry cannot place a second call.
    """

    retry_advice: str
    retryable: bool

    def __init__(self, message: str = "", *, retry_advice: str = "never", retryable: bool = False) -> None:
        super().__init__(message)
        self.retry_advice = retry_advice
        self.retryable = retryable


class ValidationError(YunxinError, ValueError):
    """An argument was refused before anything was built or sent.

    ``field`` is the API parameter (``"callee"``, ``"maxDur"``, ``"nonce"`` ...), ``argument`` the
    Python argument that carried it (``"callees"``, ``"max_dur"``, ``"kind"`` ...; the same as
    ``field`` where the names agree), ``rule`` a stable code (``"country_code"``, ``"length"``,
    ``"duplicate"`` ...), and ``index`` the position in a list parameter, or ``None``.
    """

    field: str
    argument: str
    rule: str
    index: Optional[int]

    def __init__(
        self,
        message: str = "",
        *,
        field: str = "",
        rule: str = "",
        index: Optional[int] = None,
        argument: Optional[str] = None,
        retry_advice: str = "never",
        retryable: bool = False,
    ) -> None:
        super().__init__(message, retry_advice=retry_advice, retryable=retryable)
        self.field = field
        self.argument = field if argument is None else argument
        self.rule = rule
        self.index = index


class ApiError(YunxinError):
    """The service answered with a code other than 200.

    ``code`` is the service's code (``414``, ``403`` ...), ``message`` its explanation (``msg``,
    else ``desc``), ``meaning`` the code's meaning from the code table, ``http_status`` the HTTP
    status (business errors come with 200), ``raw_body`` the body as received, and ``endpoint``
    ``"start_call"``, ``"start_conf"`` or ``"query_by_session"``.
    """

    code: int
    message: Optional[str]
    http_status: int
    meaning: str
    raw_body: str
    endpoint: str

    def __init__(
        self,
        text: str = "",
        *,
        code: int = 0,
        message: Optional[str] = None,
        http_status: int = 200,
        meaning: str = "",
        raw_body: str = "",
        endpoint: str = "",
        retry_advice: str = "never",
        retryable: bool = False,
    ) -> None:
        super().__init__(text, retry_advice=retry_advice, retryable=retryable)
        self.code = code
        self.message = message
        self.http_status = http_status
        self.meaning = meaning
        self.raw_body = raw_body
        self.endpoint = endpoint


class ProtocolError(YunxinError):
    """The answer could not be read as an ECP response (a proxy's HTML page, truncated JSON ...).

    ``kind`` is ``"empty"``, ``"html"``, ``"not_json"``, ``"truncated"``, ``"not_an_object"``,
    ``"missing_code"``, ``"bad_code"``, ``"missing_result"``, ``"http_status"``, ``"too_large"`` or
    ``"redirect"`` (any 3xx: never followed; ``detail`` holds the ``Location``).
    """

    kind: str
    detail: Optional[str]
    http_status: int
    raw_body: str
    endpoint: str

    def __init__(
        self,
        message: str = "",
        *,
        kind: str = "",
        detail: Optional[str] = None,
        http_status: int = 0,
        raw_body: str = "",
        endpoint: str = "",
        retry_advice: str = "never",
        retryable: bool = False,
    ) -> None:
        super().__init__(message, retry_advice=retry_advice, retryable=retryable)
        self.kind = kind
        self.detail = detail
        self.http_status = http_status
        self.raw_body = raw_body
        self.endpoint = endpoint


class TransportError(YunxinError):
    """The request could not be sent, or no complete answer came back.

    ``kind`` is ``"connect"``, ``"timeout"``, ``"tls"`` or ``"io"``. ``maybe_sent`` is false only
    when the request provably never left: a start request that may have been sent may also have
    placed a (billable) call, so query it before placing it again.
    """

    kind: str
    maybe_sent: bool
    attempts: int
    detail: str
    endpoint: str

    def __init__(
        self,
        message: str = "",
        *,
        kind: str = "io",
        maybe_sent: bool = True,
        attempts: int = 1,
        detail: str = "",
        endpoint: str = "",
        retry_advice: str = "never",
        retryable: bool = False,
    ) -> None:
        super().__init__(message, retry_advice=retry_advice, retryable=retryable)
        self.kind = kind
        self.maybe_sent = maybe_sent
        self.attempts = attempts
        self.detail = detail
        self.endpoint = endpoint


class TimeoutError(TransportError, builtins.TimeoutError):
    """A timeout expired (``kind == "timeout"``). Also a builtin ``TimeoutError``."""

    def __init__(
        self,
        message: str = "",
        *,
        kind: str = "timeout",
        maybe_sent: bool = True,
        attempts: int = 1,
        detail: str = "",
        endpoint: str = "",
        retry_advice: str = "never",
        retryable: bool = False,
    ) -> None:
        super().__init__(
            message,
            kind=kind,
            maybe_sent=maybe_sent,
            attempts=attempts,
            detail=detail,
            endpoint=endpoint,
            retry_advice=retry_advice,
            retryable=retryable,
        )


class CallbackVerificationError(YunxinError):
    """An incoming call-end callback was refused, or could not be parsed.

    ``reason`` is ``"missing_header"`` or ``"duplicate_header"`` (``header`` names it),
    ``"malformed_cur_time"``, ``"md5_mismatch"``, ``"checksum_mismatch"``, ``"app_key_mismatch"``, ``"stale"``,
    ``"future"`` or ``"malformed"``. Answer such a request with HTTP 403 (or 400 when malformed).
    """

    reason: str
    header: Optional[str]

    def __init__(
        self,
        message: str = "",
        *,
        reason: str = "",
        header: Optional[str] = None,
        retry_advice: str = "never",
        retryable: bool = False,
    ) -> None:
        super().__init__(message, retry_advice=retry_advice, retryable=retryable)
        self.reason = reason
        self.header = header


class AuthRefusedError(YunxinError):
    """An incoming signed request was refused (server side; the service answers 414).

    ``reason`` is ``"missing_header"`` or ``"duplicate_header"`` (``header`` names it),
    ``"unknown_app_key"``,
    ``"nonce_too_long"``, ``"malformed_cur_time"``, ``"outside_window"`` or
    ``"checksum_mismatch"``.
    """

    reason: str
    header: Optional[str]

    def __init__(
        self,
        message: str = "",
        *,
        reason: str = "",
        header: Optional[str] = None,
        retry_advice: str = "never",
        retryable: bool = False,
    ) -> None:
        super().__init__(message, retry_advice=retry_advice, retryable=retryable)
        self.reason = reason
        self.header = header


class DeliveryStoreError(YunxinError):
    """A ``DeliveryGuard``'s store failed (a store of one's own raised, or answered something
    other than ``"first"``, ``"duplicate"`` or ``"in_progress"``). The message names the
    exception's type and the step, never its text (it may hold the store's connection string);
    answer the callback with 503 so that the sender delivers it again."""

"""``AsyncClient``: the ECP client for asyncio (and trio), on httpx.

It is ``Client`` with ``await``: the same methods, keyword settings, defaults, validation,
exceptions, retry rules and log events. Each request is an ``Exchange`` (the core's sans-IO
attempt loop, the one the blocking client drives): it signs every attempt afresh, reads the
answer, refuses a redirect, reports an oversized body, decides every retry and its delay, and
words the events. httpx only carries the bytes (pooled connections, the attempt's timeouts and
size cap, TLS verified) and this module only sleeps when told. httpx is an optional dependency
(the ``async`` extra: ``pip install "./py[async]"`` from a checkout, or ``pip install httpx
sniffio`` beside the package), imported when the first ``AsyncClient`` is built.

Those who prefer the blocking client in async code can run it in a worker thread; it releases
the GIL while it waits on the network::

    started = await asyncio.to_thread(
        client.start_call, caller_acc="liuxuanlin", caller="13888888888",
        callee="13777777777", max_dur=100,
    )

Cancellation is never swallowed nor replaced: a task cancelled inside a call, or an outer
``asyncio.timeout``/``wait_for`` running out, raises the same ``CancelledError`` (the outer
``TimeoutError`` has it as its ``__cause__``). When a start, or an ``ApiRequest`` not marked
``idempotent``, may already have been sent at that moment, its outcome is unknown as after a
read timeout, and two things say so: a note on the ``CancelledError`` (``add_note``; on Python
3.10, which has none, the same text in its ``__notes__``, which the ``exceptiongroup`` backport
prints) and a WARNING on the ``yunxin_ecp`` logger, in the blocking client's event format::

    cancelled id=5f0c2a9e endpoint=start_call attempt=1 advice=outcome_unknown

(the fields ``key=value``, never a header, a body or a phone number). Whether the request's
outcome is unknown is the exchange's answer (``Exchange.cancel``), and so is the event; only
whether it may already have been sent comes from httpx's own transport, which reports when the
request starts to go out: a cancellation while it is still connecting says nothing. Through a ``transport`` or an
``http_client`` of your own it cannot be told, so a cancellation at any point of the exchange
counts. A query, or a request marked ``idempotent``, gets neither: sending it again is safe.
"""

from __future__ import annotations

import builtins
import logging
import time
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Any, Iterable, Literal, Optional, SupportsIndex, TypeVar, Union, cast

from ._native import (
    ApiRequest,
    Attempt,
    CallRecord,
    Credentials,
    Exchange,
    Next,
    QueryBySession,
    StartCall,
    StartConference,
    Started,
    _ClientConfig,
)

if TYPE_CHECKING:
    import httpx

__all__ = ["AsyncClient"]

_Self = TypeVar("_Self", bound="AsyncClient")

INSTALL_HINT = 'yunxin_ecp.AsyncClient needs httpx: pip install httpx sniffio (the "async" extra)'

# Connections kept open per client: as many as the blocking client's pool keeps idle.
_MAX_KEEPALIVE = 32
_MAX_CONNECTIONS = 100

# The logger the blocking client's events reach (the Rust target `yunxin_ecp`, through pyo3-log).
_events = logging.getLogger("yunxin_ecp")

# An exchange's event levels as logging's.
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING}

# What the note on a cancellation says, for each retry advice the exchange gives a cancelled
# attempt that may have been sent ("safe" gets no note).
_AFTER_CANCEL = {
    "outcome_unknown": "it may have taken effect (for a start, the call may have been placed); "
    "query or check before sending it again",
}

_Request = Union[StartCall, StartConference, QueryBySession, ApiRequest]


def _import_httpx() -> tuple[ModuleType, ModuleType]:
    """httpx and anyio (httpx's own dependency), or an ImportError that says what to install."""
    try:
        import anyio
        import httpx
    except ImportError as e:
        raise ImportError(INSTALL_HINT, name="httpx") from e
    return httpx, anyio


class _Progress:
    """Whether one attempt's request may have been sent: from the start of the exchange, unless
    the transport reports its progress (httpx's own, through httpcore's ``trace`` extension);
    then only from the moment it reports the request's headers going out."""

    __slots__ = ("maybe_sent",)

    def __init__(self, traced: bool) -> None:
        self.maybe_sent = not traced

    async def trace(self, name: str, info: dict[str, Any]) -> None:
        if name.endswith(".send_request_headers.started"):
            request = info.get("request")
            # A proxy tunnel's CONNECT goes out first, and is not the request.
            if getattr(request, "method", None) != b"CONNECT":
                self.maybe_sent = True


class AsyncClient:
    """An async ECP client on httpx, with the blocking ``Client``'s surface and rules.

    Credentials come from ``credentials``, or ``app_key``/``app_secret``, or else the
    ``YUNXIN_APP_KEY``/``YUNXIN_APP_SECRET`` environment variables. ``connect_timeout`` bounds
    opening a connection and ``timeout`` one whole attempt (seconds). Requests are retried (at
    most ``max_retries`` times, after ``backoff`` seconds, doubling, jittered) only where a retry
    cannot place a second billable call. An answer longer than ``max_response_bytes`` is a
    ``ProtocolError`` (kind ``"too_large"``); a redirect is never followed (``ProtocolError`` of
    kind ``"redirect"``, its ``Location`` in ``detail``). With no ``base_url``, requests go to
    ``YUNXIN_BASE_URL`` when it is set, else to the service. The proxy is the one the core's rule
    picks from the environment for every client (``HTTPS_PROXY`` for https, ``http_proxy`` for
    http and ``HTTP_PROXY`` only outside CGI, then ``ALL_PROXY``; ``NO_PROXY`` and a base URL on
    this machine go direct); the first DEBUG event on the ``yunxin_ecp`` logger says which.

    ``http_client`` sends through an ``httpx.AsyncClient`` you already have (it is not closed
    by ``aclose()``; its proxy and TLS settings apply, while timeouts, redirects and the size
    limit are set per request); ``transport`` builds the client's own on an httpx transport
    (``httpx.MockTransport`` in tests). Use it as ``async with AsyncClient() as client:``, or
    call ``await client.aclose()``. One client serves any number of concurrent tasks.
    """

    def __init__(
        self,
        app_key: Optional[str] = None,
        app_secret: Optional[str] = None,
        *,
        credentials: Optional[Credentials] = None,
        base_url: Optional[str] = None,
        connect_timeout: float = 5.0,
        timeout: float = 15.0,
        max_retries: int = 2,
        backoff: float = 0.2,
        max_response_bytes: int = 1048576,
        http_client: Optional[httpx.AsyncClient] = None,
        transport: Optional[httpx.AsyncBaseTransport] = None,
    ) -> None:
        httpx_module, anyio = _import_httpx()
        config = _ClientConfig(
            app_key,
            app_secret,
            credentials=credentials,
            base_url=base_url,
            connect_timeout=connect_timeout,
            timeout=timeout,
            max_retries=max_retries,
            backoff=backoff,
            max_response_bytes=max_response_bytes,
        )
        if http_client is not None and transport is not None:
            raise TypeError("give either http_client or transport, not both")
        if http_client is not None and not isinstance(http_client, httpx_module.AsyncClient):
            raise TypeError(f"http_client must be an httpx.AsyncClient, not {type(http_client).__name__}")
        self._httpx = httpx_module
        self._anyio = anyio
        self._config = config
        self._credentials = config.credentials
        self._base_url = config.base_url
        self._timeouts = httpx_module.Timeout(config.timeout, connect=config.connect_timeout)
        self._timeout_limits = (config.connect_timeout, config.timeout)
        self._user_agent = f"{config.user_agent} httpx/{httpx_module.__version__}"
        self._owns_http = http_client is None
        # httpx's own transport (and its proxy transports) report when a request goes out.
        self._traced = http_client is None and transport is None
        if http_client is None:
            # The proxy is the core's choice, as for every other client (httpx's own reading of
            # the environment differs: HTTP_PROXY under CGI, case, ALL_PROXY order). Chosen, it
            # is given to httpx, which then reads no proxy variable; none chosen, every scheme is
            # mounted direct, so no variable httpx reads can route the signed request. The
            # environment's TLS trust (SSL_CERT_FILE, SSL_CERT_DIR) still applies.
            chosen = None if transport is not None else config.proxy
            direct = None if chosen else {"all://": None, "http://": None, "https://": None}
            http_client = httpx_module.AsyncClient(
                timeout=self._timeouts,
                follow_redirects=False,
                trust_env=transport is None,
                proxy=chosen[0] if chosen else None,
                mounts=direct,
                transport=transport,
                limits=httpx_module.Limits(
                    max_connections=_MAX_CONNECTIONS, max_keepalive_connections=_MAX_KEEPALIVE
                ),
            )
        self._http: httpx.AsyncClient = http_client
        # The same first event as the blocking client's: where requests go, through which proxy.
        if _events.isEnabledFor(logging.DEBUG):
            _events.debug("%s", config.ready_event)

    @property
    def base_url(self) -> str:
        """The base URL requests go to."""
        return self._base_url

    @property
    def app_key(self) -> str:
        """The app key requests are signed for."""
        return self._credentials.app_key

    async def start_call(self, *, caller_acc: str, caller: str, callee: str, max_dur: SupportsIndex) -> Started:
        """Places a callback call. Raises ``ValidationError`` before sending anything when an
        argument is wrong. When an error's ``retry_advice`` is ``"outcome_unknown"`` the call
        may exist: query before placing it again.

        Cancelled (or timed out by an outer ``asyncio.timeout``/``wait_for``) after its request
        may have been sent, the call may exist all the same: the ``CancelledError`` is raised
        as it came, with a note saying so (``retry_advice`` ``"outcome_unknown"``), and a
        ``cancelled ... advice=outcome_unknown`` WARNING goes to the ``yunxin_ecp`` logger."""
        request = StartCall(caller_acc=caller_acc, caller=caller, callee=callee, max_dur=max_dur)
        return cast(Started, await self._send(request))

    async def start_conference(
        self, *, caller_acc: str, caller: str, callees: Iterable[str], max_dur: SupportsIndex
    ) -> Started:
        """Places a phone conference with 2 to 7 ``callees``. Same error rules as
        ``start_call``, cancellation included: cancelled after its request may have been sent,
        the ``CancelledError`` carries a note that the conference may exist, and the
        ``yunxin_ecp`` logger has a ``cancelled ... advice=outcome_unknown`` WARNING."""
        request = StartConference(caller_acc=caller_acc, caller=caller, callees=callees, max_dur=max_dur)
        return cast(Started, await self._send(request))

    async def query_session(self, session: str, *, kind: Literal["call", "conference"] = "call") -> CallRecord:
        """Fetches the record of a call (``kind="call"``) or conference
        (``kind="conference"``); retried on transient failures. A query cancelled is simply
        cancelled: asking again is safe."""
        request = QueryBySession(session, kind=kind)
        return cast(CallRecord, await self._send(request))

    async def request(self, request: ApiRequest) -> dict[str, Any]:
        """Sends a request to any YunXin server API with the same signing, limits, redirect
        refusal and exceptions as the ECP calls; returns the whole JSON answer on code 200. It
        is sent again only when it provably never left, unless it is marked ``idempotent``.

        Cancelled after it may have been sent, a request not marked ``idempotent`` may have
        taken effect: the ``CancelledError`` carries a note saying so (``retry_advice``
        ``"outcome_unknown"``), and the ``yunxin_ecp`` logger a ``cancelled ...`` WARNING."""
        return cast("dict[str, Any]", await self._send(request))

    async def aclose(self) -> None:
        """Closes the client's connections (not those of an ``http_client`` passed in)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self: _Self) -> _Self:
        return self

    async def __aexit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc_value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"AsyncClient(app_key={self.app_key!r}, base_url={self._base_url!r})"

    async def _send(self, request: _Request) -> Any:
        """Drives the request's exchange: sends each attempt it hands out, feeds back what came
        of it, sleeps when it says so, and returns or raises what it ends with. Its events go to
        the ``yunxin_ecp`` logger as they come."""
        exchange = self._config.exchange(request, events=_events.isEnabledFor(logging.WARNING))
        progress = _Progress(self._traced)
        try:
            while True:
                progress = _Progress(self._traced)
                attempt = exchange.send()
                _emit(exchange)
                step, cause = await self._attempt(exchange, attempt, progress)
                _emit(exchange)
                if step.retry_after is None:
                    error = step.error
                    if error is None:
                        return step.result
                    raise error from _scrubbed(cause)
                await self._anyio.sleep(step.retry_after)
        except self._anyio.get_cancelled_exc_class() as cancel:  # the caller's (an attempt's deadline is a TimeoutError)
            try:
                _cancelled(cancel, exchange, progress.maybe_sent)
            except Exception:  # saying so must never stand in the cancellation's way
                pass
            raise  # the same exception: cancellation is never swallowed nor replaced

    async def _attempt(
        self, exchange: Exchange[Any], attempt: Attempt, progress: _Progress
    ) -> tuple[Next[Any], Optional[BaseException]]:
        """One HTTP exchange within the attempt's limits, reported to the exchange: its answer,
        its body past the cap, or the failure (and httpx's exception, the error's cause)."""
        httpx = self._httpx
        prepared = attempt.prepared
        headers = prepared.header_pairs
        headers.append(("User-Agent", self._user_agent))
        started = time.monotonic()
        try:
            with self._anyio.fail_after(attempt.timeout):
                async with self._http.stream(
                    "POST",
                    prepared.url,
                    headers=headers,
                    content=prepared.content,
                    timeout=self._timeouts_for(attempt),
                    follow_redirects=False,
                    extensions={"trace": progress.trace} if self._traced else None,
                ) as response:
                    status = response.status_code
                    location = response.headers.get("location")
                    body = await _read_capped(response, attempt.max_response_bytes)
        except httpx.RequestError as e:
            kind, maybe_sent = self._failure(e)
            elapsed = time.monotonic() - started
            return exchange.fail(kind, maybe_sent=maybe_sent, detail=_describe(e), elapsed=elapsed), e
        except builtins.TimeoutError as e:  # the attempt's deadline, over while waiting on the answer
            detail = f"no complete answer within {attempt.timeout:g} s"
            return exchange.fail("timeout", maybe_sent=True, detail=detail, elapsed=time.monotonic() - started), e
        except Exception as e:  # anything else the stack raised (an ssl.SSLError httpx leaves
            # unwrapped, a response hook of an http_client passed in): still an attempt that may
            # have been sent, reported to the exchange, never a bare error without its advice.
            # Cancellation is a BaseException and passes through; so does using a closed client,
            # a mistake of the caller's that nothing was sent for.
            if self._http.is_closed:
                raise
            elapsed = time.monotonic() - started
            return exchange.fail("io", maybe_sent=progress.maybe_sent, detail=_describe(e), elapsed=elapsed), e
        elapsed = time.monotonic() - started
        if body is None:
            return exchange.too_large(status, elapsed=elapsed), None
        return exchange.receive(status, body, location=location, elapsed=elapsed), None

    def _timeouts_for(self, attempt: Attempt) -> httpx.Timeout:
        """httpx's timeouts for the attempt's limits (made once while they stay the same)."""
        limits = (attempt.connect_timeout, attempt.timeout)
        if limits != self._timeout_limits:
            self._timeouts = self._httpx.Timeout(attempt.timeout, connect=attempt.connect_timeout)
            self._timeout_limits = limits
        return self._timeouts

    def _failure(self, e: Exception) -> tuple[Literal["connect", "timeout", "tls", "io"], bool]:
        """Which step of the exchange httpx's failure is, and whether the request may have
        been sent: only a failure to connect proves that it was not."""
        httpx = self._httpx
        if isinstance(e, httpx.ConnectTimeout):
            return "connect", False
        if isinstance(e, httpx.PoolTimeout):  # no connection was free: nothing was sent
            return "timeout", False
        if isinstance(e, (httpx.ConnectError, httpx.ProxyError, httpx.UnsupportedProtocol)):
            return ("tls" if _caused_by_tls(e) else "connect"), False
        if isinstance(e, httpx.TimeoutException):  # reading the answer, or writing the request
            return "timeout", True
        return "io", True  # ReadError, WriteError, RemoteProtocolError (a reset), DecodingError ...


async def _read_capped(response: httpx.Response, limit: int) -> Optional[bytes]:
    """The body, or ``None`` once it goes past ``limit`` bytes (read no further)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _emit(exchange: Exchange[Any]) -> None:
    """The exchange's events, to the ``yunxin_ecp`` logger at their levels."""
    for level, line in exchange.take_events():
        _events.log(_LEVELS[level], line)


def _cancelled(cancel: BaseException, exchange: Exchange[Any], maybe_sent: bool) -> None:
    """Tells the exchange that its attempt was abandoned, logs what it reports, and when its
    advice is not ``"safe"`` (a start, or a request not marked idempotent, that may have been
    sent) says so on the cancellation too."""
    advice = exchange.cancel(maybe_sent=maybe_sent)
    events = exchange.take_events()
    for level, line in events:
        _events.log(_LEVELS[level], line)
    if advice == "safe":
        return
    what = _AFTER_CANCEL.get(advice, "check the retry advice before sending it again")
    note = (
        f"yunxin_ecp: cancelled when the {exchange.endpoint} request may already have been sent "
        f'(attempt {exchange.attempts}): {what} (retry_advice "{advice}")'
    )
    add_note = getattr(cancel, "add_note", None)
    if add_note is not None:
        add_note(note)
    else:  # Python 3.10: where 3.11 keeps notes, and the exceptiongroup backport prints them
        notes = getattr(cancel, "__notes__", None)
        if isinstance(notes, list):
            notes.append(note)
        else:
            setattr(cancel, "__notes__", [note])


def _scrubbed(cause: Optional[BaseException]) -> Optional[BaseException]:
    """The HTTP stack's exception, kept as the error's cause for its type and words, without
    what holds the attempt's signed headers: the request httpx keeps on its errors, and the
    tracebacks whose frames have them in their locals (error reporters such as Sentry capture
    both). A leaked CheckSum with its Nonce and CurTime signs any request for five minutes."""
    for link in _chain(cause) if cause is not None else []:
        link.__traceback__ = None
        if hasattr(link, "_request"):
            try:
                setattr(link, "_request", None)
            except Exception:  # an exception type that refuses it keeps it; the frames are gone
                pass
    return cause


def _chain(e: BaseException) -> list[BaseException]:
    """The exception and what caused it, a few levels deep."""
    chain: list[BaseException] = []
    seen: Optional[BaseException] = e
    while seen is not None and len(chain) < 8:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    return chain


def _describe(e: BaseException) -> str:
    """``ReadError (ConnectionResetError: [Errno 104] Connection reset by peer)``: httpx's
    exception and the first cause that says something."""
    said = next(((c, str(c)) for c in _chain(e) if str(c)), None)
    if said is None:
        return type(e).__name__
    cause, text = said
    if cause is e:
        return f"{type(e).__name__}: {text}"
    return f"{type(e).__name__} ({type(cause).__name__}: {text})"


def _caused_by_tls(e: BaseException) -> bool:
    import ssl

    return any(isinstance(c, ssl.SSLError) for c in _chain(e))


"""The HTTP core shared by the API client and the OAuth client.

One place does the things every call needs: Allegro's media type, ``Accept-Language``,
bearer or Basic authentication, no redirect following (the 303 that ends an async offer
operation must be seen), one token refresh and re-send on 401 (a refused token is never sent
again, and a failure to refresh is raised as itself, not as 401), a log line with the
``Trace-Id`` of every response, the translation of httpx exceptions and HTTP statuses into
:mod:`workers.allegro.errors`, and bounded retries of transient failures with tenacity.

The retry policy itself (what is retried, how long to wait) lives in :mod:`._retry`; the
wire (the pooled httpx client, one exchange, httpx's exceptions translated) in
:mod:`._transport`.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import structlog
import tenacity

from workers.allegro._retry import Retry, RetryPolicy, parse_retry_after
from workers.allegro._transport import QueryParams, Transport, encode_json, parse_body
from workers.allegro.errors import (
    AllegroError,
    InvalidClient,
    PermanentError,
    TransientError,
    error_for_status,
    parse_error_items,
)
from workers.settings import Settings

__all__ = [
    "MEDIA_TYPE",
    "ApiResponse",
    "AuthMode",
    "CallState",
    "HttpCore",
    "QueryParams",
    "RequestBudget",
    "Retry",
    "TokenSource",
]

log = structlog.get_logger(__name__)


#: Allegro's versioned media type, sent as Accept (and Content-Type with a body).
MEDIA_TYPE = "application/vnd.allegro.public.v1+json"


class AuthMode(enum.Enum):
    """How a request is authenticated."""

    USER = "user"  # the seller's token (bearer-token-for-user endpoints)
    APP = "app"  # the application's client-credentials token
    CLIENT = "client"  # HTTP Basic with client id and secret (OAuth endpoints)
    NONE = "none"


class TokenSource(Protocol):
    """Gives access tokens to the core and refreshes one that Allegro refused.

    Once ``refresh`` has been told of a refused token, neither method returns it again,
    even when the refresh fails (:data:`workers.allegro.auth.REFUSED`, process-wide): the
    core relies on this never to re-send a refused token."""

    def access_token(self, mode: AuthMode) -> str: ...

    def refresh(self, mode: AuthMode, failed_token: str) -> str: ...


class RequestBudget(Protocol):
    """A rate budget consulted around every request to the API host (not the OAuth host);
    :class:`workers.budget.client.ApiBudget` is the one the workers use."""

    def before_send(self, method: str, path: str, body: Any, params: QueryParams = None) -> None:
        """Called before each send (re-sends included) with the JSON body and the query;
        may sleep briefly, or raise (a :class:`TransientError`) to keep the request from
        being sent."""
        ...

    def after_response(
        self, method: str, path: str, status: int, retry_after_s: float | None
    ) -> None:
        """Called with every response's status and ``Retry-After`` (seconds or None)."""
        ...


@dataclass(frozen=True)
class ApiResponse:
    """A response the caller expected (its status was in ``ok``)."""

    status: int
    body: Any
    headers: httpx.Headers
    trace_id: str | None
    method: str
    path: str

    @property
    def location(self) -> str | None:
        value = self.headers.get("location")
        return str(value) if value else None

    @property
    def retry_after_s(self) -> float | None:
        return parse_retry_after(self.headers.get("retry-after"))

    @property
    def error_context(self) -> dict[str, Any]:
        """``status``, ``trace_id``, ``method`` and ``path``: the context of an
        :class:`AllegroError` raised about this response."""
        return {
            "status": self.status,
            "trace_id": self.trace_id,
            "method": self.method,
            "path": self.path,
        }


@dataclass
class CallState:
    """Per-call state kept across attempts: at most one token refresh per call. (A refused
    token is remembered by the token source, for every call: see :class:`TokenSource`.)"""

    #: a refresh succeeded in this call (a second 401 is then final)
    refreshed: bool = False


class HttpCore:
    """Sends requests to Allegro's API and OAuth hosts. Thread-safe (httpx.Client is);
    not fork-safe: create it in the process that uses it."""

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        tokens: TokenSource | None = None,
        budget: RequestBudget | None = None,
    ) -> None:
        self.settings = settings
        self.sleep = sleep
        self.clock = clock
        self.tokens = tokens
        #: the shared rate budget of API requests; None sends without budgeting
        self.budget = budget
        self.retry_policy = RetryPolicy(settings, sleep=sleep, clock=clock)
        self.api_base = settings.api_base_url
        self.auth_base = settings.auth_base_url
        #: the path of the API base URL, stripped from Locations by api_path()
        self._api_prefix = httpx.URL(self.api_base).path.rstrip("/")
        #: Accept-Language and Accept of the API and the OAuth host, copied into each
        #: request's headers (the settings do not change under a running core).
        self._base_headers = {
            "api": {"Accept-Language": settings.accept_language, "Accept": MEDIA_TYPE},
            "auth": {"Accept-Language": settings.accept_language, "Accept": "application/json"},
        }
        #: the wire: one pooled httpx client, exceptions translated (see _transport)
        self._transport = Transport(settings, transport)

    def close(self) -> None:
        self._transport.close()

    # --- URLs ---------------------------------------------------------------------------

    def api_path(self, location: str) -> str:
        """The API path (with query) of a ``Location``, relative to the API base URL.

        Only the path is kept: the token is never sent to another host, even if a
        Location names one (e.g. behind a proxy).
        """
        url = httpx.URL(location)
        path = url.raw_path.decode("ascii")
        prefix = self._api_prefix
        if prefix and path.startswith(prefix + "/"):
            path = path[len(prefix) :]
        if not path.startswith("/"):
            path = "/" + path
        return path

    # --- retries ------------------------------------------------------------------------

    def retrying(self, retry: Retry, *, max_time_s: float | None = None) -> tenacity.Retrying:
        """A tenacity controller for one call (attempt and time bounds start now)."""
        return self.retry_policy.retrying(retry, max_time_s=max_time_s)

    # --- requests -----------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        base: str = "api",
        auth: AuthMode = AuthMode.USER,
        params: QueryParams = None,
        json: Any = None,
        form: Mapping[str, str] | None = None,
        ok: Collection[int] = (200,),
        retry: Retry = Retry.SAFE,
        max_time_s: float | None = None,
    ) -> ApiResponse:
        """Send a request, retrying transient failures as ``retry`` allows.

        Returns the response when its status is in ``ok``; otherwise raises the mapped
        :class:`AllegroError`. ``path`` starts with ``/`` and is appended to the API (or,
        with ``base="auth"``, the OAuth) base URL. ``max_time_s``: a shorter bound than
        ``retry_max_time_s`` on the retries of this call.
        """
        state = CallState()

        def once() -> ApiResponse:
            return self.send_once(
                method, path, base=base, auth=auth, params=params, json=json, form=form,
                ok=ok, state=state,
            )  # fmt: skip

        if retry is Retry.NEVER:
            return once()
        for attempt in self.retrying(retry, max_time_s=max_time_s):
            with attempt:
                return once()
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    def send_once(
        self,
        method: str,
        path: str,
        *,
        base: str = "api",
        auth: AuthMode = AuthMode.USER,
        params: QueryParams = None,
        json: Any = None,
        form: Mapping[str, str] | None = None,
        ok: Collection[int] = (200,),
        state: CallState | None = None,
    ) -> ApiResponse:
        """One attempt (plus the one re-send after a token refresh on 401)."""
        state = state if state is not None else CallState()
        root = self.api_base if base == "api" else self.auth_base
        url = root + path
        headers = dict(self._base_headers["api" if base == "api" else "auth"])
        content: bytes | None = None
        if json is not None:
            content = encode_json(json)
            headers["Content-Type"] = MEDIA_TYPE
        basic: httpx.BasicAuth | None = None
        token: str | None = None
        if auth is AuthMode.CLIENT:
            client_id, secret = self.credentials()
            basic = httpx.BasicAuth(client_id, secret)
        elif auth is not AuthMode.NONE:
            token = self._token(auth)
            headers["Authorization"] = f"Bearer {token}"

        budget = self.budget if base == "api" else None

        def exchange() -> tuple[httpx.Response, float | None]:
            if budget is not None:
                budget.before_send(method, path, json, params)  # may raise: then nothing is sent
            response = self._transport.send(
                method, url, path, params=params, content=content, form=form,
                headers=headers, basic=basic,
            )  # fmt: skip
            # Read once per response: the budget and the mapped error see the same value.
            retry_after_s = parse_retry_after(response.headers.get("retry-after"), self.clock())
            if budget is not None:
                budget.after_response(method, path, response.status_code, retry_after_s)
            return response, retry_after_s

        response, retry_after_s = exchange()
        if response.status_code == 401 and token is not None and not state.refreshed:
            # One refresh and one re-send per call: a token that fails twice is not
            # going to work a third time. "refreshed" is set only once the refresh
            # worked: one that failed (429, 5xx, timeout) is raised as itself, and the
            # token source never hands out the refused token again.
            log.info("allegro.token_refused", method=method, path=path, mode=auth.value)
            token = self._refreshed(auth, token)
            state.refreshed = True
            headers["Authorization"] = f"Bearer {token}"
            response, retry_after_s = exchange()
        body = parse_body(response)
        trace_id = response.headers.get("trace-id")
        if response.status_code in ok:
            return ApiResponse(
                status=response.status_code,
                body=body,
                headers=response.headers,
                trace_id=trace_id,
                method=method,
                path=path,
            )
        raise self.error_from(
            response.status_code, body, trace_id, retry_after_s, method, path, base=base
        )

    def _token(self, auth: AuthMode) -> str:
        """The token to send (never one Allegro refused: see :class:`TokenSource`)."""
        if self.tokens is None:
            raise PermanentError("no token source configured for authenticated calls")
        try:
            return self.tokens.access_token(auth)
        except AllegroError as exc:
            raise _authenticating(exc) from None

    def _refreshed(self, auth: AuthMode, refused: str) -> str:
        assert self.tokens is not None
        try:
            return self.tokens.refresh(auth, refused)
        except AllegroError as exc:
            raise _authenticating(exc) from None

    def error_from(
        self,
        status: int,
        body: Any,
        trace_id: str | None,
        retry_after_s: float | None,
        method: str,
        path: str,
        *,
        base: str = "api",
    ) -> AllegroError:
        """The error for an unexpected status (``base``: the host that answered)."""
        description = None
        if isinstance(body, Mapping) and isinstance(body.get("error_description"), str):
            description = body["error_description"]
        elif isinstance(body, Mapping) and isinstance(body.get("error"), str):
            description = body["error"]
        return error_for_status(
            status,
            errors=parse_error_items(body),
            retry_after_s=retry_after_s,
            trace_id=trace_id,
            method=method,
            path=path,
            description=description,
            token_endpoint=base == "auth",
        )

    def credentials(self) -> tuple[str, str]:
        try:
            return self.settings.require_credentials()
        except ValueError as exc:
            raise InvalidClient(str(exc)) from None


def _authenticating(exc: AllegroError) -> AllegroError:
    """``exc``, raised while getting an API call's token, marked as such: the token call
    had its own retries (the API call does not retry it again), and the API request was
    not sent or was refused with 401, so it was certainly not applied."""
    exc.while_authenticating = True
    if isinstance(exc, TransientError):
        exc.maybe_applied = False
    return exc

"""The Allegro client's exception tree, and Allegro's ``errors[]`` items.

Every failure of a call leaves the client as one of these classes; httpx exceptions and HTTP
statuses are translated once, in ``_http.py``. Callers decide what to do by class, never by
message text::

    AllegroError
    ├── TransientError                 try again later (retried inside a call within bounds)
    │   ├── RateLimited                429; ``retry_after_s`` when Allegro said how long
    │   │   └── TokenRateLimited       429 from the token endpoint: no token issued now
    │   ├── ServerError                5xx
    │   ├── ApiTimeout                 no answer in time (alias ``TimeoutError_``)
    │   ├── ConnectionFailed           connection refused, reset or closed without a reply
    │   ├── EditInProgress             409: the previous change of the offer is being processed
    │   └── OperationPending           an async offer operation still runs; resume with
    │                                  ``AllegroClient.wait_operation(error.operation_url)``
    ├── PermanentError                 the same request will fail again: fix data or setup
    │   ├── BadRequest                 400
    │   ├── Unauthorized               401 (after one token refresh)
    │   ├── Forbidden                  403
    │   ├── NotFound                   404
    │   ├── NotAcceptable              406
    │   ├── ValidationFailed           422, with typed ``errors``
    │   ├── OperationFailed            an async offer operation ended with ``errors``
    │   ├── InvalidRequest             rejected locally before sending (also a ``ValueError``)
    │   └── OAuthError
    │       ├── DeviceFlowDenied       the person refused the connection
    │       ├── DeviceFlowExpired      device code expired or unknown: start again
    │       ├── InvalidGrant           refresh token expired, revoked or already used
    │       ├── InvalidClient          client id / secret refused
    │       └── NotConnected           no tokens for the account: run ``allegro-feed connect``
    └── AuthorizationPending           internal to the device flow (``SlowDown`` is one)

Every error carries ``status`` (HTTP status or None), ``trace_id`` (Allegro's ``Trace-Id``,
quote it to Allegro support), ``method`` and ``path`` (never a query string, so no secret can
leak through it) and ``errors`` (Allegro's items). Transient errors also say whether the
request may already have taken effect (``maybe_applied``), which decides whether a
non-idempotent POST may be sent again. ``while_authenticating`` is true on an error raised
while getting the token for an API call (the API request was not sent, or was refused with
401): the token call had its own retries, so the API call does not retry it again.

No secret reaches an error's text: the message, the texts of the error items and the
rendered ``str()`` are scrubbed with :func:`workers.logging.redact_text` when the error (or
item) is made. Allegro's 401 ``error_description`` may quote the refused token ("Access
token expired: …"), and these texts end up in status messages, the batching journal and
logs.

The items (:class:`ErrorItem`, :func:`parse_error_items`) are defined in ``_error_items.py``
and importable from here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from workers.logging import redact_text

from ._error_items import ErrorItem, parse_error_items

__all__ = [
    "TOKEN_RATE_LIMIT_MIN_S",
    "AllegroError",
    "ApiTimeout",
    "AuthorizationPending",
    "BadRequest",
    "ConnectionFailed",
    "DeviceFlowDenied",
    "DeviceFlowExpired",
    "EditInProgress",
    "ErrorItem",
    "Forbidden",
    "InvalidClient",
    "InvalidGrant",
    "InvalidRequest",
    "NotAcceptable",
    "NotConnected",
    "NotFound",
    "OAuthError",
    "OperationFailed",
    "OperationPending",
    "PermanentError",
    "RateLimited",
    "ServerError",
    "SlowDown",
    "TimeoutError_",
    "TokenRateLimited",
    "TransientError",
    "Unauthorized",
    "ValidationFailed",
    "error_for_status",
    "parse_error_items",
]


class AllegroError(Exception):
    """Base of every error raised by :mod:`workers.allegro`."""

    #: Whether retrying the same request later may succeed. Decided by class.
    transient: bool = False
    #: Raised while getting the token of an API call (set by the HTTP core): the API
    #: request was not sent, or Allegro refused it with 401; not retried within the call.
    while_authenticating: bool = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        trace_id: str | None = None,
        method: str | None = None,
        path: str | None = None,
        errors: Iterable[ErrorItem] = (),
    ) -> None:
        message = redact_text(message)
        self.message = message
        self.status = status
        self.trace_id = trace_id
        self.method = method
        self.path = path
        self.errors: tuple[ErrorItem, ...] = tuple(errors)
        super().__init__(message)

    @property
    def error_context(self) -> dict[str, Any]:
        """``status``, ``trace_id``, ``method`` and ``path``: the context of another error
        raised about the same response (as :attr:`ApiResponse.error_context
        <workers.allegro._http.ApiResponse.error_context>`)."""
        return {
            "status": self.status,
            "trace_id": self.trace_id,
            "method": self.method,
            "path": self.path,
        }

    @property
    def codes(self) -> list[str]:
        """The ``code`` of every error item (empty codes left out)."""
        return [e.code for e in self.errors if e.code]

    def _context(self) -> str:
        parts = []
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        if self.method and self.path:
            parts.append(f"{self.method} {self.path}")
        if self.trace_id:
            parts.append(f"Trace-Id {self.trace_id}")
        return ", ".join(parts)

    def __str__(self) -> str:
        text = self.message
        if self.errors:
            shown = "; ".join(e.summary() for e in self.errors[:5])
            more = f" (+{len(self.errors) - 5} more)" if len(self.errors) > 5 else ""
            text = f"{text}: {shown}{more}"
        context = self._context()
        # Scrubbed again: a secret registered after the error was made (the token of a
        # refresh that ran meanwhile) is hidden too.
        return redact_text(f"{text} [{context}]" if context else text)

    def _state(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only constructors do not survive the default pickling of exceptions;
        # workers may pickle errors (e.g. across processes), so restore from state instead.
        return (_restore, (type(self), self._state()))


def _restore(cls: type[AllegroError], state: dict[str, Any]) -> AllegroError:
    error = cls.__new__(cls)
    Exception.__init__(error, state.get("message", ""))
    error.__dict__.update(state)
    return error


# --- transient --------------------------------------------------------------------------


class TransientError(AllegroError):
    """The call may succeed later. ``maybe_applied``: the request may have taken effect."""

    transient = True
    #: default of ``maybe_applied`` for the class
    maybe_applied_default: bool = False

    def __init__(
        self,
        message: str,
        *,
        retry_after_s: float | None = None,
        maybe_applied: bool | None = None,
        **context: Any,
    ) -> None:
        super().__init__(message, **context)
        self.retry_after_s = retry_after_s
        self.maybe_applied = self.maybe_applied_default if maybe_applied is None else maybe_applied


class RateLimited(TransientError):
    """429. ``retry_after_s`` is Allegro's ``Retry-After`` when sent (a Client-ID block is
    60 s); wait at least that long, and without it back off for a minute or more."""


#: Wait at least this long after a 429 of the token endpoint, s (FACTS §3: no documented
#: Retry-After, back off a minute or more; asking while blocked makes the block longer).
TOKEN_RATE_LIMIT_MIN_S = 60.0


class TokenRateLimited(RateLimited):
    """429 from the token endpoint: Allegro issues no more tokens for now (FACTS §2).
    ``retry_after_s`` is at least :data:`TOKEN_RATE_LIMIT_MIN_S`; never retried within a
    call."""


class ServerError(TransientError):
    """5xx: Allegro failed; the request may or may not have been applied."""

    maybe_applied_default = True


class ApiTimeout(TransientError):
    """No complete answer within the configured timeout."""


TimeoutError_ = ApiTimeout


class ConnectionFailed(TransientError):
    """The connection could not be made or broke before a full response arrived."""


class EditInProgress(TransientError):
    """409: Allegro is still processing the previous change of this offer; retry later."""


class OperationPending(TransientError):
    """An async offer operation did not finish within ``operation_poll_max_s``.

    Nothing is lost: the offer exists (``offer_id``); call
    ``AllegroClient.wait_operation(operation_url)`` later to get the final offer.
    """

    maybe_applied_default = True

    def __init__(
        self,
        message: str,
        *,
        offer_id: str | None,
        operation_url: str,
        **context: Any,
    ) -> None:
        super().__init__(message, **context)
        self.offer_id = offer_id
        self.operation_url = operation_url


# --- permanent --------------------------------------------------------------------------


class PermanentError(AllegroError):
    """Sending the same request again will fail the same way; fix the data or the setup."""


class BadRequest(PermanentError):
    """400: the request is malformed (for example a body that is not readable JSON)."""


class Unauthorized(PermanentError):
    """401 even after one token refresh."""


class Forbidden(PermanentError):
    """403: not the owner of the offer, wrong account type, or a missing scope."""


class NotFound(PermanentError):
    """404: unknown, or archived (an ended offer is archived after 60 days)."""


class NotAcceptable(PermanentError):
    """406: Allegro did not accept the media type (a client bug)."""


class ValidationFailed(PermanentError):
    """422: Allegro rejected the data; ``errors`` say what and where (``path``)."""


class OperationFailed(PermanentError):
    """An async offer operation (202 → poll) ended with ``errors``."""

    def __init__(self, message: str, *, offer_id: str | None = None, **context: Any) -> None:
        super().__init__(message, **context)
        self.offer_id = offer_id


class InvalidRequest(PermanentError, ValueError):
    """Rejected by the client before sending (e.g. more than 1,000 offers in a command)."""


class OAuthError(PermanentError):
    """A failure of the OAuth endpoints (``/auth/oauth/...``)."""

    def __init__(self, message: str, *, oauth_error: str | None = None, **context: Any) -> None:
        super().__init__(message, **context)
        self.oauth_error = oauth_error


class DeviceFlowDenied(OAuthError):
    """The person refused to connect the application to the account."""


class DeviceFlowExpired(OAuthError):
    """The device code expired, was already used or is unknown: start a new connection."""


class InvalidGrant(OAuthError):
    """The refresh token is expired, revoked or already used: connect the account again."""


class InvalidClient(OAuthError):
    """Allegro refused the application's client id or secret."""


class NotConnected(OAuthError):
    """No usable tokens are stored for the account."""

    def __init__(self, account: str, *, reason: str | None = None, **context: Any) -> None:
        why = f"{reason}; " if reason else ""
        super().__init__(
            f"Allegro account {account!r} is not connected ({why}run "
            f"`allegro-feed connect --account {account}` and confirm the code in the browser)",
            **context,
        )
        self.account = account


class AuthorizationPending(AllegroError):
    """Internal to the device flow: the person has not confirmed yet; keep polling."""


class SlowDown(AuthorizationPending):
    """Internal to the device flow: polled too often; add 5 s to the interval."""


# --- mapping ----------------------------------------------------------------------------

_PERMANENT_BY_STATUS: dict[int, tuple[type[PermanentError], str]] = {
    400: (BadRequest, "Allegro rejected the request as malformed"),
    401: (
        Unauthorized,
        "Allegro refused the access token (expired or revoked, or an application token used "
        "where a user token is needed); if it persists, reconnect the account with "
        "`allegro-feed connect`",
    ),
    403: (
        Forbidden,
        "Allegro denied access: the offer belongs to another account, the account type does "
        "not allow it, or the token lacks a scope (allegro:api:sale:offers:read/write)",
    ),
    404: (NotFound, "Allegro does not know this resource (unknown id, or an archived offer)"),
    406: (
        NotAcceptable,
        "Allegro did not accept the media type application/vnd.allegro.public.v1+json",
    ),
    422: (ValidationFailed, "Allegro rejected the data"),
}


def error_for_status(
    status: int,
    *,
    errors: Sequence[ErrorItem] = (),
    retry_after_s: float | None = None,
    trace_id: str | None = None,
    method: str | None = None,
    path: str | None = None,
    description: str | None = None,
    token_endpoint: bool = False,
) -> AllegroError:
    """Translate an unexpected HTTP status into the error tree (the one place that does).

    ``description`` is the OAuth-shaped ``error_description`` of 401 bodies, if any.
    ``token_endpoint``: the answer came from the OAuth host (a 429 is then
    :class:`TokenRateLimited`).
    """
    context: dict[str, Any] = {
        "status": status,
        "errors": errors,
        "trace_id": trace_id,
        "method": method,
        "path": path,
    }
    if status == 429 and token_endpoint:
        wait_s = max(retry_after_s or 0.0, TOKEN_RATE_LIMIT_MIN_S)
        return TokenRateLimited(
            f"Allegro's token endpoint refused to issue a token (429, too many tokens); "
            f"not asking again for {wait_s:g} s",
            retry_after_s=wait_s,
            maybe_applied=False,
            **context,
        )
    if status == 429:
        wait = f"; retry after {retry_after_s:g} s" if retry_after_s is not None else ""
        return RateLimited(
            f"Allegro rate limit hit{wait} (a Client-ID block lasts about a minute)",
            retry_after_s=retry_after_s,
            **context,
        )
    if status == 409:
        return EditInProgress(
            "Allegro is still processing the previous change of this offer; retry later",
            retry_after_s=retry_after_s,
            **context,
        )
    if status == 408:
        return ApiTimeout("Allegro timed out waiting for the request", **context)
    if status >= 500:
        return ServerError(
            f"Allegro server error {status}; retry later",
            retry_after_s=retry_after_s,
            **context,
        )
    cls, message = _PERMANENT_BY_STATUS.get(
        status, (PermanentError, f"Allegro answered with unexpected status {status}")
    )
    if description and not errors:
        message = f"{message}: {description}"
    return cls(message, **context)

"""What every REST API call goes through before its handler, in this order:

1. due scheduled work runs (``settle``), so the handler sees the present;
2. the bearer token: missing 401, unknown or expired 401, an application token on a
   user-only resource 401 "Empty user_name claim", a missing scope 403;
3. the ``Accept`` header must name Allegro's media type (else 406 ``NotAcceptableException``);
4. the client id's rate limit and block (429);
5. for calls with a body: ``Content-Type`` must be Allegro's media type (415) and the body
   must parse as JSON (400 "Message is not readable").
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sandbox.catalog import Seller
from sandbox.responses import (
    ALLEGRO_MEDIA_TYPE,
    ApiError,
    access_denied,
    auth_error,
    bad_request,
    error_item,
    invalid_parameter,
)
from sandbox.state import SandboxState
from sandbox.tokens import AccessToken

__all__ = ["READ", "WRITE", "Call", "endpoint", "too_many_requests"]

READ = "allegro:api:sale:offers:read"
WRITE = "allegro:api:sale:offers:write"

Handler = Callable[["Call"], Awaitable[Response]]


@dataclass
class Call:
    """One authenticated API call, as a handler sees it."""

    request: Request
    state: SandboxState
    token: AccessToken
    now: float
    body: Any = None

    @property
    def seller(self) -> Seller:
        """The seller behind a user token (only on user endpoints)."""
        assert self.token.user is not None
        return self.state.seller(self.token.user)

    @property
    def login(self) -> str:
        assert self.token.user is not None
        return self.token.user

    def int_param(self, name: str, default: int, low: int, high: int) -> int:
        """An integer query parameter in ``low..high`` (``default`` when absent); else 422."""
        raw = self.request.query_params.get(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise invalid_parameter(name, f"{name} must be an integer") from None
        if not low <= value <= high:
            raise invalid_parameter(name, f"{name} must be between {low} and {high}")
        return value

    def base_url(self) -> str:
        """Where clients reach this sandbox (the ``base_url`` knob, else the Host header)."""
        return public_base_url(self.request, self.state)


def public_base_url(request: Request, state: SandboxState) -> str:
    configured = state.config.base_url.rstrip("/")
    return configured or str(request.base_url).rstrip("/")


def endpoint(
    *, user: bool = True, scope: str | None = None, body: bool = False
) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """Wrap a handler in the checks above. ``user``: needs a user token (else an
    application token will do); ``scope``: the OAuth scope required; ``body``: parse a JSON
    body into ``Call.body``."""

    def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            state: SandboxState = request.app.state.sandbox
            now = state.settle()
            token = _authenticate(request, state, now, user=user, scope=scope)
            _check_accept(request)
            _check_client_limit(state, token, now)
            call = Call(request, state, token, now)
            if body:
                call.body = await _read_json(request)
            return await handler(call)

        run.__name__ = handler.__name__
        run.__doc__ = handler.__doc__
        return run

    return wrap


def _authenticate(
    request: Request, state: SandboxState, now: float, *, user: bool, scope: str | None
) -> AccessToken:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if not header or scheme.lower() != "bearer" or not value.strip():
        raise ApiError(
            auth_error(
                401, "unauthorized", "Full authentication is required to access this resource"
            )
        )
    token = state.tokens.access.get(value.strip())
    if token is None:
        raise ApiError(auth_error(401, "invalid_token", "Cannot convert access token to JSON"))
    if now >= token.expires_at:
        raise ApiError(auth_error(401, "invalid_token", "Access token expired"))
    if user and token.user is None:
        raise ApiError(auth_error(401, "invalid_token", "Empty user_name claim"))
    if scope is not None and token.user is not None and scope not in token.scopes:
        raise access_denied()
    return token


def _check_accept(request: Request) -> None:
    accepted = [
        part.split(";", 1)[0].strip().lower()
        for part in request.headers.get("accept", "").split(",")
    ]
    if ALLEGRO_MEDIA_TYPE not in accepted:
        raise bad_request(
            406,
            "NotAcceptableException",
            "Not acceptable representation requested. Please check 'Accept' request header",
        )


def _check_client_limit(state: SandboxState, token: AccessToken, now: float) -> None:
    blocked_for = state.limits.client_blocked_for(token.client_id, now, state.config)
    if blocked_for > 0:
        raise too_many_requests(
            state,
            blocked_for,
            "Too many requests for this client id; it is blocked for a while.",
        )


def too_many_requests(state: SandboxState, retry_after_s: float, message: str) -> ApiError:
    """429 in Allegro's errors shape; ``Retry-After`` only when the knob asks for it."""
    headers = {}
    if state.config.rate_limit_retry_after:
        headers["Retry-After"] = str(max(1, round(retry_after_s)))
    return ApiError.errors(
        429,
        error_item(
            "TooManyRequestsException",
            message,
            user_message="Too many requests. Try again later.",
        ),
        headers=headers,
    )


async def _read_json(request: Request) -> Any:
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != ALLEGRO_MEDIA_TYPE:
        raise bad_request(
            415,
            "UnsupportedMediaTypeException",
            f"Content type '{media or 'none'}' not supported. Use '{ALLEGRO_MEDIA_TYPE}'",
        )
    raw = await request.body()
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise bad_request(400, "JsonParseException", "Message is not readable.") from None

"""The OAuth server: ``POST /auth/oauth/token`` and ``POST /auth/oauth/device``.

Both authenticate the application with HTTP Basic (client id and secret). Parameters are
read from the form body (``application/x-www-form-urlencoded``) and, as Allegro's own
examples send them, from the query string; the body wins. Grants: ``client_credentials``
(no refresh token), the device flow and ``refresh_token`` (single use, with a grace period
after the first use). Errors use the OAuth shape ``{"error", "error_description"}``.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import parse_qsl, quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.api import public_base_url
from sandbox.responses import OAuthJSON, auth_error
from sandbox.state import SandboxState
from sandbox.tokens import APP_SCOPES

__all__ = ["DEVICE_GRANT", "VERIFICATION_PATH", "issue_user_tokens", "routes"]

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
VERIFICATION_PATH = "/skojarz-aplikacje"
_SLOW_DOWN_STEP_S = 5  # RFC 8628: each slow_down adds 5 s to the interval
_HOUR_S = 3600.0


class _Refusal(Exception):
    def __init__(self, status: int, error: str, description: str | None = None) -> None:
        super().__init__(error)
        self.response = auth_error(status, error, description, oauth=True)


async def token(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    try:
        client_id = _client(request, state)
        params = await _params(request)
        grant = params.get("grant_type")
        if not grant:
            raise _Refusal(400, "invalid_request", "Missing grant type")
        now = state.now()
        if grant == "client_credentials":
            answer = _issue(state, client_id, None, _scopes(params.get("scope")), now)
        elif grant == DEVICE_GRANT:
            answer = _device_token(state, client_id, params.get("device_code", ""), now)
        elif grant == "refresh_token":
            answer = _refresh(state, client_id, params.get("refresh_token", ""), now)
        else:
            raise _Refusal(400, "unsupported_grant_type", f"Unsupported grant type: {grant}")
    except _Refusal as refusal:
        return refusal.response
    return OAuthJSON(answer)


async def device(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    try:
        client_id = _client(request, state)
        params = await _params(request)
        named = params.get("client_id")
        if not named:
            raise _Refusal(400, "invalid_request", "Missing client_id")
        if named != client_id:
            raise _Refusal(401, "invalid_client", "client_id does not match the credentials")
    except _Refusal as refusal:
        return refusal.response
    config = state.config
    grant = state.tokens.new_device_grant(
        client_id=client_id,
        scopes=_scopes(params.get("scope")),
        now=state.now(),
        ttl_s=config.device_code_ttl_s,
        interval_s=config.device_interval_s,
    )
    uri = public_base_url(request, state) + VERIFICATION_PATH
    # Allegro's tutorial shows expires_in and interval as strings; so does the sandbox.
    return OAuthJSON(
        {
            "user_code": grant.user_code,
            "device_code": grant.device_code,
            "expires_in": str(config.device_code_ttl_s),
            "interval": str(config.device_interval_s),
            "verification_uri": uri,
            "verification_uri_complete": f"{uri}?code={quote(grant.user_code)}",
        }
    )


def issue_user_tokens(state: SandboxState, client_id: str, user: str) -> dict[str, object]:
    """Issue a user token pair as if the user had authorised ``client_id`` (admin helper);
    not subject to the token-issue limit."""
    return _issue(state, client_id, user, APP_SCOPES, state.now(), limited=False)


def _issue(
    state: SandboxState,
    client_id: str,
    user: str | None,
    scopes: tuple[str, ...],
    now: float,
    *,
    limited: bool = True,
) -> dict[str, object]:
    """Issue tokens as the token endpoint answers them; ``limited``: refused with 429 once
    ``token_issue_limit_per_h`` tokens were issued to the same user (or application) within
    the hour."""
    config = state.config
    limit = config.token_issue_limit_per_h
    if limited and limit and state.tokens.issued_within(client_id, user, now, _HOUR_S) >= limit:
        raise _Refusal(429, "too_many_requests", "Too many tokens issued; reuse your token")
    return state.tokens.issue(
        client_id=client_id,
        user=user,
        scopes=scopes,
        now=now,
        access_ttl_s=config.access_token_ttl_s,
        refresh_ttl_s=config.refresh_token_ttl_s,
    )


def _device_token(
    state: SandboxState, client_id: str, device_code: str, now: float
) -> dict[str, object]:
    grant = state.tokens.devices.get(device_code)
    if grant is None or grant.client_id != client_id or grant.state == "used":
        raise _Refusal(400, "Invalid device code")
    if now >= grant.expires_at:
        raise _Refusal(400, "expired_token", "The device code has expired")
    polled_too_soon = grant.last_poll_at is not None and now - grant.last_poll_at < grant.interval_s
    grant.last_poll_at = now
    if polled_too_soon:
        grant.interval_s += _SLOW_DOWN_STEP_S
        raise _Refusal(400, "slow_down")
    if grant.state == "denied":
        raise _Refusal(400, "access_denied")
    if grant.state == "pending":
        raise _Refusal(400, "authorization_pending")
    assert grant.user is not None
    grant.state = "used"
    return _issue(state, client_id, grant.user, grant.scopes, now)


def _refresh(
    state: SandboxState, client_id: str, refresh_token: str, now: float
) -> dict[str, object]:
    stored = state.tokens.refresh.get(refresh_token)
    if stored is None or stored.client_id != client_id:
        raise _Refusal(400, "invalid_grant", "Invalid refresh token")
    if now >= stored.expires_at:
        raise _Refusal(400, "invalid_grant", "Invalid refresh token (expired)")
    if stored.first_used_at is None:
        stored.first_used_at = now
    elif now - stored.first_used_at > state.config.refresh_grace_s:
        raise _Refusal(400, "invalid_grant", "Invalid refresh token (already used)")
    return _issue(state, client_id, stored.user, stored.scopes, now)


def _client(request: Request, state: SandboxState) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        raise _Refusal(
            401, "unauthorized", "Full authentication is required to access this resource"
        )
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise _Refusal(401, "unauthorized", "Bad credentials") from None
    client_id, _, secret = decoded.partition(":")
    if state.config.clients().get(client_id) != secret or not secret:
        raise _Refusal(401, "unauthorized", "Bad credentials")
    return client_id


async def _params(request: Request) -> dict[str, str]:
    params = dict(request.query_params)
    raw = await request.body()
    if raw:
        media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media != "application/x-www-form-urlencoded":
            raise _Refusal(
                400, "invalid_request", "Send parameters as application/x-www-form-urlencoded"
            )
        params.update(parse_qsl(raw.decode("utf-8", errors="replace"), keep_blank_values=True))
    return params


def _scopes(requested: str | None) -> tuple[str, ...]:
    """Asked-for scopes limited to the app's; none asked (or none known): all of the app's."""
    if not requested:
        return APP_SCOPES
    asked = set(requested.split())
    granted = tuple(scope for scope in APP_SCOPES if scope in asked)
    return granted or APP_SCOPES


routes = [
    Route("/auth/oauth/token", token, methods=["POST"]),
    Route("/auth/oauth/device", device, methods=["POST"]),
]

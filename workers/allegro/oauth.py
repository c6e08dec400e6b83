"""OAuth 2.0 with Allegro: client credentials, the device flow, refresh with rotation.

All grants go to ``POST {auth}/auth/oauth/token`` with HTTP Basic (client id and secret);
the device flow starts at ``POST {auth}/auth/oauth/device`` (FACTS §2).

- :class:`OAuthClient` speaks the protocol: one method per grant, errors mapped to
  :mod:`workers.allegro.errors`.
- The tokens a call uses, and their refresh protocol, are in :mod:`workers.allegro.auth`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import structlog

from workers.allegro._http import ApiResponse, AuthMode, HttpCore, Retry
from workers.allegro.errors import (
    AuthorizationPending,
    DeviceFlowDenied,
    DeviceFlowExpired,
    InvalidClient,
    InvalidGrant,
    OAuthError,
    SlowDown,
    TransientError,
)
from workers.allegro.tokens import TokenSet
from workers.logging import register_secret

__all__ = ["DeviceAuthorization", "OAuthClient"]

log = structlog.get_logger(__name__)

TOKEN_PATH = "/auth/oauth/token"  # noqa: S105 - a URL path, not a secret
DEVICE_PATH = "/auth/oauth/device"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
#: RFC 8628: on ``slow_down`` the interval grows by 5 s.
SLOW_DOWN_STEP_S = 5.0
DEFAULT_INTERVAL_S = 5.0
DEFAULT_DEVICE_TTL_S = 3600.0


def _number(value: Any, default: float) -> float:
    # Allegro's tutorial shows expires_in and interval as strings ("3600", "5").
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if number >= 0 else default


@dataclass(frozen=True, repr=False)
class DeviceAuthorization:
    """The answer to starting a device flow. ``expires_at`` is epoch seconds.

    Show ``verification_uri_complete`` (or ``verification_uri`` and ``user_code``) to the
    person; ``device_code`` is a secret between the application and Allegro.
    """

    user_code: str
    device_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_in_s: float
    interval_s: float
    expires_at: float

    @classmethod
    def from_response(cls, body: Any, now: float) -> DeviceAuthorization:
        if not isinstance(body, Mapping):
            raise OAuthError("Allegro's device endpoint returned no JSON object")
        device_code = body.get("device_code")
        user_code = body.get("user_code")
        if not device_code or not user_code:
            raise OAuthError("Allegro's device endpoint returned no device_code/user_code")
        uri = str(body.get("verification_uri") or "")
        complete = body.get("verification_uri_complete")
        if not complete:
            complete = f"{uri}?code={user_code}" if uri else ""
        expires_in = _number(body.get("expires_in"), DEFAULT_DEVICE_TTL_S)
        return cls(
            user_code=str(user_code),
            device_code=str(device_code),
            verification_uri=uri,
            verification_uri_complete=str(complete),
            expires_in_s=expires_in,
            interval_s=max(_number(body.get("interval"), DEFAULT_INTERVAL_S), 1.0),
            expires_at=now + expires_in,
        )

    def __repr__(self) -> str:
        return (
            f"DeviceAuthorization(user_code={self.user_code!r}, device_code='***', "
            f"verification_uri={self.verification_uri!r}, expires_in_s={self.expires_in_s!r},"
            f" interval_s={self.interval_s!r})"
        )


class OAuthClient:
    """The OAuth endpoints. ``sleep``/``clock`` are injectable for tests."""

    def __init__(
        self,
        core: HttpCore,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._core = core
        self._sleep = sleep
        self._clock = clock
        secret = core.settings.client_secret
        if secret is not None:
            register_secret(secret.get_secret_value())

    # --- grants -------------------------------------------------------------------------

    def client_credentials(self) -> TokenSet:
        """An application token (no refresh token); works on the category endpoints."""
        response = self._token_call({"grant_type": "client_credentials"}, retry=Retry.SAFE)
        return self._tokens_or_raise(response, grant="client_credentials")

    def refresh(self, refresh_token: str) -> TokenSet:
        """A new pair for ``refresh_token`` (which becomes used up).

        Retried on transient failures: Allegro accepts a used refresh token for 60 s, so
        re-sending after a lost answer is safe. Raises :class:`InvalidGrant` when the
        refresh token is expired, revoked or already used.
        """
        response = self._token_call(
            {"grant_type": "refresh_token", "refresh_token": refresh_token}, retry=Retry.SAFE
        )
        tokens = self._tokens_or_raise(response, grant="refresh_token")
        if tokens.refresh_token is None:
            tokens = replace(tokens, refresh_token=refresh_token)
        return tokens

    def start_device_flow(self, scope: str | None = None) -> DeviceAuthorization:
        """Start connecting a seller account; show the result to the person."""
        client_id, _ = self._core.credentials()
        form = {"client_id": client_id}
        if scope:
            form["scope"] = scope
        response = self._core.request(
            "POST",
            DEVICE_PATH,
            base="auth",
            auth=AuthMode.CLIENT,
            form=form,
            ok=(200, 400, 401),
            retry=Retry.SAFE,
        )
        if response.status != 200:
            raise self._oauth_error(response, grant="device")
        device = DeviceAuthorization.from_response(response.body, self._clock())
        log.info(
            "allegro.device_flow_started",
            verification_uri=device.verification_uri,
            expires_in_s=device.expires_in_s,
            interval_s=device.interval_s,
            trace_id=response.trace_id,
        )
        return device

    def poll_device_once(self, device: DeviceAuthorization) -> TokenSet:
        """One poll. Raises :class:`AuthorizationPending` (or its :class:`SlowDown`) while
        the person has not confirmed, :class:`DeviceFlowDenied`, :class:`DeviceFlowExpired`.
        """
        response = self._token_call(
            {"grant_type": DEVICE_GRANT, "device_code": device.device_code}, retry=Retry.NEVER
        )
        return self._tokens_or_raise(response, grant="device_code")

    def wait_for_device_tokens(
        self,
        device: DeviceAuthorization,
        *,
        on_wait: Callable[[float], None] | None = None,
    ) -> TokenSet:
        """Poll until the person confirms (tokens), refuses or the code expires.

        Waits ``interval`` before each poll; ``slow_down`` adds 5 s to it. A transient
        failure of one poll is treated like ``authorization_pending``.
        """
        interval = device.interval_s
        while True:
            if self._clock() + interval > device.expires_at:
                raise DeviceFlowExpired(
                    "the connection code expired before it was confirmed; run "
                    "`allegro-feed connect` again",
                    oauth_error="expired_token",
                )
            if on_wait is not None:
                on_wait(interval)
            self._sleep(interval)
            try:
                return self.poll_device_once(device)
            except SlowDown:
                interval += SLOW_DOWN_STEP_S
                log.info("allegro.device_flow_slow_down", interval_s=interval)
            except AuthorizationPending:
                continue
            except TransientError as exc:
                log.warning("allegro.device_flow_poll_failed", error=type(exc).__name__)

    # --- helpers ------------------------------------------------------------------------

    def _token_call(self, form: dict[str, str], *, retry: Retry) -> ApiResponse:
        return self._core.request(
            "POST",
            TOKEN_PATH,
            base="auth",
            auth=AuthMode.CLIENT,
            form=form,
            ok=(200, 400, 401),
            retry=retry,
        )

    def _tokens_or_raise(self, response: ApiResponse, *, grant: str) -> TokenSet:
        if response.status != 200:
            raise self._oauth_error(response, grant=grant)
        if not isinstance(response.body, Mapping):
            raise OAuthError(
                "Allegro's token endpoint returned no JSON object", **response.error_context
            )
        try:
            tokens = TokenSet.from_token_response(response.body, self._clock())
        except ValueError as exc:
            raise OAuthError(str(exc), trace_id=response.trace_id) from None
        register_secret(tokens.access_token)
        register_secret(tokens.refresh_token)
        log.info(
            "allegro.token_issued",
            grant=grant,
            expires_at=tokens.expires_at,
            scope=tokens.scope,
            trace_id=response.trace_id,
        )
        return tokens

    def _oauth_error(
        self, response: ApiResponse, *, grant: str
    ) -> OAuthError | AuthorizationPending:
        body = response.body if isinstance(response.body, Mapping) else {}
        error = str(body.get("error") or "")
        description = str(body.get("error_description") or "")
        context = response.error_context
        detail = f" ({description})" if description else ""
        if response.status == 401 or error in ("invalid_client", "unauthorized_client"):
            return InvalidClient(
                f"Allegro refused the application credentials{detail}; check "
                "ALLEGRO_FEED_CLIENT_ID and ALLEGRO_FEED_CLIENT_SECRET (and that they belong "
                "to this environment: production and sandbox are separate)",
                oauth_error=error or None,
                **context,
            )
        if grant == "device_code":
            if error == "authorization_pending":
                return AuthorizationPending("waiting for the person to confirm", **context)
            if error == "slow_down":
                return SlowDown("polling too often", **context)
            if error == "access_denied":
                return DeviceFlowDenied(
                    "the connection was refused in the browser; run `allegro-feed connect` "
                    "again to retry",
                    oauth_error=error,
                    **context,
                )
            # "Invalid device code", expired_token and any other 400: start again.
            return DeviceFlowExpired(
                f"the connection code is no longer valid ({error or 'expired'}){detail}; run "
                "`allegro-feed connect` again",
                oauth_error=error or None,
                **context,
            )
        if grant == "refresh_token":
            return InvalidGrant(
                f"Allegro refused the refresh token ({error or 'invalid_grant'}){detail}: it "
                "expired, was revoked or was already used; connect the account again",
                oauth_error=error or None,
                **context,
            )
        return OAuthError(
            f"Allegro's OAuth endpoint refused the {grant} request "
            f"({error or response.status}){detail}",
            oauth_error=error or None,
            **context,
        )

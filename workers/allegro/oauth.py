"""OAuth 2.0 with Allegro: client credentials, the device flow, refresh with rotation.

All grants go to ``POST {auth}/auth/oauth/token`` with HTTP Basic (client id and secret);
the device flow starts at ``POST {auth}/auth/oauth/device`` (FACTS §2).

- :class:`OAuthClient` speaks the protocol: one method per grant, errors mapped to
  :mod:`workers.allegro.errors`.
- The tokens a call uses, and their refresh protocol, are in :mod:`workers.allegro.auth`.

Allegro limits how many tokens it issues (429 from the token endpoint, FACTS §2), and asking
again while blocked makes the block longer (§3). So a 429 there is never retried within the
call: it raises :class:`TokenRateLimited` (wait at least 60 s), and the block is remembered
for the whole process (:data:`TOKEN_BLOCKS`, per application and account), so that other
threads raise at once instead of asking too.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import structlog

from workers.allegro._http import ApiResponse, AuthMode, HttpCore, Retry
from workers.allegro.errors import (
    TOKEN_RATE_LIMIT_MIN_S,
    AuthorizationPending,
    DeviceFlowDenied,
    DeviceFlowExpired,
    InvalidClient,
    InvalidGrant,
    OAuthError,
    SlowDown,
    TokenRateLimited,
    TransientError,
)
from workers.allegro.tokens import TokenSet
from workers.logging import register_secret

__all__ = ["TOKEN_BLOCKS", "DeviceAuthorization", "OAuthClient", "TokenBlocks"]

log = structlog.get_logger(__name__)

TOKEN_PATH = "/auth/oauth/token"  # noqa: S105 - a URL path, not a secret
DEVICE_PATH = "/auth/oauth/device"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
#: RFC 8628: on ``slow_down`` the interval grows by 5 s.
SLOW_DOWN_STEP_S = 5.0
DEFAULT_INTERVAL_S = 5.0
DEFAULT_DEVICE_TTL_S = 3600.0
#: How long the retries of one token call may last in all, s: within the 60 s in which
#: Allegro still accepts a refresh token after its first use (FACTS §2).
REFRESH_RETRY_MAX_S = 40.0
#: The subject of the application's own (client-credentials) tokens in :class:`TokenBlocks`.
APP_SUBJECT = "<application>"


class TokenBlocks:
    """Until when Allegro's token endpoint refuses new tokens (429), per application (auth
    URL and client id) and subject (an account, or :data:`APP_SUBJECT`). Thread-safe; one
    per process (:data:`TOKEN_BLOCKS`); a forked child keeps what its parent knew."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._until: dict[tuple[str, str, str], float] = {}

    def remaining_s(self, key: tuple[str, str, str], now: float) -> float:
        """Seconds the block of ``key`` still lasts (0 when there is none)."""
        with self._lock:
            until = self._until.get(key)
            if until is not None and until <= now:
                del self._until[key]
                until = None
        return 0.0 if until is None else until - now

    def block(self, key: tuple[str, str, str], until: float) -> None:
        """Remember that ``key`` is blocked until ``until`` (epoch s); a longer block wins."""
        with self._lock:
            self._until[key] = max(until, self._until.get(key, 0.0))

    def clear(self) -> None:
        with self._lock:
            self._until.clear()

    def _after_fork(self) -> None:
        self._lock = threading.Lock()  # a lock held by another thread at fork is never freed


#: The token-endpoint blocks of this process.
TOKEN_BLOCKS = TokenBlocks()
os.register_at_fork(after_in_child=TOKEN_BLOCKS._after_fork)


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

    @property
    def auth_base_url(self) -> str:
        """The OAuth base URL the grants go to (recorded in every token set issued)."""
        return self._core.auth_base

    @property
    def client_id(self) -> str:
        """The application's client id ("" when not set; recorded in every token set)."""
        return self._core.settings.client_id or ""

    # --- grants -------------------------------------------------------------------------

    def client_credentials(self) -> TokenSet:
        """An application token (no refresh token); works on the category endpoints.

        Raises :class:`TokenRateLimited` while Allegro refuses to issue tokens."""
        response = self._issuing_call({"grant_type": "client_credentials"}, APP_SUBJECT)
        return self._tokens_or_raise(response, grant="client_credentials")

    def refresh(self, refresh_token: str, *, account: str = "default") -> TokenSet:
        """A new pair for ``refresh_token`` of ``account`` (which becomes used up).

        Retried on 5xx, timeouts and broken connections within the call, for at most
        :data:`REFRESH_RETRY_MAX_S`: Allegro accepts a used refresh token for 60 s, so a
        re-send after a lost answer is safe within that time. Raises :class:`InvalidGrant`
        when the refresh token is expired, revoked or already used, and
        :class:`TokenRateLimited` while Allegro refuses to issue tokens for ``account``.
        """
        response = self._issuing_call(
            {"grant_type": "refresh_token", "refresh_token": refresh_token}, account
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
        response = self._post(DEVICE_PATH, form, retry=Retry.SAFE)
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
        response = self._post(
            TOKEN_PATH,
            {"grant_type": DEVICE_GRANT, "device_code": device.device_code},
            retry=Retry.NEVER,
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

    def _block_key(self, subject: str) -> tuple[str, str, str]:
        return (self.auth_base_url, self.client_id, subject)

    def _issuing_call(self, form: dict[str, str], subject: str) -> ApiResponse:
        """A token call that issues a token for ``subject``: not sent while the token
        endpoint blocks it; a 429 blocks it for every thread of the process."""
        key = self._block_key(subject)
        remaining_s = TOKEN_BLOCKS.remaining_s(key, self._clock())
        if remaining_s > 0:
            raise TokenRateLimited(
                "Allegro's token endpoint refused to issue tokens (429) a moment ago; not "
                f"asking again for {remaining_s:.0f} s (the request was not sent)",
                retry_after_s=remaining_s,
                maybe_applied=False,
                method="POST",
                path=TOKEN_PATH,
            )
        try:
            return self._post(TOKEN_PATH, form, retry=Retry.SAFE, max_time_s=REFRESH_RETRY_MAX_S)
        except TokenRateLimited as exc:
            wait_s = max(exc.retry_after_s or 0.0, TOKEN_RATE_LIMIT_MIN_S)
            TOKEN_BLOCKS.block(key, self._clock() + wait_s)
            log.warning(
                "allegro.token_rate_limited",
                subject=subject,
                blocked_s=wait_s,
                trace_id=exc.trace_id,
            )
            raise

    def _post(
        self, path: str, form: dict[str, str], *, retry: Retry, max_time_s: float | None = None
    ) -> ApiResponse:
        """``POST`` of ``form`` to an OAuth endpoint with the client's Basic credentials;
        a 400 or 401 comes back as the response (:meth:`_oauth_error` says what it means)."""
        return self._core.request(
            "POST",
            path,
            base="auth",
            auth=AuthMode.CLIENT,
            form=form,
            ok=(200, 400, 401),
            retry=retry,
            max_time_s=max_time_s,
        )

    def _tokens_or_raise(self, response: ApiResponse, *, grant: str) -> TokenSet:
        if response.status != 200:
            raise self._oauth_error(response, grant=grant)
        if not isinstance(response.body, Mapping):
            raise OAuthError(
                "Allegro's token endpoint returned no JSON object", **response.error_context
            )
        try:
            tokens = TokenSet.from_token_response(
                response.body,
                self._clock(),
                auth_base_url=self.auth_base_url,
                client_id=self.client_id,
            )
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

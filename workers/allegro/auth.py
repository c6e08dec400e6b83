"""The tokens each call uses, kept fresh.

- :class:`AppTokens`: the application (client-credentials) token, cached in memory.
- :class:`UserTokens`: a seller account's tokens from the shared :class:`TokenStore`,
  refreshed so that, across all processes sharing the store, only one refreshes and all
  pick up the new pair (Allegro's refresh tokens are single-use).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import structlog

from workers.allegro.errors import InvalidGrant, NotConnected
from workers.allegro.oauth import OAuthClient
from workers.allegro.tokens import TokenSet, TokenStore
from workers.logging import register_secret

__all__ = ["AppTokens", "UserTokens"]

log = structlog.get_logger(__name__)


class AppTokens:
    """The application token, fetched on first use and renewed when it (nearly) expires
    or Allegro refuses it. Thread-safe."""

    def __init__(
        self, oauth: OAuthClient, *, clock: Callable[[], float] = time.time, skew_s: float = 60.0
    ) -> None:
        self._oauth = oauth
        self._clock = clock
        self._skew_s = skew_s
        self._lock = threading.Lock()
        self._tokens: TokenSet | None = None

    def access_token(self) -> str:
        with self._lock:
            if self._tokens is None or self._tokens.expired(self._clock(), self._skew_s):
                self._tokens = self._oauth.client_credentials()
            return self._tokens.access_token

    def refresh(self, failed_token: str) -> str:
        with self._lock:
            if self._tokens is None or self._tokens.access_token == failed_token:
                self._tokens = self._oauth.client_credentials()
            return self._tokens.access_token


class UserTokens:
    """A seller account's tokens from a shared :class:`TokenStore`. Thread-safe.

    The access token is cached in memory and re-read from the store only when it nearly
    expires (``skew_s`` before) or Allegro refuses it.
    """

    def __init__(
        self,
        oauth: OAuthClient,
        store: TokenStore,
        account: str,
        *,
        clock: Callable[[], float] = time.time,
        skew_s: float = 60.0,
    ) -> None:
        self._oauth = oauth
        self._store = store
        self.account = account
        self._clock = clock
        self._skew_s = skew_s
        self._lock = threading.Lock()
        self._cached: TokenSet | None = None

    def current(self) -> TokenSet:
        """A token set valid for at least ``skew_s`` more seconds (refreshing if needed)."""
        with self._lock:
            tokens = self._cached or self._load()
            if tokens.expired(self._clock(), self._skew_s):
                tokens = self._refresh_shared(tokens.access_token)
            self._cached = tokens
            return tokens

    def access_token(self) -> str:
        return self.current().access_token

    def refresh(self, failed_token: str) -> str:
        """A new access token after Allegro refused ``failed_token`` (401)."""
        with self._lock:
            self._cached = self._refresh_shared(failed_token, force=True)
            return self._cached.access_token

    def _load(self) -> TokenSet:
        tokens = self._store.get(self.account)
        if tokens is None:
            raise NotConnected(self.account, reason="no tokens stored")
        register_secret(tokens.access_token)
        register_secret(tokens.refresh_token)
        return tokens

    def _refresh_shared(self, stale_access_token: str, *, force: bool = False) -> TokenSet:
        # Only one process may use a refresh token: take the store's lock, then look
        # again. If the stored access token is no longer the stale one, another process
        # refreshed while we waited: use its pair instead of refreshing again.
        with self._store.refresh_lock(self.account):
            stored = self._load()
            now = self._clock()
            if stored.access_token != stale_access_token and not stored.expired(now, self._skew_s):
                log.info("allegro.tokens_picked_up", account=self.account)
                return stored
            if not stored.refresh_token:
                raise NotConnected(self.account, reason="the stored token cannot be refreshed")
            try:
                fresh = self._oauth.refresh(stored.refresh_token)
            except InvalidGrant as exc:
                raise InvalidGrant(
                    f"{exc.message}: run `allegro-feed connect --account {self.account}`",
                    oauth_error=exc.oauth_error,
                    status=exc.status,
                    trace_id=exc.trace_id,
                    method=exc.method,
                    path=exc.path,
                ) from None
            self._store.put(self.account, fresh)
            log.info(
                "allegro.tokens_refreshed",
                account=self.account,
                expires_at=fresh.expires_at,
                forced=force,
            )
            return fresh

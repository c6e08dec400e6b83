"""The tokens each call uses, kept fresh.

- :class:`AppTokens`: the application (client-credentials) token, cached in memory and
  shared by the clients built on one token store (:func:`shared_app_tokens`).
- :class:`UserTokens`: a seller account's tokens from the shared :class:`TokenStore`,
  refreshed so that, across all processes sharing the store, only one refreshes and all
  pick up the new pair (Allegro's refresh tokens are single-use).

Neither hands out a token Allegro refused (401) again, in any thread of the process
(:data:`REFUSED`): the next caller refreshes first.
A token that is due for renewal but still valid is used on when the renewal fails for a
transient reason (the token endpoint blocked with 429, a 5xx, a timeout): there is no
point in failing a call that the current token can still make.

A refreshed pair that the store does not take (a database blip) is kept in memory and used;
storing it is tried again on later calls, before any new refresh, which then starts from
that pair (its refresh token is the only valid one once Allegro's 60 s grace is over).

A stored pair issued by another Allegro (sandbox, production) or to another client id than
the running settings' is never sent anywhere: :class:`ConnectedElsewhere` says where the
account was connected and how to connect it again or point the settings back.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable

import structlog

from workers.allegro.errors import InvalidGrant, NotConnected, OAuthError, TransientError
from workers.allegro.oauth import OAuthClient
from workers.allegro.tokens import TokenSet, TokenStore
from workers.logging import register_secret
from workers.settings import ENVIRONMENT_HOSTS

__all__ = [
    "REFUSED",
    "AppTokenCache",
    "AppTokens",
    "ConnectedElsewhere",
    "RefusedTokens",
    "UserTokens",
    "release_app_tokens",
    "shared_app_tokens",
]

log = structlog.get_logger(__name__)

#: A token due for renewal is still used after a failed renewal while it stays valid for
#: at least this long, s (a request must reach Allegro before it expires).
USABLE_MARGIN_S = 10.0
#: Attempts to store a refreshed pair before keeping it in memory only, and the backoff
#: before each further attempt (s, doubling).
SAVE_ATTEMPTS = 3
SAVE_BACKOFF_S = 0.1
#: After storing failed, the next attempt is made by a call this long afterwards, s.
SAVE_RETRY_S = 5.0


def _world(auth_base_url: str) -> tuple[str, str]:
    """How to name an OAuth base URL, and the setting that points at it."""
    url = auth_base_url.rstrip("/")
    for environment, (_, auth) in ENVIRONMENT_HOSTS.items():
        if auth.lower() == url.lower():
            return (f"{environment.value} ({url})", f"ALLEGRO_FEED_ENVIRONMENT={environment.value}")
    return url, f"ALLEGRO_FEED_AUTH_URL={url}"


class ConnectedElsewhere(NotConnected):
    """The account's stored tokens were issued by another Allegro (production, sandbox, a
    local simulator) or to another application (client id) than the settings name; they
    are not sent (Allegro would refuse them without saying why, FACTS §1)."""

    def __init__(self, account: str, stored: TokenSet, auth_base_url: str, client_id: str) -> None:
        then_where, then_setting = _world(stored.auth_base_url or auth_base_url)
        now_where, _ = _world(auth_base_url)
        then_client = stored.client_id if stored.client_id is not None else client_id
        back: list[str] = []
        if stored.auth_base_url is not None and then_where != now_where:
            back.append(then_setting)
        if then_client != client_id:
            back.append(
                f"ALLEGRO_FEED_CLIENT_ID={then_client} (with its ALLEGRO_FEED_CLIENT_SECRET)"
            )
        OAuthError.__init__(
            self,
            f"Allegro account {account!r} was connected with client id {then_client!r} on "
            f"{then_where}, but the settings use client id {client_id!r} on {now_where}: "
            f"run `allegro-feed connect --account {account}` again to connect it for these "
            f"settings, or go back to {' and '.join(back)}; nothing was sent to Allegro",
        )
        self.account = account


class RefusedTokens:
    """Access tokens Allegro refused with 401, remembered (the newest ``limit``) so that no
    thread of the process sends one again. Thread-safe."""

    def __init__(self, limit: int = 1024) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        self._tokens: OrderedDict[str, None] = OrderedDict()

    def add(self, token: str) -> None:
        with self._lock:
            self._tokens[token] = None
            self._tokens.move_to_end(token)
            while len(self._tokens) > self._limit:
                self._tokens.popitem(last=False)

    def __contains__(self, token: object) -> bool:
        with self._lock:
            return token in self._tokens

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()

    def _after_fork(self) -> None:
        self._lock = threading.Lock()


#: The access tokens Allegro refused in this process.
REFUSED = RefusedTokens()
os.register_at_fork(after_in_child=REFUSED._after_fork)


def _sendable(tokens: TokenSet, now: float, margin_s: float) -> bool:
    """Whether ``tokens`` may be sent: Allegro has not refused the access token, and it
    stays valid for at least ``margin_s`` more seconds."""
    return tokens.access_token not in REFUSED and not tokens.expired(now, margin_s)


class _Deferrals:
    """Logs that a token due for renewal is used on because its renewal failed, once per
    token (not once per call)."""

    def __init__(self, **subject: str) -> None:
        self._subject = subject
        self._logged_for: str | None = None

    def log(self, tokens: TokenSet, exc: Exception, now: float) -> None:
        if self._logged_for == tokens.access_token:
            return
        self._logged_for = tokens.access_token
        log.warning(
            "allegro.token_renewal_deferred",
            **self._subject,
            error=type(exc).__name__,
            valid_for_s=round(tokens.expires_at - now, 1),
        )


def _renewed(
    tokens: TokenSet | None,
    renew: Callable[[], TokenSet],
    *,
    clock: Callable[[], float],
    skew_s: float,
    deferrals: _Deferrals,
) -> TokenSet:
    """``tokens``, or ``renew()`` when they are missing, refused or expire within
    ``skew_s``. When the renewal fails for a transient reason, ``tokens`` are kept while
    still sendable for :data:`USABLE_MARGIN_S` (logged once per token); otherwise the
    failure is raised. The one renewal rule of the application and the user tokens."""
    if tokens is not None and _sendable(tokens, clock(), skew_s):
        return tokens
    try:
        return renew()
    except TransientError as exc:
        now = clock()
        if tokens is None or not _sendable(tokens, now, USABLE_MARGIN_S):
            raise
        deferrals.log(tokens, exc, now)
        return tokens


class AppTokenCache:
    """The application token and its lock, shared by the :class:`AppTokens` of every
    client built on one token store (:func:`shared_app_tokens`)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.tokens: TokenSet | None = None
        #: failed renewals of a still valid token, logged once per token
        self.deferrals = _Deferrals(subject="application")
        #: open clients using it (see shared_app_tokens)
        self.users = 0


#: One :class:`AppTokenCache` per token store (so per process in the workers, whose
#: threads share one store) and application (auth URL, client id).
_SHARED: weakref.WeakKeyDictionary[object, dict[tuple[str, str], AppTokenCache]] = (
    weakref.WeakKeyDictionary()
)
_SHARED_LOCK = threading.Lock()


def shared_app_tokens(store: object, auth_base: str, client_id: str) -> AppTokenCache:
    """The application-token cache of the open clients built on ``store`` for one
    application; give it back with :func:`release_app_tokens` when the client closes (the
    last one to close drops the token, as closing a client always did).

    The workers create one client per account and thread; without this each would ask
    Allegro for an application token of its own, and Allegro limits how many tokens it
    issues (FACTS §2: reuse a token until it expires). A store that cannot be weakly
    referenced gets a cache of its own."""
    key = (auth_base, client_id)
    with _SHARED_LOCK:
        try:
            caches = _SHARED.setdefault(store, {})
        except TypeError:
            caches = {}
        cache = caches.get(key)
        if cache is None:
            cache = caches[key] = AppTokenCache()
        cache.users += 1
        return cache


def release_app_tokens(store: object, auth_base: str, client_id: str, cache: AppTokenCache) -> None:
    """A client using ``cache`` closed (see :func:`shared_app_tokens`)."""
    with _SHARED_LOCK:
        cache.users -= 1
        if cache.users > 0:
            return
        try:
            caches = _SHARED.get(store)
        except TypeError:
            return
        if caches is not None and caches.get((auth_base, client_id)) is cache:
            del caches[(auth_base, client_id)]


def _forget_shared() -> None:
    global _SHARED_LOCK
    # A forked child starts afresh: locks held by other threads at fork are never freed.
    _SHARED_LOCK = threading.Lock()
    _SHARED.clear()


os.register_at_fork(after_in_child=_forget_shared)


class AppTokens:
    """The application token, fetched on first use and renewed when it (nearly) expires
    or Allegro refuses it. Thread-safe; ``cache`` (default: one of its own) may be shared
    with other clients' :class:`AppTokens`, each asking through its own ``oauth``."""

    def __init__(
        self,
        oauth: OAuthClient,
        *,
        clock: Callable[[], float] = time.time,
        skew_s: float = 60.0,
        cache: AppTokenCache | None = None,
    ) -> None:
        self._oauth = oauth
        self._clock = clock
        self._skew_s = skew_s
        self._cache = cache if cache is not None else AppTokenCache()

    def access_token(self) -> str:
        cache = self._cache
        with cache.lock:
            cache.tokens = _renewed(
                cache.tokens,
                self._oauth.client_credentials,
                clock=self._clock,
                skew_s=self._skew_s,
                deferrals=cache.deferrals,
            )
            return cache.tokens.access_token

    def refresh(self, failed_token: str) -> str:
        """A token other than ``failed_token``, which Allegro refused (401): renewed by the
        rule of :meth:`access_token`, so another client's token is reused when it is not
        refused itself. A failure to renew is raised (the refused token is never kept)."""
        REFUSED.add(failed_token)
        return self.access_token()


class UserTokens:
    """A seller account's tokens from a shared :class:`TokenStore`. Thread-safe.

    The access token is cached in memory and re-read from the store only when it nearly
    expires (``skew_s`` before) or Allegro refuses it. ``sleep`` waits between attempts
    to store a refreshed pair (injected in tests).
    """

    def __init__(
        self,
        oauth: OAuthClient,
        store: TokenStore,
        account: str,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        skew_s: float = 60.0,
    ) -> None:
        self._oauth = oauth
        self._store = store
        self.account = account
        self._clock = clock
        self._sleep = sleep
        self._skew_s = skew_s
        self._lock = threading.Lock()
        self._cached: TokenSet | None = None
        #: a refreshed pair the store has not taken yet, and the stored access token it
        #: replaces; with the time of the next attempt to store it (epoch s)
        self._unsaved: TokenSet | None = None
        self._unsaved_over: str | None = None
        self._next_save_at = 0.0
        #: failed renewals of a still valid token, logged once per token
        self._deferrals = _Deferrals(account=account)

    def current(self) -> TokenSet:
        """A token set valid for at least ``skew_s`` more seconds (refreshing if needed);
        one valid for less when its renewal failed for a transient reason."""
        with self._lock:
            if self._unsaved is not None and self._clock() >= self._next_save_at:
                self._save_unsaved()
            held = self._cached or self._load()
            self._cached = _renewed(
                held,
                lambda: self._refresh_shared(held.access_token, force=held.access_token in REFUSED),
                clock=self._clock,
                skew_s=self._skew_s,
                deferrals=self._deferrals,
            )
            return self._cached

    def access_token(self) -> str:
        return self.current().access_token

    def renew_if_issued_before(self, cutoff: float) -> TokenSet | None:
        """Refresh the stored pair when it was issued before ``cutoff`` (epoch s); returns
        the new pair (or the one another process stored meanwhile), or None when the stored
        one is recent enough. Keeps the refresh token of an idle account alive: it lasts
        3 months from its issue, each refresh starting a new one (FACTS §2). Raises as
        :meth:`current` does (not connected, connected elsewhere, refused, transient)."""
        with self._lock:
            stored = self._load()
            if stored.issued() >= cutoff:
                return None
            self._cached = self._refresh_shared(stored.access_token, force=True)
            return self._cached

    def refresh(self, failed_token: str) -> str:
        """A new access token after Allegro refused ``failed_token`` (401). A failure to
        refresh is raised as itself (a transient one is retried later by the caller, and
        ``failed_token`` is not handed out again meanwhile)."""
        with self._lock:
            REFUSED.add(failed_token)
            self._cached = self._refresh_shared(failed_token, force=True)
            return self._cached.access_token

    def _load(self) -> TokenSet:
        tokens = self._store.get(self.account)
        if tokens is None:
            raise NotConnected(self.account, reason="no tokens stored")
        auth_base_url, client_id = self._oauth.auth_base_url, self._oauth.client_id
        if tokens.issued_elsewhere(auth_base_url, client_id):
            raise ConnectedElsewhere(self.account, tokens, auth_base_url, client_id)
        register_secret(tokens.access_token)
        register_secret(tokens.refresh_token)
        return tokens

    def _refresh_shared(self, stale_access_token: str, *, force: bool = False) -> TokenSet:
        # Only one process may use a refresh token: take the store's lock, then look
        # again. If the stored access token is no longer the stale one, another process
        # refreshed while we waited: use its pair instead of refreshing again.
        with self._store.refresh_lock(self.account):
            stored = self._newest(self._load())
            if stored.access_token != stale_access_token and _sendable(
                stored, self._clock(), self._skew_s
            ):
                log.info("allegro.tokens_picked_up", account=self.account)
                return stored
            if not stored.refresh_token:
                raise NotConnected(self.account, reason="the stored token cannot be refreshed")
            try:
                fresh = self._oauth.refresh(stored.refresh_token, account=self.account)
            except InvalidGrant as exc:
                raise InvalidGrant(
                    f"{exc.message}: run `allegro-feed connect --account {self.account}`",
                    oauth_error=exc.oauth_error,
                    **exc.error_context,
                ) from None
            # Kept before storing: a pair the store does not take is still the only valid
            # one (the old refresh token stops working 60 s after this refresh).
            self._cached = fresh
            self._unsaved, self._unsaved_over = fresh, stored.access_token
            self._store_unsaved(SAVE_ATTEMPTS)
            log.info(
                "allegro.tokens_refreshed",
                account=self.account,
                expires_at=fresh.expires_at,
                forced=force,
            )
            return fresh

    def _newest(self, stored: TokenSet) -> TokenSet:
        """The newest pair: ``stored``, or the refreshed pair the store did not take yet
        (stored now if possible). Call with the refresh lock held."""
        unsaved = self._unsaved
        if unsaved is None:
            return stored
        if stored.access_token == unsaved.access_token:  # the earlier write went through
            self._unsaved = self._unsaved_over = None
            return stored
        if stored.access_token != self._unsaved_over:
            # Another process stored a pair after ours: it refreshed later, so its pair
            # is the valid one.
            log.info("allegro.unsaved_tokens_superseded", account=self.account)
            self._unsaved = self._unsaved_over = None
            return stored
        self._store_unsaved(1)
        return unsaved

    def _save_unsaved(self) -> None:
        """Store the pair the store did not take before; on failure, keep it for later."""
        try:
            with self._store.refresh_lock(self.account):
                newest = self._newest(self._load())
        except Exception as exc:  # the store is still down: the pair stays in memory
            self._next_save_at = self._clock() + SAVE_RETRY_S
            log.warning("allegro.tokens_not_saved", account=self.account, error=type(exc).__name__)
            return
        self._cached = newest

    def _store_unsaved(self, attempts: int) -> bool:
        """Write :attr:`_unsaved` to the store, up to ``attempts`` times; True once done."""
        assert self._unsaved is not None
        for attempt in range(1, attempts + 1):
            try:
                self._store.put(self.account, self._unsaved)
            except Exception as exc:  # any store failure: keep the pair, try again later
                if attempt < attempts:
                    self._sleep(SAVE_BACKOFF_S * 2 ** (attempt - 1))
                    continue
                self._next_save_at = self._clock() + SAVE_RETRY_S
                # The class only: the text of a database error may quote the statement.
                log.warning(
                    "allegro.tokens_not_saved",
                    account=self.account,
                    error=type(exc).__name__,
                    attempts=attempts,
                    retry_in_s=SAVE_RETRY_S,
                )
                return False
            self._unsaved = self._unsaved_over = None
            return True
        return False

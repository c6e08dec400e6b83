"""``AllegroClient``: the typed Allegro REST client used by the workers.

Usage::

    store = FileTokenStore(settings.token_file)
    with AllegroClient(settings, store, account="default") as allegro:
        params = allegro.get_category_parameters("165")
        result = allegro.create_offer(body)          # OfferResult
        allegro.change_quantity([result.offer_id], 5)

Thread safety: one instance may be shared by all threads of a process — httpx.Client is
thread-safe and pools connections, and the token caches are guarded by locks. Do not share
an instance across ``fork()``: create it in the process (or worker) that uses it. Tokens are
shared between processes through the :class:`TokenStore`, never through the client.

Authentication: the category endpoints use the application token (client credentials,
fetched and renewed in memory, one for all clients built on the same token store);
everything else uses the seller account's tokens from the store, refreshed with the
cross-process protocol of :class:`~workers.allegro.auth.UserTokens`.
A 401 triggers one refresh and one re-send per call.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING

import httpx

from workers.allegro._http import AuthMode, HttpCore
from workers.allegro.account import AccountMixin
from workers.allegro.auth import AppTokens, UserTokens, release_app_tokens, shared_app_tokens
from workers.allegro.catalogue import CatalogueMixin
from workers.allegro.commands import CommandsMixin
from workers.allegro.oauth import OAuthClient
from workers.allegro.offers import OffersMixin
from workers.allegro.tokens import TokenSet, TokenStore
from workers.settings import Settings

if TYPE_CHECKING:
    from workers.budget import RateBudget

__all__ = ["AllegroClient"]


class _TokenRouter:
    """Picks the application or the user token for the HTTP core."""

    def __init__(self, app: AppTokens, user: UserTokens) -> None:
        self._app = app
        self._user = user

    def access_token(self, mode: AuthMode) -> str:
        return self._app.access_token() if mode is AuthMode.APP else self._user.access_token()

    def refresh(self, mode: AuthMode, failed_token: str) -> str:
        if mode is AuthMode.APP:
            return self._app.refresh(failed_token)
        return self._user.refresh(failed_token)


class AllegroClient(CatalogueMixin, OffersMixin, CommandsMixin, AccountMixin):
    """Allegro's REST API for one seller account.

    ``transport`` replaces the network (``httpx.MockTransport`` in tests); ``sleep`` and
    ``clock`` (epoch seconds) replace waiting and time, so tests never really sleep.
    ``budget``: the rate budget shared by every process (:func:`workers.budget.open_budget`);
    each API request takes its share first, or raises
    :class:`~workers.budget.BudgetExhausted` without being sent. None: no budgeting.
    """

    def __init__(
        self,
        settings: Settings,
        tokens: TokenStore,
        *,
        account: str = "default",
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        budget: RateBudget | None = None,
    ) -> None:
        self._settings = settings
        self._sleep = sleep
        self._clock = clock
        self._http = HttpCore(settings, transport=transport, sleep=sleep, clock=clock)
        if budget is not None:
            # Imported here: workers.budget builds on workers.allegro's errors.
            from workers.budget.client import ApiBudget

            self._http.budget = ApiBudget(budget, account=account, sleep=sleep)
        self.budget = budget
        self.oauth = OAuthClient(self._http, sleep=sleep, clock=clock)
        # One application token for the open clients on this store (see shared_app_tokens).
        self._app_key = (tokens, self.oauth.auth_base_url, self.oauth.client_id)
        self._app_cache = shared_app_tokens(*self._app_key)
        self._app_tokens = AppTokens(self.oauth, clock=clock, cache=self._app_cache)
        self._closed = False
        self._user_tokens = UserTokens(self.oauth, tokens, account, clock=clock, sleep=sleep)
        self._http.tokens = _TokenRouter(self._app_tokens, self._user_tokens)
        self.account = account
        self.store = tokens

    def user_tokens(self) -> TokenSet:
        """The account's current tokens (refreshed if they expire within a minute).

        Raises :class:`NotConnected` when the account was never connected.
        """
        return self._user_tokens.current()

    def close(self) -> None:
        """Close the connection pool. The client cannot be used afterwards."""
        if not self._closed:
            self._closed = True
            release_app_tokens(*self._app_key, self._app_cache)
        self._http.close()

    def __enter__(self) -> AllegroClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"AllegroClient(api={self._http.api_base!r}, account={self.account!r})"

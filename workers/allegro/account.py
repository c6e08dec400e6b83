"""The seller account itself: ``GET /me`` and the price currency it implies (FACTS §12).

A seller's base marketplace is fixed by where the seller registered (``allegro-pl``,
``allegro-cz``, ``allegro-sk``, ``allegro-hu``), and with it the currency of the prices of
its offers. :class:`AccountCurrencies` learns it once per process and account, so one
deployment can serve sellers of several marketplaces::

    currencies = AccountCurrencies(settings, client_for)
    currencies.currency("cz")      # "CZK" for a seller registered on allegro.cz
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

import structlog

from workers.allegro._base import ClientBase
from workers.allegro.errors import OAuthError, PermanentError, Unauthorized
from workers.allegro.models import AllegroModel, parse_model
from workers.settings import MARKETPLACE_CURRENCY, Settings

__all__ = ["AccountCurrencies", "AccountMixin", "MarketplaceSource", "UserInfo"]

log = structlog.get_logger(__name__)


class MarketplaceRef(AllegroModel):
    id: str | None = None


class UserInfo(AllegroModel):
    """``MeResponse``: only what the workers read (other fields are kept as extras)."""

    id: str | None = None
    login: str | None = None
    base_marketplace: MarketplaceRef | None = None


class AccountMixin(ClientBase):
    """The seller behind the user token."""

    def me(self) -> UserInfo:
        """``GET /me`` (meGET): the seller of the account's token."""
        response = self._http.request("GET", "/me")
        return parse_model(UserInfo, response.body, response.trace_id)

    def base_marketplace(self) -> str | None:
        """The seller's base marketplace id (``allegro-pl``, ``allegro-cz``, ...), or None
        when Allegro's answer does not name one."""
        found = self.me().base_marketplace
        marketplace = found.id.strip() if found is not None and found.id else ""
        return marketplace or None


class MarketplaceSource(Protocol):
    def base_marketplace(self) -> str | None: ...


class AccountCurrencies:
    """The base currency of each account's marketplace, asked of Allegro (``GET /me``) once
    per account and kept for the life of the object; thread-safe (one call per account even
    when several threads ask at once).

    ``client_for(account)``: a client of the account. When Allegro names no marketplace,
    one this module does not know, or refuses the call for good (a 403 for a missing
    ``allegro:api:profile:read`` scope), the settings' ``marketplace`` is used, with one
    warning. A transient failure propagates and nothing is kept (the next call asks again);
    so do failures of the account's tokens (not connected, refused): nothing else would work
    for that account either.
    """

    def __init__(self, settings: Settings, client_for: Callable[[str], MarketplaceSource]) -> None:
        self._settings = settings
        self._client_for = client_for
        self._lock = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._known: dict[str, str] = {}

    def currency(self, account: str) -> str:
        """The currency of the prices of ``account``'s offers (``PLN``, ``CZK``, ...)."""
        known = self._known.get(account)
        if known is not None:
            return known
        with self._lock:
            lock = self._locks.setdefault(account, threading.Lock())
        with lock:
            known = self._known.get(account)
            if known is None:
                known = self._learn(account)
                with self._lock:
                    self._known[account] = known
        return known

    def forget(self) -> None:
        """Ask again on next use (the accounts' tokens may now be another seller's)."""
        with self._lock:
            self._known.clear()

    def _learn(self, account: str) -> str:
        try:
            marketplace = self._client_for(account).base_marketplace()
        except (OAuthError, Unauthorized):
            raise
        except PermanentError as exc:
            return self._fallback(
                account,
                f"GET /me failed: {type(exc).__name__} (HTTP {exc.status})",
                fix="grant the application the allegro:api:profile:read scope, or set "
                "ALLEGRO_FEED_MARKETPLACE to this seller's marketplace",
            )
        if marketplace is None:
            return self._fallback(account, "GET /me named no baseMarketplace")
        currency = MARKETPLACE_CURRENCY.get(marketplace)
        if currency is None:
            return self._fallback(
                account, f"marketplace {marketplace!r} has no known base currency"
            )
        log.info("account.marketplace", account=account, marketplace=marketplace, currency=currency)
        return currency

    def _fallback(self, account: str, reason: str, **hint: str) -> str:
        """The currency of the settings' marketplace, used for ``account`` (logged)."""
        log.warning(
            "account.marketplace_unknown",
            account=account,
            reason=reason,
            fallback=self._settings.marketplace,
            **hint,
        )
        return self._settings.currency.upper()

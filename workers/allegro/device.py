"""Connecting a seller account with the OAuth device flow (``allegro-feed connect``).

The person opens a link, logs in to Allegro and confirms the code; meanwhile this process
polls the token endpoint. The tokens go into the token store under the account's name, from
where every worker process reads (and refreshes) them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx

from workers.allegro._http import HttpCore
from workers.allegro.oauth import DeviceAuthorization, OAuthClient
from workers.allegro.tokens import TokenSet, TokenStore
from workers.settings import Settings

__all__ = ["connect_account", "format_utc"]


def format_utc(epoch_s: float) -> str:
    """``2026-07-22 14:03 UTC`` for an epoch time in seconds."""
    return datetime.fromtimestamp(epoch_s, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def connect_account(
    settings: Settings,
    store: TokenStore,
    account: str = "default",
    *,
    out: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
    transport: httpx.BaseTransport | None = None,
    on_started: Callable[[DeviceAuthorization], None] | None = None,
) -> TokenSet:
    """Run the device flow for ``account`` and store its tokens; returns them.

    Prints (through ``out``) the link to open, the code to confirm, then which account was
    connected and until when its access token is valid (UTC; it is refreshed automatically
    afterwards). ``on_started`` is called with the device authorisation right after it is
    obtained (tests use it to approve the code). Raises :class:`DeviceFlowDenied`,
    :class:`DeviceFlowExpired`, :class:`InvalidClient` or a transient error.
    """
    core = HttpCore(settings, transport=transport, sleep=sleep, clock=clock)
    try:
        oauth = OAuthClient(core, sleep=sleep, clock=clock)
        device = oauth.start_device_flow(settings.device_scope)
        minutes = max(1, round(device.expires_in_s / 60))
        out(f"To connect the Allegro account {account!r}, open this link in a browser:")
        out(f"  {device.verification_uri_complete or device.verification_uri}")
        out(
            f"log in to Allegro as that seller and confirm the code {device.user_code} "
            f"(valid for {minutes} min). Waiting for the confirmation..."
        )
        if on_started is not None:
            on_started(device)
        tokens = oauth.wait_for_device_tokens(device)
        store.put(account, tokens)
        out(
            f"Connected: account {account!r}; access token valid until "
            f"{format_utc(tokens.expires_at)} (renewed automatically)."
        )
        return tokens
    finally:
        core.close()

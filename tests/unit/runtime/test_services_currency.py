"""``Services.currency``: an account's price currency asked of Allegro once per process (not
per event), asked again after the clients were dropped (the tokens may be another
seller's)."""

from __future__ import annotations

import pytest

from .conftest import Harness


def test_the_currency_is_asked_once_per_account_until_the_clients_are_dropped(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(harness.client, "close", lambda: None, raising=False)
    services = harness.services
    assert [services.currency("default") for _ in range(3)] == ["PLN"] * 3
    assert services.currency("other") == "PLN"
    assert harness.client.me_calls == 2  # one per account
    services.forget_clients()
    assert services.currency("default") == "PLN"
    assert harness.client.me_calls == 3

"""The batcher plans each account's prices in that account's currency (``currency_for``,
its seller's base marketplace's: FACTS §12); while the currency cannot be learned
(a transient failure) only that account's changes wait."""

from __future__ import annotations

import json
from typing import Any

from schemas.events import parse_event
from schemas.status import Status
from workers.allegro import CommandKind, ServerError
from workers.batching import Batcher
from workers.batching.config import BatchSettings

from .test_flusher import SETTINGS, Rig


def _batcher(rig: Rig, currency_for: Any) -> Batcher:
    return Batcher(
        BatchSettings(**SETTINGS.__dict__),
        rig.store,
        rig.repo,
        lambda account: rig.allegro,
        rig.reporter,
        rig.handovers.append,
        clock=lambda: rig.now,
        owner="test-batcher",
        currency_for=currency_for,
    )


def _price(rig: Rig, batcher: Batcher, amount: str, currency: str) -> str:
    event = parse_event(
        json.dumps(
            {
                "type": "product.price",
                "event_id": f"ev-A-{amount}",
                "occurred_at": "2026-07-18T12:00:00Z",
                "sku": "A",
                "version": 2,
                "price": {"amount": amount, "currency": currency},
            }
        ).encode()
    )
    result = rig.store.record_event(event)
    assert result.state is not None
    assert batcher.stage(event, result.state, rig.store.get_offer("default", "A"))
    return event.event_id


def test_a_price_goes_out_in_the_accounts_currency(rig: Rig) -> None:
    rig.offer("A")
    asked: list[str] = []

    def currency_for(account: str) -> str:
        asked.append(account)
        return "CZK"

    batcher = _batcher(rig, currency_for)
    event = _price(rig, batcher, "249.00", "CZK")
    rig.settle_all(batcher)
    assert rig.allegro.puts() == [
        (CommandKind.PRICE, ["o-A"], {"amount": "249.00", "currency": "CZK"})
    ]
    assert rig.reporter.of(event) is Status.UPDATED
    assert set(asked) == {"default"}


def test_a_price_in_another_currency_than_the_accounts_is_rejected(rig: Rig) -> None:
    rig.offer("A")
    batcher = _batcher(rig, lambda _account: "CZK")
    event = _price(rig, batcher, "249.00", "PLN")
    rig.settle_all(batcher)
    assert rig.allegro.puts() == []
    assert rig.reporter.of(event) is Status.REJECTED


def test_a_transient_failure_to_learn_the_currency_holds_the_account_then_sends(
    rig: Rig,
) -> None:
    rig.offer("A")
    failures = [ServerError("unavailable", status=503)] * 2

    def currency_for(_account: str) -> str:
        if failures:
            raise failures.pop()
        return "CZK"

    batcher = _batcher(rig, currency_for)
    event = _price(rig, batcher, "249.00", "CZK")
    rig.run(batcher, seconds=5.0)  # past the windows: the first failure
    assert len(failures) == 1  # asked, and failed
    assert rig.allegro.puts() == [] and rig.reporter.of(event) is None
    rig.settle_all(batcher)
    assert rig.allegro.puts() == [
        (CommandKind.PRICE, ["o-A"], {"amount": "249.00", "currency": "CZK"})
    ]
    assert rig.reporter.of(event) is Status.UPDATED


def test_without_currency_for_the_settings_currency_is_used(rig: Rig) -> None:
    rig.offer("A")
    batcher = rig.batcher()
    event = _price(rig, batcher, "12.50", "PLN")
    rig.settle_all(batcher)
    assert rig.allegro.puts() == [
        (CommandKind.PRICE, ["o-A"], {"amount": "12.50", "currency": "PLN"})
    ]
    assert rig.reporter.of(event) is Status.UPDATED

"""The fast path's pure decisions: coalescing, grouping, ordering, windows and outcomes."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from schemas.events import parse_event
from schemas.status import Status
from workers.batching.model import (
    ChangeKind,
    CommandType,
    EventRef,
    Item,
    PendingRow,
    SettleOutcome,
    StagedEvent,
    StageOutcome,
)
from workers.batching.plan import (
    ACTIVATE,
    END,
    FailureAction,
    coalesce,
    current_in_state,
    due_commands,
    failure_action,
    follow_up,
    plan_changes,
    registry_after,
    success_status,
)
from workers.batching.stage import accepts, staged_event
from workers.domain.model import ProductState
from workers.domain.plan import fingerprint
from workers.store import OfferRecord

# --- helpers ----------------------------------------------------------------------------------


def body(stock: int = 5, amount: str = "10.00", unit: str = "UNIT") -> dict[str, Any]:
    return {
        "name": "Headphones",
        "external": {"id": "x"},
        "stock": {"available": stock, "unit": unit},
        "sellingMode": {"format": "BUY_NOW", "price": {"amount": amount, "currency": "PLN"}},
    }


def offer(sku: str, status: str | None = "ACTIVE", **kwargs: Any) -> OfferRecord:
    published = kwargs.pop("published_body") if "published_body" in kwargs else body(**kwargs)
    return OfferRecord(
        account="default",
        sku=sku,
        offer_id=f"o-{sku}",
        publication_status=status,
        fingerprint=fingerprint(published) if published else None,
        published_version=1,
        published_body=published,
    )


def stock_change(
    sku: str, available: int, *, version: int = 2, first_at: float = 100.0
) -> PendingRow:
    return PendingRow(
        account="default",
        sku=sku,
        kind=ChangeKind.STOCK,
        value={"available": available, "unit": "UNIT"},
        version=version,
        events=(EventRef(f"ev-{sku}-{version}", version),),
        first_at=first_at,
        last_at=first_at,
    )


def price_change(
    sku: str, amount: str, currency: str = "PLN", *, version: int = 2, first_at: float = 100.0
) -> PendingRow:
    return PendingRow(
        account="default",
        sku=sku,
        kind=ChangeKind.PRICE,
        value={"amount": amount, "currency": currency},
        version=version,
        events=(EventRef(f"ev-{sku}-p{version}", version),),
        first_at=first_at,
        last_at=first_at,
    )


def staged(version: int, available: int, *, event_id: str | None = None) -> StagedEvent:
    return StagedEvent(
        account="default",
        sku="S1",
        kind=ChangeKind.STOCK,
        value={"available": available, "unit": "UNIT"},
        version=version,
        event_id=event_id or f"ev-{version}",
        offer_id="o-S1",
    )


def plan(changes: list[PendingRow], offers: dict[str, OfferRecord | None], **kw: Any) -> Any:
    return plan_changes(changes, offers, currency="PLN", **kw)


# --- coalescing -------------------------------------------------------------------------------


def test_first_event_opens_the_window_and_newer_ones_replace_the_value() -> None:
    row, outcome = coalesce(None, staged(5, 3), now=10.0)
    assert outcome is StageOutcome.STAGED
    assert (row.value["available"], row.version, row.first_at, row.last_at) == (3, 5, 10.0, 10.0)
    row, outcome = coalesce(row, staged(7, 9), now=10.2)
    assert outcome is StageOutcome.STAGED
    assert (row.value["available"], row.version, row.first_at, row.last_at) == (9, 7, 10.0, 10.2)
    assert [e.version for e in row.events] == [5, 7]
    assert row.newest_event == EventRef("ev-7", 7)


def test_an_older_event_arriving_late_is_kept_but_does_not_win() -> None:
    row, _ = coalesce(None, staged(7, 9), now=1.0)
    row, outcome = coalesce(row, staged(5, 3), now=1.1)
    assert outcome is StageOutcome.STAGED
    assert (row.value["available"], row.version) == (9, 7)
    assert [e.event_id for e in row.events] == ["ev-7", "ev-5"]
    assert row.newest_event.event_id == "ev-7"


def test_an_event_older_than_what_was_sent_is_superseded() -> None:
    sent = PendingRow(
        account="default",
        sku="S1",
        kind=ChangeKind.STOCK,
        value={"available": 9, "unit": "UNIT"},
        version=7,
        sent_version=7,
        inflight="cmd-1",
    )
    row, outcome = coalesce(sent, staged(6, 1), now=3.0)
    assert outcome is StageOutcome.SUPERSEDED
    assert row == sent
    row, outcome = coalesce(sent, staged(8, 2), now=3.0)
    assert outcome is StageOutcome.STAGED
    # A new window opens: the claimed change's window is gone.
    assert (row.value["available"], row.version, row.first_at, row.events) == (
        2,
        8,
        3.0,
        (EventRef("ev-8", 8),),
    )
    assert row.inflight == "cmd-1"  # still waits for the command in flight


# --- grouping and ordering ----------------------------------------------------------------------


def test_stock_changes_are_grouped_by_target_quantity() -> None:
    changes = [stock_change(f"S{i}", 3 if i % 2 else 7) for i in range(10)]
    offers = {c.sku: offer(c.sku) for c in changes}
    commands = plan(changes, offers)
    assert [(c.type, c.value, len(c.items)) for c in commands] == [
        (CommandType.QUANTITY, 3, 5),
        (CommandType.QUANTITY, 7, 5),
    ]
    assert all(i.offer_id == f"o-{i.sku}" for c in commands for i in c.items)


def test_a_command_holds_at_most_max_offers() -> None:
    changes = [stock_change(f"S{i:04d}", 4) for i in range(2500)]
    offers = {c.sku: offer(c.sku) for c in changes}
    commands = plan(changes, offers, max_offers=1000)
    assert [len(c.items) for c in commands] == [1000, 1000, 500]
    assert {c.value for c in commands} == {4}
    skus = [i.sku for c in commands for i in c.items]
    assert skus == sorted(skus) and len(set(skus)) == 2500


def test_order_end_then_restock_then_quantity_then_price_then_settle() -> None:
    changes = [
        price_change("P1", "12.50"),
        stock_change("Q1", 8),
        stock_change("R1", 2),  # ENDED offer restocked
        stock_change("E1", 0),  # live offer to 0
        stock_change("U1", 5),  # same as published
    ]
    offers = {
        "P1": offer("P1"),
        "Q1": offer("Q1"),
        "R1": offer("R1", "ENDED", stock=0),
        "E1": offer("E1", "ACTIVATING"),
        "U1": offer("U1", stock=5),
    }
    commands = plan(changes, offers)
    assert [(c.type, c.value) for c in commands] == [
        (CommandType.PUBLICATION, END),
        (CommandType.QUANTITY, 2),
        (CommandType.QUANTITY, 8),
        (CommandType.PRICE, {"amount": "12.50", "currency": "PLN"}),
        (CommandType.SETTLE, None),
    ]
    restock = commands[1]
    assert [(i.sku, i.then) for i in restock.items] == [("R1", ACTIVATE)]
    assert commands[2].items[0].then is None
    settle = commands[-1]
    assert [(i.sku, i.outcome) for i in settle.items] == [("U1", SettleOutcome.UNCHANGED)]


def test_restock_and_plain_quantity_of_one_value_are_separate_commands() -> None:
    changes = [stock_change("A", 4), stock_change("B", 4)]
    offers = {"A": offer("A", "ENDED", stock=0), "B": offer("B", stock=1)}
    commands = plan(changes, offers)
    assert [(c.type, c.value, [i.then for i in c.items]) for c in commands] == [
        (CommandType.QUANTITY, 4, [ACTIVATE]),
        (CommandType.QUANTITY, 4, [None]),
    ]


@pytest.mark.parametrize(
    ("status", "available", "outcome"),
    [
        ("ENDED", 0, SettleOutcome.UNCHANGED),  # already ended: nothing to send
        ("INACTIVE", 3, SettleOutcome.HANDOVER),  # a draft: the PATCH path activates it
        (None, 3, SettleOutcome.HANDOVER),  # a status we do not know
        ("ACTIVE", 5, SettleOutcome.UNCHANGED),  # Allegro has it
    ],
)
def test_stock_changes_that_need_no_command(
    status: str | None, available: int, outcome: SettleOutcome
) -> None:
    commands = plan([stock_change("S", available)], {"S": offer("S", status, stock=5)})
    assert [(c.type, [i.outcome for i in c.items]) for c in commands] == [
        (CommandType.SETTLE, [outcome])
    ]


def test_changes_of_offers_without_a_published_body_or_another_unit_go_to_the_patch_path() -> None:
    changes = [stock_change("NB", 3), stock_change("NO", 3), stock_change("PAIR", 3)]
    offers = {
        "NB": offer("NB", published_body=None),
        "NO": None,
        "PAIR": offer("PAIR", unit="PAIR"),
    }
    (settle,) = plan(changes, offers)
    assert settle.type is CommandType.SETTLE
    assert {(i.sku, i.outcome) for i in settle.items} == {
        ("NB", SettleOutcome.HANDOVER),
        ("NO", SettleOutcome.HANDOVER),
        ("PAIR", SettleOutcome.HANDOVER),
    }


def test_prices_are_grouped_by_decimal_value_and_checked_like_the_content_path() -> None:
    changes = [
        price_change("A", "12.5"),
        price_change("B", "12.50"),
        price_change("C", "10.00"),  # as published
        price_change("D", "9.99", "EUR"),  # not the account's currency
        price_change("E", "0.50"),  # below Allegro's minimum
    ]
    offers = {c.sku: offer(c.sku) for c in changes}
    commands = plan(changes, offers)
    assert [(c.type, c.value, [i.sku for i in c.items]) for c in commands[:1]] == [
        (CommandType.PRICE, {"amount": "12.50", "currency": "PLN"}, ["A", "B"])
    ]
    settle = {i.sku: i for i in commands[1].items}
    assert settle["C"].outcome is SettleOutcome.UNCHANGED
    assert settle["D"].outcome is SettleOutcome.REJECTED
    assert settle["D"].errors[0]["code"] == "ConstraintViolationException.Currency"
    assert settle["E"].outcome is SettleOutcome.REJECTED
    assert settle["E"].errors[0]["code"] == "ConstraintViolationException.Price"
    assert "userMessage" in settle["E"].errors[0]


def test_changes_not_pending_are_left_out() -> None:
    idle = dataclasses.replace(stock_change("S", 3), events=(), first_at=None)
    assert plan([idle], {"S": offer("S")}) == []


# --- windows ------------------------------------------------------------------------------------


def test_a_command_is_due_when_full_or_its_window_closed() -> None:
    early = stock_change("A", 3, first_at=100.0)
    late = stock_change("B", 4, first_at=100.2)
    offers = {"A": offer("A"), "B": offer("B")}
    commands = plan([early, late], offers, coalesce_s=0.3)
    assert [c.opened_at for c in commands] == [pytest.approx(100.3), pytest.approx(100.5)]
    assert due_commands(commands, 100.5, batch_s=0.3, max_offers=1000) == []
    assert [c.value for c in due_commands(commands, 100.6, batch_s=0.3, max_offers=1000)] == [3]
    assert [c.value for c in due_commands(commands, 100.8, batch_s=0.3, max_offers=1000)] == [3, 4]
    # full: sent at once
    assert len(due_commands(commands, 100.0, batch_s=0.3, max_offers=1)) == 2


def test_settle_entries_are_always_due() -> None:
    commands = plan([stock_change("U", 5)], {"U": offer("U", stock=5)}, coalesce_s=0.3)
    assert due_commands(commands, 0.0, batch_s=10.0, max_offers=1000) == commands


# --- after the command ----------------------------------------------------------------------------


def _item(**changes: Any) -> Item:
    base = Item(
        sku="S",
        offer_id="o-S",
        kind=ChangeKind.STOCK,
        value={"available": 4, "unit": "UNIT"},
        version=9,
        events=(EventRef("ev-8", 8), EventRef("ev-9", 9)),
        publication_status="ENDED",
        then=ACTIVATE,
        ready_at=5.0,
    )
    return dataclasses.replace(base, **changes)


def test_follow_up_activates_the_restocked_items_only() -> None:
    plain = _item(sku="T", then=None)
    command = follow_up([_item(), plain], parent="cmd-q")
    assert command is not None
    assert (command.type, command.value, command.parent) == (
        CommandType.PUBLICATION,
        ACTIVATE,
        "cmd-q",
    )
    assert [(i.sku, i.then, i.events) for i in command.items] == [("S", None, _item().events)]
    assert follow_up([plain], parent="cmd-q") is None


def test_registry_after_stock_price_end_and_activate() -> None:
    record = offer("S", "ACTIVE", stock=5)
    after = registry_after(record, CommandType.QUANTITY, 4, _item(then=None))
    assert after.published_body is not None
    assert after.published_body["stock"] == {"available": 4, "unit": "UNIT"}
    assert after.publication_status == "ACTIVE"
    assert after.fingerprint == fingerprint(after.published_body) != record.fingerprint
    assert after.published_version == 9 and after.updated_at is None
    ended = registry_after(record, CommandType.PUBLICATION, END, _item(value={"available": 0}))
    assert ended.publication_status == "ENDED"
    assert ended.published_body is not None and ended.published_body["stock"]["available"] == 0
    # An ACTIVATE task's success: ACTIVATING (the activation runs on, FACTS §11), ACTIVE
    # once Allegro lists the offer so.
    activating = registry_after(ended, CommandType.PUBLICATION, ACTIVATE, _item())
    assert activating.publication_status == "ACTIVATING"
    active = registry_after(ended, CommandType.PUBLICATION, ACTIVATE, _item(), "ACTIVE")
    assert active.publication_status == "ACTIVE"
    # A quantity command on an offer Allegro lists ENDED leaves it ENDED.
    sold_out = registry_after(record, CommandType.QUANTITY, 4, _item(), "ENDED")
    assert sold_out.publication_status == "ENDED"
    price = _item(kind=ChangeKind.PRICE, value={"amount": "12.5", "currency": "PLN"})
    priced = registry_after(record, CommandType.PRICE, price.value, price)
    assert priced.published_body is not None
    assert priced.published_body["sellingMode"] == {
        "format": "BUY_NOW",
        "price": {"amount": "12.50", "currency": "PLN"},
    }
    assert record.published_body is not None
    assert record.published_body["stock"]["available"] == 5  # not modified in place
    kept = registry_after(
        dataclasses.replace(record, published_version=20), CommandType.QUANTITY, 4, _item()
    )
    assert kept.published_version == 20


def test_success_status() -> None:
    assert success_status(CommandType.PUBLICATION, END, _item()) == (Status.ENDED, "ENDED")
    assert success_status(CommandType.PUBLICATION, ACTIVATE, _item()) == (
        Status.UPDATED,
        "ACTIVATING",
    )
    assert success_status(CommandType.PUBLICATION, ACTIVATE, _item(), "ACTIVE") == (
        Status.UPDATED,
        "ACTIVE",
    )
    assert success_status(CommandType.QUANTITY, 4, _item(publication_status="ACTIVE")) == (
        Status.UPDATED,
        "ACTIVE",
    )
    assert success_status(CommandType.PRICE, {}, _item(publication_status="odd")) == (
        Status.UPDATED,
        None,
    )


@pytest.mark.parametrize(
    ("codes", "action"),
    [
        (["OfferNotFoundException"], FailureAction.GONE),
        (["INVALID_OFFER_QUANTITY"], FailureAction.REJECT),
        (["ConstraintViolationException.Price"], FailureAction.REJECT),
        (["ConflictException"], FailureAction.RETRY),
        ([], FailureAction.RETRY),
        (["SomethingNew", "OfferNotFoundException"], FailureAction.GONE),
        (["INVALID_OFFER_QUANTITY", "OfferNotFoundException"], FailureAction.GONE),
    ],
)
def test_failure_action(codes: list[str], action: str) -> None:
    assert failure_action([{"code": code} for code in codes]) == action


# --- staging --------------------------------------------------------------------------------------


def _event(kind: str, **fields: Any) -> Any:
    data: dict[str, Any] = {
        "type": kind,
        "event_id": "ev-1",
        "occurred_at": "2026-07-18T12:00:00Z",
        "sku": "S",
        "version": 3,
        **fields,
    }
    return parse_event(json.dumps(data).encode())


def _state(deleted: bool = False) -> ProductState:
    return ProductState("default", "S", 3, "ev-1", {}, deleted=deleted, complete=True)


def test_staged_event_of_stock_and_price() -> None:
    stock = staged_event(_event("product.stock", stock={"available": 0}), offer("S"))
    assert stock is not None
    assert (stock.kind, stock.value, stock.version, stock.offer_id) == (
        ChangeKind.STOCK,
        {"available": 0, "unit": "UNIT"},
        3,
        "o-S",
    )
    price = staged_event(_event("product.price", price={"amount": "7.5", "currency": "PLN"}))
    assert price is not None
    assert (price.kind, price.value) == (ChangeKind.PRICE, {"amount": "7.5", "currency": "PLN"})
    assert staged_event(_event("product.deleted")) is None


def test_what_the_batcher_accepts() -> None:
    stock = _event("product.stock", stock={"available": 2})
    price = _event("product.price", price={"amount": "7.50", "currency": "PLN"})
    assert accepts(stock, _state(), offer("S", "ACTIVE"))
    assert accepts(stock, _state(), offer("S", "ENDED"))
    assert not accepts(stock, _state(), offer("S", "INACTIVE"))
    assert accepts(price, _state(), offer("S", "INACTIVE"))
    assert not accepts(stock, _state(deleted=True), offer("S"))
    assert not accepts(stock, _state(), None)
    assert not accepts(stock, _state(), offer("S", published_body=None))
    assert not accepts(_event("product.deleted"), _state(), offer("S"))


def test_a_change_is_current_while_the_desired_state_holds_its_value() -> None:
    stock = _item(then=None, value={"available": 4, "unit": "UNIT"})
    price = _item(kind=ChangeKind.PRICE, value={"amount": "12.5", "currency": "PLN"})

    def state(**product: Any) -> ProductState:
        return ProductState("default", "S", 9, "ev-9", product, complete=True)

    assert current_in_state(stock, state(stock={"available": 4, "unit": "UNIT"}))
    assert current_in_state(stock, state(stock={"available": 4}))
    assert not current_in_state(stock, state(stock={"available": 6, "unit": "UNIT"}))
    assert not current_in_state(stock, state(stock={"available": 4, "unit": "PAIR"}))
    assert not current_in_state(stock, None)
    deleted = dataclasses.replace(state(stock={"available": 4}), deleted=True)
    assert not current_in_state(stock, deleted)
    assert current_in_state(price, state(price={"amount": "12.50", "currency": "PLN"}))
    assert not current_in_state(price, state(price={"amount": "12.49", "currency": "PLN"}))

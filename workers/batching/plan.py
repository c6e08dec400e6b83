"""The fast path's decisions, pure: coalescing, which batch commands to send, when, and what
the offer registry says afterwards.

- :func:`coalesce`: merge a staged event into the SKU's pending change (newest version's
  value wins, every event is kept with its version).
- :func:`plan_changes`: pending changes + the registry's offers → commands, ≤ ``max_offers``
  offers each, one value per command, in this order: publication ``END`` (stock 0 of a
  live offer), quantity of ENDED offers (each followed by ``ACTIVATE``), quantity
  (``FIXED``), price (``FIXED_PRICE``), then a ``settle`` entry for what needs no command
  (Allegro has the value already, a value that cannot be sent, a change for the PATCH
  path).
- :func:`due_commands`: the commands to send now (full, or their batch window closed).
- :func:`follow_up`: the ``ACTIVATE`` command after a restock's quantity command.
- :func:`success_status`, :func:`registry_after`, :func:`failure_action`: the outcome of a
  task.

Choices, stated once (they follow :mod:`workers.domain.plan`, the content path's planner):

- Allegro cannot set quantity 0 (FACTS.md §10): stock 0 of an ACTIVE/ACTIVATING offer is the
  publication command ``END``; of an ENDED offer nothing (UNCHANGED).
- An ENDED offer whose stock comes back gets the quantity first, then ``ACTIVATE`` (an offer
  is only activated with stock, FACTS.md §11); its status waits for both.
- A draft (INACTIVE), an offer of unknown status or whose body we never published, and a
  stock unit other than the published one go to the PATCH path, which handles them in full.
- A value equal to the published one is UNCHANGED, as on the content path.
- A price is checked with the content path's own rule (decimals, range, the account's
  currency) before it is sent; a price that breaks it is REJECTED with that rule's error.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from schemas.status import PublicationStatus, Status
from workers.domain.model import ProductState
from workers.domain.plan import fingerprint
from workers.domain.rules_offer import check_price
from workers.store.base import OfferRecord

from .model import (
    ChangeKind,
    CommandType,
    EventRef,
    Item,
    NewCommand,
    PendingRow,
    SettleOutcome,
    StagedEvent,
    StageOutcome,
)

__all__ = [
    "ACTIVATE",
    "END",
    "LIVE",
    "FailureAction",
    "coalesce",
    "current_in_state",
    "due_commands",
    "failure_action",
    "follow_up",
    "plan_changes",
    "price_key",
    "registry_after",
    "success_status",
]

END: Final = "END"
ACTIVATE: Final = "ACTIVATE"
#: The publication statuses of an offer that is (or is about to be) for sale.
LIVE: Final = frozenset({"ACTIVE", "ACTIVATING"})
_PUBLICATION_STATUSES: Final = frozenset(s.value for s in PublicationStatus)
#: Error codes of a failed task that a PATCH of the same value would meet again: the change
#: is reported REJECTED with Allegro's error instead of being retried alone.
PERMANENT_TASK_CODES: Final = frozenset(
    {
        "INVALID_OFFER_QUANTITY",
        "OfferStatusChangeNotAllowedException",
        "PriceNotFoundException",
    }
)
_PERMANENT_PREFIXES: Final = ("ConstraintViolationException",)
#: Error codes of a failed task that say the offer does not exist (any more): an ENDED
#: offer is archived after 60 days, then 404 and unchangeable (FACTS §11). The PATCH path
#: takes the change: it forgets the dead offer and creates a new one.
GONE_TASK_CODES: Final = frozenset({"OfferNotFoundException"})
#: Order of the command groups in a plan.
_ORDER: Final = {
    (CommandType.PUBLICATION, None): 0,
    (CommandType.QUANTITY, ACTIVATE): 1,
    (CommandType.QUANTITY, None): 2,
    (CommandType.PRICE, None): 3,
    (CommandType.SETTLE, None): 4,
}


# --- coalescing -------------------------------------------------------------------------------


def coalesce(
    row: PendingRow | None, staged: StagedEvent, now: float
) -> tuple[PendingRow, StageOutcome]:
    """Merge ``staged`` into the pending change ``row`` (None: the key has no row yet).

    Returns the row to store and what happened: SUPERSEDED (the row is returned unchanged)
    when a change at least as new was claimed into a command already; else STAGED, with
    the event added to ``events`` and its value taken when its version is the newest of the
    pending ones. The coalescing window opens with the first pending event (``first_at``).
    The caller deduplicates event ids before."""
    event = EventRef(staged.event_id, staged.version)
    if row is None:
        fresh = PendingRow(
            account=staged.account,
            sku=staged.sku,
            kind=staged.kind,
            value=dict(staged.value),
            version=staged.version,
            events=(event,),
            first_at=now,
            last_at=now,
            offer_id=staged.offer_id,
        )
        return fresh, StageOutcome.STAGED
    if staged.version <= row.sent_version:
        return row, StageOutcome.SUPERSEDED
    newest = not row.pending or staged.version >= row.version
    merged = dataclasses.replace(
        row,
        value=dict(staged.value) if newest else row.value,
        version=staged.version if newest else row.version,
        events=(*row.events, event),
        first_at=row.first_at if row.pending and row.first_at is not None else now,
        last_at=now,
        offer_id=staged.offer_id or row.offer_id,
    )
    return merged, StageOutcome.STAGED


# --- planning ---------------------------------------------------------------------------------


def price_key(value: Mapping[str, Any]) -> tuple[str, str] | None:
    """``(amount with two decimals, currency)`` of a price value, or None if unreadable."""
    try:
        amount = Decimal(str(value.get("amount")))
    except InvalidOperation:
        return None
    if not amount.is_finite():
        return None
    return format(amount.quantize(Decimal("0.01")), "f"), str(value.get("currency") or "")


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _published(record: OfferRecord) -> tuple[int | None, str | None, tuple[str, str] | None]:
    body = record.published_body or {}
    stock = _object(body.get("stock"))
    available = stock.get("available")
    count = available if isinstance(available, int) and not isinstance(available, bool) else None
    price = _object(body.get("sellingMode")).get("price")
    return count, stock.get("unit"), price_key(price) if isinstance(price, dict) else None


_Key = tuple[CommandType, Any, str | None]


def _settle(item: Item, outcome: SettleOutcome, *errors: dict[str, Any]) -> tuple[_Key, Item]:
    decided = dataclasses.replace(item, outcome=outcome, errors=tuple(errors))
    return (CommandType.SETTLE, None, None), decided


def _decide_stock(item: Item, record: OfferRecord) -> tuple[_Key, Item]:
    status = (record.publication_status or "").upper()
    count, unit, _ = _published(record)
    available = int(item.value.get("available", 0))
    wanted_unit = item.value.get("unit")
    if unit is not None and wanted_unit is not None and wanted_unit != unit:
        return _settle(item, SettleOutcome.HANDOVER)  # the quantity command keeps the unit
    if status in LIVE:
        if available == 0:
            return (CommandType.PUBLICATION, END, None), item
        if available == count:
            return _settle(item, SettleOutcome.UNCHANGED)
        return (CommandType.QUANTITY, available, None), item
    if status == "ENDED":
        if available == 0:
            return _settle(item, SettleOutcome.UNCHANGED)
        return (CommandType.QUANTITY, available, ACTIVATE), dataclasses.replace(item, then=ACTIVATE)
    return _settle(item, SettleOutcome.HANDOVER)  # a draft, or a status we do not know


def _decide_price(item: Item, record: OfferRecord, currency: str) -> tuple[_Key, Item]:
    problems = check_price({"sellingMode": {"price": item.value}}, currency=currency)
    if problems:
        return _settle(
            item,
            SettleOutcome.REJECTED,
            *(p.model_dump(by_alias=True, exclude_none=True) for p in problems),
        )
    key = price_key(item.value)
    assert key is not None  # check_price accepted the amount
    _, _, published = _published(record)
    if key == published:
        return _settle(item, SettleOutcome.UNCHANGED)
    return (CommandType.PRICE, key, None), item


def _decide(
    change: PendingRow, record: OfferRecord | None, currency: str, coalesce_s: float
) -> tuple[_Key, Item]:
    item = Item(
        sku=change.sku,
        offer_id=record.offer_id if record is not None else change.offer_id,
        kind=change.kind,
        value=dict(change.value),
        version=change.version,
        events=change.events,
        publication_status=record.publication_status if record is not None else None,
        ready_at=(change.first_at or 0.0) + coalesce_s,
    )
    if record is None or record.published_body is None:
        return _settle(item, SettleOutcome.HANDOVER)  # the content path has not published it
    if change.kind is ChangeKind.STOCK:
        return _decide_stock(item, record)
    return _decide_price(item, record, currency)


def _chunks(items: Sequence[Item], size: int) -> Iterable[tuple[Item, ...]]:
    for start in range(0, len(items), size):
        yield tuple(items[start : start + size])


def _sort_key(key: _Key) -> tuple[int, Any]:
    ctype, value, then = key
    rank = _ORDER[(ctype, then)]
    if ctype is CommandType.PRICE:
        return rank, (value[1], Decimal(value[0]))
    if ctype is CommandType.QUANTITY:
        return rank, value
    return rank, str(value)


def _command_value(key: _Key) -> Any:
    ctype, value, _ = key
    if ctype is CommandType.PRICE:
        return {"amount": value[0], "currency": value[1]}
    return value


def plan_changes(
    changes: Sequence[PendingRow],
    offers: Mapping[str, OfferRecord | None],
    *,
    currency: str,
    max_offers: int = 1000,
    coalesce_s: float = 0.0,
) -> list[NewCommand]:
    """The commands for ``changes`` (pending ones; ``offers``: the registry entry per SKU),
    grouped by value, at most ``max_offers`` items each, in the order of the module doc;
    settle entries last. Items are in SKU order; ``command_id`` is left empty."""
    groups: dict[_Key, list[Item]] = defaultdict(list)
    for change in changes:
        if not change.pending:
            continue
        key, item = _decide(change, offers.get(change.sku), currency, coalesce_s)
        groups[key].append(item)
    commands: list[NewCommand] = []
    for key in sorted(groups, key=_sort_key):
        items = sorted(groups[key], key=lambda i: (i.sku, i.kind.value))
        for chunk in _chunks(items, max_offers):
            commands.append(
                NewCommand(
                    type=key[0],
                    value=_command_value(key),
                    items=chunk,
                    opened_at=min(item.ready_at for item in chunk),
                )
            )
    return commands


def current_in_state(item: Item, state: ProductState | None) -> bool:
    """Whether ``item``'s value is still what the store wants for the SKU: False when the
    SKU was deleted, or another event (a ``product.upserted``) set the part to something
    else since the change was staged; such a change is not sent (SUPERSEDED)."""
    if state is None or state.deleted:
        return False
    wanted = _object(state.product.get(item.kind.value))
    if item.kind is ChangeKind.STOCK:
        if wanted.get("available") != item.value.get("available"):
            return False
        unit = wanted.get("unit")
        return unit is None or item.value.get("unit") in (None, unit)
    return price_key(wanted) == price_key(item.value)


def due_commands(
    commands: Iterable[NewCommand], now: float, *, batch_s: float, max_offers: int
) -> list[NewCommand]:
    """The commands to send at ``now``: settle entries always; a command when it is full or
    ``batch_s`` has passed since ``opened_at`` (its earliest item was ready; the batcher
    passes what is left of the batch window then, :meth:`BatchSettings.batch_after_ready_s`)."""
    return [
        command
        for command in commands
        if command.type is CommandType.SETTLE
        or len(command.items) >= max_offers
        or command.opened_at + batch_s <= now
    ]


def follow_up(items: Sequence[Item], *, parent: str) -> NewCommand | None:
    """The ``ACTIVATE`` command for the restocked items whose quantity task succeeded."""
    activate = [dataclasses.replace(item, then=None) for item in items if item.then == ACTIVATE]
    if not activate:
        return None
    return NewCommand(
        type=CommandType.PUBLICATION,
        value=ACTIVATE,
        items=tuple(activate),
        opened_at=min(item.ready_at for item in activate),
        parent=parent,
    )


# --- outcomes ---------------------------------------------------------------------------------


def _publication_after(ctype: CommandType, value: Any, seen: str | None) -> str | None:
    """The offer's publication status once a task of ``ctype``/``value`` succeeded, when
    the command decides it: ENDED after END; after ACTIVATE, ACTIVE only when Allegro
    listed the offer ACTIVE afterwards (``seen``), else ACTIVATING: the task's success
    says the activation was taken, and it runs on, with a full validation, and may still
    fail (FACTS §11: ACTIVATING is "scheduled or being activated"; endedBy ERROR). After
    a quantity command, ENDED when Allegro listed the offer so (it ended it itself, and
    the command leaves an ENDED offer ENDED). None: the registry's status stands."""
    if ctype is CommandType.PUBLICATION:
        if value == END:
            return "ENDED"
        return "ACTIVE" if seen == "ACTIVE" else "ACTIVATING"
    if ctype is CommandType.QUANTITY and seen == "ENDED":
        return "ENDED"
    return None


def success_status(
    ctype: CommandType, value: Any, item: Item, seen: str | None = None
) -> tuple[Status, str | None]:
    """The status of an item whose task succeeded, and the offer's publication status
    (``seen``: the status Allegro listed for the offer after the command, if read)."""
    if ctype is CommandType.PUBLICATION and value == END:
        return Status.ENDED, "ENDED"
    after = _publication_after(ctype, value, seen)
    if after is not None:
        return Status.UPDATED, after
    known = item.publication_status if item.publication_status in _PUBLICATION_STATUSES else None
    return Status.UPDATED, known


def registry_after(
    record: OfferRecord, ctype: CommandType, value: Any, item: Item, seen: str | None = None
) -> OfferRecord:
    """The registry entry once ``item``'s task succeeded: the published body's stock or
    price set to the value sent (with its fingerprint), the publication status the
    command leaves (see :func:`success_status`; ``seen`` as there), and the published
    version raised to the change's version."""
    # A shallow copy: only ``stock`` and ``sellingMode`` change, and they are replaced by
    # new objects below, so ``record`` is left as it was.
    body = dict(record.published_body) if record.published_body is not None else None
    if body is not None and item.kind is ChangeKind.STOCK:
        stock = dict(body.get("stock") or {}) if isinstance(body.get("stock"), dict) else {}
        stock["available"] = int(item.value.get("available", 0))
        if item.value.get("unit") and not stock.get("unit"):
            stock["unit"] = item.value["unit"]
        body["stock"] = stock
    if body is not None and item.kind is ChangeKind.PRICE:
        selling = body.get("sellingMode")
        selling = dict(selling) if isinstance(selling, dict) else {}
        key = price_key(item.value)  # the amount as sent: two decimals
        amount = key[0] if key is not None else item.value["amount"]
        selling["price"] = {"amount": amount, "currency": item.value["currency"]}
        body["sellingMode"] = selling
    status = _publication_after(ctype, value, seen) or record.publication_status
    return dataclasses.replace(
        record,
        publication_status=status,
        published_body=body,
        fingerprint=fingerprint(body) if body is not None else record.fingerprint,
        published_version=max(record.published_version or 0, item.version),
        updated_at=None,
    )


class FailureAction:
    """What to do with an item whose task failed."""

    REJECT = "reject"  # report REJECTED with Allegro's errors
    RETRY = "retry"  # hand the change to the PATCH path, alone
    GONE = "gone"  # the offer does not exist: the PATCH path, which replaces it


def failure_action(errors: Sequence[Mapping[str, Any]]) -> str:
    """GONE when Allegro's error says the offer does not exist (archived, or not the
    seller's); REJECT when it says the same value would fail again (the value is out of
    range, the status change is not allowed); else RETRY (a conflict with an edit in
    progress, an error we do not know)."""
    if any(str(error.get("code") or "") in GONE_TASK_CODES for error in errors):
        return FailureAction.GONE
    for error in errors:
        code = str(error.get("code") or "")
        if code in PERMANENT_TASK_CODES or code.startswith(_PERMANENT_PREFIXES):
            return FailureAction.REJECT
    return FailureAction.RETRY

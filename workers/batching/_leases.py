"""The SKU publishing leases the batcher holds while a SKU's change is in flight (from the
claim until its entry is DONE): the publish actor waits for them, so a PATCH never races a
batch command of the same SKU. One owner name for every batcher, so the next leader goes
on with them; renewed for commands that take long.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from workers.store.base import Store

from .model import CommandType, JournalEntry, SettleOutcome
from .repo import BatchRepo

__all__ = ["SKU_LEASE_OWNER", "SkuLeases"]

#: The owner of the SKU publishing leases the batcher holds while a SKU's change is in
#: flight: one name for every batcher, so the next leader continues with them.
SKU_LEASE_OWNER = "allegro-feed:batcher"


class SkuLeases:
    """The SKU leases of the journal entries a worker works (``lease_s``: how long one is
    taken for; renewed after a third of it)."""

    def __init__(self, store: Store, repo: BatchRepo, lease_s: float) -> None:
        self.store = store
        self.repo = repo
        self.lease_s = lease_s
        self._renewed: dict[str, float] = {}  # command id -> monotonic time of renewal

    def taken(self, command_ids: Iterable[str]) -> None:
        """The SKU leases of these entries were taken just now (when they were claimed)."""
        moment = time.monotonic()
        for command_id in command_ids:
            self._renewed[command_id] = moment

    def renew(self, entry: JournalEntry) -> None:
        """Extend the SKU leases of a command in flight for long (Allegro is slow, or the
        PUT keeps failing), and at first sight of an entry this process did not claim (a
        restart, or taking over from another batcher)."""
        moment = time.monotonic()
        renewed = self._renewed.get(entry.command_id)
        if renewed is not None and moment - renewed < self.lease_s / 3:
            return
        self.store.acquire_leases(
            entry.account, [item.sku for item in entry.items], SKU_LEASE_OWNER, self.lease_s
        )
        self._renewed[entry.command_id] = moment

    def release(self, account: str, skus: Iterable[str]) -> None:
        """Release the SKU leases of ``skus`` that have no change in flight any more."""
        wanted = set(skus)
        if not wanted:
            return
        self.store.release_leases(
            account, wanted - self.repo.in_flight(account, wanted), SKU_LEASE_OWNER
        )

    def release_done(self, entry: JournalEntry) -> None:
        """``entry`` is DONE: release the SKUs leased for it (a command's; of a settle
        entry, those found stale under their lease: the others were never leased) that
        have no other change in flight."""
        self._renewed.pop(entry.command_id, None)
        leased = {
            item.sku
            for item in entry.items
            if entry.type is not CommandType.SETTLE or item.outcome is SettleOutcome.SUPERSEDED
        }
        self.release(entry.account, leased)

"""The batcher: pending stock/price changes → Allegro's batch commands → statuses.

One :meth:`Batcher.run_once` does, for every account this batcher leads:

1. **flush**: when the account's oldest claimable change has waited the longer of its
   coalescing and batch windows, which both run from its arrival under a light load (their
   sum under a heavier one, see :meth:`BatchSettings.send_after_s`) (and no burst is being
   absorbed: while most new changes land on SKUs already waiting, commands that are not
   full are held up to ``burst_hold_ms`` beyond the windows, see :meth:`Batcher._in_burst`),
   or enough changes are ready to fill a command, plan the commands
   (:func:`~workers.batching.plan.plan_changes`), keep those that are due (full, or their
   batch window closed), take the SKUs' publishing leases (a SKU the publish actor holds
   stays pending; while the batcher holds it, the publish actor waits), settle as
   SUPERSEDED what the store's desired state no longer wants (a ``product.upserted`` or a
   delete came since), and write them to the journal with fresh command ids, claiming
   their changes — all *before* any PUT;
2. **work the journal** (:class:`~workers.batching.sender.JournalWorker`): PUT each NEW
   entry under its stored id, poll each SENT one until Allegro has processed it (the calls
   of one run in parallel), then settle every item (registry, statuses, hand-overs, the
   ``ACTIVATE`` after a restock), mark it DONE and release the SKUs.

Nothing waits inside a call: a command not yet processed is looked at again on a later
run, so one thread keeps many commands in flight. :meth:`Batcher.run_forever` loops until
stopped. Each account is worked by one batcher at a time, the holder of the store lease
``("#allegro-feed-batcher", account)``; journal entries are leased too, so a batcher that
lost its leadership while busy and the one that took over never send one change twice
(and a re-sent PUT with the same id is a 409 anyway).
"""

from __future__ import annotations

import dataclasses
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable

import structlog

from schemas.events import ProductEvent
from workers.allegro.errors import AllegroError
from workers.domain.model import ProductState
from workers.metrics import batch_backlog
from workers.settings import Settings
from workers.store.base import OfferRecord, Store, StoreError, offer_stamp

from ._calls import CommandClient
from ._unit import bookkeeping
from .config import BatchSettings
from .model import CommandType, Item, NewCommand, SettleOutcome
from .outcome import Outcomes
from .plan import current_in_state, due_commands, plan_changes
from .repo import BatchRepo
from .reporting import OnTaskFailed, Reporter
from .sender import SKU_LEASE_OWNER, JournalWorker, Tick
from .stage import Stager

__all__ = ["LEADER_LEASE", "LEADER_LEASE_S", "RETENTION_S", "Batcher"]

log = structlog.get_logger(__name__)

#: The store lease (``account`` column, then the seller account as ``sku``) that makes one
#: batcher the leader of an account. "#" is no letter of an account name.
LEADER_LEASE = "#allegro-feed-batcher"
#: How long leadership and journal-entry leases last without renewal, s. A batcher that
#: died is replaced after at most this long.
LEADER_LEASE_S = 15.0
#: DONE entries and staged event ids are deleted after this long, s.
RETENTION_S = 7 * 24 * 3600.0
_PRUNE_EVERY_S = 3600.0


def _stamp_of(record: OfferRecord | None) -> tuple[object, ...] | None:
    return offer_stamp(record) if record is not None else None


class Batcher:
    """Coalesces stock/price changes into Allegro's batch commands (see the module doc).

    ``settings``: the settings object (read with :meth:`BatchSettings.of`); ``store``: the
    pipeline's store (registry, leases, statuses); ``repo``: the batching tables;
    ``client_for(account)``: the Allegro client of an account; ``reporter``: records and
    publishes statuses; ``on_task_failed``: hands a change to the PATCH path (see
    :mod:`workers.batching.handover`; without it such changes are REJECTED). ``clock``:
    epoch seconds (injected in tests); ``owner``: this batcher's name in leases (default:
    host, process and a random part). ``currency_for(account)``: the price currency of an
    account's offers (see :class:`~workers.allegro.account.AccountCurrencies`; default: the
    settings' one for every account); a price in another currency is REJECTED.
    """

    def __init__(
        self,
        settings: Settings | BatchSettings,
        store: Store,
        repo: BatchRepo,
        client_for: Callable[[str], CommandClient],
        reporter: Reporter,
        on_task_failed: OnTaskFailed | None = None,
        *,
        clock: Callable[[], float] = time.time,
        owner: str | None = None,
        currency_for: Callable[[str], str] | None = None,
    ) -> None:
        self.config = BatchSettings.of(settings)
        self.currency_for = currency_for or (lambda _account: self.config.currency)
        self.store = store
        self.repo = repo
        self.client_for = client_for
        self.clock = clock
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.outcomes = Outcomes(store, reporter, on_task_failed)
        self.journal = JournalWorker(
            self.config,
            store,
            repo,
            client_for,
            self.outcomes,
            owner=self.owner,
            lease_s=LEADER_LEASE_S,
            clock=clock,
        )
        self.stager = Stager(repo, reporter, clock=clock)
        self._renew_at: dict[str, float] = {}  # account -> monotonic time to renew the lead
        self._next_prune = 0.0
        #: the accounts whose backlog this batcher last showed (workers.metrics)
        self._backlog_shown: set[str] = set()

    # --- staging ------------------------------------------------------------------------------

    def stage(self, event: ProductEvent, state: ProductState, offer: OfferRecord | None) -> bool:
        """:meth:`workers.batching.stage.Stager.stage` (for the ingest bridge)."""
        return self.stager.stage(event, state, offer)

    # --- the loop -----------------------------------------------------------------------------

    def run_once(self, now: float | None = None) -> Tick:
        """Flush due changes and work the journal once, for every account this batcher
        leads (taking the lead of accounts nobody leads). ``now``: epoch seconds of the
        batcher's clock. Raises the store's errors when the store is down."""
        now = self.clock() if now is None else now
        tick = Tick()
        led: set[str] = set()
        for account in self.repo.accounts_with_work():
            if not self._leads(account):
                continue
            led.add(account)
            # The due entries' calls go out first and the flush runs while they are on the
            # way; what the flush claimed is sent in this run too.
            started = self.journal.start(account, now)
            claimed = tick.claimed
            self._flush(account, now, tick)
            self.journal.finish(started, now, tick)
            if tick.claimed > claimed:
                self.journal.work(account, now, tick)
        # An account with nothing left (or led elsewhere now) shows no backlog here.
        for account in self._backlog_shown - led:
            batch_backlog(account, 0, 0.0)
        self._backlog_shown = led
        if now >= self._next_prune:
            self._next_prune = now + _PRUNE_EVERY_S
            pruned = self.repo.prune(now - RETENTION_S)
            if pruned:
                log.info("batch.pruned", rows=pruned)
        return tick

    def run_forever(
        self, stop: threading.Event, *, idle: Callable[[float], object] | None = None
    ) -> None:
        """:meth:`run_once` until ``stop`` is set, pausing ``idle(seconds)`` after a run
        that found nothing to do (default ``stop.wait``; a process with a RabbitMQ
        connection may serve its heartbeats meanwhile); a run that moved something is
        followed by the next at once. A failed run (store or RabbitMQ down) is retried with
        a growing pause. Gives up the leases when it stops."""
        wait = idle or stop.wait
        config = self.config
        # A tenth of the shortest interval: a change or a poll waits at most that much
        # beyond its time (an idle run costs a few indexed reads).
        tick_s = max(0.01, min(config.poll_s, config.coalesce_s or 1.0, config.batch_s or 1.0) / 10)
        failures = 0
        try:
            while not stop.is_set():
                try:
                    tick = self.run_once()
                    failures = 0
                except Exception:
                    failures += 1
                    pause_s = min(0.5 * 2 ** (failures - 1), 30.0)
                    log.exception("batch.run_failed", retry_in_s=pause_s)
                    wait(pause_s)
                    continue
                if not tick.busy:  # a run that moved something goes on at once
                    wait(tick_s)
        finally:
            self.close()

    def close(self) -> None:
        """Give up the leadership of every account and the leases of the journal entries
        (another batcher may take over at once). The SKU leases stay with the entries
        still in flight. Does not close the store or the repository."""
        try:
            for account in list(self._renew_at):
                self.store.release_lease(LEADER_LEASE, account, self.owner)
            self.repo.release_all(owner=self.owner)
        except StoreError:
            log.warning("batch.release_failed", exc_info=True)  # they expire on their own
        self._renew_at.clear()
        self.journal.close()  # its HTTP threads

    def _leads(self, account: str) -> bool:
        moment = time.monotonic()
        if moment < self._renew_at.get(account, 0.0):
            return True
        if self.store.acquire_lease(LEADER_LEASE, account, self.owner, LEADER_LEASE_S):
            if account not in self._renew_at:
                log.info("batch.leading", account=account, owner=self.owner)
            self._renew_at[account] = moment + LEADER_LEASE_S / 3
            return True
        self._renew_at.pop(account, None)
        return False

    # --- flushing -----------------------------------------------------------------------------

    def _flush(self, account: str, now: float, tick: Tick) -> None:
        config = self.config
        settled_before = now - config.coalesce_s
        count, oldest, largest, waiting = self.repo.pending_groups(account, settled_before)
        batch_backlog(account, waiting, max(0.0, now - oldest) if oldest is not None else 0.0)
        if not count or oldest is None:
            return
        # A command carries one value: only a group of changes to one value can fill one.
        can_fill = largest >= config.batch_max_offers
        if not can_fill and oldest + config.send_after_s(waiting) > now:
            return  # no command can be full or past its window yet
        # The same SKUs keep changing: send their final values once, later (a command
        # that is full goes all the same).
        holding = self._in_burst(account, now, oldest, waiting)
        if holding and not can_fill:
            return
        # Read and planned before the writer lock is taken (the ingest bridge writes
        # meanwhile): what changed since is found under it (see _lease_skus and claim).
        try:
            currency = self.currency_for(account)
        except AllegroError as exc:
            if exc.transient:  # only this account waits: asked again on the next run
                log.warning("batch.currency_unknown", account=account, error=str(exc))
                return
            # The account's tokens fail (not connected, refused): its commands fail alike
            # and say so in their statuses.
            currency = config.currency
        changes = self.repo.pending(account, settled_before)
        offers = self.store.get_offers(account, {c.sku for c in changes})
        planned = plan_changes(
            changes,
            offers,
            currency=currency,
            max_offers=config.batch_max_offers,
            coalesce_s=config.coalesce_s,
        )
        due = due_commands(
            planned,
            now,
            batch_s=config.batch_after_ready_s(waiting),
            max_offers=config.batch_max_offers,
        )
        if holding:
            due = [c for c in due if len(c.items) >= config.batch_max_offers]
        if not due:
            return
        with bookkeeping(self.store, self.repo):  # leases, checks, claims: one commit
            leased, commands = self._lease_skus(account, due, offers)
            written = self.repo.claim(
                account,
                [dataclasses.replace(c, command_id=str(uuid.uuid4())) for c in commands],
                owner=self.owner,
                lease_s=LEADER_LEASE_S,
                now=now,
            )
        tick.claimed += len(written)
        self.outcomes.remember(
            account, (offers[i.sku] for e in written for i in e.items if i.sku in offers)
        )
        self.journal.leased(e.command_id for e in written if e.type is not CommandType.SETTLE)
        claimed = {i.sku for e in written if e.type is not CommandType.SETTLE for i in e.items}
        self.journal.release_skus(account, leased - claimed)
        for entry in written:
            log.info(
                "batch.claimed",
                command_id=entry.command_id,
                kind=entry.type.value,
                value=entry.value,
                items=len(entry.items),
                events=len(entry.event_ids),
            )

    def _in_burst(self, account: str, now: float, oldest: float, pending: int) -> bool:
        """Whether to hold the account's commands for a burst: most changes staged within
        the last batch window (at least the coalescing window) merged into changes that
        were waiting already, and the oldest change has waited less than the windows
        (:meth:`BatchSettings.send_after_s`) plus the hold."""
        config = self.config
        if oldest + config.send_after_s(pending) + config.hold_s <= now:
            return False
        window_s = max(config.batch_s, config.coalesce_s, 0.05)
        absorbed, fresh = self.repo.absorption(account, now - window_s)
        if absorbed <= fresh:
            return False
        log.debug("batch.burst_hold", account=account, absorbed=absorbed, fresh=fresh)
        return True

    def _lease_skus(
        self, account: str, commands: list[NewCommand], planned_on: dict[str, OfferRecord]
    ) -> tuple[set[str], list[NewCommand]]:
        """Take the publishing lease of every SKU of the commands (settle entries need
        none). Items whose SKU another holder has stay pending, and so do those whose
        registry entry changed since ``planned_on`` was read (the publish actor saved it
        meanwhile: planned again on the next run); items whose value the store's desired
        state no longer holds (read under the lease: a content publish after this one sees
        our change, one before it is seen here) are settled SUPERSEDED instead of being
        sent. Returns the SKUs leased and the commands to claim."""
        skus = [i.sku for c in commands if c.type is not CommandType.SETTLE for i in c.items]
        granted = self.store.acquire_leases(account, skus, SKU_LEASE_OWNER, self.config.sku_lease_s)
        if granted:
            stamps = self.store.offer_stamps(account, granted)
            moved = {sku for sku in granted if stamps.get(sku) != _stamp_of(planned_on.get(sku))}
            if moved:
                log.info("batch.registry_moved", count=len(moved), example=min(moved))
                self.store.release_leases(account, moved, SKU_LEASE_OWNER)
                granted -= moved
        # Read under the leases, once per SKU (its stock and its price change alike).
        states = self.store.product_states(account, granted, content=False)
        kept: list[NewCommand] = []
        stale: list[Item] = []
        for command in commands:
            if command.type is CommandType.SETTLE:
                kept.append(command)
                continue
            items = []
            for item in command.items:
                if item.sku not in granted:
                    continue
                if current_in_state(item, states.get(item.sku)):
                    items.append(item)
                else:
                    stale.append(dataclasses.replace(item, outcome=SettleOutcome.SUPERSEDED))
            if items:
                kept.append(dataclasses.replace(command, items=tuple(items)))
        if stale:
            kept.append(NewCommand(CommandType.SETTLE, None, tuple(stale)))
        busy = sorted(set(skus) - granted)
        if busy:
            log.info("batch.skus_busy", count=len(busy), example=busy[0])
        return granted, kept

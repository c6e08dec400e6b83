"""The HTTP part of working the batch journal: what :class:`~workers.batching.sender.
JournalWorker` runs in its pool threads, one command's PUT or poll each. Nothing here
touches the store, the journal or a worker's state: every function takes what it needs and
gives back what Allegro answered (or raises what the call raised), for the worker to book
afterwards in its own thread.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple, Protocol, TypeVar

import structlog

from workers.allegro.errors import PermanentError
from workers.allegro.models import CommandTask, GeneralReport, OfferListing
from workers.allegro.results import CommandKind, CommandResult

from .model import CommandType, JournalEntry, JournalState
from .plan import ACTIVATE, END, LIVE

__all__ = [
    "CommandClient",
    "Poll",
    "Started",
    "answered",
    "probes",
    "publication_check",
    "put",
    "read",
    "run_all",
    "still_busy",
    "with_publications",
]

log = structlog.get_logger(__name__)

KINDS = {
    CommandType.QUANTITY: CommandKind.QUANTITY,
    CommandType.PRICE: CommandKind.PRICE,
    CommandType.PUBLICATION: CommandKind.PUBLICATION,
}


class CommandClient(Protocol):
    """The part of :class:`~workers.allegro.AllegroClient` the batcher uses (from several
    threads at once)."""

    def change_quantity(
        self, offer_ids: Iterable[str], quantity: int, *, command_id: str | None = None
    ) -> CommandResult: ...

    def change_price(
        self,
        offer_ids: Iterable[str],
        amount: Decimal | str,
        currency: str,
        *,
        marketplace_id: str | None = None,
        command_id: str | None = None,
    ) -> CommandResult: ...

    def change_publication(
        self,
        offer_ids: Iterable[str],
        action: str,
        *,
        scheduled_for: datetime | None = None,
        command_id: str | None = None,
    ) -> CommandResult: ...

    def get_command_report(self, kind: CommandKind | str, command_id: str) -> GeneralReport: ...

    def get_all_command_tasks(
        self, kind: CommandKind | str, command_id: str, *, page_size: int = 500
    ) -> list[CommandTask]: ...

    def find_offers_by_id(
        self, offer_ids: Iterable[str], *, statuses: Sequence[str] = ()
    ) -> list[OfferListing]: ...


class Poll(NamedTuple):
    """What a poll read: the report, and its results by offer id once it is complete
    (None while Allegro is processing the command); once complete, the publication
    status Allegro listed afterwards for the offers :func:`publication_check` names
    (those listed, by offer id)."""

    report: GeneralReport
    tasks: dict[str, CommandTask] | None
    tasks_read: bool  # False: every task succeeded by the report's counts (not read)
    seen: dict[str, str]


@dataclass(frozen=True)
class Started:
    """Entries of a run whose calls :meth:`JournalWorker.start` began: by command id, the
    failure that kept one from starting, the functions giving a PUT's result or a poll's
    reading, and the polls held back behind each probe (see :func:`probes`)."""

    entries: list[JournalEntry]
    unready: dict[str, Exception]
    puts: dict[str, Callable[[], CommandResult]]
    polls: dict[str, Callable[[], Poll]]
    held: dict[str, list[tuple[JournalEntry, CommandClient]]]


def probes(
    calls: list[tuple[JournalEntry, CommandClient]],
) -> tuple[
    list[tuple[JournalEntry, CommandClient]], dict[str, list[tuple[JournalEntry, CommandClient]]]
]:
    """The calls to make now, and the polls held back: of the commands of one kind and
    account due for a poll, only the one sent first is read now (the probe); the others
    are read in the same run once it is done, else looked at again with it. Commands sent
    together finish at about the same time, so while the first is busy, reading the later
    ones mostly counts requests: a burst of forty commands sent at once made forty reads
    every poll interval instead of one. (Allegro does not promise an order; a later
    command done before the first waits at most until the first is done.)"""
    now_calls: list[tuple[JournalEntry, CommandClient]] = []
    groups: dict[tuple[CommandType, str], list[tuple[JournalEntry, CommandClient]]] = {}
    for entry, client in calls:
        if entry.state is JournalState.NEW:
            now_calls.append((entry, client))
        else:
            groups.setdefault((entry.type, entry.account), []).append((entry, client))
    held: dict[str, list[tuple[JournalEntry, CommandClient]]] = {}
    for group in groups.values():
        group.sort(key=lambda call: (call[0].sent_at or 0.0, call[0].command_id))
        probe, *others = group
        now_calls.append(probe)
        if others:
            held[probe[0].command_id] = others
    return now_calls, held


def still_busy(poll: Callable[[], Poll]) -> bool:
    """Whether a probe's reading says its command is not done yet (a failed read holds
    nothing back: the others are read as usual)."""
    try:
        return poll().tasks is None
    except Exception:  # its own bookkeeping deals with the failure
        return False


T = TypeVar("T")


def answered(call: Callable[[], T]) -> Callable[[], T]:
    """``call`` made now: a function that gives its result, or raises what it raised."""
    try:
        result = call()
    except Exception as exc:  # raised again where the result is asked for
        failure = exc

        def fail() -> T:
            raise failure

        return fail
    return lambda: result


def put(client: CommandClient, entry: JournalEntry) -> CommandResult:
    ids, cid = entry.offer_ids, entry.command_id
    if entry.type is CommandType.QUANTITY:
        return client.change_quantity(ids, int(entry.value), command_id=cid)
    if entry.type is CommandType.PRICE:
        price = entry.value
        return client.change_price(
            ids, str(price["amount"]), str(price["currency"]), command_id=cid
        )
    return client.change_publication(ids, str(entry.value), command_id=cid)


def read(client: CommandClient, entry: JournalEntry) -> Poll:
    """The report; when it is complete, the results of every offer: made up from the
    report when its counts say that every offer of the entry succeeded, else the tasks."""
    kind, cid = KINDS[entry.type], entry.command_id
    report = client.get_command_report(kind, cid)
    if not report.completed:
        return Poll(report, None, tasks_read=False, seen={})
    if all_succeeded(report, entry):
        tasks, tasks_read = successes(entry), False
    else:
        found = client.get_all_command_tasks(kind, cid, page_size=1000)
        tasks, tasks_read = {t.offer_id: t for t in found if t.offer_id}, True
    # The publication statuses are read afterwards for every command the run found
    # finished at once (see with_publications).
    return Poll(report, tasks, tasks_read, seen={})


def publication_check(
    entry: JournalEntry, tasks: Mapping[str, CommandTask]
) -> tuple[list[str], tuple[str, ...]]:
    """The offers of a finished command whose publication status is read from Allegro,
    and the status asked for (the others are not listed, which keeps the answer small):

    - quantity: the offers it changed that the registry believed live. Allegro ends an
      offer itself (its last unit sold: ``EMPTY_STOCK``; or an end we did not ask for),
      and a quantity command leaves an ENDED offer ENDED (FACTS §11): one found ENDED
      gets the ACTIVATE a restock gets;
    - ``END``: the offers whose task did not succeed: one Allegro had ended already is
      ENDED all the same;
    - ``ACTIVATE``: the offers it activated: ACTIVE once Allegro lists them so, else
      still ACTIVATING.
    """
    succeeded = {offer_id for offer_id, task in tasks.items() if task.status == "SUCCESS"}
    if entry.type is CommandType.QUANTITY:
        ids = [
            item.offer_id
            for item in entry.items
            if item.offer_id in succeeded
            and item.then != ACTIVATE
            and (item.publication_status or "").upper() in LIVE
        ]
        return [i for i in ids if i], ("ENDED",)
    if entry.type is CommandType.PUBLICATION and entry.value == END:
        return [i for i in entry.offer_ids if i not in succeeded], ("ENDED",)
    if entry.type is CommandType.PUBLICATION and entry.value == ACTIVATE:
        return [i for i in entry.offer_ids if i in succeeded], ("ACTIVE",)
    return [], ()


#: Offers whose publication status one ``GET /sale/offers`` reads (``offer.id`` repeated).
LISTING_CHUNK = 100


def with_publications(
    entries: Iterable[JournalEntry],
    polls: Mapping[str, Callable[[], Poll]],
    skipped: set[str],
    client_for: Callable[[str], CommandClient],
    run: Callable[[list[Callable[[], list[OfferListing]]]], list[Callable[[], list[OfferListing]]]],
) -> dict[str, Callable[[], Poll]]:
    """The polls (by command id) that found their command finished, with the publication
    statuses :func:`publication_check` asks for, as functions giving the poll (or raising
    the read's failure, so that the poll is made again). The offers of every command of
    a run are read together: one ``GET /sale/offers`` per account, status asked for and
    100 offers, ``run`` making the reads concurrently, instead of one read per command
    after its report (during a steady stream of changes many small commands finish each
    run). A refusal (e.g. a token without offers:read) is logged and reads as "nothing
    listed". ``skipped`` entries and polls that failed or found the command busy are
    left out."""
    finished: dict[str, tuple[JournalEntry, Poll]] = {}
    for entry in entries:
        cid = entry.command_id
        if cid in skipped or cid not in polls or entry.type is CommandType.SETTLE:
            continue
        try:
            poll = polls[cid]()
        except Exception:  # noqa: S112 - handled where the poll is settled
            continue
        if poll.tasks is not None:
            finished[cid] = (entry, poll)
    asked: dict[str, tuple[list[str], tuple[str, str]]] = {}  # cid -> (ids, group)
    groups: dict[tuple[str, str], list[str]] = {}  # (account, status) -> offer ids
    for cid, (entry, poll) in finished.items():
        ids, wanted = publication_check(entry, poll.tasks or {})
        if ids:
            group = (entry.account, wanted[0])
            groups.setdefault(group, []).extend(ids)
            asked[cid] = (ids, group)
    chunks = [
        (group, ids[start : start + LISTING_CHUNK])
        for group, ids in groups.items()
        for start in range(0, len(ids), LISTING_CHUNK)
    ]
    reads = run(
        [
            functools.partial(client_for(account).find_offers_by_id, ids, statuses=(status,))
            for (account, status), ids in chunks
        ]
    )
    by_group: dict[tuple[str, str], list[Callable[[], list[OfferListing]]]] = {}
    for (group, _), read_chunk in zip(chunks, reads, strict=True):
        by_group.setdefault(group, []).append(read_chunk)
    # Each group's statuses by offer id, worked out once (or its read's failure).
    listed = {
        group: answered(functools.partial(_statuses, group, chunk_reads))
        for group, chunk_reads in by_group.items()
    }
    out: dict[str, Callable[[], Poll]] = {}
    for cid, (_, poll) in finished.items():
        if cid in asked:
            ids, group = asked[cid]
            out[cid] = answered(functools.partial(_with_seen, poll, ids, listed[group]))
        else:
            out[cid] = answered(functools.partial(_same, poll))
    return out


def _statuses(
    group: tuple[str, str], reads: list[Callable[[], list[OfferListing]]]
) -> dict[str, str]:
    """The publication statuses a group's reads listed, by offer id. A refusal (e.g. a
    token without offers:read) is logged and reads as "nothing listed"; a transient
    failure is raised (the polls of the group are made again)."""
    try:
        return {o.id: o.status for read_chunk in reads for o in read_chunk() if o.id and o.status}
    except PermanentError as exc:
        account, status = group
        log.warning(
            "batch.publication_read_refused", account=account, status=status, error=str(exc)
        )
        return {}


def _with_seen(poll: Poll, ids: list[str], listed: Callable[[], dict[str, str]]) -> Poll:
    statuses = listed()
    return poll._replace(seen={i: statuses[i] for i in ids if i in statuses})


def _same(poll: Poll) -> Poll:
    return poll


def run_all(
    executor: Callable[[], Executor], calls: list[Callable[[], T]]
) -> list[Callable[[], T]]:
    """``calls`` made concurrently in ``executor()``'s pool (one is made here): functions
    giving each result or raising its failure."""
    if len(calls) <= 1:
        return [answered(call) for call in calls]
    pool = executor()
    futures = [pool.submit(call) for call in calls]
    return [answered(future.result) for future in futures]


def all_succeeded(report: GeneralReport, entry: JournalEntry) -> bool:
    """The complete report counts one task per offer of the entry, each a success."""
    counts = report.task_count
    if counts is None:
        return False
    offers = len(set(entry.offer_ids))
    return bool(offers) and counts.total == counts.success == offers and counts.failed == 0


def successes(entry: JournalEntry) -> dict[str, CommandTask]:
    """A SUCCESS task for every offer of the entry (what the tasks would have said)."""
    return {
        offer_id: CommandTask.model_validate({"offer": {"id": offer_id}, "status": "SUCCESS"})
        for offer_id in entry.offer_ids
    }

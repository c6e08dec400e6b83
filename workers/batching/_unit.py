"""One transaction for a run of writes to the store and the batching tables
(see ``Store.unit_of_work``).

Settling a finished command writes the registry, a status per event and the journal; the
ingest bridge records a batch of deliveries: on SQLite that is one commit per write unless
they share a unit of work. Statuses reported inside :func:`bookkeeping` are published once
the unit has committed (``StatusReporter.deferred``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext

from .repo import BatchRepo

__all__ = ["bookkeeping", "store_unit"]


def store_unit(
    store: object, repo: BatchRepo | None = None, *, durable: bool = True, savepoints: bool = True
) -> AbstractContextManager[None]:
    """The store's unit of work (``durable``, ``savepoints``: see ``Store.unit_of_work``),
    unless ``repo`` writes on a connection of its own (a unit would hold the lock its
    writes wait for: then each write commits alone)."""
    unit = getattr(store, "unit_of_work", None)
    if not callable(unit) or (repo is not None and not repo.joins_store_units):
        return nullcontext()
    context: AbstractContextManager[None] = (
        unit(durable=durable) if savepoints else unit(durable=durable, savepoints=False)
    )
    return context


@contextmanager
def bookkeeping(
    store: object, repo: BatchRepo, reporter: object = None, *, savepoints: bool = True
) -> Iterator[None]:
    """:func:`store_unit`, inside the reporter's deferred block when it has one."""
    with ExitStack() as stack:
        deferred = getattr(reporter, "deferred", None)
        if callable(deferred):
            stack.enter_context(deferred())
        stack.enter_context(store_unit(store, repo, savepoints=savepoints))
        yield

"""One transaction for a run of the batcher's bookkeeping (see ``Store.unit_of_work``).

Settling a finished command writes the registry, a status per event and the journal: on
SQLite that is one commit per write unless they share a unit of work. Statuses reported
inside are published once the unit has committed (``StatusReporter.deferred``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from .repo import BatchRepo

__all__ = ["bookkeeping"]


@contextmanager
def bookkeeping(store: object, repo: BatchRepo, reporter: object = None) -> Iterator[None]:
    """The store's unit of work when the repository's writes join it (else each write
    commits alone), inside the reporter's deferred block when it has one."""
    with ExitStack() as stack:
        deferred = getattr(reporter, "deferred", None)
        if callable(deferred):
            stack.enter_context(deferred())
        unit = getattr(store, "unit_of_work", None)
        if callable(unit) and repo.joins_store_units:
            stack.enter_context(unit())
        yield

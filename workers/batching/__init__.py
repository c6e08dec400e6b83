"""The stock/price fast path: coalesced changes sent as Allegro's batch commands.

A ``product.stock`` or ``product.price`` event of a SKU whose offer we published is staged
(:class:`Stager`, called by the ingest bridge) instead of being PATCHed on its own. The
:class:`Batcher` (its own process: ``python -m workers.batching``) coalesces the changes
of each SKU, groups them by value into quantity, price and publication commands of up to
1,000 offers, journals each command before sending it, polls Allegro's reports and
reports every event's status once Allegro has applied (or refused) its change.

Modules: :mod:`~workers.batching.plan` (the pure decisions), :mod:`~workers.batching.repo`
(the tables), :mod:`~workers.batching.stage`, :mod:`~workers.batching.flusher` (the loop) and
:mod:`~workers.batching.sender` (PUT, poll, settle),
:mod:`~workers.batching.outcome` (statuses and registry after a command),
:mod:`~workers.batching.handover` (the PATCH path for what batching cannot do).
"""

from workers.batching._calls import CommandClient
from workers.batching.config import BatchSettings
from workers.batching.flusher import Batcher
from workers.batching.model import (
    ChangeKind,
    CommandType,
    Handover,
    JournalEntry,
    JournalState,
    StageOutcome,
)
from workers.batching.repo import BatchRepo
from workers.batching.reporting import OnTaskFailed, Reporter
from workers.batching.sender import Tick
from workers.batching.stage import Stager

__all__ = [
    "BatchRepo",
    "BatchSettings",
    "Batcher",
    "ChangeKind",
    "CommandClient",
    "CommandType",
    "Handover",
    "JournalEntry",
    "JournalState",
    "OnTaskFailed",
    "Reporter",
    "StageOutcome",
    "Stager",
    "Tick",
]

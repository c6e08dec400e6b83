"""The PATCH path for changes the batch commands could not make: the publish actor.

:func:`publish_handover` builds the batcher's ``on_task_failed`` callback. It enqueues the
``publish`` step for the change's newest event, on the fast path (``mode="fast"``), exactly
as the ingest bridge did before batching: the publish actor then PATCHes the SKU's stock
and price as the store holds them now (waiting while the batcher still holds the SKU's
lease) and reports the event's status; a FAILED one there is dead-lettered and replayable.
"""

from __future__ import annotations

from typing import Any

import structlog

from workers.broker import Payload, part_digests, send_step
from workers.settings import Settings
from workers.store.base import Store
from workers.topology import Step

from .model import Handover
from .reporting import OnTaskFailed

__all__ = ["handover_payload", "publish_handover"]

log = structlog.get_logger(__name__)


def handover_payload(handover: Handover, store: Store) -> Payload:
    """The publish step's payload for ``handover`` (digests of the state as it is now).
    Raises LookupError when the store has no state of the SKU (a store fault: retried)."""
    state = store.product_state(handover.account, handover.sku)
    if state is None:
        raise LookupError(f"no desired state stored for {handover.account}/{handover.sku}")
    return Payload(
        event_id=handover.event_id,
        account=handover.account,
        sku=handover.sku,
        version=handover.version,
        changed=(handover.kind.value,),
        digests=part_digests(state),
        mode="fast",
    )


def publish_handover(broker: Any, settings: Settings, store: Store) -> OnTaskFailed:
    """The callback that hands a change to the publish actor through ``broker`` (a
    Dramatiq broker; the message is confirmed by RabbitMQ before it returns)."""

    def hand_over(handover: Handover) -> None:
        send_step(broker, settings, Step.PUBLISH, handover_payload(handover, store))
        log.info(
            "batch.enqueued_publish",
            sku=handover.sku,
            event_id=handover.event_id,
            reason=handover.reason,
        )

    return hand_over

"""What every actor step shares: reporting the terminal status, handing on to the next step,
reading the SKU's desired state, and recognising a message whose event is finished.

:class:`StepBase` is the base of :class:`workers.actors.Steps` (categorize, enrich,
validate) and :class:`workers.publish.PublishStep`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import structlog
from dramatiq.middleware import CurrentMessage

from schemas.status import Status, StatusError, StatusMessage
from workers.broker import Payload, send_step
from workers.domain.model import ProductState
from workers.middleware import attempts_of
from workers.status import status_for
from workers.topology import Step

if TYPE_CHECKING:
    from workers.services import Services
    from workers.settings import Settings

__all__ = ["StepBase", "current_attempts"]

log = structlog.get_logger(__name__)


def current_attempts() -> int:
    """Runs of the current message so far, this one included (1 outside an actor)."""
    message = CurrentMessage.get_current_message()
    return attempts_of(message) if message is not None else 1


class StepBase:
    """The actor steps of one process, bound to its :class:`Services`."""

    def __init__(self, services: Services) -> None:
        self.services = services

    @property
    def settings(self) -> Settings:
        """The settings of the process (the services' own, looked up on each use)."""
        return self.services.settings

    def report(
        self,
        payload: Payload,
        status: Status,
        errors: list[StatusError] | None = None,
        **fields: Any,
    ) -> None:
        """Report ``payload``'s terminal status (recorded and published once)."""
        self.services.reporter.report(self.status(payload, status, errors, **fields))

    @staticmethod
    def status(
        payload: Payload,
        status: Status,
        errors: list[StatusError] | None = None,
        **fields: Any,
    ) -> StatusMessage:
        """The status message :meth:`report` records for ``payload``."""
        return status_for(
            payload.identity(), status, errors=errors or [], attempts=current_attempts(), **fields
        )

    def forward(self, step: Step, payload: Payload) -> None:
        """Hand ``payload`` to ``step``; RabbitMQ confirms it before this message is acked."""
        send_step(self.services.broker, self.settings, step, payload)
        log.info("step.forwarded", to=step.value, mode=payload.mode)

    def load_state(self, payload: Payload) -> ProductState:
        state = self.services.store.product_state(payload.account, payload.sku)
        if state is None:
            # The bridge records an event before handing it on: a store fault, retry.
            raise LookupError(f"no desired state stored for {payload.account}/{payload.sku}")
        return state

    def already_reported(self, payload: Payload) -> bool:
        """A redelivered or duplicate message of an event that has its status (a FAILED
        one excepted: that event is being replayed). A status the store holds unpublished
        (a run died between recording and publishing it) is published now, so that acking
        this message loses nothing."""
        prior = self.services.reporter.settled(payload.event_id)
        if prior is None or prior.status is Status.FAILED:
            return False
        log.info("event.already_reported", status=str(prior.status))
        return True

"""What the client's calls return besides plain models: offer and command results."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from workers.allegro.models import GeneralReport, ProductOffer

__all__ = ["CommandKind", "CommandResult", "OfferResult", "OperationRef"]


@dataclass(frozen=True)
class OperationRef:
    """The async operation behind a 202 (``Location`` of POST/PATCH)."""

    url: str
    offer_id: str | None
    operation_id: str | None
    #: GET polls made before it finished
    polls: int = 0
    #: ``Trace-Id`` of the last poll (the 303)
    trace_id: str | None = None
    #: ``Retry-After`` of the 202 that named it, s (when to poll first)
    retry_after_s: float | None = None


@dataclass(frozen=True)
class OfferResult:
    """The outcome of creating or changing an offer.

    ``status`` and ``trace_id`` belong to the POST/PATCH response (201, 200 or 202; for
    :meth:`wait_operation` the final 303). ``offer`` is the offer's final state (after the
    operation finished, when there was one). ``recovered`` is True when a POST's answer was
    lost and the offer was found by ``external.id`` instead of being created twice.
    ``pending`` is True for the 202 of ``create_offer(wait=False)``: ``offer`` is the
    state the 202 showed, and ``operation`` is still to be polled.
    """

    offer: ProductOffer
    status: int
    trace_id: str | None
    operation: OperationRef | None = None
    recovered: bool = False
    pending: bool = False

    @property
    def offer_id(self) -> str | None:
        return self.offer.id or (self.operation.offer_id if self.operation else None)


class CommandKind(StrEnum):
    """The batch command resources (``/sale/<kind>/{commandId}``)."""

    QUANTITY = "offer-quantity-change-commands"
    PRICE = "offer-price-change-commands"
    PUBLICATION = "offer-publication-commands"

    @classmethod
    def of(cls, kind: CommandKind | str) -> CommandKind:
        """Accept the enum, its value, or ``quantity`` / ``price`` / ``publication``."""
        if isinstance(kind, CommandKind):
            return kind
        text = str(kind).strip().lower()
        for member in cls:
            if text in (member.value, member.name.lower()):
                return member
        raise ValueError(f"unknown command kind {kind!r}: quantity, price or publication")


@dataclass(frozen=True)
class CommandResult:
    """A batch command accepted by Allegro (201) or already accepted earlier (409).

    Processing is asynchronous: ``report`` counters stay 0 until it starts; poll
    ``get_command_report`` / ``get_command_tasks`` with ``command_id``.
    """

    command_id: str
    kind: CommandKind
    report: GeneralReport
    status: int
    trace_id: str | None
    already_accepted: bool = False

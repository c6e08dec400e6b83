"""The status message, version 1: the one terminal outcome of every upstream event.

Published to the exchange ``allegro.status`` with routing key ``offer.<status in lower
case>`` (:attr:`StatusMessage.routing_key`), e.g. ``offer.published``. Fields as in
DESIGN.md, "Message flow"; the items of ``errors`` keep Allegro's own shape and names
(``code``, ``message``, ``path``, ``userMessage``), so Allegro's errors pass through as they
came and ours look the same.

Two choices of version 1:

- ``schema_version`` (always 1) is part of the message, so a consumer can tell versions
  apart without looking at the exchange or headers.
- ``event_id``, ``sku``, ``account`` and ``version`` are null only in a ``REJECTED`` status
  of input that could not be read that far (not JSON, a missing or malformed field); every
  other status names its event in full.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from schemas.errors import EventError, FieldError, custom_error
from schemas.events import ProductEvent
from schemas.offer import OfferStatus

__all__ = ["PublicationStatus", "Status", "StatusError", "StatusMessage"]

#: Allegro's ``publication.status`` of the offer, as reported in a status message.
PublicationStatus = OfferStatus


class Status(StrEnum):
    """The terminal outcome of one event."""

    PUBLISHED = "PUBLISHED"  # a new offer was created
    UPDATED = "UPDATED"  # the existing offer was changed
    UNCHANGED = "UNCHANGED"  # nothing differed from what Allegro has: no call made
    SUPERSEDED = "SUPERSEDED"  # a newer version of the SKU was applied already
    ENDED = "ENDED"  # the offer was ended (product deleted, or stock 0)
    REJECTED = "REJECTED"  # bad input, or fails Allegro's rules: not retried
    FAILED = "FAILED"  # retries exhausted: dead-lettered, replayable


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _now() -> datetime:
    return datetime.now(UTC)


class StatusError(BaseModel):
    """One reason, in the shape of Allegro's error items."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )

    code: str = Field(min_length=1, description="machine-readable: Allegro's or ours")
    message: str = Field(description="for developers, in English")
    path: str | None = Field(None, description="the offending field, e.g. productSet[0].product")
    user_message: str | None = Field(
        None, alias="userMessage", description="safe to show to the seller"
    )

    @classmethod
    def from_field_error(cls, error: FieldError) -> StatusError:
        """Our :class:`~schemas.errors.FieldError` in Allegro's shape; the fix is in userMessage."""
        return cls(
            code=error.code,
            message=f"{error.field}: {error.message}" if error.field else error.message,
            path=error.field or None,
            user_message=str(error),
        )


_Text = Annotated[str, Field(min_length=1)]


class StatusMessage(BaseModel):
    """The outcome of one upstream event, published to ``allegro.status``."""

    model_config = ConfigDict(extra="forbid", frozen=True, serialize_by_alias=True)

    schema_version: Literal[1] = Field(1, description="version of this message's schema")
    event_id: _Text | None = Field(description="the event's id; null only if unreadable")
    sku: _Text | None = Field(description="the event's SKU; null only if unreadable")
    account: _Text | None = Field(description="the seller account; null only if unreadable")
    version: int | None = Field(ge=0, description="the event's version; null only if unreadable")
    status: Status
    offer_id: str | None = Field(None, description="Allegro offer id, once there is an offer")
    publication_status: PublicationStatus | None = Field(
        None, description="Allegro's publication.status of the offer, when known"
    )
    trace_id: str | None = Field(
        None, description="Allegro's Trace-Id of the last call, where there was one"
    )
    attempts: int = Field(1, ge=1, description="runs of the step that decided, first included")
    at: Annotated[AwareDatetime, AfterValidator(_utc)] = Field(
        default_factory=_now, description="when the outcome was decided (UTC)"
    )
    errors: list[StatusError] = Field(
        default_factory=list, description="why: always at least one for REJECTED and FAILED"
    )

    @model_validator(mode="after")
    def _consistent(self) -> StatusMessage:
        unnamed = [
            name
            for name in ("event_id", "sku", "account", "version")
            if getattr(self, name) is None
        ]
        if unnamed and self.status is not Status.REJECTED:
            raise custom_error(
                f"only a REJECTED status may leave out {', '.join(unnamed)}",
                fix="fill in the event's identity",
                field=unnamed[0],
            )
        if self.status in (Status.REJECTED, Status.FAILED) and not self.errors:
            raise custom_error(
                f"a {self.status} status needs at least one error",
                fix="say why in errors",
                field="errors",
            )
        if self.status in (Status.PUBLISHED, Status.UPDATED) and not self.offer_id:
            raise custom_error(
                f"a {self.status} status needs the offer_id",
                fix="add Allegro's offer id",
                field="offer_id",
            )
        return self

    @property
    def routing_key(self) -> str:
        """``offer.<status in lower case>``, e.g. ``offer.published``."""
        return f"offer.{self.status.lower()}"

    def to_json(self) -> bytes:
        """The message body (UTF-8 JSON, Allegro's ``userMessage`` spelling kept)."""
        return self.model_dump_json().encode()

    @classmethod
    def for_event(
        cls,
        event: ProductEvent,
        status: Status,
        *,
        errors: list[StatusError] | None = None,
        **fields: object,
    ) -> StatusMessage:
        """A status naming ``event``; ``fields`` are the other fields (offer_id, attempts...)."""
        return cls.model_validate(
            {
                "event_id": event.event_id,
                "sku": event.sku,
                "account": event.account,
                "version": event.version,
                "status": status,
                "errors": errors or [],
                **fields,
            }
        )

    @classmethod
    def rejected(cls, error: EventError, *, message_id: str | None = None) -> StatusMessage:
        """The REJECTED status of an event :func:`~schemas.events.parse_event` refused.

        ``message_id`` (the AMQP property) stands in for an unreadable ``event_id``.
        """
        return cls(
            event_id=error.event_id or message_id or None,
            sku=error.sku,
            account=error.account,
            version=error.version,
            status=Status.REJECTED,
            errors=[StatusError.from_field_error(e) for e in error.field_errors],
        )

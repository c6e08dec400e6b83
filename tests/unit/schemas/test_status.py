"""The status message: routing keys, the consistency rules, and its JSON shape."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from schemas import (
    EventError,
    FieldError,
    PublicationStatus,
    Status,
    StatusError,
    StatusMessage,
    parse_event,
)
from schemas.events import EXAMPLE_EVENTS

IDENTITY: dict[str, Any] = {"event_id": "e-1", "sku": "SKU-1", "account": "default", "version": 7}
ERROR = StatusError(code="UNMAPPED_CATEGORY", message="no mapping for Shoes")


def make(status: Status, **fields: Any) -> StatusMessage:
    return StatusMessage(**{**IDENTITY, "status": status, **fields})


@pytest.mark.parametrize(
    ("status", "key"),
    [
        (Status.PUBLISHED, "offer.published"),
        (Status.UPDATED, "offer.updated"),
        (Status.UNCHANGED, "offer.unchanged"),
        (Status.SUPERSEDED, "offer.superseded"),
        (Status.ENDED, "offer.ended"),
        (Status.REJECTED, "offer.rejected"),
        (Status.FAILED, "offer.failed"),
    ],
)
def test_routing_key(status: Status, key: str) -> None:
    fields: dict[str, Any] = {"offer_id": "123"}
    if status in (Status.REJECTED, Status.FAILED):
        fields["errors"] = [ERROR]
    assert make(status, **fields).routing_key == key


def test_wire_shape_keeps_allegro_names() -> None:
    message = make(
        Status.REJECTED,
        errors=[
            StatusError(
                code="ConstraintViolationException.MissingRequiredParameters",
                message="Missing required parameters",
                path="productSet[0].product.parameters",
                user_message="Uzupełnij parametry",
            )
        ],
        trace_id="abc",
        at=datetime(2026, 7, 18, 14, 0, tzinfo=timezone(timedelta(hours=2))),
    )
    body = json.loads(message.to_json())
    assert set(body) == {
        "schema_version",
        "event_id",
        "sku",
        "account",
        "version",
        "status",
        "offer_id",
        "publication_status",
        "trace_id",
        "attempts",
        "at",
        "errors",
    }
    assert body["schema_version"] == 1
    assert body["at"] == "2026-07-18T12:00:00Z"
    assert body["errors"][0]["userMessage"] == "Uzupełnij parametry"
    assert "user_message" not in body["errors"][0]
    assert StatusMessage.model_validate_json(message.to_json()) == message


def test_allegro_error_items_parse_as_they_come() -> None:
    item = StatusError.model_validate(
        {"code": "X", "message": "m", "path": None, "userMessage": "u"}
    )
    assert item.user_message == "u"


def test_at_defaults_to_now_in_utc() -> None:
    before = datetime.now(UTC)
    message = make(Status.UNCHANGED)
    assert message.at.tzinfo is UTC
    assert before <= message.at <= datetime.now(UTC)


def test_naive_at_is_refused() -> None:
    with pytest.raises(ValidationError):
        make(Status.UNCHANGED, at=datetime(2026, 7, 18, 12, 0))


def test_publication_status_values() -> None:
    for value in ("ACTIVE", "ENDED", "INACTIVE", "ACTIVATING"):
        message = make(Status.UPDATED, offer_id="1", publication_status=value)
        assert message.publication_status == PublicationStatus(value)
    with pytest.raises(ValidationError):
        make(Status.UPDATED, offer_id="1", publication_status="LIVE")


@pytest.mark.parametrize("missing", ["event_id", "sku", "account", "version"])
def test_identity_may_be_null_only_when_rejected(missing: str) -> None:
    make(Status.REJECTED, errors=[ERROR], **{missing: None})
    with pytest.raises(ValidationError, match=f"only a REJECTED status may leave out {missing}"):
        make(Status.FAILED, errors=[ERROR], **{missing: None})


@pytest.mark.parametrize("status", [Status.REJECTED, Status.FAILED])
def test_rejected_and_failed_need_a_reason(status: Status) -> None:
    with pytest.raises(ValidationError, match="needs at least one error"):
        make(status)


@pytest.mark.parametrize("status", [Status.PUBLISHED, Status.UPDATED])
def test_published_and_updated_need_the_offer_id(status: Status) -> None:
    with pytest.raises(ValidationError, match="needs the offer_id"):
        make(status)


def test_unknown_fields_and_bad_attempts_are_refused() -> None:
    with pytest.raises(ValidationError):
        make(Status.UNCHANGED, attempts=0)
    with pytest.raises(ValidationError):
        make(Status.UNCHANGED, reason="x")


def test_for_event_names_the_event() -> None:
    event = parse_event(json.dumps(EXAMPLE_EVENTS[0]).encode())
    message = StatusMessage.for_event(
        event, Status.PUBLISHED, offer_id="7701", trace_id="t-1", attempts=2
    )
    assert (message.event_id, message.sku, message.account, message.version) == (
        event.event_id,
        event.sku,
        event.account,
        event.version,
    )
    assert (message.offer_id, message.attempts, message.routing_key) == (
        "7701",
        2,
        "offer.published",
    )


def test_rejected_from_unreadable_input() -> None:
    with pytest.raises(EventError) as caught:
        parse_event(b"not json")
    message = StatusMessage.rejected(caught.value, message_id="amqp-id-1")
    assert message.status is Status.REJECTED
    assert message.event_id == "amqp-id-1"
    assert (message.sku, message.account, message.version) == (None, None, None)
    (item,) = message.errors
    assert item.code == "EVENT_NOT_JSON"
    assert item.path is None
    assert item.user_message is not None and "publish one JSON object" in item.user_message


def test_rejected_from_a_bad_field_keeps_the_identity() -> None:
    sample = {**EXAMPLE_EVENTS[1], "stock": {"available": 1, "unit": "BOX"}}
    with pytest.raises(EventError) as caught:
        parse_event(json.dumps(sample).encode())
    message = StatusMessage.rejected(caught.value)
    assert message.event_id == sample["event_id"]
    assert message.version == sample["version"]
    (item,) = message.errors
    assert item.path == "stock.unit"
    assert item.message.startswith("stock.unit: must be one of UNIT, PAIR, SET")
    assert item.user_message is not None and item.user_message.endswith("; use one of these")


def test_status_error_from_field_error() -> None:
    item = StatusError.from_field_error(FieldError("sku", "is required", "add it", "MISSING_FIELD"))
    assert item.model_dump() == {
        "code": "MISSING_FIELD",
        "message": "sku: is required",
        "path": "sku",
        "userMessage": "sku: is required; add it",
    }

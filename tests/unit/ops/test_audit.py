"""The SKU audit trail as ``allegro-feed status`` prints it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from schemas.status import Status, StatusError, StatusMessage
from workers.ops.audit import format_history, history_json


def _message(status: Status, minute: int, **fields: object) -> StatusMessage:
    return StatusMessage.model_validate(
        {
            "event_id": f"ev-{minute}",
            "sku": "S-1",
            "account": "default",
            "version": 1000 + minute,
            "status": status,
            "at": datetime(2026, 7, 18, 12, minute, 5, 123456, tzinfo=UTC),
            **fields,
        }
    )


HISTORY = [
    _message(
        Status.REJECTED,
        3,
        trace_id="tr-3",
        errors=[
            StatusError(
                code="ParameterCategoryException",
                message="dev text",
                path="parameters[0]",
                user_message="Parametr Stan jest wymagany",
            ),
            StatusError(code="MISSING_FIELD", message="name: is required"),
        ],
    ),
    _message(
        Status.PUBLISHED,
        1,
        offer_id="7700001",
        publication_status="ACTIVE",
        trace_id="tr-1",
        attempts=2,
    ),
]


def test_newest_first_with_ids_offer_trace_and_errors() -> None:
    text = format_history("default", "S-1", HISTORY)
    lines = text.splitlines()
    assert lines[0] == "SKU S-1 (account default): 2 status(es), newest first"
    assert lines[1].startswith("2026-07-18 12:03:05.123Z  REJECTED    v1003  event ev-3")
    assert "trace tr-3" in lines[1]
    assert lines[2] == "    ParameterCategoryException [parameters[0]]: Parametr Stan jest wymagany"
    assert lines[3] == "    MISSING_FIELD: name: is required"
    assert "PUBLISHED" in lines[4] and "offer 7700001" in lines[4] and "(ACTIVE)" in lines[4]
    assert "after 2 attempts" in lines[4]


def test_no_history_says_so() -> None:
    assert format_history("shop", "S-9", []) == "no status recorded for SKU 'S-9' of account 'shop'"
    assert format_history("shop", "S-9", [], history_days=30) == (
        "no status recorded for SKU 'S-9' of account 'shop' in the last 30 days (older "
        "statuses are pruned: ALLEGRO_FEED_HISTORY_DAYS)"
    )


def test_json_is_the_status_message_schema() -> None:
    data = history_json(HISTORY)
    assert (
        json.loads(json.dumps(data))[0]["errors"][0]["userMessage"] == "Parametr Stan jest wymagany"
    )
    assert [StatusMessage.model_validate(item) for item in data] == HISTORY

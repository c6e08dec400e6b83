"""The ingest bridge with bodies the parser chokes on, a parser that breaks, a give-up
that must still report, a reused event_id, and compressed bodies."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pika
import pytest

from schemas.status import Status
from workers.ingest import MAX_INTERNAL_FAILURES, IngestBridge, Outcome
from workers.settings import Settings
from workers.status import status_for
from workers.store import RecordOutcome

from .conftest import recorded, state
from .test_ingest import Bench, FakeAmqp, Method, _event

DEEP = b'{"type":"product.stock","event_id":"ev-deep","a":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
BIG = (
    b'{"type":"product.stock","event_id":"ev-big","occurred_at":"2026-07-18T12:00:00Z",'
    b'"sku":"S","version":1' + b"0" * 5_000 + b',"stock":{"available":1}}'
)


@pytest.fixture
def bench(settings: Settings) -> Bench:
    return Bench(settings)


def _statuses(bench: Bench) -> list[dict[str, Any]]:
    return [json.loads(p.body) for p in bench.publisher.published if p.exchange]


def _parked(bench: Bench) -> list[bytes]:
    return [p.body for p in bench.publisher.published if not p.exchange]


@pytest.mark.parametrize(
    ("body", "event_id", "text"),
    [(DEEP, "m-1", "deeper than"), (BIG, "ev-big", "digits")],
    ids=["deep", "big integer"],
)
def test_what_the_parser_chokes_on_is_rejected_once_without_a_retry(
    bench: Bench, settings: Settings, body: bytes, event_id: str, text: str
) -> None:
    bridge = IngestBridge(settings, bench.store, broker=None)  # type: ignore[arg-type]
    amqp = FakeAmqp()

    bridge._deliver(
        amqp, amqp, bench.handler, Method(1), pika.BasicProperties(message_id="m-1"), body
    )

    assert amqp.acked == [1] and amqp.nacked == [] and amqp.paused_s == []
    assert _parked(bench) == [body]
    [status] = _statuses(bench)
    assert (status["status"], status["event_id"]) == ("REJECTED", event_id)
    assert text in status["errors"][0]["message"]
    assert status["errors"][0]["userMessage"]


def test_a_parser_that_breaks_is_parked_at_once_and_reported(
    bench: Bench, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("a bug in the parser")

    monkeypatch.setattr("workers.ingest_handler.parse_event", broken)
    bridge = IngestBridge(settings, bench.store, broker=None)  # type: ignore[arg-type]
    amqp = FakeAmqp()
    body = json.dumps(_event()).encode()

    bridge._deliver(
        amqp, amqp, bench.handler, Method(1), pika.BasicProperties(message_id="m-7"), body
    )

    # No requeue with pauses: the same bytes would break the parser again.
    assert amqp.acked == [1] and amqp.nacked == [] and amqp.paused_s == []
    assert _parked(bench) == [body]
    [status] = _statuses(bench)
    assert (status["status"], status["event_id"]) == ("REJECTED", "m-7")
    assert status["errors"][0]["code"] == "INTERNAL_ERROR"
    assert "RuntimeError" in status["errors"][0]["message"]


def test_giving_up_on_unreadable_bytes_still_reports_a_status(bench: Bench) -> None:
    # Before: give_up parsed the bytes again, that raised, and no status was reported.
    bench.handler.give_up(
        b"{not json", "product.stock", pika.BasicProperties(message_id="m-3"), KeyError("x")
    )

    assert _parked(bench) == [b"{not json"]
    [status] = _statuses(bench)
    assert (status["status"], status["event_id"]) == ("REJECTED", "m-3")
    assert status["errors"][0]["code"] == "EVENT_NOT_JSON"


def test_giving_up_on_a_readable_event_reports_it_failed(bench: Bench, settings: Settings) -> None:
    bridge = IngestBridge(settings, bench.store, broker=None)  # type: ignore[arg-type]
    amqp = FakeAmqp()
    bench.store.fail_record = KeyError("a bug")
    body = json.dumps(_event()).encode()

    for tag in range(1, MAX_INTERNAL_FAILURES + 1):
        bridge._deliver(amqp, amqp, bench.handler, Method(tag), pika.BasicProperties(), body)

    [status] = _statuses(bench)
    assert (status["status"], status["event_id"]) == ("FAILED", "ev-1")


def test_a_status_that_cannot_be_stored_is_logged_not_raised(bench: Bench) -> None:
    from structlog.testing import capture_logs

    def refuse(_message: Any) -> bool:
        raise ValueError("the store refuses it")

    bench.store.add_status = refuse  # type: ignore[method-assign]
    with capture_logs() as logs:
        bench.handler.give_up(
            b"{not json", "product.stock", pika.BasicProperties(message_id="m-4"), KeyError("x")
        )

    assert _parked(bench) == [b"{not json"]
    [entry] = [e for e in logs if e["event"] == "ingest.gave_up_unreported"]
    assert entry["status"]["event_id"] == "m-4"


def test_a_corrected_event_resent_under_a_rejected_event_id_is_parked_not_merged(
    bench: Bench,
) -> None:
    # E1 is rejected at ingest (stock as a string), then re-sent corrected under E1.
    assert bench.handle(_event(stock={"available": "3"}), message_id="ev-1") is Outcome.REJECTED
    bench.store.results.append(recorded(RecordOutcome.NEW, state(2), {"stock"}))
    corrected = json.dumps(_event()).encode()

    assert bench.handle(corrected, message_id="ev-1") is Outcome.DUPLICATE

    assert "record:ev-1" not in bench.log and bench.sent == []  # not merged, not handed on
    parked = [p for p in bench.publisher.published if not p.exchange]
    assert [p.body for p in parked][-1] == corrected
    reason = parked[-1].properties.headers["x-rejected-reason"]
    assert "ev-1" in reason and "REJECTED" in reason and "new event_id" in reason
    # Exactly one status for the event_id: the first REJECTED.
    assert [s["status"] for s in _statuses(bench)] == ["REJECTED"]


def test_an_event_id_with_another_terminal_status_is_a_duplicate(bench: Bench) -> None:
    stored = status_for(
        {"event_id": "ev-1", "sku": "SKU-1", "account": "default", "version": 2},
        Status.UNCHANGED,
    )
    bench.store.add_status(stored)

    assert bench.handle(_event()) is Outcome.DUPLICATE
    assert "record:ev-1" not in bench.log and _parked(bench) == []


@pytest.mark.parametrize(
    ("properties", "field"),
    [
        ({"content_encoding": "gzip"}, "content_encoding"),
        ({"content_type": "application/octet-stream"}, "content_type"),
    ],
)
def test_an_encoded_body_names_the_property_that_explains_it(
    bench: Bench, properties: dict[str, str], field: str
) -> None:
    body = gzip.compress(json.dumps(_event()).encode())

    assert bench.handle(body, message_id="m-5", **properties) is Outcome.REJECTED

    [status] = _statuses(bench)
    first = status["errors"][0]
    assert first["path"] == field
    assert "uncompressed UTF-8 JSON" in first["userMessage"]
    assert any(e["code"] == "EVENT_NOT_UTF8" for e in status["errors"])


def test_a_good_body_is_taken_whatever_its_encoding_property_says(bench: Bench) -> None:
    bench.store.results.append(recorded(RecordOutcome.NEW, state(2), {"stock"}))
    assert bench.handle(_event(), content_encoding="utf-8") is Outcome.DISPATCHED
    bench.store.results.append(recorded(RecordOutcome.NEW, state(3), {"stock"}))
    assert (
        bench.handle(
            _event(event_id="ev-2", version=3), content_type="application/json; charset=utf-8"
        )
        is Outcome.DISPATCHED
    )

"""Dead letters read and planned for replay without a broker."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta

import pika
import pytest

from workers.ops import EXIT_USAGE, OpsError
from workers.ops.deadletters import (
    NotReplayable,
    dead_letter_queues,
    describe,
    parse_duration,
    plan_replay,
    resolve_queue,
)
from workers.settings import Settings
from workers.topology import Names

TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "workers/actors.py", line 10, in enrich\n'
    "workers.allegro.errors.ServerError: 503 from Allegro (Trace-Id abc)\n"
)
DEAD_AT = datetime(2026, 7, 18, 12, 0, tzinfo=UTC)
EVENT = {
    "type": "product.stock",
    "event_id": "ev-1",
    "occurred_at": "2026-07-18T12:00:00Z",
    "sku": "S-1",
    "version": 5,
    "stock": {"available": 3},
}


def _settings(prefix: str = "") -> Settings:
    return Settings(name_prefix=prefix)


def _dramatiq_body(**options: object) -> bytes:
    return json.dumps(
        {
            "queue_name": "staging.enrich",
            "actor_name": "enrich",
            "args": [{"event_id": "ev-1", "account": "default", "sku": "S-1", "version": 5}],
            "kwargs": {},
            "options": {"retries": 8, "traceback": TRACEBACK, "max_retries": 8, **options},
            "message_id": "m-1",
            "message_timestamp": 1_700_000_000_000,
        }
    ).encode()


def _death(queue: str, exchange: str = "", key: str | None = None) -> dict[str, object]:
    return {
        "reason": "rejected",
        "queue": queue,
        "time": DEAD_AT,
        "exchange": exchange,
        "routing-keys": [key or queue],
        "count": 1,
    }


def test_a_dramatiq_dead_letter_shows_actor_ids_retries_and_reason() -> None:
    props = pika.BasicProperties(delivery_mode=2, headers={"x-death": [_death("staging.enrich")]})
    letter = describe("staging.enrich.XQ", _dramatiq_body(), props)
    assert letter.kind == "dramatiq"
    assert (letter.message_id, letter.actor) == ("m-1", "enrich")
    assert (letter.event_id, letter.sku, letter.account) == ("ev-1", "S-1", "default")
    assert letter.retries == 8
    assert letter.reason == "workers.allegro.errors.ServerError: 503 from Allegro (Trace-Id abc)"
    assert letter.detail == TRACEBACK
    assert letter.dead_since == DEAD_AT
    assert letter.summary()["dead_since"] == "2026-07-18T12:00:00Z"


def test_without_x_death_the_age_comes_from_the_message() -> None:
    letter = describe("enrich.XQ", _dramatiq_body(requeue_timestamp=1_700_000_100_000))
    assert letter.dead_since == datetime.fromtimestamp(1_700_000_100, UTC)


def test_a_parked_event_shows_its_rejection_and_routing_key() -> None:
    props = pika.BasicProperties(
        message_id="ev-1",
        content_type="application/json",
        headers={
            "x-rejected-reason": "stock.available: must be at least 0; send 0 or more\nmore",
            "x-original-routing-key": b"product.stock",
            "x-rejected-at": "2026-07-18T12:00:00.5Z",
        },
        timestamp=1,
    )
    letter = describe("allegro.ingest.rejected", json.dumps(EVENT).encode(), props)
    assert letter.kind == "parked"
    assert (letter.message_id, letter.sku, letter.routing_key) == ("ev-1", "S-1", "product.stock")
    assert letter.reason == "stock.available: must be at least 0; send 0 or more"
    assert letter.dead_since == DEAD_AT.replace(microsecond=500000)


def test_an_unreadable_parked_body_gets_a_stable_id_and_no_routing_key() -> None:
    first = describe("allegro.ingest.rejected", b"\xff not json")
    again = describe("allegro.ingest.rejected", b"\xff not json")
    assert first.message_id.startswith("sha256:") and first.message_id == again.message_id
    assert first.routing_key is None and first.sku is None
    with pytest.raises(NotReplayable, match="routing key is unknown"):
        plan_replay(first, Names.of(_settings()))


def test_a_dramatiq_replay_goes_to_the_step_queue_with_retries_reset() -> None:
    letter = describe(
        "staging.enrich.XQ",
        _dramatiq_body(eta=1, requeue_timestamp=2, deferrals=3, replays=1),
        pika.BasicProperties(priority=5),
    )
    target = plan_replay(letter, Names.of(_settings("staging.")))
    assert (target.exchange, target.routing_key) == ("", "staging.enrich")
    message = json.loads(target.body)
    assert message["queue_name"] == "staging.enrich"
    assert message["args"] == json.loads(_dramatiq_body())["args"]
    assert message["options"] == {
        "max_retries": 8,
        "replays": 2,
        "first_timestamp": 1_700_000_000_000,
    }
    assert message["message_timestamp"] > 1_700_000_000_000
    assert target.properties.delivery_mode == 2 and target.properties.priority == 5


def test_a_parked_replay_goes_to_the_products_exchange_without_rejection_headers() -> None:
    props = pika.BasicProperties(
        message_id="ev-1",
        content_type="application/json",
        headers={
            "x-rejected-reason": "unknown account",
            "x-death": [_death("allegro.ingest", "allegro.products", "product.stock")],
            "trace": "t-1",
        },
    )
    letter = describe("p.allegro.ingest.rejected", json.dumps(EVENT).encode(), props)
    assert letter.routing_key == "product.stock"  # from x-death
    target = plan_replay(letter, Names.of(_settings("p.")))
    assert (target.exchange, target.routing_key) == ("p.allegro.products", "product.stock")
    assert target.body == json.dumps(EVENT).encode()
    assert target.properties.message_id == "ev-1"
    assert target.properties.headers == {"trace": "t-1", "x-replayed-from": letter.queue}


def test_a_parked_event_that_is_still_invalid_needs_force() -> None:
    bad = dict(EVENT, stock={"available": -1})
    letter = describe("allegro.ingest.rejected", json.dumps(bad).encode())
    assert letter.routing_key == "product.stock"  # from the body's type
    with pytest.raises(NotReplayable, match="upstream must fix and re-publish"):
        plan_replay(letter, Names.of(_settings()))
    assert plan_replay(letter, Names.of(_settings()), force=True).routing_key == "product.stock"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("30s", 30), ("15m", 900), ("12h", 43200), ("7d", 604800), ("1w", 604800), ("1d12h", 129600)],
)
def test_durations(text: str, expected: int) -> None:
    assert parse_duration(text) == timedelta(seconds=expected)


@pytest.mark.parametrize("text", ["", "7", "7x", "d", "1d 2", "-1d"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_duration(text)


def test_queue_names_resolve_to_dead_letter_queues_only() -> None:
    settings = _settings("staging.")
    assert dead_letter_queues(settings) == [
        "staging.categorize.XQ",
        "staging.enrich.XQ",
        "staging.validate.XQ",
        "staging.publish.XQ",
        "staging.allegro.ingest.rejected",
    ]
    assert resolve_queue(settings, "enrich") == "staging.enrich.XQ"
    assert resolve_queue(settings, "enrich.XQ") == "staging.enrich.XQ"
    assert resolve_queue(settings, "staging.publish.XQ") == "staging.publish.XQ"
    assert resolve_queue(settings, "rejected") == "staging.allegro.ingest.rejected"
    assert resolve_queue(settings, "other.XQ") == "other.XQ"
    for live in ("staging.enrich", "allegro.ingest", "allegro.status"):
        with pytest.raises(OpsError) as raised:
            resolve_queue(_settings(), live)
        assert raised.value.exit_code == EXIT_USAGE

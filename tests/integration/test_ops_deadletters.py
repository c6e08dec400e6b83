"""``allegro-feed deadletters`` against a real RabbitMQ.

Each test declares the whole topology under a unique name prefix, makes real dead letters
(a Dramatiq-shaped message is taken from its step queue and rejected, so RabbitMQ moves it
to the ``.XQ`` with its ``x-death`` header, as it does for a failed Dramatiq message) and
parked events, runs the commands as the CLI does, and deletes everything afterwards.
Skipped when RabbitMQ is not running, failed instead when ``CI`` is set.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pika
import pika.exceptions
import pytest

from workers.ops import EXIT_FAILED, EXIT_OK, EXIT_USAGE, register
from workers.settings import Settings
from workers.topology import Names, declare

pytestmark = pytest.mark.integration

AMQP_URL = os.environ.get("ALLEGRO_FEED_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
TRACEBACK = "Traceback (most recent call last):\nworkers.allegro.errors.ServerError: 503 busy\n"


def _connect() -> Any:
    try:
        return pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    except pika.exceptions.AMQPConnectionError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"RabbitMQ is not reachable at {AMQP_URL} in CI: {exc!r}")
        pytest.skip(f"RabbitMQ is not running ({exc!r})")


class Rabbit:
    """A connection, the prefixed topology, and helpers to fill and read queues."""

    def __init__(self, connection: Any, settings: Settings) -> None:
        self.connection = connection
        self.channel = connection.channel()
        self.settings = settings
        self.names = declare(self.channel, settings)
        self.xq = f"{self.names.steps[next(iter(self.names.steps))]}.XQ"

    def queue(self, step: str) -> str:
        return self.settings.name(step)

    def dead_letter(self, step: str, message_id: str, **options: Any) -> None:
        """A Dramatiq message of ``step`` that failed: rejected into ``<step>.XQ``."""
        queue = self.queue(step)
        body = {
            "queue_name": queue,
            "actor_name": step,
            "args": [
                {"event_id": f"ev-{message_id}", "account": "default", "sku": "S-1", "version": 1}
            ],
            "kwargs": {},
            "options": {"retries": 8, "traceback": TRACEBACK, **options},
            "message_id": message_id,
            "message_timestamp": int(time.time() * 1000),
        }
        self.channel.basic_publish(
            "", queue, json.dumps(body).encode(), pika.BasicProperties(delivery_mode=2)
        )
        method, _, _ = self.channel.basic_get(queue)
        assert method is not None
        self.channel.basic_nack(method.delivery_tag, requeue=False)

    def park(self, body: dict[str, Any] | bytes, reason: str, routing_key: str | None) -> None:
        headers: dict[str, Any] = {"x-rejected-reason": reason}
        if routing_key:
            headers["x-original-routing-key"] = routing_key
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        message_id = body.get("event_id") if isinstance(body, dict) else None
        self.channel.basic_publish(
            "",
            self.names.rejected_queue,
            raw,
            pika.BasicProperties(
                delivery_mode=2,
                content_type="application/json",
                message_id=message_id,
                headers=headers,
            ),
        )

    def depth(self, queue: str) -> int:
        return int(self.channel.queue_declare(queue, passive=True).method.message_count)

    def drain(self, queue: str) -> list[tuple[Any, bytes]]:
        """Every message of ``queue`` (removed), oldest first."""
        taken = []
        while True:
            method, properties, body = self.channel.basic_get(queue, auto_ack=True)
            if method is None:
                return taken
            taken.append((properties, body))

    def ids(self, queue: str) -> list[str]:
        """The Dramatiq message ids in ``queue``, in order, without removing them."""
        channel = self.connection.channel()
        found = []
        for _ in range(self.depth(queue)):
            _, _, body = channel.basic_get(queue)
            found.append(json.loads(body)["message_id"])
        channel.close()  # gives them all back
        return found

    def delete_all(self, names: Names) -> None:
        channel = self.connection.channel()
        for queue in names.all_queues():
            channel.queue_delete(queue)
        for exchange in (names.products_exchange, names.status_exchange):
            channel.exchange_delete(exchange)


@pytest.fixture
def rabbit(monkeypatch: pytest.MonkeyPatch) -> Iterator[Rabbit]:
    connection = _connect()
    prefix = f"test-ops-{uuid.uuid4().hex[:8]}."
    monkeypatch.setenv("ALLEGRO_FEED_NAME_PREFIX", prefix)
    monkeypatch.setenv("ALLEGRO_FEED_AMQP_URL", AMQP_URL)
    settings = Settings(name_prefix=prefix, amqp_url=AMQP_URL)
    helper = Rabbit(connection, settings)
    try:
        yield helper
    finally:
        helper.delete_all(helper.names)
        connection.close()


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="allegro-feed")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(list(argv))
    result: int = args.handler(args)
    return result


def test_list_counts_every_queue_and_peeks_without_taking(
    rabbit: Rabbit, capsys: pytest.CaptureFixture[str]
) -> None:
    for message_id in ("m-1", "m-2", "m-3"):
        rabbit.dead_letter("enrich", message_id)
    rabbit.park({"sku": "S-2"}, "type: is required; add type", None)
    xq = rabbit.queue("enrich") + ".XQ"

    assert run("deadletters", "list") == EXIT_OK
    out = capsys.readouterr().out
    counts = dict(line.split() for line in out.splitlines()[1:])
    assert counts == {
        rabbit.queue("categorize") + ".XQ": "0",
        xq: "3",
        rabbit.queue("validate") + ".XQ": "0",
        rabbit.queue("publish") + ".XQ": "0",
        rabbit.names.rejected_queue: "1",
    }

    assert run("deadletters", "list", "--queue", "enrich") == EXIT_OK
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"{xq}: 3 messages"
    assert [line.split()[1] for line in out.splitlines() if line[:4].strip().isdigit()] == [
        "m-1",
        "m-2",
        "m-3",
    ]
    assert out.count("reason: workers.allegro.errors.ServerError: 503 busy") == 3
    assert "event ev-m-2  sku S-1  account default" in out
    # Nothing was taken, and the order is what it was.
    assert rabbit.ids(xq) == ["m-1", "m-2", "m-3"]

    assert run("deadletters", "list", "--queue", "rejected", "--json") == EXIT_OK
    [parked] = json.loads(capsys.readouterr().out)
    assert parked["kind"] == "parked" and parked["sku"] == "S-2"
    assert parked["reason"] == "type: is required; add type"
    assert rabbit.depth(rabbit.names.rejected_queue) == 1


def test_show_prints_one_message_in_full(
    rabbit: Rabbit, capsys: pytest.CaptureFixture[str]
) -> None:
    rabbit.dead_letter("publish", "m-1")
    rabbit.dead_letter("publish", "m-2")
    assert run("deadletters", "show", "publish", "m-2") == EXIT_OK
    out = capsys.readouterr().out
    assert "message id:   m-2" in out
    assert "actor:        publish" in out
    assert "x-death" in out and "ServerError: 503 busy" in out
    assert run("deadletters", "show", "publish", "m-9") == EXIT_FAILED
    assert "no message 'm-9'" in capsys.readouterr().err
    assert rabbit.ids(rabbit.queue("publish") + ".XQ") == ["m-1", "m-2"]


def test_replay_sends_messages_back_with_retries_reset(
    rabbit: Rabbit, capsys: pytest.CaptureFixture[str]
) -> None:
    for message_id in ("m-1", "m-2", "m-3", "m-4"):
        rabbit.dead_letter("enrich", message_id, deferrals=2)
    step, xq = rabbit.queue("enrich"), rabbit.queue("enrich") + ".XQ"

    assert run("deadletters", "replay", "enrich", "m-2", "--dry-run") == EXIT_OK
    assert f"would replay m-2 -> {step}" in capsys.readouterr().out
    assert rabbit.ids(xq) == ["m-1", "m-2", "m-3", "m-4"] and rabbit.depth(step) == 0

    assert run("deadletters", "replay", "enrich", "m-2", "m-9") == EXIT_FAILED
    out = capsys.readouterr().out
    assert "not found: m-9" in out and "replayed 1, skipped 0, not found 1" in out
    assert rabbit.ids(xq) == ["m-1", "m-3", "m-4"]

    assert run("deadletters", "replay", xq, "--all", "--progress-every", "2") == EXIT_OK
    assert "replayed 2 (of 2 looked at)" in capsys.readouterr().err
    assert rabbit.depth(xq) == 0
    arrived = rabbit.drain(step)
    messages = [json.loads(body) for _, body in arrived]
    assert [m["message_id"] for m in messages] == ["m-2", "m-1", "m-3", "m-4"]
    for properties, _ in arrived:
        assert properties.delivery_mode == 2
    for message in messages:
        assert message["queue_name"] == step and message["actor_name"] == "enrich"
        assert "retries" not in message["options"] and "traceback" not in message["options"]
        assert "deferrals" not in message["options"]
        assert message["options"]["replays"] == 1
        assert message["args"][0]["sku"] == "S-1"


def test_replay_keeps_a_message_whose_step_queue_is_gone(
    rabbit: Rabbit, capsys: pytest.CaptureFixture[str]
) -> None:
    rabbit.dead_letter("validate", "m-1")
    rabbit.channel.queue_delete(rabbit.queue("validate"))
    assert run("deadletters", "replay", "validate", "--all") == EXIT_FAILED
    assert "skipped m-1: no queue takes routing key" in capsys.readouterr().out
    assert rabbit.ids(rabbit.queue("validate") + ".XQ") == ["m-1"]


def test_replay_needs_all_or_ids(rabbit: Rabbit, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("deadletters", "replay", "enrich") == EXIT_USAGE
    assert run("deadletters", "replay", "enrich", "m-1", "--all") == EXIT_USAGE
    assert run("deadletters", "list", "--queue", "allegro.ingest") == EXIT_USAGE
    assert "not a dead-letter queue" in capsys.readouterr().err


def test_replay_of_parked_events_skips_the_still_invalid(
    rabbit: Rabbit, capsys: pytest.CaptureFixture[str]
) -> None:
    event = {
        "type": "product.stock",
        "event_id": "ev-ok",
        "occurred_at": "2026-07-18T12:00:00Z",
        "account": "shop",
        "sku": "S-1",
        "version": 3,
        "stock": {"available": 2},
    }
    rabbit.park(event, "account 'shop' is not connected", "product.stock")
    rabbit.park(
        dict(event, event_id="ev-bad", version="3"), "version: must be an integer", "product.stock"
    )
    assert run("deadletters", "replay", "rejected", "--all") == EXIT_FAILED
    out = capsys.readouterr().out
    assert "skipped ev-bad: still invalid (version:" in out
    assert "upstream must fix and re-publish" in out
    [(properties, body)] = rabbit.drain(rabbit.names.ingest_queue)
    assert json.loads(body) == event
    assert properties.message_id == "ev-ok" and properties.content_type == "application/json"
    assert properties.headers == {"x-replayed-from": rabbit.names.rejected_queue}
    assert rabbit.depth(rabbit.names.rejected_queue) == 1


def test_purge_needs_yes_and_honours_older_than(
    rabbit: Rabbit, capsys: pytest.CaptureFixture[str]
) -> None:
    xq = rabbit.queue("categorize") + ".XQ"
    old = {
        "queue_name": rabbit.queue("categorize"),
        "actor_name": "categorize",
        "args": [],
        "kwargs": {},
        "options": {},
        "message_id": "m-old",
        "message_timestamp": 0,
    }
    two_hours_ago = int(time.time()) - 7200
    rabbit.channel.basic_publish(
        "",
        xq,
        json.dumps(old).encode(),
        pika.BasicProperties(delivery_mode=2, timestamp=two_hours_ago),
    )
    rabbit.dead_letter("categorize", "m-new")

    assert run("deadletters", "purge", "categorize") == EXIT_USAGE
    assert "Add --yes" in capsys.readouterr().err
    assert rabbit.depth(xq) == 2

    assert run("deadletters", "purge", "categorize", "--older-than", "1h", "--yes") == EXIT_OK
    assert f"{xq}: deleted 1; kept 1 younger" in capsys.readouterr().out
    assert rabbit.ids(xq) == ["m-new"]

    assert run("deadletters", "purge", "categorize", "--yes") == EXIT_OK
    assert f"{xq}: deleted 1" in capsys.readouterr().out
    assert rabbit.depth(xq) == 0

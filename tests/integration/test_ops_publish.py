"""``allegro-feed publish`` against a real RabbitMQ: a feed file in, contract messages out.

The topology is declared under a unique name prefix, so the events land in that prefix's
``allegro.ingest`` queue (bound to its ``allegro.products``), where the test reads them.
Skipped when RabbitMQ is not running, failed instead when ``CI`` is set.
"""

from __future__ import annotations

import argparse
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pika
import pika.exceptions
import pytest

from schemas.events import ProductUpserted, parse_event
from workers.ops import EXIT_FAILED, EXIT_OK, register
from workers.settings import Settings
from workers.topology import Names, declare

pytestmark = pytest.mark.integration

AMQP_URL = os.environ.get("ALLEGRO_FEED_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")

FEED = """\
sku,name,category,ean,brand,price,currency,stock,images,attr:kolor
KETTLE-1,Czajnik 1.7 l,Dom > Kuchnia,5901234123457,Acme,129.99,PLN,12,https://shop.example/1.jpg|https://shop.example/2.jpg,czarny
KETTLE-2,Czajnik 2 l,Dom > Kuchnia,5901234123457,Acme,139.99,PLN,many,,biały
KETTLE-3,Czajnik 1 l,Dom > Kuchnia,5901234123457,Acme,99.00,,0,,
"""


def _connect() -> Any:
    try:
        return pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    except pika.exceptions.AMQPConnectionError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"RabbitMQ is not reachable at {AMQP_URL} in CI: {exc!r}")
        pytest.skip(f"RabbitMQ is not running ({exc!r})")


@pytest.fixture
def channel(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Names]]:
    connection = _connect()
    prefix = f"test-publish-{uuid.uuid4().hex[:8]}."
    monkeypatch.setenv("ALLEGRO_FEED_NAME_PREFIX", prefix)
    monkeypatch.setenv("ALLEGRO_FEED_AMQP_URL", AMQP_URL)
    channel = connection.channel()
    names = Names.of(Settings(name_prefix=prefix))
    try:
        yield channel, names
    finally:
        cleanup = connection.channel()
        for queue in names.all_queues():
            cleanup.queue_delete(queue)
        for exchange in (names.products_exchange, names.status_exchange):
            cleanup.exchange_delete(exchange)
        connection.close()


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="allegro-feed")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(list(argv))
    result: int = args.handler(args)
    return result


def _drain(channel: Any, queue: str) -> list[tuple[Any, Any, bytes]]:
    taken = []
    while True:
        method, properties, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            return taken
        taken.append((method, properties, body))


def test_a_csv_feed_is_published_per_the_contract(
    channel: tuple[Any, Names], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ch, names = channel
    declare(ch, Settings(name_prefix=names.products_exchange.removesuffix("allegro.products")))
    feed = tmp_path / "products.csv"
    feed.write_text(FEED, encoding="utf-8")

    assert run("publish", str(feed), "--batch", "1") == EXIT_FAILED  # one bad row
    captured = capsys.readouterr()
    assert "products.csv: row 3: column stock: 'many' is not a whole number" in captured.err
    assert "published 1/2" in captured.err and "published 2/2" in captured.err
    assert (
        f"published 2 of 3 events to exchange {names.products_exchange} (2 product.upserted); "
        "1 bad rows not published" in captured.out
    )

    messages = _drain(ch, names.ingest_queue)
    assert len(messages) == 2
    events = []
    for method, properties, body in messages:
        assert method.exchange == names.products_exchange
        assert method.routing_key == "product.upserted"
        assert properties.delivery_mode == 2
        assert properties.content_type == "application/json"
        event = parse_event(body, routing_key=method.routing_key)
        assert isinstance(event, ProductUpserted)
        assert properties.message_id == event.event_id
        events.append(event)
    first, third = events
    assert (first.sku, third.sku) == ("KETTLE-1", "KETTLE-3")
    assert first.images == ["https://shop.example/1.jpg", "https://shop.example/2.jpg"]
    assert first.attributes == {"kolor": "czarny"}
    assert third.price.currency == "PLN"  # the marketplace's currency filled in
    assert third.stock.available == 0
    assert first.version < third.version


def test_json_lines_of_stock_changes(
    channel: tuple[Any, Names], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ch, names = channel
    declare(ch, Settings(name_prefix=names.products_exchange.removesuffix("allegro.products")))
    feed = tmp_path / "stock.jsonl"
    lines = [{"sku": f"S-{n}", "stock": {"available": n}, "event_id": f"e-{n}"} for n in range(5)]
    feed.write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")
    assert run("publish", str(feed), "--type", "product.stock", "--batch", "2") == EXIT_OK
    messages = _drain(ch, names.ingest_queue)
    assert [m.routing_key for m, _, _ in messages] == ["product.stock"] * 5
    assert [p.message_id for _, p, _ in messages] == [f"e-{n}" for n in range(5)]
    assert "published 5 of 5 events" in capsys.readouterr().out


def test_dry_run_publishes_nothing(
    channel: tuple[Any, Names], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ch, names = channel
    declare(ch, Settings(name_prefix=names.products_exchange.removesuffix("allegro.products")))
    feed = tmp_path / "products.csv"
    feed.write_text(FEED, encoding="utf-8")
    assert run("publish", str(feed), "--dry-run") == EXIT_FAILED
    assert "dry run: 2 of 3 events are valid, 1 bad; nothing published" in capsys.readouterr().out
    assert _drain(ch, names.ingest_queue) == []


def test_an_event_no_queue_takes_is_reported_not_lost(
    channel: tuple[Any, Names], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ch, names = channel
    feed = tmp_path / "products.csv"
    feed.write_text(FEED, encoding="utf-8")
    assert run("publish", str(feed)) == EXIT_FAILED
    assert f"exchange '{names.products_exchange}' does not exist" in capsys.readouterr().err

    ch.exchange_declare(names.products_exchange, exchange_type="topic", durable=True)
    assert run("publish", str(feed)) == EXIT_FAILED
    err = capsys.readouterr().err
    assert "published 0 of 2 events, then 2 of a batch were not taken" in err
    assert "the first at row 2: unroutable" in err
    assert "no queue is bound for it" in err

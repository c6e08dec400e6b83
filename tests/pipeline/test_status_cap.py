"""The deploy definitions, imported into the real RabbitMQ: they create the topology and
cap the default status queue (the oldest statuses give way, the newest stay)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from typing import Any

import pika
import pytest

from workers.settings import Settings
from workers.topology import Names, definitions

RABBITMQCTL = shutil.which("rabbitmqctl")


def _ctl(*args: str) -> str:
    assert RABBITMQCTL is not None
    done = subprocess.run(
        [RABBITMQCTL, *args], check=True, capture_output=True, text=True, timeout=60
    )
    return done.stdout


def _import(document: dict[str, Any]) -> None:
    # The node reads the file as its own user: a file it may read (no secrets in it), not
    # below pytest's private tmp_path. (This RabbitMQ's CLI takes no "-" for stdin.)
    handle, name = tempfile.mkstemp(prefix="allegro-feed-definitions-", suffix=".json")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(document, file)
        os.chmod(name, 0o644)
        _ctl("import_definitions", name)
    finally:
        os.unlink(name)


def _wait_for_policy(queue: str, policy: str) -> None:
    """The import runs asynchronously: wait until ``queue`` exists with ``policy`` applied."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        rows = _ctl("list_queues", "name", "policy", "--no-table-headers", "--quiet")
        if any(line.split() == [queue, policy] for line in rows.splitlines()):
            return
    pytest.fail(f"{queue} did not get the policy {policy} within 60 s of the import")


@pytest.mark.skipif(RABBITMQCTL is None, reason="needs rabbitmqctl of the local RabbitMQ")
def test_imported_definitions_cap_the_status_queue(amqp_url: str) -> None:
    settings = Settings(name_prefix=f"cap-{uuid.uuid4().hex[:8]}.", amqp_url=amqp_url)
    names = Names.of(settings)
    document = definitions(settings, status_max_length=3)
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    try:
        _import(document)
        _wait_for_policy(names.status_queue, document["policies"][0]["name"])
        for n in range(5):
            channel.basic_publish(
                names.status_exchange, "offer.updated", json.dumps({"n": n}).encode()
            )
        channel.confirm_delivery()  # the publishes above were routed before this returns
        kept = []
        while (got := channel.basic_get(names.status_queue, auto_ack=True))[0] is not None:
            kept.append(json.loads(got[2])["n"])
        assert kept == [2, 3, 4]
    finally:
        for policy in document["policies"]:
            _ctl("clear_policy", policy["name"])
        for queue in document["queues"]:
            channel.queue_delete(queue["name"])
        for exchange in document["exchanges"]:
            channel.exchange_delete(exchange["name"])
        connection.close()

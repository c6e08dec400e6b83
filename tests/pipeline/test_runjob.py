"""``make run``'s sample shop through the real pipeline, and ``make run`` itself.

1. The sample's events, published wave by wave with :func:`workers.runjob.publish_events`
   into the pipeline of this module (the sample's mapping file loaded), each end with the
   status the sample labels it with; the duplicated delivery gets no second status.
2. ``python -m workers.runjob`` as a user runs it: exit code 0, every event has a status,
   nothing ended otherwise than labelled, and its queues are gone afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pika
import pika.exceptions
import pytest

from sandbox.testing import SandboxHandle
from schemas.mapping import load_mapping
from tests.pipeline.conftest import Pipeline, pipeline_settings
from workers.broker import connection_parameters
from workers.runjob import publish_events
from workers.runjob._amqp import delete_topology, wait_for_topology
from workers.sample import MAPPING_FILE, sample_events, waves
from workers.services import setup
from workers.settings import Settings
from workers.store import open_store
from workers.topology import Names

ROOT = Path(__file__).resolve().parents[2]
#: Longest wait for the statuses of one wave of the sample, s.
WAVE_TIMEOUT_S = 90.0


@pytest.fixture(scope="module")
def pipeline(amqp_url: str, store_url: str, sandbox: SandboxHandle) -> Iterator[Pipeline]:
    """The module's pipeline, with the sample shop's mapping file."""
    settings = pipeline_settings(
        amqp_url=amqp_url, store_url=store_url, sandbox=sandbox, mapping_file=MAPPING_FILE
    )
    store = open_store(store_url)
    runtime = setup(settings, store=store, mapping=load_mapping(MAPPING_FILE))
    running = Pipeline(settings, store, runtime, sandbox)
    running.start()
    try:
        yield running
    finally:
        running.stop()
        store.close()


def test_every_sample_event_ends_as_the_sample_labels_it(pipeline: Pipeline) -> None:
    connection = pika.BlockingConnection(connection_parameters(pipeline.settings))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        for number, wave in enumerate(waves(), start=1):
            publish_events(channel, pipeline.names.products_exchange, wave)
            wanted = list(dict.fromkeys(e.event_id for e in wave))

            def arrived(wanted: list[str] = wanted) -> bool:
                return all(pipeline.statuses.of(e) for e in wanted)

            pipeline.statuses.wait(
                arrived, f"the statuses of wave {number}", timeout_s=WAVE_TIMEOUT_S
            )
    finally:
        connection.close()

    events = sample_events()
    wrong = []
    for event in events:
        statuses = pipeline.statuses.of(event.event_id)
        if event.expect.duplicate_of:
            continue
        assert len(statuses) == 1, (event.sku, statuses)  # duplicates add nothing
        got: dict[str, Any] = statuses[0]
        if got["status"] not in event.expect.statuses:
            codes = [e.get("code") for e in got.get("errors", [])]
            wrong.append(f"{event.sku} wave {event.wave}: {got['status']} {codes}")
    assert wrong == [], "\n".join(wrong[:20])
    published = {
        m["sku"]
        for m, _properties, _key in pipeline.statuses.messages
        if m.get("status") == "PUBLISHED"
    }
    offers = Counter((o.get("external") or {}).get("id") for o in pipeline.sandbox.offers())
    assert set(offers) == published and set(offers.values()) == {1}


def _worker_command_wired() -> bool:
    result = subprocess.run(
        [sys.executable, "-m", "workers.cli", "worker", "--help"],
        cwd=ROOT,
        capture_output=True,
        timeout=60,
        check=False,
    )
    return result.returncode == 0


@pytest.mark.timeout(240)
def test_make_run_publishes_the_sample_and_cleans_up(amqp_url: str) -> None:
    if not _worker_command_wired():
        pytest.skip("`allegro-feed worker` is not registered in workers/cli.py yet")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALLEGRO_FEED_")}
    env["ALLEGRO_FEED_AMQP_URL"] = amqp_url
    process = subprocess.Popen(
        [sys.executable, "-m", "workers.runjob", "--timeout", "150"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    output, _ = process.communicate(timeout=230)
    text = output.decode("utf-8", errors="replace")

    distinct = len({e.event_id for e in sample_events()})
    assert process.returncode == 0, text[-4000:]
    assert f"{distinct} of {distinct} events have a status:" in text, text[-4000:]
    assert "ended otherwise" not in text, text[-4000:]
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        with pytest.raises(pika.exceptions.ChannelClosedByBroker):
            connection.channel().queue_declare(f"run-{process.pid}.allegro.status", passive=True)
    finally:
        if connection.is_open:
            connection.close()


class _Running:
    """Stands for the workers' process: running all along."""

    returncode = None

    def poll(self) -> None:
        return None


def test_the_first_event_is_routed_when_the_workers_have_not_bound_their_queue_yet(
    amqp_url: str, tmp_path: Path
) -> None:
    # The workers declare the queues, then bind them: make run must not publish into the gap.
    settings = Settings(amqp_url=amqp_url, name_prefix=f"gap-{os.getpid()}.")
    names = Names.of(settings)
    params = pika.URLParameters(amqp_url)
    connection = pika.BlockingConnection(params)
    try:
        channel = connection.channel()
        channel.exchange_declare(names.products_exchange, exchange_type="topic", durable=True)
        for queue in (names.ingest_queue, names.status_queue):
            channel.queue_declare(queue, durable=True)  # declared, not bound yet
        wait_for_topology(params, names, _Running(), tmp_path / "workers.log")  # type: ignore[arg-type]
        channel.confirm_delivery()
        channel.basic_publish(
            names.products_exchange, "product.stock", b"{}", mandatory=True
        )  # raises UnroutableError when no queue is bound
        assert channel.queue_declare(names.ingest_queue, passive=True).method.message_count == 1
    finally:
        delete_topology(params, names)
        if connection.is_open:
            connection.close()

"""workers.metrics: off without a multiprocess directory; with one, statuses and Allegro's
answers are counted (through the real reporter's and HTTP core's paths)."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client import REGISTRY

from tests.unit.allegro.conftest import FakeAllegro, reply
from workers import metrics
from workers.allegro import AllegroClient, ConnectionFailed

OFFER = "/sale/product-offers/123"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_nothing_is_counted_without_a_multiprocess_directory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    metrics.reset()
    for name in metrics.MULTIPROC_ENV:
        monkeypatch.delenv(name, raising=False)
    metrics.count_status("PUBLISHED")
    metrics.count_call("GET", 200, 0.1)
    assert REGISTRY.get_sample_value("allegro_feed_statuses_total", {"status": "PUBLISHED"}) is None
    metrics.reset()


@pytest.mark.usefixtures("counting")
def test_statuses_are_counted_by_status() -> None:
    metrics.count_status("PUBLISHED")
    metrics.count_status("PUBLISHED")
    metrics.count_status("REJECTED")
    assert sample("allegro_feed_statuses_total", status="PUBLISHED") == 2
    assert sample("allegro_feed_statuses_total", status="REJECTED") == 1


@pytest.mark.usefixtures("counting")
def test_allegros_answers_and_failures_are_counted(
    client: AllegroClient, fake: FakeAllegro
) -> None:
    fake.on(
        "GET",
        OFFER,
        reply(429, {"errors": []}, headers={"Retry-After": "1"}),
        reply(200, {"id": "123"}),
    )
    client.get_offer("123")

    assert sample("allegro_feed_allegro_calls_total", method="GET", code="429") == 1
    assert sample("allegro_feed_allegro_calls_total", method="GET", code="200") == 1
    assert sample("allegro_feed_allegro_call_seconds_count", method="GET") == 2


@pytest.mark.usefixtures("counting")
def test_a_call_without_an_answer_is_counted_by_what_happened(
    client: AllegroClient, fake: FakeAllegro
) -> None:
    def refuse(_request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    fake.on("GET", OFFER, *[refuse] * 4)
    with pytest.raises(ConnectionFailed):
        client.get_offer("123")
    assert sample("allegro_feed_allegro_calls_total", method="GET", code="connection") == 4

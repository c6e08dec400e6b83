"""The pipeline on the PostgreSQL store (the multi-host setup): create, update, duplicate."""

from __future__ import annotations

import pytest

from tests.pipeline.conftest import Pipeline, stock_changed, upserted


@pytest.fixture(scope="module")
def store_url(postgres_store_url: str) -> str:
    return postgres_store_url


def test_create_update_and_a_duplicate_on_postgresql(pipeline: Pipeline) -> None:
    assert pipeline.settings.database_url.startswith("postgresql://")
    sku = pipeline.new_sku()
    created = pipeline.publish(upserted(sku, 1))
    first = pipeline.status_of(created["event_id"])
    assert first["status"] == "PUBLISHED"

    stock = pipeline.publish(stock_changed(sku, 2, 9))
    assert pipeline.status_of(stock["event_id"])["status"] == "UPDATED"
    pipeline.publish(stock)  # the same event again
    marker = pipeline.publish(upserted(pipeline.new_sku(), 1))
    pipeline.status_of(marker["event_id"])

    assert len(pipeline.statuses.of(stock["event_id"])) == 1
    [offer] = pipeline.offers_of(sku)
    assert offer["id"] == first["offer_id"]
    assert offer["stock"]["available"] == 9
    history = pipeline.store.history("default", sku)
    assert [s.status for s in history] == ["UPDATED", "PUBLISHED"]

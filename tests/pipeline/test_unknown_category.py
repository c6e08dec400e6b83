"""A category id the sandbox (as Allegro) answers 404 for ends REJECTED with
UNMAPPED_CATEGORY naming allegro.category_id, not FAILED in a dead-letter queue."""

from __future__ import annotations

from tests.pipeline.conftest import Pipeline, upserted


def test_an_unknown_category_id_is_rejected_not_dead_lettered(pipeline: Pipeline) -> None:
    sku = pipeline.new_sku()
    event = upserted(sku, 1)
    event["allegro"] = {**event["allegro"], "category_id": "99999999"}

    pipeline.publish(event)
    status = pipeline.status_of(event["event_id"])

    assert status["status"] == "REJECTED", status
    [error] = status["errors"]
    assert (error["code"], error["path"]) == ("UNMAPPED_CATEGORY", "allegro.category_id")
    assert '"99999999"' in error["message"]
    assert pipeline.queue_count(pipeline.settings.name("categorize") + ".XQ") == 0
    assert pipeline.offers_of(sku) == []

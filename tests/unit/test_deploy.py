"""The deploy files agree with the code."""

from __future__ import annotations

import json

from workers.topology_export import TARGET, main, render


def test_rabbitmq_definitions_are_up_to_date() -> None:
    assert main(["--check"]) == 0


def test_definitions_hold_the_designed_names() -> None:
    doc = json.loads(render())
    exchanges = {e["name"]: e["type"] for e in doc["exchanges"]}
    assert exchanges == {"allegro.products": "topic", "allegro.status": "topic"}
    queues = {q["name"] for q in doc["queues"]}
    for step in ("categorize", "enrich", "validate", "publish"):
        assert {step, f"{step}.DQ", f"{step}.XQ"} <= queues
    assert {"allegro.ingest", "allegro.ingest.rejected", "allegro.status"} <= queues
    keys = {(b["source"], b["destination"], b["routing_key"]) for b in doc["bindings"]}
    for event_type in ("upserted", "stock", "price", "deleted"):
        assert ("allegro.products", "allegro.ingest", f"product.{event_type}") in keys
    assert ("allegro.status", "allegro.status", "#") in keys
    assert TARGET.name == "definitions.json"

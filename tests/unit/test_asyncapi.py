"""The AsyncAPI document agrees with the models it describes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from schemas.events import EventType
from schemas.status import Status

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
DOC: dict[str, Any] = yaml.safe_load((SCHEMAS / "asyncapi.yaml").read_text(encoding="utf-8"))


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_every_event_type_is_a_channel_on_the_products_exchange() -> None:
    for event_type in EventType:
        channel = DOC["channels"][event_type.value]
        assert channel["bindings"]["amqp"]["exchange"]["name"] == "allegro.products"


def test_status_routing_keys_match_the_status_enum() -> None:
    channel = DOC["channels"]["offer.{status}"]
    assert channel["bindings"]["amqp"]["exchange"]["name"] == "allegro.status"
    assert channel["parameters"]["status"]["schema"]["enum"] == [s.lower() for s in Status]


def test_every_reference_resolves() -> None:
    for ref in _refs(DOC):
        if ref.startswith("#/"):
            node: Any = DOC
            for part in ref[2:].split("/"):
                node = node[part]
        else:
            assert (SCHEMAS / ref).is_file(), ref

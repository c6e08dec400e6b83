"""Unit tests of the pure domain steps, with fixtures read from the sandbox's Allegro-shaped
data (``sandbox/data/*.json``) or written out in the tests."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

SANDBOX_DATA = Path(__file__).resolve().parents[3] / "sandbox" / "data"


@cache
def _load(name: str) -> Any:
    return json.loads((SANDBOX_DATA / name).read_text(encoding="utf-8"))


def category_parameters(category_id: str) -> list[dict[str, Any]]:
    """A copy of the sandbox's ``CategoryParameter`` list of ``category_id``."""
    return copy.deepcopy(_load("parameters.json")[category_id])


def parameter(category_id: str, parameter_id: str) -> dict[str, Any]:
    """One ``CategoryParameter`` of the sandbox's ``category_id``."""
    for definition in category_parameters(category_id):
        if definition["id"] == parameter_id:
            return definition
    raise KeyError(f"{category_id}/{parameter_id}")


def category(category_id: str) -> dict[str, Any]:
    """The sandbox's ``CategoryDto`` of ``category_id``."""
    for item in _load("categories.json")["categories"]:
        if item["id"] == category_id:
            return copy.deepcopy(item)
    raise KeyError(category_id)


def catalogue(category_id: str | None = None, ean: str | None = None) -> list[dict[str, Any]]:
    """Sandbox catalogue products (``GET /sale/products`` items), filtered."""
    found = []
    for item in _load("products.json")["products"]:
        if category_id is not None and item["category"]["id"] != category_id:
            continue
        eans = [v for p in item["parameters"] if p["id"] == "225693" for v in p["values"]]
        if ean is not None and ean not in eans:
            continue
        found.append(copy.deepcopy(item))
    return found

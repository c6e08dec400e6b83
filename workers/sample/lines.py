"""The sample shop's assortment (``lines.yaml``) as typed data for :mod:`workers.sample.build`.

``lines.yaml`` holds three lists (its header comment explains each field):

- ``categories``: the shop's categories, each mapped in ``mapping.yaml`` to a leaf of the
  sandbox's category tree, with its product lines and their variant axes; every line
  carries the attributes its leaf's required parameters need
  (``sandbox/data/parameters.json``), dictionary values written as the shop writes them;
- ``linked``: products whose EAN is in the sandbox's catalogue
  (``sandbox/data/products.json``), with attributes that agree with the catalogue
  product's parameters so that the offer links to it;
- ``unmapped``: products in categories the mapping does not know.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "LINES_FILE",
    "Assortment",
    "Axis",
    "CategorySpec",
    "Line",
    "gtin_with_check_digit",
    "load_assortment",
]

LINES_FILE = Path(__file__).with_name("lines.yaml")


def gtin_with_check_digit(body: str) -> str:
    """``body`` (7, 11, 12 or 13 digits) followed by its GS1 check digit."""
    digits = [int(d) for d in reversed(body)]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(digits))
    return body + str((10 - total % 10) % 10)


@dataclass(frozen=True)
class Axis:
    """One dimension of a line's variants (memory, colour, size...).

    A value is either a scalar (the attribute ``name`` gets it, unless the name starts with
    ``_``; ``fmt`` makes its part of the product name, ``add`` its surcharge in PLN) or a
    dict of attributes with the special keys ``_l`` (name part), ``_p`` (surcharge, PLN)
    and ``_noun`` (replaces the category's noun).
    """

    name: str
    values: tuple[Any, ...]
    fmt: str = "{}"
    add: dict[Any, float] | None = None


@dataclass(frozen=True)
class Line:
    """A product line: brand and model, base price (PLN), attributes, variant axes.

    ``mpn`` is a pattern (``#`` a digit, ``@`` a capital letter); ``gs1`` the GS1 prefix
    of the generated EANs; ``noun`` replaces the category's noun at the start of names;
    ``allegro`` is sent as the event's ``allegro`` overrides.
    """

    brand: str
    model: str
    mpn: str | None
    price: float
    attributes: dict[str, Any]
    axes: tuple[Axis, ...] = ()
    noun: str | None = None
    gs1: str = "590"
    features: tuple[str, ...] = ()
    allegro: dict[str, Any] | None = None
    brand_in_name: bool = True


@dataclass(frozen=True)
class CategorySpec:
    """A category of the shop: its path, the Allegro leaf ``mapping.yaml`` maps it to, the
    noun its names start with and how many products it gets."""

    path: str
    leaf: str
    noun: str
    count: int
    lines: tuple[Line, ...]
    unit: str = "UNIT"
    max_stock: int = 60


@dataclass(frozen=True)
class Assortment:
    """The whole of ``lines.yaml``."""

    categories: tuple[CategorySpec, ...]
    linked: tuple[dict[str, Any], ...]
    unmapped: tuple[dict[str, Any], ...]


def _axis(raw: dict[str, Any]) -> Axis:
    return Axis(
        name=str(raw["name"]),
        values=tuple(raw["values"]),
        fmt=str(raw.get("fmt", "{}")),
        add=dict(raw["add"]) if raw.get("add") else None,
    )


def _line(raw: dict[str, Any]) -> Line:
    return Line(
        brand=str(raw["brand"]),
        model=str(raw["model"]),
        mpn=raw.get("mpn"),
        price=float(raw["price"]),
        attributes=dict(raw["attributes"]),
        axes=tuple(_axis(a) for a in raw.get("axes", ())),
        noun=raw.get("noun"),
        gs1=str(raw.get("gs1", "590")),
        features=tuple(raw.get("features", ())),
        allegro=raw.get("allegro"),
        brand_in_name=bool(raw.get("brand_in_name", True)),
    )


@cache
def load_assortment(path: Path = LINES_FILE) -> Assortment:
    """``lines.yaml`` (read once per path). Raises ``KeyError``/``ValueError`` when the
    file lacks a field or has a wrong value: it is ours, a failure is a bug to fix there."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    categories = tuple(
        CategorySpec(
            path=str(raw["path"]),
            leaf=str(raw["leaf"]),
            noun=str(raw["noun"]),
            count=int(raw["count"]),
            lines=tuple(_line(line) for line in raw["lines"]),
            unit=str(raw.get("unit", "UNIT")),
            max_stock=int(raw.get("max_stock", 60)),
        )
        for raw in data["categories"]
    )
    return Assortment(
        categories=categories,
        linked=tuple(dict(item) for item in data["linked"]),
        unmapped=tuple(dict(item) for item in data["unmapped"]),
    )

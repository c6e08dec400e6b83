"""Generator of the sample catalogue (``workers/sample/catalogue.json``).

``python -m workers.sample.build`` rewrites the JSON; ``--check`` only compares (exit 1 when
the committed file is stale). The output is deterministic: one seeded ``random.Random``
drives every choice, and the event ids are UUIDv5 of (SKU, type, version).

The shop ("Sklep Przykład") sells in 26 of its own categories; the products are its
product lines (``lines.yaml``, read by :mod:`workers.sample.lines`) crossed with their
variants, plus hand-written products whose EAN names a product of the sandbox's catalogue
(so their offers link to it, with attributes that agree with the catalogue's parameters).
A few products are broken on purpose, each in one way, and labelled with ``_expect`` (the
status the pipeline must give and why); follow-up events (price, stock, deletes, an old
version, a duplicate) come in later waves. ``_expect`` and ``_wave`` are not part of the
event: :mod:`workers.sample.events` strips them before publishing.

This module assembles the products and writes the file; the rest lives beside it:
:mod:`workers.sample.values` (prices, EANs, MPNs, descriptions, images),
:mod:`workers.sample.envelope` (event ids, times, versions), :mod:`workers.sample.defects`
(the products broken on purpose) and :mod:`workers.sample.followups` (waves 2 and 3).
"""

from __future__ import annotations

import argparse
import copy
import itertools
import json
import random
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from workers.sample import values
from workers.sample.defects import apply_defects, break_at_ingest
from workers.sample.envelope import envelope
from workers.sample.events import CATALOGUE_FILE
from workers.sample.followups import followups
from workers.sample.lines import (
    Assortment,
    CategorySpec,
    Line,
    load_assortment,
)

__all__ = ["CATALOGUE_PATH", "SEED", "build_catalogue", "main", "render"]

SEED = 20260718
#: The file this writes: the one :mod:`workers.sample.events` reads.
CATALOGUE_PATH = CATALOGUE_FILE
#: Versions are the store's updated-at in milliseconds: the first upsert is at this time.
BASE_VERSION_MS = int(datetime(2026, 7, 18, 6, 0, tzinfo=UTC).timestamp() * 1000)


# --- products -------------------------------------------------------------------------------


def _variants(line: Line) -> Iterator[tuple[dict[str, Any], str, float, str | None]]:
    """(attributes, name label, price, noun override) of each variant of ``line``."""
    axes = line.axes or ()
    for combo in itertools.product(*(axis.values for axis in axes)):
        attributes = dict(line.attributes)
        labels: list[str] = []
        price = line.price
        noun: str | None = None
        for axis, value in zip(axes, combo, strict=True):
            if isinstance(value, dict):
                extra = {k: v for k, v in value.items() if not k.startswith("_")}
                attributes.update(extra)
                label = str(value.get("_l", ""))
                price += float(value.get("_p", 0))
                noun = str(value["_noun"]) if "_noun" in value else noun
            else:
                if not axis.name.startswith("_"):  # "_wersja": a name part only
                    attributes[axis.name] = value
                label = axis.fmt.format(value) if axis.fmt else ""
                price += axis.add.get(value, 0.0) if axis.add else 0.0
            if label:
                labels.append(label)
        yield attributes, " ".join(labels), price, noun


def _category_products(
    rng: random.Random, spec: CategorySpec, taken: set[str]
) -> list[dict[str, Any]]:
    """``spec.count`` products of the category, spread over its lines."""
    pools = []
    for line in spec.lines:
        options = list(_variants(line))
        rng.shuffle(options)
        pools.append([(line, option) for option in options])
    chosen: list[tuple[Line, tuple[dict[str, Any], str, float, str | None]]] = []
    while len(chosen) < spec.count and any(pools):
        for pool in pools:
            if pool and len(chosen) < spec.count:
                chosen.append(pool.pop())
    products = []
    for line, (attributes, label, price, noun) in chosen:
        brand = line.brand if line.brand_in_name else ""
        noun_part = noun or (line.noun if line.noun is not None else spec.noun)
        name = " ".join(part for part in (noun_part, brand, line.model, label) if part)
        products.append(
            {
                "name": name,
                "category": spec.path,
                "ean": values.gtin(rng, line.gs1, taken),
                "mpn": values.mpn(rng, line.mpn) if line.mpn else None,
                "brand": line.brand,
                "price": {"amount": values.price(rng, price), "currency": "PLN"},
                "stock": {"available": rng.randint(1, spec.max_stock), "unit": spec.unit},
                "attributes": attributes,
                "allegro": copy.deepcopy(line.allegro) if line.allegro else None,
                "_features": list(line.features),
                "_expect": {"status": "PUBLISHED"},
            }
        )
    return products


def _linked_products(
    rng: random.Random, linked: tuple[dict[str, Any], ...]
) -> list[dict[str, Any]]:
    products = []
    for item in linked:
        product = {
            key: copy.deepcopy(value)
            for key, value in item.items()
            if key not in ("price", "stock", "features", "expect")
        }
        product["price"] = {"amount": item["price"], "currency": "PLN"}
        product["stock"] = {
            "available": rng.randint(2, 40),
            "unit": item.get("stock_unit", "UNIT"),
        }
        product.pop("stock_unit", None)
        product["_features"] = list(item.get("features", ()))
        product["_expect"] = dict(item.get("expect") or {"status": "PUBLISHED"})
        product["_expect"].setdefault("links_to_catalogue", True)
        products.append(product)
    return products


def _unmapped_products(
    rng: random.Random, unmapped: tuple[dict[str, Any], ...], taken: set[str]
) -> list[dict[str, Any]]:
    products = []
    for item in unmapped:
        product = copy.deepcopy(dict(item))
        product["ean"] = values.gtin(rng, str(product.pop("gs1")), taken)
        product["price"] = {"amount": product["price"], "currency": "PLN"}
        product["stock"] = {"available": rng.randint(3, 30), "unit": "UNIT"}
        product["_features"] = list(product.pop("features", ()))
        product["_expect"] = {
            "status": "REJECTED",
            "stage": "pipeline",
            "defect": "unmapped_category",
            "reason": f'the store category "{product["category"]}" has no rule in the '
            "mapping (UNMAPPED_CATEGORY)",
        }
        products.append(product)
    return products


# --- assembly -------------------------------------------------------------------------------


def _finish(rng: random.Random, product: dict[str, Any], sku: str, version: int) -> dict[str, Any]:
    """The ``product.upserted`` event body of ``product`` (plus its ``_expect``)."""
    event = envelope("product.upserted", sku, version)
    features = product.pop("_features", [])
    event["name"] = product["name"]
    event["description"] = values.description(rng, product["name"], features)
    event["category"] = product["category"]
    event["ean"] = product["ean"]
    if product.get("mpn"):
        event["mpn"] = product["mpn"]
    event["brand"] = product["brand"]
    event["price"] = product["price"]
    event["stock"] = product["stock"]
    event["images"] = product["images"] if "images" in product else values.images(rng, sku)
    event["attributes"] = product["attributes"]
    if product.get("allegro"):
        event["allegro"] = product["allegro"]
    event["_expect"] = product["_expect"]
    if product.get("_shared_ean"):
        event["_shared_ean"] = True
    return event


def _share_eans(rng: random.Random, products: list[dict[str, Any]]) -> None:
    """Three products the shop also sells as an outlet item: a second SKU, same EAN."""
    candidates = [
        p
        for p in products
        if p["_expect"] == {"status": "PUBLISHED"}
        and not p.get("allegro")
        and p["category"].startswith(("AGD", "Komputery > Akcesoria", "Elektronika > Telefony"))
    ]
    for original in rng.sample(candidates, 3):
        twin = copy.deepcopy(original)
        twin["name"] = f"{original['name']} outlet"
        if len(twin["name"]) > 75:
            twin["name"] = f"Outlet {original['name']}"[:75].rstrip()
        twin["attributes"] = {**original["attributes"], "stan": "outlet"}
        twin["price"] = {
            "amount": str(
                (Decimal(original["price"]["amount"]) * Decimal("0.85")).quantize(Decimal("0.01"))
            ),
            "currency": "PLN",
        }
        twin["stock"] = {"available": 1, "unit": original["stock"]["unit"]}
        twin["_features"] = [
            *original.get("_features", []),
            "Egzemplarz powystawowy, pełnowartościowy",
        ]
        twin["_expect"] = {"status": "PUBLISHED", "shares_ean_with_name": original["name"]}
        original["_shared_ean"] = twin["_shared_ean"] = True
        products.append(twin)


def build_catalogue(seed: int = SEED, assortment: Assortment | None = None) -> dict[str, Any]:
    """The whole sample: ``products`` (upserted event bodies) and ``changes`` (waves 2-3)."""
    shop = assortment or load_assortment()
    rng = random.Random(seed)
    taken: set[str] = {str(item["ean"]) for item in shop.linked}
    products: list[dict[str, Any]] = []
    for spec in shop.categories:
        products.extend(_category_products(rng, spec, taken))
    _share_eans(rng, products)
    products.extend(_linked_products(rng, shop.linked))
    products.extend(_unmapped_products(rng, shop.unmapped, taken))
    rng.shuffle(products)
    used = apply_defects(rng, products)
    events = [
        _finish(rng, product, f"SHOP-{n:06d}", BASE_VERSION_MS + n * 1000)
        for n, product in enumerate(products, start=101)
    ]
    break_at_ingest(rng, events, used)
    changes = followups(rng, events)
    for event in events:
        event.pop("_shared_ean", None)
    return {
        "about": "Sample catalogue of Sklep Przykład for `make run` "
        "(generated by python -m workers.sample.build; do not edit by hand). "
        "Keys starting with _ are not part of the events.",
        "seed": seed,
        "products": events,
        "changes": changes,
    }


def render(catalogue: dict[str, Any]) -> str:
    """The JSON text: one event per line, so that diffs stay readable."""
    head = {k: v for k, v in catalogue.items() if k not in ("products", "changes")}
    lines = ["{"]
    for key, value in head.items():
        lines.append(f" {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)},")
    for section in ("products", "changes"):
        items = catalogue[section]
        lines.append(f' "{section}": [')
        for i, item in enumerate(items):
            comma = "," if i < len(items) - 1 else ""
            lines.append("  " + json.dumps(item, ensure_ascii=False, separators=(",", ":")) + comma)
        lines.append(" ]," if section == "products" else " ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m workers.sample.build [--check]``; exit 1 when ``--check`` finds it stale."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="only compare with the file")
    args = parser.parse_args(argv)
    catalogue = build_catalogue()
    text = render(catalogue)
    if args.check:
        current = CATALOGUE_PATH.read_text(encoding="utf-8") if CATALOGUE_PATH.exists() else ""
        if current != text:
            print(f"{CATALOGUE_PATH.name} is stale: run python -m workers.sample.build")
            return 1
        print(f"{CATALOGUE_PATH.name} is up to date")
        return 0
    CATALOGUE_PATH.write_text(text, encoding="utf-8")
    print(
        f"wrote {CATALOGUE_PATH.name}: {len(catalogue['products'])} products, "
        f"{len(catalogue['changes'])} follow-up events, {len(text.encode()) // 1024} KiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

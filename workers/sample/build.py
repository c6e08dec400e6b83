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
"""

from __future__ import annotations

import argparse
import copy
import itertools
import json
import random
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from workers.sample.events import CATALOGUE_FILE
from workers.sample.lines import (
    Assortment,
    CategorySpec,
    Line,
    gtin_with_check_digit,
    load_assortment,
)

__all__ = ["CATALOGUE_PATH", "SEED", "build_catalogue", "main", "render"]

SEED = 20260718
#: The file this writes: the one :mod:`workers.sample.events` reads.
CATALOGUE_PATH = CATALOGUE_FILE
#: Versions are the store's updated-at in milliseconds: the first upsert is at this time.
BASE_VERSION_MS = int(datetime(2026, 7, 18, 6, 0, tzinfo=UTC).timestamp() * 1000)
#: Follow-up waves happen this much later than the upsert of the same SKU.
WAVE_OFFSET_MS = {2: 3_600_000, 3: 7_200_000}
IMAGE_HOST = "https://img.sklep-przyklad.example"
_EVENT_NAMESPACE = uuid.UUID("6d1f0a52-3c1e-4d0b-9a57-2f0c1b8e4a11")

_INTROS = (
    "{name} to sprawdzony wybór w naszym sklepie.",
    "Przedstawiamy {name}: produkt, który klienci polecają.",
    "{name}: oryginalny produkt z polskiej dystrybucji.",
    "Szukasz solidnego produktu? {name} spełni oczekiwania.",
)
_CLOSINGS = (
    "Wysyłamy w 24 godziny, a na zwrot masz 30 dni.",
    "Produkt fabrycznie nowy, z gwarancją producenta.",
    "Do każdego zamówienia dołączamy paragon lub fakturę VAT.",
    "Masz pytania? Nasz zespół doradzi przed zakupem.",
)


# --- helpers --------------------------------------------------------------------------------


def _event_id(sku: str, event_type: str, version: int) -> str:
    return str(uuid.uuid5(_EVENT_NAMESPACE, f"{sku}/{event_type}/{version}"))


def _occurred_at(version_ms: int) -> str:
    moment = datetime.fromtimestamp(version_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{version_ms % 1000:03d}Z"


def _envelope(event_type: str, sku: str, version: int) -> dict[str, Any]:
    return {
        "type": event_type,
        "event_id": _event_id(sku, event_type, version),
        "occurred_at": _occurred_at(version),
        "sku": sku,
        "version": version,
    }


def _price(rng: random.Random, base: float) -> str:
    """A shop-like price near ``base``: x9.99, x9.00 or x4.90 style endings."""
    value = Decimal(str(base)) * Decimal(str(rng.uniform(0.96, 1.04)))
    whole = int(value.quantize(Decimal("1"), rounding=ROUND_HALF_UP))
    if whole < 20:
        cents = rng.choice(("0.99", "0.49", "0.90"))
        return str(Decimal(max(whole, 2) - 1) + Decimal(cents))
    ending = rng.choice(("9.99", "9.00", "4.90", "9.90"))
    return str(Decimal(whole // 10 * 10) + Decimal(ending))


def _gtin(rng: random.Random, prefix: str, taken: set[str]) -> str:
    """A new EAN-13 under the GS1 prefix ``prefix``, distinct from every one in ``taken``."""
    while True:
        body = prefix + "".join(rng.choice("0123456789") for _ in range(12 - len(prefix)))
        gtin = gtin_with_check_digit(body)
        if gtin not in taken:
            taken.add(gtin)
            return gtin


def _mpn(rng: random.Random, pattern: str) -> str:
    """``pattern`` with ``#`` replaced by digits and ``@`` by capital letters."""
    out = []
    for ch in pattern:
        if ch == "#":
            out.append(rng.choice("0123456789"))
        elif ch == "@":
            out.append(rng.choice("ABCDEFGHJKLMNPRSTUVWXZ"))
        else:
            out.append(ch)
    return "".join(out)


def _description(rng: random.Random, name: str, features: list[str]) -> str:
    """Plain text, clean HTML, or the messier HTML of a shop's editor (with tags Allegro
    does not allow, which the pipeline's sanitiser must reduce)."""
    intro = rng.choice(_INTROS).format(name=name)
    closing = rng.choice(_CLOSINGS)
    style = rng.random()
    items = features or ["Oryginalny produkt"]
    if style < 0.45:
        bullets = "".join(f"<li>{f}</li>" for f in items)
        return f"<h2>{name}</h2><p>{intro}</p><ul>{bullets}</ul><p>{closing}</p>"
    if style < 0.75:
        bullets = "".join(f"<li><span>{f}</span></li>" for f in items)
        return (
            f'<div class="opis-produktu"><p><strong>{name}</strong></p>'
            f"<p>{intro}<br>{closing}</p><ul>{bullets}</ul></div>"
        )
    lines = "\n".join(f"- {f}" for f in items)
    return f"{intro}\n\n{lines}\n\n{closing}"


def _images(rng: random.Random, sku: str) -> list[str]:
    slug = sku.lower()
    count = rng.choice((1, 2, 3, 3, 4, 5))
    return [f"{IMAGE_HOST}/produkty/{slug}/{n}.jpg" for n in range(1, count + 1)]


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
                "ean": _gtin(rng, line.gs1, taken),
                "mpn": _mpn(rng, line.mpn) if line.mpn else None,
                "brand": line.brand,
                "price": {"amount": _price(rng, price), "currency": "PLN"},
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
        product["ean"] = _gtin(rng, str(product.pop("gs1")), taken)
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


# --- deliberate defects ---------------------------------------------------------------------


def _break(product: dict[str, Any], defect: str, reason: str, **change: Any) -> None:
    for key, value in change.items():
        product[key] = value
    product["_expect"] = {
        "status": "REJECTED",
        "stage": "pipeline",
        "defect": defect,
        "reason": reason,
    }


def _pick(
    rng: random.Random, products: list[dict[str, Any]], category: str, used: set[int]
) -> dict[str, Any]:
    """A still unbroken, generated product of ``category`` (never a linked one)."""
    candidates = [
        i
        for i, p in enumerate(products)
        if p["category"] == category
        and i not in used
        and p["_expect"] == {"status": "PUBLISHED"}  # linked ones carry links_to_catalogue
    ]
    index = rng.choice(candidates)
    used.add(index)
    return products[index]


def _apply_defects(rng: random.Random, products: list[dict[str, Any]]) -> set[int]:
    used: set[int] = set()

    def pick(path: str) -> dict[str, Any]:
        return _pick(rng, products, path, used)

    _break(
        pick("Elektronika > Telefony > Etui i obudowy"),
        "name_too_short",
        "the name has 11 characters; Allegro wants 12 to 75",
        name="Etui do S24",
    )
    _break(
        pick("Delikatesy > Kawa"),
        "name_too_short",
        "the name has 9 characters; Allegro wants 12 to 75",
        name="Kawa 1 kg",
    )
    _break(
        pick("Elektronika > Audio > Słuchawki > Bezprzewodowe"),
        "name_few_words",
        "the name has 2 words; Allegro wants at least 3",
        name="Słuchawki bezprzewodowe",
    )
    _break(
        pick("AGD > Małe AGD > Czajniki elektryczne"),
        "name_few_words",
        "the name has 2 words; Allegro wants at least 3",
        name="Czajnik stalowy",
    )
    _break(
        pick("Elektronika > Telefony > Ładowarki"),
        "name_long_word",
        "a word of the name has 35 characters; Allegro allows at most 30",
        name="Ładowarka sieciowa Nexode-65W-GaN-USB-C-szybkie-ładowanie",
    )
    _break(
        pick("Komputery > Laptopy"),
        "name_long_word",
        "a word of the name has 37 characters; Allegro allows at most 30",
        name="Laptop Dell Inspiron 15 i5-1335U/16GB/512GB-SSD/Windows11Home",
    )
    for path, amount in (
        ("Dom i ogród > Kuchnia > Kubki i filiżanki", "0.50"),
        ("Zdrowie i uroda > Pielęgnacja > Kremy do twarzy", "0.99"),
        ("Elektronika > Telefony > Etui i obudowy", "0.50"),
    ):
        _break(
            pick(path),
            "price_too_low",
            f"the price {amount} PLN is below Allegro's minimum of 1.00",
            price={"amount": amount, "currency": "PLN"},
        )
    for path, attribute, value in (
        ("Dom i ogród > Sypialnia > Pościel", "rozmiar", "220x240"),
        ("Moda > Odzież męska > Koszulki", "rozmiar", "3XL"),
        ("Sport > Rowery > Rowery górskie", "kolo", "28 cali"),
    ):
        product = pick(path)
        attributes = dict(product["attributes"])
        attributes[attribute] = value
        _break(
            product,
            "value_not_in_dictionary",
            f'attribute {attribute}="{value}" is no value of the required dictionary '
            "parameter it maps to, and the mapping has no translation for it",
            attributes=attributes,
        )
    product = pick("Komputery > Laptopy")
    attributes = {k: v for k, v in product["attributes"].items() if k != "dysk_gb"}
    _break(
        product,
        "missing_required_attribute",
        'no dysk_gb attribute: the required parameter "Pojemność dysku" stays empty',
        attributes=attributes,
    )
    for path in ("Sport > Turystyka > Namioty", "Motoryzacja > Akumulatory"):
        _break(
            pick(path),
            "no_images",
            "no images: an offer needs at least 1 (and this product is not in the catalogue)",
            images=[],
        )
    for path in ("Komputery > Akcesoria > Myszy", "Dom i ogród > Narzędzia > Wiertarko-wkrętarki"):
        product = pick(path)
        ean = str(product["ean"])
        wrong = ean[:-1] + str((int(ean[-1]) + 3) % 10)
        _break(
            product,
            "ean_check_digit",
            f"the EAN {wrong} has a wrong check digit (the schema checks only its form)",
            ean=wrong,
        )
    return used


def _break_at_ingest(rng: random.Random, events: list[dict[str, Any]], used: set[int]) -> None:
    """Three events the schema refuses (parse_event): REJECTED at ingest."""
    pool = [
        i
        for i, e in enumerate(events)
        if i not in used
        and e["_expect"] == {"status": "PUBLISHED"}
        and "allegro" not in e
        and not e["category"].startswith("Książki")
    ]
    first, second, third = rng.sample(pool, 3)
    event = events[first]
    event["version"] = str(event["version"])
    event["_expect"] = {
        "status": "REJECTED",
        "stage": "ingest",
        "defect": "ingest_version_type",
        "field": "version",
        "reason": "version is a JSON string; the contract wants an integer",
    }
    event = events[second]
    event["price"] = {"amount": float(event["price"]["amount"]), "currency": "PLN"}
    event["_expect"] = {
        "status": "REJECTED",
        "stage": "ingest",
        "defect": "ingest_amount_number",
        "field": "price.amount",
        "reason": "price.amount is a JSON number; the contract wants a decimal string",
    }
    event = events[third]
    renamed = {("stok" if key == "stock" else key): value for key, value in event.items()}
    event.clear()
    event.update(renamed)
    event["_expect"] = {
        "status": "REJECTED",
        "stage": "ingest",
        "defect": "ingest_unknown_field",
        "field": "stok",
        "reason": 'a misspelt field "stok" (unknown) and no stock',
    }


# --- follow-up waves ----------------------------------------------------------------------


def _changed_amount(rng: random.Random, amount: str) -> str:
    old = Decimal(amount)
    while True:
        factor = Decimal(str(rng.choice((0.85, 0.9, 0.93, 0.95, 1.05, 1.08, 1.1))))
        new = (old * factor).quantize(Decimal("1"), rounding=ROUND_HALF_UP) - Decimal("0.01")
        if new >= 1 and new != old:
            return str(new)


def _followups(rng: random.Random, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Waves 2 and 3: price and stock changes, an upsert re-sent, stock 0 and restock,
    deletes, an old version arriving late, and one event delivered twice."""
    eligible = [
        e for e in events if e["_expect"] == {"status": "PUBLISHED"} and not e.get("_shared_ean")
    ]
    picks = rng.sample(eligible, 25 + 20 + 4 + 2 + 2 + 1 + 6)
    prices, stocks, zeros = picks[:25], picks[25:45], picks[45:49]
    same_price, resent, identical = picks[49:51], picks[51:53], picks[53]
    deletes = picks[54:60]
    changes: list[dict[str, Any]] = []

    def add(
        wave: int,
        base: dict[str, Any],
        event_type: str,
        expect: dict[str, Any],
        offset_ms: int = 0,
        **fields: Any,
    ) -> dict[str, Any]:
        version = int(base["version"]) + WAVE_OFFSET_MS[wave] + offset_ms
        event = {**_envelope(event_type, str(base["sku"]), version), **fields}
        event["_wave"] = wave
        event["_expect"] = expect
        changes.append(event)
        return event

    updated = {"status": "UPDATED"}
    for base in prices:
        amount = _changed_amount(rng, base["price"]["amount"])
        add(2, base, "product.price", updated, price={"amount": amount, "currency": "PLN"})
    for base in stocks:
        old = int(base["stock"]["available"])
        new = old + rng.choice((-1, 1)) * rng.randint(1, max(1, old - 1)) if old > 1 else old + 5
        add(
            2,
            base,
            "product.stock",
            updated,
            stock={"available": new, "unit": base["stock"]["unit"]},
        )
    for base in zeros:
        add(
            2,
            base,
            "product.stock",
            {"status": "ENDED", "reason": "stock 0 ends the offer"},
            stock={"available": 0, "unit": base["stock"]["unit"]},
        )
    for base in same_price:
        add(
            2,
            base,
            "product.price",
            {"status": "UNCHANGED", "reason": "the price equals the one already on Allegro"},
            price=dict(base["price"]),
        )
    for base in resent:
        body = {k: copy.deepcopy(v) for k, v in base.items() if not k.startswith("_")}
        body["description"] = (
            "<h2>Nowa odsłona opisu</h2><p>Zaktualizowaliśmy opis i zdjęcia produktu "
            f"{body['name']}.</p>"
        )
        body["images"] = [*body["images"], f"{IMAGE_HOST}/produkty/{base['sku'].lower()}/nowe.jpg"]
        fields = {k: v for k, v in body.items() if k not in _ENVELOPE_KEYS}
        add(
            2,
            base,
            "product.upserted",
            {"status": "UPDATED", "reason": "new description"},
            **fields,
        )
    body = {k: copy.deepcopy(v) for k, v in identical.items() if not k.startswith("_")}
    fields = {k: v for k, v in body.items() if k not in _ENVELOPE_KEYS}
    add(
        2,
        identical,
        "product.upserted",
        {"status": "UNCHANGED", "reason": "the same product re-sent with a newer version"},
        **fields,
    )
    fixed = next(e for e in events if e["_expect"].get("defect") == "price_too_low")
    add(
        2,
        fixed,
        "product.price",
        {
            "status": "PUBLISHED",
            "reason": "the corrected price makes the rejected product valid: first offer",
        },
        price={"amount": "49.99", "currency": "PLN"},
    )

    for base in zeros:
        add(
            3,
            base,
            "product.stock",
            {"status": "UPDATED", "or": ["PUBLISHED"], "reason": "restock reactivates the offer"},
            stock={"available": rng.randint(5, 20), "unit": base["stock"]["unit"]},
        )
    for base in deletes:
        add(3, base, "product.deleted", {"status": "ENDED", "reason": "deleted in the store"})
    late = prices[0]
    add(
        3,
        late,
        "product.price",
        {
            "status": "SUPERSEDED",
            "reason": "an older price (version between the upsert and the wave-2 price) "
            "arriving after the newer one",
        },
        offset_ms=-WAVE_OFFSET_MS[3] + WAVE_OFFSET_MS[2] // 2,
        price={"amount": _changed_amount(rng, late["price"]["amount"]), "currency": "PLN"},
    )
    original = next(c for c in changes if c["sku"] == prices[1]["sku"])
    duplicate = {k: copy.deepcopy(v) for k, v in original.items() if not k.startswith("_")}
    duplicate["_wave"] = 3
    duplicate["_expect"] = {
        **original["_expect"],
        "duplicate_of": original["event_id"],
        "reason": "the same event delivered again (same event_id): no second outcome",
    }
    changes.append(duplicate)
    return changes


_ENVELOPE_KEYS = ("type", "event_id", "occurred_at", "account", "sku", "version")


# --- assembly -------------------------------------------------------------------------------


def _finish(rng: random.Random, product: dict[str, Any], sku: str, version: int) -> dict[str, Any]:
    """The ``product.upserted`` event body of ``product`` (plus its ``_expect``)."""
    event = _envelope("product.upserted", sku, version)
    features = product.pop("_features", [])
    event["name"] = product["name"]
    event["description"] = _description(rng, product["name"], features)
    event["category"] = product["category"]
    event["ean"] = product["ean"]
    if product.get("mpn"):
        event["mpn"] = product["mpn"]
    event["brand"] = product["brand"]
    event["price"] = product["price"]
    event["stock"] = product["stock"]
    event["images"] = product["images"] if "images" in product else _images(rng, sku)
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
    used = _apply_defects(rng, products)
    events = [
        _finish(rng, product, f"SHOP-{n:06d}", BASE_VERSION_MS + n * 1000)
        for n, product in enumerate(products, start=101)
    ]
    _break_at_ingest(rng, events, used)
    changes = _followups(rng, events)
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

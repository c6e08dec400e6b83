"""The products broken on purpose, each in one way, with the ``_expect`` they must get.

:func:`apply_defects` breaks generated products so that the pipeline rejects them (names,
prices, attributes, images, EANs); :func:`break_at_ingest` breaks three events so that the
schema refuses them at ingest.
"""

from __future__ import annotations

import random
from typing import Any

__all__ = ["apply_defects", "break_at_ingest"]


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


def apply_defects(rng: random.Random, products: list[dict[str, Any]]) -> set[int]:
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


def break_at_ingest(rng: random.Random, events: list[dict[str, Any]], used: set[int]) -> None:
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

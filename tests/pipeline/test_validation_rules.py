"""Every local rule of Allegro's, through the pipeline: a ``product.upserted`` that breaks
one ends ``REJECTED`` with Allegro's code (or ours where Allegro documents none) and the
path of the offending field, and nothing is written to Allegro: no ``POST`` (or ``PATCH``)
of ``/sale/product-offers`` in the sandbox's request log. An event that breaks several
rules gets them all in its one status.

The products here are new to Allegro's catalogue (a GTIN the sandbox does not know), so
every rule applies: the name, the images and the category's required product parameters
are checked on our side, not left to a catalogue product.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.pipeline.conftest import Pipeline, upserted

#: "Czajniki elektryczne", a leaf of the sandbox's tree.
KETTLE_CATEGORY = "67490"
#: A GTIN with a correct check digit that the sandbox's catalogue does not hold.
NEW_GTIN = "5901234123457"
#: The same GTIN with a wrong check digit.
BAD_GTIN = "5901234123458"

CONDITION_NEW = {"id": "11323", "valuesIds": ["11323_1"]}  # Stan: Nowy (offer parameter)
CAPACITY = {"id": "205297", "values": ["1.7"]}  # Pojemność, float 0.1-10 l, required
POWER = {"id": "205301", "values": ["2200"]}  # Moc, integer 100-4000 W, required
#: Where the product parameters land: the category's order (EAN, Marka, Pojemność, Moc,
#: Materiał obudowy), fixed so that the offer's fingerprint is stable.
PRODUCT_PARAMETERS = "productSet[0].product.parameters"


def new_kettle(
    sku: str, *, parameters: list[dict[str, Any]] | None = None, **fields: Any
) -> dict[str, Any]:
    """A ``product.upserted`` of a kettle the catalogue does not know, that the sandbox
    lists as it is: every required parameter of category 67490 given (brand by ``brand``,
    EAN by ``ean``, the rest in ``allegro.parameters``). ``fields`` replace top-level fields."""
    event = upserted(
        sku,
        1,
        name="Czajnik elektryczny Testowy TK17 stalowy 1,7 l",
        description="<p>Czajnik elektryczny ze stali nierdzewnej.</p>",
        category="AGD > Czajniki",
        ean=NEW_GTIN,
        brand="Bosch",
        price={"amount": "129.99", "currency": "PLN"},
        images=["https://shop.example/img/tk17-1.jpg"],
        allegro={
            "category_id": KETTLE_CATEGORY,
            "parameters": [CONDITION_NEW, CAPACITY, POWER] if parameters is None else parameters,
        },
    )
    event.update(fields)
    return event


def _offer_writes(pipeline: Pipeline) -> list[str]:
    return [f"{r['method']} {r['path']}" for r in pipeline.writes_of()]


def _rejected(pipeline: Pipeline, event: dict[str, Any]) -> list[tuple[str, str | None]]:
    """The event's one status, checked to be REJECTED before any write; its (code, path)s."""
    status = pipeline.status_of(event["event_id"])
    assert status["status"] == "REJECTED", status
    assert all(e["userMessage"] and e["message"] for e in status["errors"]), status["errors"]
    assert _offer_writes(pipeline) == []
    assert pipeline.offers_of(event["sku"]) == []
    assert len(pipeline.statuses.of(event["event_id"])) == 1
    return [(e["code"], e["path"]) for e in status["errors"]]


def test_the_valid_new_product_is_published(pipeline: Pipeline) -> None:
    # The control: the base event of every case below passes every rule.
    sku = pipeline.new_sku()
    event = pipeline.publish(new_kettle(sku))

    status = pipeline.status_of(event["event_id"])

    assert status["status"] == "PUBLISHED", status
    [offer] = pipeline.offers_of(sku)
    assert offer["category"]["id"] == KETTLE_CATEGORY
    assert [w.split(" ")[0] for w in _offer_writes(pipeline)] == ["POST"]


# (case, replaced fields, the (code, path) pairs the status must hold, exactly)
CASES: list[Any] = [
    pytest.param(
        {"name": "Czajnik A B"},
        [("ConstraintViolationException.StringLength", "name")],
        id="name-under-12-characters",
    ),
    pytest.param(
        {"name": "Czajnik elektryczny"},
        [("ConstraintViolationException.NotEnoughWords", "name")],
        id="name-of-2-words",
    ),
    pytest.param(
        {"name": "Czajnik " + "Superwysokowydajnościowy" + "Turbo12345" + " stalowy"},
        [("ConstraintViolationException.MaxWordLength", "name")],
        id="name-with-a-word-over-30",
    ),
    pytest.param(
        {"name": "Czajnik & " * 7 + "end"},  # 73 characters, 101 as Allegro counts them
        # A new product carries the name twice: as the offer's and as the product's.
        [
            ("ConstraintViolationException.StringLength", "name"),
            ("ConstraintViolationException.StringLength", "productSet[0].product.name"),
        ],
        id="name-over-75-counting-ampersands",
    ),
    pytest.param(
        {"price": {"amount": "0.50", "currency": "PLN"}},
        [("ConstraintViolationException.Price", "sellingMode.price.amount")],
        id="price-0.50",
    ),
    pytest.param(
        {"price": {"amount": "1000000000.01", "currency": "PLN"}},
        [("ConstraintViolationException.Price", "sellingMode.price.amount")],
        id="price-over-a-billion",
    ),
    pytest.param(
        {"price": {"amount": "129.99", "currency": "EUR"}},
        [("ConstraintViolationException.Currency", "sellingMode.price.currency")],
        id="currency-not-the-marketplaces",
    ),
    pytest.param(
        {"images": []},
        [("GallerySizeException", "images")],
        id="no-images",
    ),
    pytest.param(
        {"images": [f"https://shop.example/img/tk17-{i}.jpg" for i in range(17)]},
        [("GallerySizeException", "images")],
        id="17-images",
    ),
    pytest.param(
        {"ean": BAD_GTIN},
        [
            (
                "ConstraintViolationException.WrongChecksumInGtinParameter",
                f"{PRODUCT_PARAMETERS}[0].values[0]",
            )
        ],
        id="gtin-check-digit",
    ),
    pytest.param(
        {"parameters": [CONDITION_NEW, CAPACITY]},  # no Moc (205301)
        [("ConstraintViolationException.MissingRequiredParameters", PRODUCT_PARAMETERS)],
        id="missing-required-parameter",
    ),
    pytest.param(
        {"parameters": [CONDITION_NEW, CAPACITY, POWER, {"id": "205305", "values": ["drewno"]}]},
        [("DictionaryParameterValueNotFound", f"{PRODUCT_PARAMETERS}[4].values[0]")],
        id="dictionary-label-not-in-dictionary",
    ),
    pytest.param(
        {"parameters": [{"id": "11323", "valuesIds": ["11323_999"]}, CAPACITY, POWER]},
        [("DictionaryParameterIdNotFound", "parameters[0].valuesIds[0]")],
        id="dictionary-id-not-in-dictionary",
    ),
    pytest.param(
        {"parameters": [CONDITION_NEW, CAPACITY, {"id": "205301", "values": ["5000"]}]},
        [("ConstraintViolationException.ValueOutOfRange", f"{PRODUCT_PARAMETERS}[3].values[0]")],
        id="integer-out-of-range",
    ),
    pytest.param(
        {"parameters": [CONDITION_NEW, {"id": "205297", "values": ["12.5"]}, POWER]},
        [("ConstraintViolationException.ValueOutOfRange", f"{PRODUCT_PARAMETERS}[2].values[0]")],
        id="float-out-of-range",
    ),
    pytest.param(
        # The same rule met by a store attribute named like the parameter (enrich converts
        # it; a required parameter's bad value rejects the product there).
        {"parameters": [CONDITION_NEW, CAPACITY], "attributes": {"Moc": 5000}},
        [("PARAMETER_VALUE_INVALID", "attributes.Moc")],
        id="integer-attribute-out-of-range",
    ),
    pytest.param(
        {"allegro": {"parameters": [CONDITION_NEW, CAPACITY, POWER]}},  # no category_id
        [("UNMAPPED_CATEGORY", "category")],
        id="unmapped-category",
    ),
    pytest.param(
        {"allegro": {"category_id": "4", "parameters": [CONDITION_NEW]}},
        [("UNMAPPED_CATEGORY", "allegro.category_id")],
        id="non-leaf-category",
    ),
    pytest.param(
        {"parameters": [CONDITION_NEW, CAPACITY, POWER, {"id": "999999", "values": ["x"]}]},
        [("ParameterIdNotFoundException", "allegro.parameters[3]")],
        id="parameter-unknown-in-category",
    ),
]


@pytest.mark.parametrize(("fields", "expected"), CASES)
def test_a_product_breaking_a_rule_is_rejected_before_any_write(
    pipeline: Pipeline, fields: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    sku = pipeline.new_sku()
    event = pipeline.publish(new_kettle(sku, **fields))

    assert _rejected(pipeline, event) == expected


def test_every_broken_rule_is_reported_together(pipeline: Pipeline) -> None:
    sku = pipeline.new_sku()
    event = new_kettle(
        sku,
        name="Czajnik A B",
        price={"amount": "0.50", "currency": "EUR"},
        images=[],
        ean=BAD_GTIN,
        parameters=[CONDITION_NEW, {"id": "205301", "values": ["5000"]}],  # no Pojemność
    )
    pipeline.publish(event)

    found = _rejected(pipeline, event)

    # EAN [0], Marka [1], Moc [2]: Pojemność is missing.
    assert sorted(found, key=str) == sorted(
        [
            ("ConstraintViolationException.StringLength", "name"),
            ("ConstraintViolationException.Price", "sellingMode.price.amount"),
            ("ConstraintViolationException.Currency", "sellingMode.price.currency"),
            ("GallerySizeException", "images"),
            (
                "ConstraintViolationException.WrongChecksumInGtinParameter",
                f"{PRODUCT_PARAMETERS}[0].values[0]",
            ),
            ("ConstraintViolationException.ValueOutOfRange", f"{PRODUCT_PARAMETERS}[2].values[0]"),
            ("ConstraintViolationException.MissingRequiredParameters", PRODUCT_PARAMETERS),
        ],
        key=str,
    )

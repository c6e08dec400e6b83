"""The models of the upstream product event, version 1 (see :mod:`schemas.events`, their
public home, for the contract and the choices it makes).

:func:`~schemas.events.parse_event` (in :mod:`schemas._event_parse`) reads raw bytes into
these models; validating a model directly is guarded too (:meth:`_refuse_unsafe`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)
from pydantic_core import PydanticKnownError

from schemas._raw import scan
from schemas.errors import ErrorCode, FieldError, custom_error
from schemas.offer import CurrencyCode, DecimalString, ParameterRequest, StockUnit

__all__ = [
    "DEFAULT_MAX_EVENT_BYTES",
    "EXAMPLE_EVENTS",
    "PRODUCT_EVENT_ADAPTER",
    "AllegroOverrides",
    "AllegroParameter",
    "EventPrice",
    "EventStock",
    "EventType",
    "ProductDeleted",
    "ProductEvent",
    "ProductPriceChanged",
    "ProductStockChanged",
    "ProductUpserted",
    "gtin_check_digit_ok",
]

#: Largest event :func:`parse_event` accepts by default, in bytes (1 MiB). Images travel as
#: URLs, so a real product is a few kilobytes; anything near this is a producer bug.
DEFAULT_MAX_EVENT_BYTES = 1_048_576

_INT64_MAX = 2**63 - 1
_INT32_MAX = 2**31 - 1
_NonEmpty = Annotated[str, StringConstraints(min_length=1)]
#: Validation context key: :func:`parse_event` scanned the data already (see _refuse_unsafe).
_SCANNED = "allegro_feed_scanned"
#: The identity fields' constraints, also what :func:`parse_event` may quote of a refused event.
_ACCOUNT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_EVENT_ID_MAX = 255
_SKU_MAX = 100


class EventType(StrEnum):
    """The ``type`` of an event, also its routing key on ``allegro.products``."""

    UPSERTED = "product.upserted"
    STOCK = "product.stock"
    PRICE = "product.price"
    DELETED = "product.deleted"


def _datetime_from_text(value: Any) -> Any:
    # pydantic would take a number as Unix time; the contract says RFC 3339 text.
    if isinstance(value, str | datetime):
        return value
    raise PydanticKnownError("datetime_type")


def _one_attribute_error(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    # One clear error instead of one per member of the union.
    try:
        return handler(value)
    except ValidationError:
        raise custom_error(
            "must be a string, a number, true/false or a list of strings",
            fix="flatten nested values into attributes of their own; leave out empty ones",
        ) from None


_Rfc3339 = Annotated[AwareDatetime, BeforeValidator(_datetime_from_text)]
_AttributeValue = Annotated[
    StrictStr | StrictInt | StrictFloat | StrictBool | list[StrictStr],
    WrapValidator(_one_attribute_error),
]
_HttpUrl = Annotated[str, StringConstraints(pattern=r"^https?://[^\s/?#]+[^\s]*$")]
# 10 digits (an ISBN-10) too: Allegro's GTIN parameter takes 8, 10, 12, 13 or 14 digits
# (FACTS.md §8, NotStandardLengthInGtinParameter).
_Ean = Annotated[str, StringConstraints(pattern=r"^([0-9]{8}|[0-9]{10}|[0-9]{12,14})$")]


class _EventModel(BaseModel):
    """Base of the event models: immutable, wire names only, unknown fields rejected."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        validate_by_alias=True,
        validate_by_name=False,
        serialize_by_alias=True,
    )


class EventPrice(_EventModel):
    """A price: ``amount`` as a decimal string and its ``currency``."""

    amount: DecimalString = Field(
        description='decimal string, at most 2 decimal places: "129.99", "12.5", "7"'
    )
    currency: CurrencyCode = Field(description="ISO 4217 code: PLN, CZK, EUR, HUF, ...")


class EventStock(_EventModel):
    """Stock: how many items can be sold, and in what unit."""

    available: int = Field(
        strict=True, ge=0, le=_INT32_MAX, description="items for sale; 0 ends the offer"
    )
    unit: StockUnit = Field(StockUnit.UNIT, description="UNIT (default), PAIR or SET")


class AllegroParameter(ParameterRequest):
    """An Allegro parameter in Allegro's request shape; ``id`` is required.

    Exactly one kind of value: ``values`` and/or ``valuesIds`` (a dictionary value by id or
    label, both for the "other" entry with a custom text), or ``rangeValue {from, to}``.
    """

    model_config = ConfigDict(frozen=True, validate_by_name=False)

    id: _NonEmpty = Field(description="Allegro parameter id, e.g. 11323")


class AllegroOverrides(_EventModel):
    """Allegro-side choices the producer makes itself, instead of the mapping."""

    category_id: _NonEmpty | None = Field(
        None, description="Allegro leaf category id (a string: numeric or a UUID)"
    )
    product_id: _NonEmpty | None = Field(None, description="Allegro catalogue product id")
    parameters: list[AllegroParameter] = Field(
        default_factory=list,
        description="parameters added to the mapped ones, or replacing those with the same id",
    )

    @model_validator(mode="after")
    def _unique_parameter_ids(self) -> AllegroOverrides:
        seen: set[str] = set()
        for index, parameter in enumerate(self.parameters):
            if parameter.id in seen:
                raise custom_error(
                    f"repeats parameter {parameter.id}",
                    fix="give each parameter once, with all its values",
                    field=f"parameters[{index}].id",
                )
            seen.add(parameter.id)
        return self


class _ProductEventBase(_EventModel):
    """The fields every event carries."""

    type: EventType = Field(description="the event type; authoritative over the routing key")
    event_id: Annotated[str, StringConstraints(min_length=1, max_length=_EVENT_ID_MAX)] = Field(
        description="unique id of this event; also the AMQP message_id"
    )
    occurred_at: _Rfc3339 = Field(description="when the change happened: RFC 3339 with offset")
    account: Annotated[str, StringConstraints(pattern=_ACCOUNT_PATTERN)] = Field(
        "default", description="which connected Allegro seller account"
    )
    sku: Annotated[str, StringConstraints(min_length=1, max_length=_SKU_MAX)] = Field(
        description="the store's product id; becomes the offer's external.id"
    )
    version: int = Field(
        strict=True,
        ge=0,
        le=_INT64_MAX,
        description="strictly increasing per SKU, e.g. updated-at in milliseconds",
    )

    _notes: tuple[FieldError, ...] = PrivateAttr(default=())

    @model_validator(mode="before")
    @classmethod
    def _refuse_unsafe(cls, data: Any, info: ValidationInfo) -> Any:
        # No string with a NUL, no non-finite number anywhere in the event: neither can be
        # stored (PostgreSQL refuses both; orjson writes infinity as null) nor sent.
        if info.context and info.context.get(_SCANNED):
            return data
        problems = scan(data)
        if problems:
            first = problems[0]
            raise custom_error(first.message, fix=first.fix, field=first.field, code=first.code)
        return data

    @property
    def notes(self) -> tuple[FieldError, ...]:
        """Non-fatal observations made by :func:`parse_event` (e.g. a routing-key mismatch)."""
        return self._notes


def _upserted_schema(schema: dict[str, Any]) -> None:
    schema["allOf"] = [
        {
            "anyOf": [
                {"required": [key], "properties": {key: {"type": "string"}}}
                for key in ("ean", "mpn")
            ]
        },
        {
            "anyOf": [
                {"required": ["category"], "properties": {"category": {"type": "string"}}},
                {
                    "required": ["allegro"],
                    "properties": {
                        "allegro": {
                            "type": "object",
                            "required": ["category_id"],
                            "properties": {"category_id": {"type": "string"}},
                        }
                    },
                },
            ]
        },
    ]


class ProductUpserted(_ProductEventBase):
    """``product.upserted``: the full product, at the top level beside ``sku``.

    Required: ``name``, ``price``, ``stock``, at least one of ``ean`` / ``mpn``, and
    ``category`` unless ``allegro.category_id`` is given.
    """

    model_config = ConfigDict(json_schema_extra=_upserted_schema)

    type: Literal[EventType.UPSERTED] = Field(description="product.upserted")
    name: _NonEmpty = Field(description="product name in the store")
    description: str = Field("", description="plain text or HTML")
    category: _NonEmpty | None = Field(None, description="the store's category path or id")
    ean: _Ean | None = Field(None, description="GTIN: 8, 10, 12, 13 or 14 digits, as a string")
    mpn: _NonEmpty | None = Field(None, description="manufacturer part number")
    brand: _NonEmpty | None = Field(None, description="brand (manufacturer) name")
    price: EventPrice
    stock: EventStock
    images: list[_HttpUrl] = Field(default_factory=list, description="http(s) image URLs")
    attributes: dict[_NonEmpty, _AttributeValue] = Field(
        default_factory=dict,
        description="the store's attributes: a flat object of strings, numbers, booleans "
        "or lists of strings",
    )
    allegro: AllegroOverrides | None = None

    @model_validator(mode="after")
    def _identified_and_categorized(self) -> ProductUpserted:
        if self.ean is None and self.mpn is None:
            raise custom_error(
                "an upserted product needs an ean or an mpn",
                fix="add ean (the GTIN) or mpn, or both",
                field="ean",
                code=ErrorCode.MISSING_FIELD,
            )
        if self.category is None and (self.allegro is None or self.allegro.category_id is None):
            raise custom_error(
                "is required unless allegro.category_id is given",
                fix="add the store's category, or allegro.category_id",
                field="category",
                code=ErrorCode.MISSING_FIELD,
            )
        return self


class ProductStockChanged(_ProductEventBase):
    """``product.stock``: the stock changed (0 ends the offer)."""

    type: Literal[EventType.STOCK] = Field(description="product.stock")
    stock: EventStock


class ProductPriceChanged(_ProductEventBase):
    """``product.price``: the price changed."""

    type: Literal[EventType.PRICE] = Field(description="product.price")
    price: EventPrice


class ProductDeleted(_ProductEventBase):
    """``product.deleted``: the product left the store; its offer is ended."""

    type: Literal[EventType.DELETED] = Field(description="product.deleted")


ProductEvent: TypeAlias = Annotated[
    ProductUpserted | ProductStockChanged | ProductPriceChanged | ProductDeleted,
    Field(discriminator="type"),
]
"""Any upstream event, told apart by ``type``."""

PRODUCT_EVENT_ADAPTER: TypeAdapter[ProductEvent] = TypeAdapter(ProductEvent)

_MODELS: Mapping[
    str,
    type[ProductUpserted]
    | type[ProductStockChanged]
    | type[ProductPriceChanged]
    | type[ProductDeleted],
] = {
    EventType.UPSERTED: ProductUpserted,
    EventType.STOCK: ProductStockChanged,
    EventType.PRICE: ProductPriceChanged,
    EventType.DELETED: ProductDeleted,
}


def gtin_check_digit_ok(gtin: str) -> bool:
    """True when ``gtin`` (8, 12, 13 or 14 digits) ends with its correct GS1 check digit."""
    if len(gtin) not in (8, 12, 13, 14) or not gtin.isascii() or not gtin.isdigit():
        return False
    body = [int(d) for d in reversed(gtin[:-1])]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(body))
    return (10 - total % 10) % 10 == int(gtin[-1])


EXAMPLE_EVENTS: tuple[dict[str, Any], ...] = (
    {
        "type": "product.upserted",
        "event_id": "3f6c1f4e-8a51-4c55-9d0b-0c5c8f6b2a10",
        "occurred_at": "2026-07-18T12:00:00Z",
        "account": "default",
        "sku": "AH-129834",
        "version": 1784376000000,
        "name": "Wireless headphones X200, black",
        "description": "<p>Over-ear wireless headphones with 30 h of battery.</p>",
        "category": "Electronics > Audio > Headphones",
        "ean": "5902719471797",
        "mpn": "X200-BLK",
        "brand": "Acme",
        "price": {"amount": "129.99", "currency": "PLN"},
        "stock": {"available": 12, "unit": "UNIT"},
        "images": ["https://shop.example/img/x200-1.jpg"],
        "attributes": {"color": "black", "weight_kg": 0.25, "wireless": True},
        "allegro": {"parameters": [{"id": "11323", "valuesIds": ["11323_1"]}]},
    },
    {
        "type": "product.stock",
        "event_id": "8d2b7a9c-1f0e-4b3a-a6c5-2e9d4f1b7c30",
        "occurred_at": "2026-07-18T12:05:00+02:00",
        "sku": "AH-129834",
        "version": 1784376300000,
        "stock": {"available": 0},
    },
    {
        "type": "product.price",
        "event_id": "b1e0c2d3-4f5a-4b6c-8d7e-9f0a1b2c3d4e",
        "occurred_at": "2026-07-18T12:06:00Z",
        "sku": "AH-129834",
        "version": 1784376360000,
        "price": {"amount": "119.00", "currency": "PLN"},
    },
    {
        "type": "product.deleted",
        "event_id": "c7d8e9f0-a1b2-4c3d-9e4f-5a6b7c8d9e0f",
        "occurred_at": "2026-07-18T13:00:00Z",
        "sku": "AH-129834",
        "version": 1784379600000,
    },
)
"""One valid event of each type (also the ``examples`` of the JSON Schema)."""

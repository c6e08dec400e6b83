"""The subset of Allegro's offer body that allegro-feed sends (``POST/PATCH /sale/product-offers``).

The models mirror Allegro's ``SaleProductOfferRequestV1`` (see ``allegro/openapi.yaml`` in
the shared reference folder) for the fields we use. Python names are snake_case; on the wire
every field carries Allegro's own camelCase name (``sellingMode``, ``valuesIds``,
``rangeValue.from``), and :meth:`OfferRequest.body` / :meth:`OfferPatch.body` produce exactly
the JSON Allegro expects.

Every model forbids unknown fields: Allegro answers ``422 UnknownJSONProperty`` to any
property it does not know (read-only fields of a GET included), so a typo must fail here,
in our process, not there.

Constraints that the spec itself declares (lengths, minimums, enums) are enforced; business
rules that depend on the category or the account (required parameters, image count,
description HTML) belong to the validation step in ``workers/``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic.alias_generators import to_camel

from schemas.errors import custom_error

__all__ = [
    "AfterSalesServices",
    "CategoryRef",
    "CurrencyCode",
    "DecimalString",
    "Delivery",
    "Description",
    "DescriptionImageItem",
    "DescriptionSection",
    "DescriptionTextItem",
    "ExternalId",
    "IdOrName",
    "InvoiceType",
    "Location",
    "OfferPatch",
    "OfferRequest",
    "OfferStatus",
    "ParameterRequest",
    "Payments",
    "Price",
    "ProductIdType",
    "ProductRequest",
    "ProductSetItem",
    "Publication",
    "Quantity",
    "RangeValue",
    "ResponsibleProducer",
    "SafetyAttachment",
    "SafetyInformationAttachments",
    "SafetyInformationText",
    "SellingMode",
    "SellingModeFormat",
    "Stock",
    "StockUnit",
]

INT32_MAX = 2**31 - 1

#: A money amount as Allegro takes it: a decimal string, at most 2 decimal places, no sign,
#: no exponent ("12", "12.5", "12.50"). Strings, because floats lose cents.
DecimalString = Annotated[str, StringConstraints(pattern=r"^(0|[1-9][0-9]*)(\.[0-9]{1,2})?$")]

#: An ISO 4217 currency code: 3 upper-case letters ("PLN", "CZK", "EUR", "HUF").
CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]

_NonEmpty = Annotated[str, StringConstraints(min_length=1)]


class StockUnit(StrEnum):
    """Allegro's stock unit."""

    UNIT = "UNIT"
    PAIR = "PAIR"
    SET = "SET"


class OfferStatus(StrEnum):
    """Allegro's ``publication.status`` of an offer."""

    INACTIVE = "INACTIVE"  # a draft
    ACTIVATING = "ACTIVATING"  # scheduled, or being activated
    ACTIVE = "ACTIVE"
    ENDED = "ENDED"


class SellingModeFormat(StrEnum):
    """Allegro's selling format."""

    BUY_NOW = "BUY_NOW"
    AUCTION = "AUCTION"
    ADVERTISEMENT = "ADVERTISEMENT"


class ProductIdType(StrEnum):
    """How Allegro reads ``productSet[].product.id`` (absent: a catalogue product UUID)."""

    GTIN = "GTIN"
    MPN = "MPN"


class InvoiceType(StrEnum):
    """Allegro's ``payments.invoice``."""

    VAT = "VAT"
    VAT_MARGIN = "VAT_MARGIN"
    WITHOUT_VAT = "WITHOUT_VAT"
    NO_INVOICE = "NO_INVOICE"


class _AllegroModel(BaseModel):
    """Base of the offer-body models: Allegro's names on the wire, unknown fields forbidden."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )


def _present_as(field: str, json_type: str) -> dict[str, Any]:
    """JSON Schema: ``field`` is present and not null."""
    return {"required": [field], "properties": {field: {"type": json_type}}}


class CategoryRef(_AllegroModel):
    """A reference to an Allegro category."""

    id: _NonEmpty = Field(description="Allegro category id: numeric or a UUID, kept as a string")


def _id_or_name_schema(schema: dict[str, Any]) -> None:
    schema["anyOf"] = [_present_as("id", "string"), _present_as("name", "string")]


class IdOrName(_AllegroModel):
    """A reference to a seller's definition (shipping rates, policies, ...) by id or by name."""

    model_config = ConfigDict(json_schema_extra=_id_or_name_schema)

    id: _NonEmpty | None = Field(None, description="the definition's id")
    name: _NonEmpty | None = Field(None, description="the definition's name")

    @model_validator(mode="after")
    def _id_or_name(self) -> IdOrName:
        if self.id is None and self.name is None:
            raise custom_error("give the id or the name", fix="add id or name", field="id")
        return self


class RangeValue(_AllegroModel):
    """A range parameter's value; both ends within the parameter's min and max."""

    from_: str = Field(alias="from", description="lower end, a number as a string")
    to: str = Field(description="upper end, a number as a string")


def _parameter_schema(schema: dict[str, Any]) -> None:
    schema["allOf"] = [
        {"anyOf": [_present_as("id", "string"), _present_as("name", "string")]},
        {
            "oneOf": [
                {"anyOf": [_present_as("values", "array"), _present_as("valuesIds", "array")]},
                _present_as("rangeValue", "object"),
            ]
        },
    ]


class ParameterRequest(_AllegroModel):
    """A parameter in Allegro's request shape: ``{id | name, values | valuesIds | rangeValue}``.

    Dictionary values may be given by id (``valuesIds``) or by label (``values``), or both
    (the "other" dictionary entry with a custom text); a range parameter takes only
    ``rangeValue``. Values are always strings, numbers included.
    """

    model_config = ConfigDict(json_schema_extra=_parameter_schema)

    id: _NonEmpty | None = Field(None, description="Allegro parameter id, e.g. 11323")
    name: _NonEmpty | None = Field(None, description="the parameter's name, instead of its id")
    values: list[str] | None = Field(
        None, min_length=1, description="values as text (dictionary labels, numbers, free text)"
    )
    values_ids: list[_NonEmpty] | None = Field(
        None, min_length=1, description="dictionary value ids, e.g. 11323_1"
    )
    range_value: RangeValue | None = Field(None, description="the value of a range parameter")

    @model_validator(mode="after")
    def _check_shape(self) -> ParameterRequest:
        if self.id is None and self.name is None:
            raise custom_error("give the parameter's id or name", fix="add id", field="id")
        listed = self.values is not None or self.values_ids is not None
        if listed and self.range_value is not None:
            raise custom_error(
                "takes values/valuesIds or rangeValue, not both",
                fix="keep rangeValue for a range parameter, values or valuesIds otherwise",
                field="rangeValue",
            )
        if not listed and self.range_value is None:
            raise custom_error(
                "a parameter needs values, valuesIds or rangeValue",
                fix="add the parameter's value",
                field="values",
            )
        return self


class ProductRequest(_AllegroModel):
    """The product of a product-set element: a catalogue reference or a full definition.

    Reference an existing product with ``id`` (a catalogue UUID), or ``id`` + ``idType``
    (GTIN or MPN); describe a new one with ``name``, ``category``, ``parameters``, ``images``.
    """

    id: _NonEmpty | None = Field(None, description="catalogue UUID, or a GTIN/MPN with idType")
    id_type: ProductIdType | None = Field(None, description="GTIN or MPN")
    name: Annotated[str, StringConstraints(min_length=1, max_length=75)] | None = Field(
        None, description="product name, at most 75 characters"
    )
    category: CategoryRef | None = None
    parameters: list[ParameterRequest] | None = Field(None, description="product parameters")
    images: list[_NonEmpty] | None = Field(None, description="image URLs; [] = only the offer's")

    @model_validator(mode="after")
    def _id_type_needs_id(self) -> ProductRequest:
        if self.id_type is not None and self.id is None:
            raise custom_error("idType needs an id", fix="add the GTIN or MPN as id", field="id")
        return self


class Quantity(_AllegroModel):
    """How many units of this product one sold item contains."""

    value: int = Field(ge=1, le=INT32_MAX)


class ResponsibleProducer(_AllegroModel):
    """GPSR responsible producer, referenced by id (``type: ID``) or name (``type: NAME``)."""

    type: Literal["ID", "NAME"] = "ID"
    id: _NonEmpty | None = None
    name: Annotated[str, StringConstraints(min_length=1, max_length=50)] | None = None

    @model_validator(mode="after")
    def _matches_type(self) -> ResponsibleProducer:
        if self.type == "ID" and self.id is None:
            raise custom_error("type ID needs an id", fix="add id or use type NAME", field="id")
        if self.type == "NAME" and self.name is None:
            raise custom_error("type NAME needs a name", fix="add name", field="name")
        return self


class SafetyInformationText(_AllegroModel):
    """GPSR safety information as plain text (no HTML)."""

    type: Literal["TEXT"] = "TEXT"
    description: Annotated[str, StringConstraints(min_length=1, max_length=5000)]


class SafetyAttachment(_AllegroModel):
    """An attachment uploaded through Allegro's attachments API."""

    id: _NonEmpty


class SafetyInformationAttachments(_AllegroModel):
    """GPSR safety information as attachments."""

    type: Literal["ATTACHMENTS"] = "ATTACHMENTS"
    attachments: list[SafetyAttachment] = Field(min_length=1, max_length=20)


class ProductSetItem(_AllegroModel):
    """One product of the offer (an offer may bundle up to 10)."""

    product: ProductRequest
    quantity: Quantity | None = None
    responsible_producer: ResponsibleProducer | None = None
    responsible_person: IdOrName | None = None
    safety_information: (
        Annotated[SafetyInformationText | SafetyInformationAttachments, Field(discriminator="type")]
        | None
    ) = None
    marketed_before_gpsr_obligation: bool | None = Field(
        None, alias="marketedBeforeGPSRObligation", description="sold before 13 Dec 2024"
    )


class DescriptionTextItem(_AllegroModel):
    """Description text: HTML limited to h1, h2, p, b, ul, ol, li."""

    type: Literal["TEXT"] = "TEXT"
    content: str


class DescriptionImageItem(_AllegroModel):
    """A description image, by URL."""

    type: Literal["IMAGE"] = "IMAGE"
    url: _NonEmpty


class DescriptionSection(_AllegroModel):
    """One row of the description: one or two items (columns)."""

    items: list[
        Annotated[DescriptionTextItem | DescriptionImageItem, Field(discriminator="type")]
    ] = Field(min_length=1, max_length=2)


class Description(_AllegroModel):
    """Allegro's standardized description (at most 40,000 bytes in total)."""

    sections: list[DescriptionSection] = Field(max_length=100)


class ExternalId(_AllegroModel):
    """The seller's own reference; allegro-feed puts the SKU here."""

    id: Annotated[str, StringConstraints(min_length=1, max_length=100)]


class Stock(_AllegroModel):
    """Stock of the offer. 0 ends an active offer (asynchronously)."""

    available: int = Field(ge=0, le=INT32_MAX, description="how many items can be sold")
    unit: StockUnit | None = Field(None, description="UNIT (Allegro's default), PAIR or SET")


class Price(_AllegroModel):
    """A price: a decimal string and its currency."""

    amount: DecimalString = Field(description='a decimal string, e.g. "129.99"')
    currency: CurrencyCode = Field(description="ISO 4217 code, e.g. PLN")


class SellingMode(_AllegroModel):
    """How the offer sells, and its price on the base marketplace."""

    format: SellingModeFormat | None = None
    price: Price | None = None


class Publication(_AllegroModel):
    """Publication settings.

    In a POST, leave ``status`` out to activate at once or send INACTIVE for a draft; in a
    PATCH, ACTIVE activates and ENDED ends. ``duration`` null (or absent) means "until the
    stock runs out".
    """

    status: OfferStatus | None = None
    duration: str | None = Field(None, description="ISO 8601 duration, e.g. P30D")
    starting_at: str | None = Field(None, description="RFC 3339 start time; schedules the offer")
    republish: bool | None = None


class Delivery(_AllegroModel):
    """Delivery settings."""

    shipping_rates: IdOrName | None = Field(None, description="shipping rates by id or name")
    handling_time: (
        Annotated[str, StringConstraints(pattern=r"^(PT0S|PT[0-9]+H|P[0-9]+D)$")] | None
    ) = Field(None, description="ISO 8601 duration: PT0S, PT24H, P2D, ... P60D")
    additional_info: Annotated[str, StringConstraints(max_length=650)] | None = Field(
        None, description="deprecated by Allegro; shown on allegro-pl only"
    )


class AfterSalesServices(_AllegroModel):
    """The seller's after-sales policies, each by id or name."""

    implied_warranty: IdOrName | None = None
    return_policy: IdOrName | None = None
    warranty: IdOrName | None = None


class Location(_AllegroModel):
    """Where the item ships from. For PL, ``province`` is required and the post code is XX-XXX."""

    country_code: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = None
    province: str | None = None
    city: Annotated[str, StringConstraints(max_length=50)] | None = None
    post_code: Annotated[str, StringConstraints(max_length=12)] | None = None


class Payments(_AllegroModel):
    """Invoice settings."""

    invoice: InvoiceType | None = None


_OfferName = Annotated[str, StringConstraints(min_length=12, max_length=75)]


class _OfferFields(_AllegroModel):
    """The fields shared by the POST and PATCH bodies, all optional."""

    product_set: list[ProductSetItem] | None = Field(None, max_length=10)
    name: _OfferName | None = Field(None, description="offer title: 12-75 characters, 3+ words")
    category: CategoryRef | None = None
    parameters: list[ParameterRequest] | None = Field(None, description="offer parameters")
    description: Description | None = None
    external: ExternalId | None = None
    selling_mode: SellingMode | None = None
    images: list[_NonEmpty] | None = Field(None, description="image URLs")
    publication: Publication | None = None
    delivery: Delivery | None = None
    after_sales_services: AfterSalesServices | None = None
    location: Location | None = None
    payments: Payments | None = None
    language: str | None = Field(None, description="BCP-47 language of the offer, e.g. pl-PL")


class OfferRequest(_OfferFields):
    """The body of ``POST /sale/product-offers`` (Allegro's ``SaleProductOfferRequestV1``).

    Only ``stock`` is required; Allegro defaults the rest (BUY_NOW, activated at once, the
    account's only or "default" shipping rates and policies, ...).
    """

    stock: Stock

    def body(self) -> dict[str, Any]:
        """The JSON body: Allegro's field names, absent (None) fields left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class OfferPatch(_OfferFields):
    """The body of ``PATCH /sale/product-offers/{offerId}``: a JSON Merge Patch (RFC 7396).

    Only the fields that were set are sent. Arrays (``images``, ``parameters``,
    ``productSet``, ``description.sections``) replace the offer's whole array, so send the
    full list. A field set explicitly to ``None`` is sent as ``null``, which clears it on
    Allegro. Sending only ``productSet[].product.id`` re-syncs the offer from the catalogue.
    """

    stock: Stock | None = None

    def body(self) -> dict[str, Any]:
        """The JSON body: only fields set by the caller; explicit ``None`` becomes ``null``."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)

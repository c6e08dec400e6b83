"""Lenient models of Allegro's responses.

Production breaks Allegro's own spec (FACTS §14): nulls where the spec has none, ``[]`` where
it promises an object, fields it never mentions, and amounts formatted differently per
endpoint. So every model here:

- makes every field optional and nullable;
- keeps unknown fields (``model_extra``) instead of rejecting them;
- turns a field that does not parse into ``None`` (logged at debug level) rather than
  failing the whole response: one odd field must not stop an offer from being read;
- reads amounts as :class:`~decimal.Decimal`, so ``"179.0" == "179.00"``.

Field names are snake_case; the JSON names (camelCase) are accepted and produced with
``model_dump(by_alias=True)``. Only what the workers use is modelled in detail; the rest stays
available as plain data.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any, Self, TypeVar

import structlog
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
)
from pydantic.alias_generators import to_camel

from workers.allegro.errors import ErrorItem

__all__ = [
    "AllegroModel",
    "Category",
    "CategoryOptions",
    "CategoryParameter",
    "CategoryRef",
    "CommandTask",
    "DictionaryValue",
    "ExternalId",
    "GeneralReport",
    "IdRef",
    "MatchingCategory",
    "OfferListing",
    "OfferParts",
    "OperationStatus",
    "ParameterOptions",
    "ParameterRestrictions",
    "Price",
    "Product",
    "ProductCategory",
    "ProductOffer",
    "ProductParameter",
    "ProductSearchPage",
    "Publication",
    "SellingMode",
    "Stock",
    "TaskCount",
    "TaskReport",
    "Validation",
    "parse_items",
    "parse_model",
]

log = structlog.get_logger(__name__)


def _empty_list_to_dict(value: Any) -> Any:
    # Production sends [] for empty maps (validation metadata, refusal-reason parameters).
    if isinstance(value, list) and not value:
        return {}
    return value


#: A JSON object that production sometimes sends as ``[]``.
LenientMap = Annotated[dict[str, Any] | None, BeforeValidator(_empty_list_to_dict)]


_TRACE_ID = "_trace_id"


class AllegroModel(BaseModel):
    """Base of the response models: camelCase aliases, extras kept, bad fields → None."""

    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
        alias_generator=to_camel,
        coerce_numbers_to_str=True,  # ids are strings; tolerate numbers
    )

    # The trace id is kept as pydantic keeps private attributes (``__pydantic_private__``,
    # copied, pickled and compared with the model), but only on the models that have one:
    # a declared PrivateAttr would make pydantic run a Python hook for every nested model
    # of every response. A model without a trace id compares equal to one whose trace id
    # was set to None, as with a PrivateAttr defaulting to None.

    @property
    def trace_id(self) -> str | None:
        """Allegro's ``Trace-Id`` of the response this model was read from."""
        private = self.__pydantic_private__
        return private.get(_TRACE_ID) if private else None

    def with_trace_id(self, trace_id: str | None) -> Self:
        private = dict(self.__pydantic_private__ or {})
        if trace_id is None:
            private.pop(_TRACE_ID, None)
        else:
            private[_TRACE_ID] = trace_id
        object.__setattr__(self, "__pydantic_private__", private or None)
        return self

    @field_validator("*", mode="wrap")
    @classmethod
    def _lenient(
        cls, value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> Any:
        try:
            return handler(value)
        except ValidationError as exc:
            log.debug(
                "allegro.lenient_field",
                model=cls.__name__,
                field=info.field_name,
                problem=exc.errors(include_url=False, include_input=False)[:1],
            )
            return None


class IdRef(AllegroModel):
    """``{"id": ...}``; ids are opaque strings (numeric or UUID)."""

    id: str | None = None


class ExternalId(IdRef):
    """The seller's own reference (``external.id``), at most 100 characters."""


# --- categories ---------------------------------------------------------------------------


class CategoryRef(IdRef):
    """``{"id": ...}`` of a category."""


class CategoryOptions(AllegroModel):
    advertisement: bool | None = None
    offers_with_product_publication_enabled: bool | None = None
    product_creation_enabled: bool | None = None
    seller_can_require_purchase_comments: bool | None = None


class Category(AllegroModel):
    """``CategoryDto``. Offers can only be listed in a ``leaf`` category."""

    id: str | None = None
    name: str | None = None
    parent: CategoryRef | None = None
    leaf: bool | None = None
    options: CategoryOptions | None = None


class MatchingCategory(AllegroModel):
    """One suggestion of ``GET /sale/matching-categories``; ``parent`` nests up to the root."""

    id: str | None = None
    name: str | None = None
    parent: MatchingCategory | None = None

    def path(self) -> list[MatchingCategory]:
        """The chain from the root down to this category."""
        chain: list[MatchingCategory] = []
        node: MatchingCategory | None = self
        while node is not None and len(chain) < 50:
            chain.append(node)
            node = node.parent
        return list(reversed(chain))


class DictionaryValue(AllegroModel):
    id: str | None = None
    value: str | None = None
    depends_on_value_ids: list[str] | None = None
    former_data: LenientMap = None


class ParameterOptions(AllegroModel):
    ambiguous_value_id: str | None = None
    depends_on_parameter_id: str | None = None
    describes_product: bool | None = None
    custom_values_enabled: bool | None = None


class ParameterRestrictions(AllegroModel):
    min: Decimal | None = None
    max: Decimal | None = None
    range: bool | None = None
    precision: int | None = None
    min_length: int | None = None
    max_length: int | None = None
    allowed_number_of_values: int | None = None
    multiple_choices: bool | None = None


class CategoryParameter(AllegroModel):
    """One entry of ``GET /sale/categories/{id}/parameters`` (``type`` says which kind).

    ``options.describes_product`` true: a product parameter (goes in
    ``productSet[].product.parameters``); false: an offer parameter (top-level).
    """

    id: str | None = None
    name: str | None = None
    type: str | None = None
    required: bool | None = None
    required_for_product: bool | None = None
    required_if: LenientMap = None
    displayed_if: LenientMap = None
    unit: str | None = None
    options: ParameterOptions | None = None
    dictionary: list[DictionaryValue] | None = None
    restrictions: ParameterRestrictions | None = None
    former_data: LenientMap = None

    @property
    def describes_product(self) -> bool:
        return bool(self.options and self.options.describes_product)


# --- catalogue products -------------------------------------------------------------------


class ProductCategory(AllegroModel):
    id: str | None = None
    path: list[dict[str, Any]] | None = None
    similar: list[dict[str, Any]] | None = None


class ProductParameter(AllegroModel):
    id: str | None = None
    name: str | None = None
    values: list[str] | None = None
    values_ids: list[str] | None = None
    values_labels: list[str] | None = None
    unit: str | None = None
    range_value: LenientMap = None
    options: LenientMap = None

    @field_validator("values", "values_ids", "values_labels", mode="before")
    @classmethod
    def _strings(cls, value: Any) -> Any:
        # A tutorial example sends numbers; the spec says strings.
        if isinstance(value, list):
            return [v if isinstance(v, str) else str(v) for v in value if v is not None]
        return value


class Product(AllegroModel):
    """A catalogue product (``GET /sale/products``, ``GET /sale/products/{id}``)."""

    id: str | None = None
    name: str | None = None
    category: ProductCategory | None = None
    images: list[dict[str, Any]] | None = None
    parameters: list[ProductParameter] | None = None
    publication: LenientMap = None
    description: Any = None

    def gtins(self) -> list[str]:
        """Values of GTIN parameters (``options.isGTIN`` or the EAN parameter 225693)."""
        found: list[str] = []
        for param in self.parameters or []:
            is_gtin = bool(param.options and param.options.get("isGTIN")) or param.id == "225693"
            if is_gtin:
                found.extend(param.values or [])
        return found


class ProductSearchPage(AllegroModel):
    """One page of ``GET /sale/products``; ``next_page.id`` is the cursor for ``page_id``."""

    products: list[Product] | None = None
    categories: LenientMap = None
    filters: list[Any] | None = None
    next_page: IdRef | None = None


# --- offers -------------------------------------------------------------------------------


class Price(AllegroModel):
    """An amount (decimal, compare as numbers) and an ISO currency."""

    amount: Decimal | None = None
    currency: str | None = None


class SellingMode(AllegroModel):
    format: str | None = None
    price: Price | None = None
    starting_price: Price | None = None
    minimal_price: Price | None = None


class Stock(AllegroModel):
    available: int | None = None
    unit: str | None = None
    sold: int | None = None


class Publication(AllegroModel):
    """``status``: INACTIVE, ACTIVATING, ACTIVE or ENDED."""

    status: str | None = None
    ended_by: str | None = None
    duration: str | None = None
    starting_at: str | None = None
    started_at: str | None = None
    ending_at: str | None = None
    ended_at: str | None = None
    republish: bool | None = None
    marketplaces: LenientMap = None


class Validation(AllegroModel):
    errors: list[ErrorItem] | None = None
    warnings: list[ErrorItem] | None = None
    validated_at: str | None = None


class _OfferFields(AllegroModel):
    """What an offer shows both in full (:class:`ProductOffer`) and listed
    (:class:`OfferListing`)."""

    id: str | None = None
    name: str | None = None
    category: CategoryRef | None = None
    selling_mode: SellingMode | None = None
    stock: Stock | None = None
    publication: Publication | None = None
    external: ExternalId | None = None
    delivery: LenientMap = None
    after_sales_services: LenientMap = None
    additional_marketplaces: LenientMap = None

    @property
    def status(self) -> str | None:
        """``publication.status``."""
        return self.publication.status if self.publication else None

    @property
    def external_id(self) -> str | None:
        return self.external.id if self.external else None


class ProductOffer(_OfferFields):
    """``SaleProductOfferResponseV1``: one offer as ``GET /sale/product-offers/{id}`` shows it."""

    product_set: list[dict[str, Any]] | None = None
    parameters: list[ProductParameter] | None = None
    images: list[str] | None = None
    validation: Validation | None = None
    warnings: list[ErrorItem] | None = None
    location: LenientMap = None
    description: Any = None
    language: str | None = None
    created_at: str | None = None
    updated_at: str | None = None

    @property
    def price(self) -> Price | None:
        return self.selling_mode.price if self.selling_mode else None

    @property
    def validation_errors(self) -> list[ErrorItem]:
        return list(self.validation.errors or []) if self.validation else []


class OfferParts(AllegroModel):
    """``GET /sale/product-offers/{id}/parts?include=stock&include=price``."""

    id: str | None = None
    stock: Stock | None = None
    selling_mode: SellingMode | None = None
    additional_marketplaces: LenientMap = None


class OfferListing(_OfferFields):
    """One item of ``GET /sale/offers`` (``OfferListingDto``)."""


class OperationInfo(AllegroModel):
    id: str | None = None
    status: str | None = None
    started_at: str | None = None


class OperationStatus(AllegroModel):
    """The 202 body of ``GET /sale/product-offers/{id}/operations/{operationId}``."""

    offer: IdRef | None = None
    operation: OperationInfo | None = None


# --- batch commands -----------------------------------------------------------------------


class TaskCount(AllegroModel):
    total: int | None = None
    success: int | None = None
    failed: int | None = None


class GeneralReport(AllegroModel):
    """A command's summary. Counters stay 0 until processing starts; done when
    ``completed_at`` is set."""

    id: str | None = None
    created_at: str | None = None
    completed_at: str | None = None
    task_count: TaskCount | None = None

    @property
    def completed(self) -> bool:
        return self.completed_at is not None


class CommandTask(AllegroModel):
    """One offer's result in a command: ``status`` NEW, SUCCESS or FAIL."""

    offer: IdRef | None = None
    field: str | None = None
    status: str | None = None
    message: str | None = None
    errors: list[ErrorItem] | None = None

    @property
    def offer_id(self) -> str | None:
        return self.offer.id if self.offer else None


class TaskReport(AllegroModel):
    tasks: list[CommandTask] | None = None


M = TypeVar("M", bound=AllegroModel)


def parse_model(model: type[M], body: Any, trace_id: str | None = None) -> M:
    """Validate ``body`` into ``model``; a non-object body gives an empty model."""
    parsed = model.model_validate(body) if isinstance(body, Mapping) else model()
    return parsed.with_trace_id(trace_id)


def parse_items(model: type[M], body: Any, key: str, trace_id: str | None = None) -> list[M]:
    """The objects of the list ``body[key]``, each validated into ``model``; anything else
    (no object body, no list, entries that are not objects) is left out."""
    value = body.get(key) if isinstance(body, Mapping) else None
    if not isinstance(value, list):
        return []
    return [parse_model(model, item, trace_id) for item in value if isinstance(item, Mapping)]

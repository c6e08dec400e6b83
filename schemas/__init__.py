"""allegro-feed's public contracts, version 1.

- :mod:`schemas.events`: the upstream product event (``parse_event``);
- :mod:`schemas.status`: the status message published for every event;
- :mod:`schemas.offer`: the subset of Allegro's offer body that allegro-feed sends;
- :mod:`schemas.mapping`: the seller's mapping file (categories, attributes, defaults);
- :mod:`schemas.errors`: field errors with fixes, shared by all of them.

The JSON Schema files in ``schemas/json/`` are generated from these models with
``python -m schemas.generate`` and checked with ``python -m schemas.generate --check``.
"""

from schemas.errors import (
    ErrorCode,
    EventError,
    FieldError,
    FieldHint,
    SchemaError,
    field_errors_from_validation,
    format_field_errors,
)
from schemas.events import (
    DEFAULT_MAX_EVENT_BYTES,
    PRODUCT_EVENT_ADAPTER,
    AllegroOverrides,
    AllegroParameter,
    EventPrice,
    EventStock,
    EventType,
    ProductDeleted,
    ProductEvent,
    ProductPriceChanged,
    ProductStockChanged,
    ProductUpserted,
    gtin_check_digit_ok,
    parse_event,
)
from schemas.mapping import (
    AttributeRule,
    CategoryRules,
    MappingDefaults,
    MappingError,
    MappingFile,
    load_mapping,
    normalize_category_path,
    parse_mapping,
)
from schemas.offer import OfferPatch, OfferRequest, OfferStatus, StockUnit
from schemas.status import PublicationStatus, Status, StatusError, StatusMessage

#: The version of every contract in this package (events, status messages, offer subset).
SCHEMA_VERSION = 1

__all__ = [
    "DEFAULT_MAX_EVENT_BYTES",
    "PRODUCT_EVENT_ADAPTER",
    "SCHEMA_VERSION",
    "AllegroOverrides",
    "AllegroParameter",
    "AttributeRule",
    "CategoryRules",
    "ErrorCode",
    "EventError",
    "EventPrice",
    "EventStock",
    "EventType",
    "FieldError",
    "FieldHint",
    "MappingDefaults",
    "MappingError",
    "MappingFile",
    "OfferPatch",
    "OfferRequest",
    "OfferStatus",
    "ProductDeleted",
    "ProductEvent",
    "ProductPriceChanged",
    "ProductStockChanged",
    "ProductUpserted",
    "PublicationStatus",
    "SchemaError",
    "Status",
    "StatusError",
    "StatusMessage",
    "StockUnit",
    "field_errors_from_validation",
    "format_field_errors",
    "gtin_check_digit_ok",
    "load_mapping",
    "normalize_category_path",
    "parse_event",
    "parse_mapping",
]

"""Shared pieces of the local offer rules: Allegro's error codes, paths, lenient JSON access.

The rule modules (``rules_offer``, ``rules_text``, ``rules_parameters``) read an offer body
that may be malformed in any way (it is plain JSON data), so every access here tolerates a
wrong type and returns an empty value instead of raising; the rule that owns the field
reports the wrong type once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from schemas.status import StatusError
from workers.domain.model import problem

__all__ = [
    "MALFORMED_FIX",
    "Code",
    "as_dict",
    "as_list",
    "error",
    "join",
    "number_text",
    "products",
    "type_name",
    "unreadable",
]

#: The seller's fix for a body whose structure is wrong: only the offer builder can cause it.
MALFORMED_FIX: Final = "The offer body is malformed; report it to the integration team."


class Code:
    """The ``code`` of each local rule's error.

    Where Allegro documents a code for the rule (FACTS.md §4, §6, §8), it is used as is;
    otherwise a ``ConstraintViolationException.<Thing>`` named after the rule.
    """

    # Documented by Allegro.
    MISSING_REQUIRED_PARAMETERS: Final = "ConstraintViolationException.MissingRequiredParameters"
    PARAMETER_ID_NOT_FOUND: Final = "ParameterIdNotFoundException"
    DICTIONARY_ID_NOT_FOUND: Final = "DictionaryParameterIdNotFound"
    DICTIONARY_VALUE_NOT_FOUND: Final = "DictionaryParameterValueNotFound"
    DICTIONARY_IDS_VALUES_MISMATCH: Final = "DictionaryParameterIdsAndValuesNotMatch"
    DICTIONARY_VALUE_NOT_UNIQUE: Final = "DictionaryParameterValueNotUnique"
    PARAMETER_CATEGORY: Final = "ParameterCategoryException"
    DEPENDENCY: Final = "ConstraintViolationException.DependencyValidator"
    GTIN_CHECKSUM: Final = "ConstraintViolationException.WrongChecksumInGtinParameter"
    GTIN_LENGTH: Final = "NotStandardLengthInGtinParameter"
    STRING_LENGTH: Final = "ConstraintViolationException.StringLength"
    MAX_WORD_LENGTH: Final = "ConstraintViolationException.MaxWordLength"
    CHARACTER_NOT_ALLOWED: Final = "CharacterNotAllowed"
    PRICE: Final = "ConstraintViolationException.Price"
    STOCK_NEGATIVE: Final = "AvailableStockMustEqualToZeroOrBeGreaterThanZero"
    STOCK_BELOW_ONE: Final = "AvailableStockMustEqualToOneOrBeGreaterThanOne"
    GALLERY_SIZE: Final = "GallerySizeException"
    UNKNOWN_PROPERTY: Final = "UnknownJSONProperty"
    NOT_READABLE: Final = "JsonMappingException"

    # Ours: rules Allegro applies without a code documented in our sources.
    NOT_ENOUGH_WORDS: Final = "ConstraintViolationException.NotEnoughWords"
    MISSING_NAME: Final = "ConstraintViolationException.MissingName"
    MISSING_CATEGORY: Final = "ConstraintViolationException.MissingCategory"
    CURRENCY: Final = "ConstraintViolationException.Currency"
    SELLING_FORMAT: Final = "ConstraintViolationException.SellingModeFormat"
    STOCK: Final = "ConstraintViolationException.Stock"
    STOCK_UNIT: Final = "ConstraintViolationException.StockUnit"
    IMAGE_URL: Final = "ConstraintViolationException.ImageUrl"
    PUBLICATION_STATUS: Final = "ConstraintViolationException.PublicationStatus"
    HANDLING_TIME: Final = "ConstraintViolationException.HandlingTime"
    PARAMETER_VALUE_MISSING: Final = "ConstraintViolationException.ParameterValueMissing"
    PARAMETER_VALUE_TYPE: Final = "ConstraintViolationException.ParameterValueType"
    PARAMETER_DUPLICATED: Final = "ConstraintViolationException.DuplicatedParameter"
    NOT_A_NUMBER: Final = "ConstraintViolationException.NotANumber"
    NOT_AN_INTEGER: Final = "ConstraintViolationException.NotAnInteger"
    PRECISION: Final = "ConstraintViolationException.Precision"
    OUT_OF_RANGE: Final = "ConstraintViolationException.ValueOutOfRange"
    RANGE_VALUE: Final = "ConstraintViolationException.RangeValue"
    NUMBER_OF_VALUES: Final = "ConstraintViolationException.AllowedNumberOfValues"
    MULTIPLE_CHOICES: Final = "ConstraintViolationException.MultipleChoices"
    CUSTOM_VALUE: Final = "ConstraintViolationException.CustomValueNotAllowed"
    GTIN_FORMAT: Final = "ConstraintViolationException.GtinDigitsOnly"
    DESCRIPTION_SIZE: Final = "ConstraintViolationException.DescriptionTooLarge"
    DESCRIPTION_SECTIONS: Final = "ConstraintViolationException.DescriptionSections"
    DESCRIPTION_ITEMS: Final = "ConstraintViolationException.DescriptionSectionItems"
    DESCRIPTION_ITEM_TYPE: Final = "ConstraintViolationException.DescriptionItemType"
    DESCRIPTION_EMPTY: Final = "ConstraintViolationException.DescriptionEmptyText"
    HTML_TAG: Final = "ConstraintViolationException.DescriptionTagNotAllowed"
    HTML_TAG_CASE: Final = "ConstraintViolationException.DescriptionTagCase"
    HTML_ATTRIBUTE: Final = "ConstraintViolationException.DescriptionAttributeNotAllowed"
    HTML_BARE_TEXT: Final = "ConstraintViolationException.DescriptionBareText"
    HTML_NESTING: Final = "ConstraintViolationException.DescriptionNesting"
    HTML_MALFORMED: Final = "ConstraintViolationException.DescriptionMalformedHtml"


def error(code: str, message: str, path: str | None, fix: str) -> StatusError:
    """An Allegro-shaped error: ``message`` for developers, ``fix`` (the userMessage) for the
    seller, saying what to change in the store."""
    return problem(code, message, path=path, user_message=fix)


def unreadable(path: str, value: Any, expected: str, fix: str = MALFORMED_FIX) -> StatusError:
    """``JsonMappingException`` at ``path``: ``value`` is not of the ``expected`` JSON shape
    (``"a string"``, ``"an object {from, to}"``)."""
    return error(Code.NOT_READABLE, f"{path} must be {expected}, got {type_name(value)}", path, fix)


def join(path: str, key: str | int) -> str:
    """``join("productSet", 0) == "productSet[0]"``; ``join("a", "b") == "a.b"``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else ``{}``."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """``value`` when it is a JSON array, else ``[]``."""
    return value if isinstance(value, list) else []


def products(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ``product`` object of each ``productSet`` element, in order (``{}`` where it is
    missing or malformed), so that ``enumerate`` gives each one's index in the body."""
    return [as_dict(as_dict(element).get("product")) for element in as_list(body.get("productSet"))]


def type_name(value: Any) -> str:
    """The JSON type of ``value``, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def number_text(value: Any) -> str | None:
    """A parameter value as text: strings as they are, JSON numbers as their text (Allegro
    reads the number ``100`` as ``"100"``); None for anything else."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    return None

"""The mapping file, version 1: how a seller's store categories and attributes become Allegro's.

A YAML file written by the seller's integrator and named by ``ALLEGRO_FEED_MAPPING_FILE``.
Three sections, all optional except ``version``::

    version: 1
    defaults:                          # offer defaults used by the offer builder
      condition: "11323_1"             # parameter 11323 "Stan" when the product has none
      handling_time: PT24H
      shipping_rates: default          # name or id of the seller's shipping rate table
    categories:                        # store category (path or id) -> Allegro leaf id
      exact:   {"Elektronika > Telefony > Smartfony": "165", "SKU-CAT-17": "165"}
      prefix:  {"Dom i ogród > Kuchnia": "67490"}
      default: null
    attributes:                        # store attribute -> Allegro parameter
      - attribute: kolor
        parameter: "246561"
        categories: ["165"]
        values: {"grafit": "szary"}
      - attribute: waga_g
        parameter_name: Waga produktu z opakowaniem jednostkowym
        scale: 0.001

Choices of version 1, stated once here:

- **Unknown fields are rejected** (``extra="forbid"``): a misspelt ``prefx`` would otherwise
  leave a whole branch of the store unmapped without a word.
- **YAML is read with YAML 1.2 rules** (:func:`parse_mapping`): ``11323_1`` stays the text
  ``11323_1`` (YAML 1.1 reads it as the integer 113231), ``no`` / ``on`` stay words (YAML
  1.1 reads them as booleans), dates stay text. Numbers written without quotes where an id
  or a label is expected (``165``, ``16: "16 GB"``) are taken as their text.
- **A key given twice in one YAML mapping is an error**, not "the last one wins".
- **Category paths are compared normalised** (:func:`normalize_category_path`): the
  separators ``>``, ``/`` and ``|``, the whitespace around segments and the letter case do
  not matter, so ``"Dom i ogród/Kuchnia"`` and ``"dom i ogród > kuchnia"`` are one key (and
  giving both is an error). A prefix matches whole segments only.

:func:`load_mapping` (a file) and :func:`parse_mapping` (text) raise :class:`MappingError`
listing every problem as ``<dotted.path>: <what> (line N) — <fix>``.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from schemas._yaml import line_of, read_yaml, yaml_problem
from schemas.errors import (
    ErrorCode,
    FieldError,
    FieldHint,
    SchemaError,
    custom_error,
    error_location,
    field_errors_from_validation,
)

__all__ = [
    "CONDITION_PARAMETER_ID",
    "EXAMPLE_MAPPING",
    "MAPPING_VERSION",
    "AttributeRule",
    "CategoryRules",
    "MappingDefaults",
    "MappingError",
    "MappingFile",
    "format_mapping_errors",
    "load_mapping",
    "normalize_category_path",
    "normalize_name",
    "parse_mapping",
]

MAPPING_VERSION = 1
#: Allegro's "Stan" (condition) parameter, an offer parameter of almost every category.
CONDITION_PARAMETER_ID = "11323"
#: Largest mapping file read, in bytes (4 MiB): thousands of rules fit in far less.
MAX_MAPPING_BYTES = 4 * 1024 * 1024

_SEPARATORS = re.compile(r"[>/|]")
_SPACES = re.compile(r"\s+")


def normalize_name(text: str) -> str:
    """Text compared case- and spacing-insensitively: NFC, casefolded, single spaces."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip().casefold()


def normalize_category_path(text: str) -> tuple[str, ...]:
    """A store category path or id as comparable segments.

    ``"Dom i ogród > Kuchnia"``, ``"dom i ogród/kuchnia "`` and ``"Dom i Ogród | Kuchnia"``
    all give ``("dom i ogród", "kuchnia")``; empty segments are dropped.
    """
    segments = (normalize_name(part) for part in _SEPARATORS.split(text))
    return tuple(segment for segment in segments if segment)


# --- scalar types ------------------------------------------------------------------------


def _text_from_scalar(value: Any) -> Any:
    # YAML authors write ids and numeric labels unquoted; take a number as its text.
    if isinstance(value, bool):
        return value  # left for the str type to reject: true/false is never an id
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    return value


_ID_JSON = {"anyOf": [{"type": "string", "pattern": r"^\S+$"}, {"type": "integer"}]}


#: An Allegro id (category, parameter, dictionary value): opaque text, numbers taken as text.
def _no_spaces(value: str) -> str:
    if re.search(r"\s", value):
        raise custom_error(
            f'must be an Allegro id without spaces, got "{value[:40]}"',
            fix='copy the id as Allegro gives it, e.g. "165" or "11323_1"',
        )
    return value


AllegroId = Annotated[
    str,
    StringConstraints(min_length=1),
    AfterValidator(_no_spaces),
    BeforeValidator(_text_from_scalar),
    WithJsonSchema(_ID_JSON),
]
#: A text key or value in the file (a store path, a label); numbers taken as their text.
_Text = Annotated[
    str,
    StringConstraints(min_length=1),
    BeforeValidator(_text_from_scalar),
    WithJsonSchema({"anyOf": [{"type": "string", "minLength": 1}, {"type": "number"}]}),
]
# Spec Delivery.handlingTime's list, and (FACTS.md §6) the same times in hours.
_HANDLING_TIME = (
    r"^(PT0S|PT24H|P(2|3|4|5|7|10|14|21|30|60)D"
    r"|PT(48|72|96|120|168|240|336|504|720|1440)H)$"
)


class _MappingModel(BaseModel):
    """Base of the mapping models: immutable, unknown fields rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class MappingDefaults(_MappingModel):
    """Offer defaults the offer builder uses when the product does not say otherwise."""

    condition: _Text | None = Field(
        None,
        description='value of parameter 11323 "Stan" when the product carries no condition: '
        'a value id ("11323_1" = Nowy) or its label ("Nowy"); null = none',
    )
    handling_time: Annotated[str, StringConstraints(pattern=_HANDLING_TIME)] | None = Field(
        None,
        description="ISO 8601 duration: PT0S, PT24H, P2D, P3D, P4D, P5D, P7D, P10D, P14D, "
        "P21D, P30D, P60D (hour forms such as PT48H are accepted); null = Allegro's 24 h",
    )
    shipping_rates: _Text | None = Field(
        None, description="name or id of the seller's shipping rate table"
    )
    return_policy: _Text | None = Field(None, description="name or id of a return policy")
    implied_warranty: _Text | None = Field(
        None, description="name or id of an implied warranty (rękojmia) policy"
    )
    warranty: _Text | None = Field(None, description="name or id of a warranty policy")

    @field_validator("condition")
    @classmethod
    def _condition_of_11323(cls, value: str | None) -> str | None:
        is_value_id = value is not None and re.fullmatch(r"[0-9]+_[0-9]+", value)
        if value is not None and is_value_id and not value.startswith(CONDITION_PARAMETER_ID + "_"):
            raise custom_error(
                f"{value} is a value id of parameter {value.split('_')[0]}, "
                f"not of {CONDITION_PARAMETER_ID} (Stan)",
                fix='use "11323_1" (Nowy), "11323_2" (Używany) or a label such as "Nowy"',
            )
        return value


class CategoryRules(_MappingModel):
    """Store category -> Allegro leaf category. The first that matches wins: ``exact``
    (store path or id), then ``prefix`` (the longest, on whole segments), then ``default``.
    """

    exact: dict[_Text, AllegroId] = Field(
        default_factory=dict,
        description="store category path or id -> Allegro leaf category id",
    )
    prefix: dict[_Text, AllegroId] = Field(
        default_factory=dict,
        description="store category path prefix -> Allegro leaf category id; the longest "
        "matching prefix wins, compared on whole path segments",
    )
    default: AllegroId | None = Field(
        None, description="Allegro leaf category id for everything else; null = reject those"
    )

    @field_validator("exact", "prefix")
    @classmethod
    def _keys_distinct_once_normalised(cls, value: dict[str, str]) -> dict[str, str]:
        seen: dict[tuple[str, ...], str] = {}
        for key in value:
            normal = normalize_category_path(key)
            if not normal:
                raise custom_error(
                    "has no path segment (only separators or spaces)",
                    fix="write the store's category path or id",
                    field=key,
                )
            if normal in seen:
                raise custom_error(
                    f'is the same category as "{seen[normal]}" once separators, spaces '
                    "and case are normalised",
                    fix="keep one of the two keys",
                    field=key,
                )
            seen[normal] = key
        return value

    # Keys normalised once per file, not once per event: a store's mapping may hold
    # thousands of categories, and categorize runs for every product.
    _exact: dict[tuple[str, ...], str] = PrivateAttr(default_factory=dict)
    _prefix: dict[tuple[str, ...], str] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: Any, /) -> None:
        self._exact = {normalize_category_path(k): v for k, v in self.exact.items()}
        self._prefix = {normalize_category_path(k): v for k, v in self.prefix.items()}

    def match(self, store_category: str) -> tuple[str, str] | None:
        """``(Allegro category id, "exact" | "prefix" | "default")`` for the store category
        path or id, or None when no rule matches and there is no default."""
        path = normalize_category_path(store_category)
        if path:
            if path in self._exact:
                return self._exact[path], "exact"
            # The longest prefix on whole segments (keys are distinct once normalised).
            for length in range(len(path), 0, -1):
                if path[:length] in self._prefix:
                    return self._prefix[path[:length]], "prefix"
        return (self.default, "default") if self.default is not None else None


class AttributeRule(_MappingModel):
    """One store attribute -> one Allegro parameter.

    Several rules may name the same attribute (to fill several parameters, or to differ by
    category). When two rules that apply fill the same parameter, the one restricted by
    ``categories`` wins over the general one; among equals, the first in the file.
    """

    attribute: _Text = Field(description="store attribute name (compared case-insensitively)")
    parameter: AllegroId | None = Field(
        None, description="Allegro parameter id; give this or parameter_name"
    )
    parameter_name: _Text | None = Field(
        None,
        description="Allegro parameter name (compared case- and accent-insensitively), "
        "instead of parameter",
    )
    categories: list[AllegroId] | None = Field(
        None,
        min_length=1,
        description="only in these Allegro categories; null = in every category",
    )
    values: dict[_Text, _Text] = Field(
        default_factory=dict,
        description="store value -> Allegro dictionary label or value id (or any text for "
        "non-dictionary parameters); store values compared case-insensitively",
    )
    scale: float | None = Field(
        None,
        gt=0,
        allow_inf_nan=False,
        description="multiply numeric values by this (e.g. 0.001 for g -> kg); the result is "
        "taken to be in the parameter's unit",
    )
    unit: _Text | None = Field(
        None,
        description="the unit of the store's numbers when they carry none (e.g. g, mm, ml); "
        "converted to the parameter's unit. Ignored when scale is given",
    )

    @model_validator(mode="after")
    def _one_parameter(self) -> AttributeRule:
        if (self.parameter is None) == (self.parameter_name is None):
            raise custom_error(
                "needs exactly one of parameter and parameter_name",
                fix='give the Allegro parameter id (parameter: "246561") or its name',
                field="parameter",
                code=ErrorCode.MISSING_FIELD if self.parameter is None else None,
            )
        return self

    @field_validator("values")
    @classmethod
    def _values_distinct_once_normalised(cls, value: dict[str, str]) -> dict[str, str]:
        seen: dict[str, str] = {}
        for key in value:
            normal = normalize_name(key)
            if normal in seen:
                raise custom_error(
                    f'is the same store value as "{seen[normal]}" once case and spaces are '
                    "normalised",
                    fix="keep one of the two",
                    field=key,
                )
            seen[normal] = key
        return value

    # Normalised once per file (values keys are distinct once normalised).
    _attribute_key: str = PrivateAttr(default="")
    _values: dict[str, str] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: Any, /) -> None:
        self._attribute_key = normalize_name(self.attribute)
        self._values = {normalize_name(k): v for k, v in self.values.items()}

    @property
    def attribute_key(self) -> str:
        """``attribute`` as :func:`normalize_name` gives it (what store names match)."""
        return self._attribute_key

    def applies_to(self, category_id: str) -> bool:
        """True when the rule is used in Allegro category ``category_id``."""
        return self.categories is None or category_id in self.categories

    def translate(self, value: str) -> str | None:
        """The Allegro value for the store value ``value`` from ``values``, or None."""
        return self._values.get(normalize_name(value))


class MappingFile(_MappingModel):
    """allegro-feed mapping file, version 1: store categories and attributes -> Allegro.

    Read with :func:`load_mapping`. ``categories`` maps the store's category (path or id)
    to an Allegro leaf category; ``attributes`` maps store attributes to Allegro category
    parameters; ``defaults`` are offer settings the offer builder uses.
    """

    version: Literal[1] = Field(description="the format version: 1")
    defaults: MappingDefaults = Field(default_factory=MappingDefaults)
    categories: CategoryRules = Field(default_factory=CategoryRules)
    attributes: list[AttributeRule] = Field(
        default_factory=list, description="store attribute -> Allegro parameter rules"
    )

    @model_validator(mode="after")
    def _no_repeated_rules(self) -> MappingFile:
        seen: dict[tuple[str, str, tuple[str, ...] | None], int] = {}
        for index, rule in enumerate(self.attributes):
            target = rule.parameter or "name:" + normalize_name(rule.parameter_name or "")
            scope = tuple(sorted(rule.categories)) if rule.categories is not None else None
            key = (normalize_name(rule.attribute), target, scope)
            if key in seen:
                raise custom_error(
                    f"repeats attributes[{seen[key]}] (same attribute, parameter and categories)",
                    fix="merge the two rules into one",
                    field=f"attributes[{index}]",
                )
            seen[key] = index
        return self

    def rules_for(self, category_id: str) -> list[AttributeRule]:
        """The attribute rules that apply in ``category_id``, category-specific ones first
        (then in file order)."""
        specific = [r for r in self.attributes if r.categories is not None]
        general = [r for r in self.attributes if r.categories is None]
        return [r for r in (*specific, *general) if r.applies_to(category_id)]


# --- errors -------------------------------------------------------------------------------


def format_mapping_errors(errors: list[FieldError]) -> str:
    """One line per problem: ``<dotted.path>: <what> — <fix>``."""
    lines = []
    for error in errors:
        text = f"{error.field}: {error.message}" if error.field else error.message
        lines.append(f"{text} — {error.fix}" if error.fix else text)
    return "\n".join(lines)


class MappingError(SchemaError):
    """A mapping file that cannot be used; ``field_errors`` lists every problem.

    ``source`` is the file as it was named (or ``<string>``). ``str()`` gives a header line
    and one line per problem.
    """

    def __init__(self, field_errors: list[FieldError], *, source: str = "<string>") -> None:
        super().__init__(field_errors)
        self.source = source
        count = len(self.field_errors)
        header = f"mapping file {source}: {count} problem{'s' if count != 1 else ''}"
        self.args = (header + "\n" + format_mapping_errors(self.field_errors),)


#: Field-specific wording of errors (see :class:`schemas.errors.FieldHint`).
MAPPING_HINTS: Mapping[str, FieldHint] = {
    "version": FieldHint(expect="1", fix="write version: 1 at the top of the file"),
    "defaults.handling_time": FieldHint(
        expect="an ISO 8601 duration such as PT24H, P2D or P3D",
        fix="use one of PT0S, PT24H, P2D, P3D, P4D, P5D, P7D, P10D, P14D, P21D, P30D, P60D",
    ),
    "attributes[].categories": FieldHint(
        why="(an empty list never applies; leave categories out to apply in every category)"
    ),
    "attributes[].scale": FieldHint(
        expect="a positive number such as 0.001", fix="write the factor, e.g. 0.001 for g -> kg"
    ),
}


def parse_mapping(text: str | bytes, *, source: str = "<string>") -> MappingFile:
    """Parse mapping-file text (YAML 1.2 rules, see the module docstring).

    Raises :class:`MappingError` listing every problem: a YAML syntax error (with line and
    column), a key given twice, a document that is not a mapping, and each invalid field
    with its dotted path, line and fix.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MappingError(
                [FieldError("", f"is not UTF-8 (byte {exc.start})", "save the file as UTF-8")],
                source=source,
            ) from None
    try:
        node, data = read_yaml(text)
    except yaml.YAMLError as exc:
        raise MappingError([yaml_problem(exc)], source=source) from None
    if not isinstance(data, dict):
        found = "empty" if data is None else f"a {type(data).__name__}"
        raise MappingError(
            [
                FieldError(
                    "",
                    f"must be a YAML mapping with version, categories, attributes; it is {found}",
                    "start from the example in the README (version: 1, then the sections)",
                )
            ],
            source=source,
        )
    try:
        return MappingFile.model_validate(data)
    except ValidationError as exc:
        errors = field_errors_from_validation(exc, model=MappingFile, hints=MAPPING_HINTS)
        located = []
        for error, detail in zip(errors, exc.errors(include_url=False), strict=True):
            line = line_of(node, tuple(error_location(detail)))
            message = f"{error.message} (line {line})" if line is not None else error.message
            located.append(FieldError(error.field, message, error.fix, error.code))
        raise MappingError(located, source=source) from None


def load_mapping(path: str | Path) -> MappingFile:
    """Read and check the mapping file at ``path``.

    Raises :class:`MappingError` when the file cannot be read (missing, a directory, too
    large, not UTF-8) or is invalid (see :func:`parse_mapping`).
    """
    shown = str(path)
    file = Path(path)
    try:
        size = file.stat().st_size
        if size > MAX_MAPPING_BYTES:
            raise MappingError(
                [
                    FieldError(
                        "",
                        f"is {size} bytes, more than the limit of {MAX_MAPPING_BYTES}",
                        "use prefix rules instead of listing every category",
                    )
                ],
                source=shown,
            )
        raw = file.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise MappingError(
            [
                FieldError(
                    "",
                    f"cannot be read: {reason}",
                    "check ALLEGRO_FEED_MAPPING_FILE and the file's permissions",
                )
            ],
            source=shown,
        ) from None
    return parse_mapping(raw, source=shown)


EXAMPLE_MAPPING: dict[str, Any] = {
    "version": 1,
    "defaults": {"condition": "11323_1", "handling_time": "PT24H", "shipping_rates": "default"},
    "categories": {
        "exact": {"Elektronika > Telefony > Smartfony": "165", "SKU-CAT-17": "165"},
        "prefix": {"Dom i ogród > Kuchnia": "67490"},
        "default": None,
    },
    "attributes": [
        {
            "attribute": "kolor",
            "parameter": "246561",
            "categories": ["165"],
            "values": {"grafit": "szary"},
        },
        {"attribute": "waga_g", "parameter": "17448", "scale": 0.001},
    ],
}
"""A valid mapping (also the ``examples`` of the JSON Schema)."""

"""Rules on one parameter's values (FACTS.md §4).

:class:`ValueChecks` checks the values of one body parameter against its category parameter
(:class:`~workers.domain.rules_spec.CategoryParameter`, re-exported here):

- dictionary: every value id exists; values given by label match a label; no value given
  twice (``DictionaryParameterValueNotUnique``); when both are sent, one label per id, each
  the label of its id (``DictionaryParameterIdsAndValuesNotMatch``); free text only with
  the ``ambiguousValueId`` entry when ``customValuesEnabled``; one value unless ``multipleChoices``;
- integer and float: numbers with a dot as decimal separator, integers whole, floats within
  ``precision`` decimals, within ``min``/``max``; a range parameter takes ``rangeValue
  {from, to}`` with ``from <= to``, the others one value in ``values``;
- string: ``minLength``/``maxLength`` per value, at most ``allowedNumberOfValues`` values;
  a GTIN parameter holds digits only, of a standard length, with a correct check digit.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any, Final

from schemas.events import gtin_check_digit_ok as gtin_ok
from schemas.status import StatusError
from workers.domain.rules_common import Code, error
from workers.domain.rules_spec import GTIN_PARAMETER_ID, CategoryParameter, ParameterEntry, norm

__all__ = [
    "GTIN_PARAMETER_ID",
    "CategoryParameter",
    "ParameterEntry",
    "ValueChecks",
    "gtin_ok",
    "norm",
]

#: Lengths Allegro accepts for a GTIN parameter value (FACTS.md §8). 10 digits (an ISBN-10)
#: has no GS1 check digit, so its check is left to Allegro.
_GTIN_LENGTHS: Final = (8, 10, 12, 13, 14)
_NUMBER: Final = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


class ValueChecks:
    """Collects errors; checks one parameter's values against its category parameter."""

    def __init__(self) -> None:
        self.errors: list[StatusError] = []

    def add(self, code: str, message: str, path: str | None, fix: str) -> None:
        self.errors.append(error(code, message, path, fix))

    def check_values(self, entry: ParameterEntry) -> None:
        """Every value rule of ``entry``'s type; fills ``entry.chosen`` (dictionary ids)."""
        spec = entry.spec
        if spec.type == "dictionary":
            self.check_dictionary(entry)
        elif spec.type in ("integer", "float"):
            self.check_numeric(entry)
        elif spec.type == "string":
            self.check_string(entry)

    def check_dictionary(self, entry: ParameterEntry) -> None:
        spec, path = entry.spec, entry.path
        if entry.range_value is not None:
            self.add(
                Code.PARAMETER_VALUE_TYPE,
                f"{path}: {spec.label} takes dictionary values, not rangeValue",
                f"{path}.rangeValue",
                f"Parameter {spec.label} takes one of Allegro's listed values.",
            )
        for index, value_id in enumerate(entry.value_ids):
            if spec.value(value_id) is not None:
                entry.chosen.add(value_id)
                continue
            renamed = spec.renamed_value(value_id)
            hint = f' (it is now {renamed.get("id")} "{renamed.get("value")}")' if renamed else ""
            self.add(
                Code.DICTIONARY_ID_NOT_FOUND,
                f"{path}.valuesIds[{index}]: {value_id} is not a value of {spec.label}{hint}",
                f"{path}.valuesIds[{index}]",
                f"{value_id} is not one of the values of parameter {spec.label}{hint}: fix the "
                "value in the mapping file or allegro.parameters.",
            )
        if self.repeated(entry):
            return
        ambiguous = spec.ambiguous_value_id
        custom = ambiguous is not None and ambiguous in entry.value_ids
        if entry.value_ids and entry.values:
            labels = {norm(spec.value_label(v)) for v in entry.value_ids}
            listed = {norm(spec.value_label(v)) for v in entry.value_ids if v != ambiguous}
            given = {norm(v) for v in entry.values}
            if custom and not spec.custom_values_enabled and not given <= labels:
                self.add(
                    Code.CUSTOM_VALUE,
                    f"{path}: {spec.label} does not take custom values",
                    path,
                    f"Parameter {spec.label} takes only Allegro's listed values: choose one "
                    "of them in the store (or map the store value in the mapping file).",
                )
            elif len(entry.values) != len(entry.value_ids) or (
                len(entry.chosen) == len(entry.value_ids) and not listed <= given
            ):
                # Allegro pairs them: one label per id, the "other" id's being the custom
                # text (spec: "number of requested values and ids don't match").
                self.add(
                    Code.DICTIONARY_IDS_VALUES_MISMATCH,
                    f"{path}: values {entry.values} do not match valuesIds "
                    f"{entry.value_ids} of {spec.label} (one label per id)",
                    path,
                    f"Parameter {spec.label} is given values that do not match its value ids: "
                    'send one label per id (the custom text for the id of the "other" '
                    "entry), or only valuesIds, in the mapping file or allegro.parameters.",
                )
        elif entry.values:
            self.resolve_labels(entry)
        count = len(entry.value_ids) or len(entry.values)
        if count > 1 and not spec.restriction("multipleChoices", "multiple_choices"):
            self.add(
                Code.MULTIPLE_CHOICES,
                f"{path}: {spec.label} takes one value, got {count}",
                path,
                f"Parameter {spec.label} takes a single value on Allegro: keep one value in "
                "the store.",
            )

    def repeated(self, entry: ParameterEntry) -> bool:
        """Add ``DictionaryParameterValueNotUnique`` for each id or label given twice (labels
        compared as Allegro reads them: case and spacing aside); True when any was."""
        spec, found = entry.spec, False
        for key, given in (("valuesIds", entry.value_ids), ("values", entry.values)):
            seen: set[str] = set()
            for index, value in enumerate(given):
                folded = value if key == "valuesIds" else norm(value)
                if folded not in seen:
                    seen.add(folded)
                    continue
                found = True
                self.add(
                    Code.DICTIONARY_VALUE_NOT_UNIQUE,
                    f'{entry.path}.{key}[{index}]: "{value}" repeats a value of {spec.label}',
                    f"{entry.path}.{key}[{index}]",
                    f'Parameter {spec.label} is given "{value}" twice: give each value once '
                    "(check the store's values and the mapping file's translations).",
                )
        return found

    def resolve_labels(self, entry: ParameterEntry) -> None:
        spec = entry.spec
        for index, label in enumerate(entry.values):
            value_id = spec.id_for_label(label)
            if value_id is not None and value_id in entry.chosen:
                self.add(
                    Code.DICTIONARY_VALUE_NOT_UNIQUE,
                    f'{entry.path}.values[{index}]: "{label}" names {spec.label} value '
                    f"{value_id} again",
                    f"{entry.path}.values[{index}]",
                    f'Parameter {spec.label} is given "{label}", a value it has already: give '
                    "each value once.",
                )
            if value_id is not None:
                entry.chosen.add(value_id)
                continue
            renamed = spec.renamed_value(label)
            if renamed:
                hint = f' It is now called "{renamed.get("value")}".'
            elif spec.custom_values_enabled and spec.ambiguous_value_id:
                hint = (
                    f" A custom text goes with valuesIds [{spec.ambiguous_value_id}] "
                    f'("{spec.value_label(spec.ambiguous_value_id)}").'
                )
            else:
                shown = ", ".join(f'"{v.get("value")}"' for v in spec.dictionary[:10])
                more = ", ..." if len(spec.dictionary) > 10 else ""
                hint = f" Allowed: {shown}{more}." if shown else ""
            self.add(
                Code.DICTIONARY_VALUE_NOT_FOUND,
                f'{entry.path}.values[{index}]: "{label}" is not a value of {spec.label}',
                f"{entry.path}.values[{index}]",
                f'"{label}" is not one of Allegro\'s values of parameter {spec.label}.{hint} '
                "Change it in the store or map it in the mapping file's values.",
            )

    def check_numeric(self, entry: ParameterEntry) -> None:
        spec, path = entry.spec, entry.path
        if entry.value_ids:
            self.add(
                Code.PARAMETER_VALUE_TYPE,
                f"{path}: {spec.label} is a number; send values, not valuesIds",
                f"{path}.valuesIds",
                f"Parameter {spec.label} takes a number.",
            )
        if spec.restriction("range", "range"):
            if entry.range_value is None:
                self.add(
                    Code.RANGE_VALUE,
                    f"{path}: {spec.label} is a range parameter; send rangeValue {{from, to}}",
                    path,
                    f"Parameter {spec.label} takes a range (from-to); give both ends in the store.",
                )
                return
            if entry.values:
                self.add(
                    Code.PARAMETER_VALUE_TYPE,
                    f"{path}: {spec.label} takes rangeValue only, not values",
                    f"{path}.values",
                    f"Parameter {spec.label} takes a range (from-to) only.",
                )
            low = self.number(entry.range_value["from"], spec, f"{path}.rangeValue.from")
            high = self.number(entry.range_value["to"], spec, f"{path}.rangeValue.to")
            if low is not None and high is not None and low > high:
                self.add(
                    Code.RANGE_VALUE,
                    f"{path}.rangeValue: from {low} is greater than to {high}",
                    f"{path}.rangeValue",
                    f"The range of parameter {spec.label} is reversed ({low}-{high}): swap "
                    "the ends in the store.",
                )
            return
        if entry.range_value is not None:
            self.add(
                Code.RANGE_VALUE,
                f"{path}: {spec.label} is not a range parameter; send values, not rangeValue",
                f"{path}.rangeValue",
                f"Parameter {spec.label} takes a single number, not a range.",
            )
        if len(entry.values) > 1:
            self.add(
                Code.NUMBER_OF_VALUES,
                f"{path}: {spec.label} takes one number, got {len(entry.values)}",
                f"{path}.values",
                f"Parameter {spec.label} takes a single number: keep one in the store.",
            )
        for index, text in enumerate(entry.values):
            self.number(text, spec, f"{path}.values[{index}]")

    def number(self, text: str | None, spec: CategoryParameter, path: str) -> Decimal | None:
        """``text`` as a number when it satisfies the parameter's restrictions."""
        if text is None or not _NUMBER.fullmatch(text.strip()):
            hint = " (use a dot as the decimal separator)" if text and "," in text else ""
            self.add(
                Code.NOT_A_NUMBER,
                f"{path}: {json.dumps(text)} is not a number{hint}",
                path,
                f"Parameter {spec.label} takes a number{hint}: fix the value in the store.",
            )
            return None
        value = Decimal(text.strip())
        decimals = len(text.strip().partition(".")[2])
        if spec.type == "integer" and decimals:
            self.add(
                Code.NOT_AN_INTEGER,
                f"{path}: {text} is not a whole number",
                path,
                f"Parameter {spec.label} takes a whole number: fix the value in the store.",
            )
            return None
        precision = spec.restriction("precision", "precision")
        if isinstance(precision, int) and decimals > precision:
            self.add(
                Code.PRECISION,
                f"{path}: {text} has {decimals} decimals; {spec.label} takes {precision}",
                path,
                f"Round parameter {spec.label} to {precision} decimal places in the store "
                f"(got {text}).",
            )
        low, high = _limit(spec.restriction("min", "min")), _limit(spec.restriction("max", "max"))
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f"{low if low is not None else '...'}-{high if high is not None else '...'}"
            if spec.unit:
                bounds += f" {spec.unit}"
            self.add(
                Code.OUT_OF_RANGE,
                f"{path}: {text} is outside {bounds} for {spec.label}",
                path,
                f"Parameter {spec.label} takes values from {bounds} (got {text}): fix the "
                "value or its unit in the store or the mapping file's scale.",
            )
        return value

    def check_string(self, entry: ParameterEntry) -> None:
        spec, path = entry.spec, entry.path
        if entry.value_ids or entry.range_value is not None:
            self.add(
                Code.PARAMETER_VALUE_TYPE,
                f"{path}: {spec.label} is a text parameter; send values only",
                path,
                f"Parameter {spec.label} takes text.",
            )
        allowed = spec.restriction("allowedNumberOfValues", "allowed_number_of_values")
        if isinstance(allowed, int) and 0 < allowed < len(entry.values):
            self.add(
                Code.NUMBER_OF_VALUES,
                f"{path}: {spec.label} takes at most {allowed} value(s), got {len(entry.values)}",
                f"{path}.values",
                f"Parameter {spec.label} takes at most {allowed} value(s): remove some in the "
                "store.",
            )
        low = spec.restriction("minLength", "min_length")
        high = spec.restriction("maxLength", "max_length")
        bounds = f"{low if isinstance(low, int) else 0}-{high if isinstance(high, int) else '...'}"
        for index, text in enumerate(entry.values):
            where = f"{path}.values[{index}]"
            if (isinstance(low, int) and len(text) < low) or (
                isinstance(high, int) and len(text) > high
            ):
                self.add(
                    Code.STRING_LENGTH,
                    f"{where}: {len(text)} characters; {spec.label} takes {bounds}",
                    where,
                    f"Parameter {spec.label} takes {bounds} characters; "
                    f'"{text[:40]}" has {len(text)}: fix it in the store.',
                )
            if spec.is_gtin:
                self.check_gtin(text, spec, where)

    def check_gtin(self, text: str, spec: CategoryParameter, path: str) -> None:
        fix = f"Correct the EAN/GTIN ({text[:20]}) in the store: copy it from the packaging."
        if not (text.isascii() and text.isdigit()):
            self.add(Code.GTIN_FORMAT, f"{path}: {spec.label} must be digits only", path, fix)
        elif len(text) not in _GTIN_LENGTHS:
            self.add(
                Code.GTIN_LENGTH,
                f"{path}: a GTIN has 8, 10, 12, 13 or 14 digits, got {len(text)}",
                path,
                fix,
            )
        elif len(text) != 10 and not gtin_ok(text):
            self.add(Code.GTIN_CHECKSUM, f"{path}: {text} has a wrong check digit", path, fix)


def _limit(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None

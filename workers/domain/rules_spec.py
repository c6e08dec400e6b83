"""The category parameter as the local rules read it (FACTS.md §4), and one body
parameter matched to it.

:class:`CategoryParameter` reads one entry of ``GET /sale/categories/{id}/parameters``
leniently (camelCase JSON; snake_case keys are read too; a missing or null restriction is no
restriction); :class:`ParameterEntry` is a parameter of the offer body with its values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Final

from workers.domain.rules_common import as_dict, as_list, number_text

__all__ = ["GTIN_PARAMETER_ID", "CategoryParameter", "ParameterEntry", "norm"]

#: Allegro's "EAN (GTIN)" parameter.
GTIN_PARAMETER_ID: Final = "225693"


def norm(text: str) -> str:
    """Text compared case- and spacing-insensitively."""
    return " ".join(text.split()).casefold()


def _pick(raw: Mapping[str, Any], camel: str, snake: str) -> Any:
    return raw[camel] if camel in raw else raw.get(snake)


@dataclass(frozen=True)
class CategoryParameter:
    """One category parameter, read leniently from Allegro's JSON."""

    id: str
    name: str
    type: str
    required: bool
    required_for_product: bool
    required_if: dict[str, Any] | None
    describes_product: bool
    ambiguous_value_id: str | None
    custom_values_enabled: bool
    depends_on_parameter_id: str | None
    restrictions: dict[str, Any]
    dictionary: tuple[dict[str, Any], ...]
    unit: str | None = None

    @classmethod
    def read(cls, raw: Any) -> CategoryParameter | None:
        """The parameter in ``raw``, or None when it has no id."""
        data = as_dict(raw)
        ident = number_text(data.get("id"))
        if not ident:
            return None
        options = as_dict(data.get("options"))
        required_if = _pick(data, "requiredIf", "required_if")
        ambiguous = _pick(options, "ambiguousValueId", "ambiguous_value_id")
        depends_on = _pick(options, "dependsOnParameterId", "depends_on_parameter_id")
        return cls(
            id=ident,
            name=str(data.get("name") or ident),
            type=str(data.get("type") or ""),
            required=bool(data.get("required")),
            required_for_product=bool(_pick(data, "requiredForProduct", "required_for_product")),
            required_if=required_if if isinstance(required_if, dict) else None,
            describes_product=bool(_pick(options, "describesProduct", "describes_product")),
            ambiguous_value_id=number_text(ambiguous) if ambiguous is not None else None,
            custom_values_enabled=bool(
                _pick(options, "customValuesEnabled", "custom_values_enabled")
            ),
            depends_on_parameter_id=number_text(depends_on) if depends_on is not None else None,
            restrictions=as_dict(data.get("restrictions")),
            dictionary=tuple(as_dict(v) for v in as_list(data.get("dictionary"))),
            unit=data["unit"] if isinstance(data.get("unit"), str) else None,
        )

    @property
    def label(self) -> str:
        return f'"{self.name}" ({self.id})'

    @property
    def is_gtin(self) -> bool:
        words = self.name.casefold().replace("(", " ").replace(")", " ").split()
        return self.id == GTIN_PARAMETER_ID or "gtin" in words or "ean" in words

    def restriction(self, camel: str, snake: str) -> Any:
        return _pick(self.restrictions, camel, snake)

    # The dictionary indexed on first use (the parameter is read once per cached category,
    # and a brand dictionary may hold thousands of entries). First entry wins, as a scan
    # in dictionary order would.
    @cached_property
    def _by_value_id(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for entry in self.dictionary:
            value_id = number_text(entry.get("id"))
            if value_id is not None:
                found.setdefault(value_id, entry)
        return found

    @cached_property
    def _ids_by_label(self) -> dict[str, str | None]:
        found: dict[str, str | None] = {}
        for entry in self.dictionary:
            if isinstance(entry.get("value"), str):
                found.setdefault(norm(entry["value"]), number_text(entry.get("id")))
        return found

    @cached_property
    def _renamed(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for entry in self.dictionary:
            former = as_dict(_pick(entry, "formerData", "former_data"))
            for old in (*as_list(former.get("ids")), *as_list(former.get("values"))):
                if isinstance(old, str):
                    found.setdefault(norm(old), entry)
        return found

    def value(self, value_id: str) -> dict[str, Any] | None:
        return self._by_value_id.get(value_id)

    def value_label(self, value_id: str) -> str:
        entry = self.value(value_id)
        return str(entry.get("value")) if entry and entry.get("value") is not None else value_id

    def id_for_label(self, label: str) -> str | None:
        return self._ids_by_label.get(norm(label))

    def depends_on_value_ids(self, value_id: str) -> set[str]:
        """The other parameter's value ids that dictionary value ``value_id`` goes with
        (empty: any)."""
        entry = as_dict(self.value(value_id))
        allowed = as_list(_pick(entry, "dependsOnValueIds", "depends_on_value_ids"))
        return {a for a in map(number_text, allowed) if a}

    def renamed_value(self, id_or_label: str) -> dict[str, Any] | None:
        """The current dictionary entry that once had this id or label (``formerData``)."""
        return self._renamed.get(norm(id_or_label))


@dataclass
class ParameterEntry:
    """One parameter of the body, matched to its category parameter."""

    path: str
    in_product: bool
    spec: CategoryParameter
    values: list[str]
    value_ids: list[str]
    range_value: dict[str, str | None] | None
    chosen: set[str] = field(default_factory=set)  # dictionary value ids, by id or label

    @property
    def filled(self) -> bool:
        return bool(self.values or self.value_ids or self.range_value is not None)

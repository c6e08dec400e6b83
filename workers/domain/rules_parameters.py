"""Category-parameter rules (FACTS.md §4): the offer's and the product's ``parameters``.

The category's parameters come as Allegro returns them from
``GET /sale/categories/{id}/parameters`` (camelCase JSON; snake_case keys are read too),
read leniently: a field that is missing or null counts as "no restriction".

Rules across a body's parameters (the values of each one are checked by
:class:`~workers.domain.rules_values.ValueChecks`):

- every parameter names a parameter of the category (by ``id`` or by ``name``), once;
- it sits where ``options.describesProduct`` puts it: product parameters in
  ``productSet[].product.parameters``, offer parameters in the top-level ``parameters``;
- required parameters are present: ``required`` and, for a new product (not linked to a
  catalogue product), ``requiredForProduct``. When ``requiredIf`` is given, the flag
  applies only while all its conditions hold (``parametersWithValue``: the other parameter
  has one of the value ids; ``parametersWithoutValue``: it has no value at all), as the
  spec describes it ("restricts the circumstances when this parameter is required"). A
  catalogue-linked product brings its own product parameters, so none is required here;
- each chosen dictionary value's ``dependsOnValueIds`` (when not empty) contain a value
  chosen for the parameter named by ``options.dependsOnParameterId``.

With a catalogue product, the catalogue holds product parameters the body does not carry;
a condition or dependency on one of those is left to Allegro rather than guessed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from schemas.status import StatusError
from workers.domain.model import derived
from workers.domain.rules_common import Code, as_dict, as_list, number_text, products, unreadable
from workers.domain.rules_values import CategoryParameter, ParameterEntry, ValueChecks, norm

__all__ = ["check_parameters"]

_ADD_IN_STORE: Final = (
    "Add them to the product in the store (as attributes mapped in the mapping file, or in "
    "allegro.parameters)."
)


def _specs(
    parameters: Sequence[Mapping[str, Any]],
) -> tuple[dict[str, CategoryParameter], dict[str, CategoryParameter]]:
    """The category's parameters read, by id (the first of each id) and by name."""
    specs: dict[str, CategoryParameter] = {}
    for raw in parameters:
        spec = CategoryParameter.read(raw)
        if spec is not None:
            specs.setdefault(spec.id, spec)
    return specs, {norm(s.name): s for s in specs.values()}


class _Check(ValueChecks):
    """Collects the errors of one body's parameters."""

    def __init__(
        self, body: Mapping[str, Any], parameters: list[dict[str, Any]], linked: bool
    ) -> None:
        super().__init__()
        self.linked = linked
        # Shared by every check of the same CategoryParameters: read only.
        self.specs, self.by_name = derived(parameters, "rules_parameters.specs", _specs)
        self.category = _category_id(body)
        self.entries: list[ParameterEntry] = []
        self.product_path = "productSet[0].product.parameters"

    # --- reading ------------------------------------------------------------------------------

    def read_list(self, raw_list: Any, base: str, in_product: bool) -> None:
        if raw_list is None:
            return
        if not isinstance(raw_list, list):
            self.errors.append(unreadable(base, raw_list, "an array", "Send parameters as a list."))
            return
        for index, raw in enumerate(raw_list):
            entry = self.read_entry(raw, f"{base}[{index}]", in_product)
            if entry is not None:
                self.check_entry(entry)

    def _texts(self, raw: Mapping[str, Any], key: str, path: str) -> list[str] | None:
        value = raw.get(key)
        if value is None:
            return []
        texts = [number_text(v) for v in as_list(value)]
        if not isinstance(value, list) or any(t is None for t in texts):
            self.add(
                Code.NOT_READABLE,
                f"{path}.{key} must be an array of strings",
                f"{path}.{key}",
                "Send parameter values as text.",
            )
            return None
        return [t for t in texts if t is not None]

    def read_entry(self, raw: Any, path: str, in_product: bool) -> ParameterEntry | None:
        if not isinstance(raw, dict):
            self.errors.append(
                unreadable(
                    path,
                    raw,
                    "an object",
                    "Send each parameter as {id, values | valuesIds | rangeValue}.",
                )
            )
            return None
        spec = self.find_spec(raw, path)
        values = self._texts(raw, "values", path)
        value_ids = self._texts(raw, "valuesIds", path)
        range_raw = raw.get("rangeValue")
        range_value: dict[str, str | None] | None = None
        if range_raw is not None:
            if isinstance(range_raw, dict):
                range_value = {
                    "from": number_text(range_raw.get("from")),
                    "to": number_text(range_raw.get("to")),
                }
            else:
                self.add(
                    Code.NOT_READABLE,
                    f"{path}.rangeValue must be an object {{from, to}}",
                    f"{path}.rangeValue",
                    "Send a range as {from, to}.",
                )
        if spec is None or values is None or value_ids is None:
            return None
        return ParameterEntry(path, in_product, spec, values, value_ids, range_value)

    def find_spec(self, raw: Mapping[str, Any], path: str) -> CategoryParameter | None:
        ident = number_text(raw.get("id")) if raw.get("id") is not None else None
        name = raw.get("name")
        if ident is not None:
            spec = self.specs.get(ident)
            if spec is None:
                self.add(
                    Code.PARAMETER_ID_NOT_FOUND,
                    f"{path}: parameter {ident} does not exist in category {self.category}",
                    path,
                    f"Allegro category {self.category} has no parameter {ident}: remove it "
                    "where it comes from (the product's allegro.parameters, or the mapping "
                    "file's attribute rule naming it), or choose a category that has it.",
                )
            return spec
        if isinstance(name, str) and name.strip():
            spec = self.by_name.get(norm(name))
            if spec is None:
                self.add(
                    Code.PARAMETER_ID_NOT_FOUND,
                    f'{path}: no parameter named "{name}" in category {self.category}',
                    path,
                    f'Allegro category {self.category} has no parameter "{name}": fix its '
                    "name (or use its id) in the mapping file or allegro.parameters.",
                )
            return spec
        self.add(
            Code.NOT_READABLE,
            f"{path} needs an id or a name",
            path,
            "Give each Allegro parameter its id.",
        )
        return None

    # --- per parameter ------------------------------------------------------------------------

    def check_entry(self, entry: ParameterEntry) -> None:
        """The rules of one parameter; keeps it for the rules across parameters unless it
        repeats one given before."""
        spec = entry.spec
        first = next((e for e in self.entries if e.spec.id == spec.id), None)
        if first is not None:
            self.add(
                Code.PARAMETER_DUPLICATED,
                f"{entry.path}: parameter {spec.label} is already given at {first.path}",
                entry.path,
                f"Give parameter {spec.label} once, with all its values: check the "
                "mapping file and allegro.parameters for two sources of it.",
            )
            return
        self.entries.append(entry)
        self.check_placement(entry)
        if not entry.filled:
            self.add(
                Code.PARAMETER_VALUE_MISSING,
                f"{entry.path}: parameter {spec.label} has no value",
                entry.path,
                f"Give parameter {spec.label} a value in the store, or leave it out.",
            )
        else:
            self.check_values(entry)

    def check_placement(self, entry: ParameterEntry) -> None:
        spec = entry.spec
        if spec.describes_product == entry.in_product:
            return
        if spec.describes_product:
            want, kind = "productSet[].product.parameters", "a product parameter"
        else:
            want, kind = "the offer's parameters", "an offer parameter"
        self.add(
            Code.PARAMETER_CATEGORY,
            f"{entry.path}: {spec.label} is {kind}; it belongs in {want}",
            entry.path,
            f"Parameter {spec.label} is {kind} on Allegro; this is a bug in the offer "
            "builder, not in the store data: report it to the integration team.",
        )

    # --- across parameters --------------------------------------------------------------------

    def unknowable(self, parameter_id: str, chosen: Mapping[str, set[str]]) -> bool:
        """True when the value of ``parameter_id`` cannot be known here: a product parameter
        of a catalogue product that the body does not set (the catalogue has its value)."""
        if not self.linked or parameter_id in chosen:
            return False
        spec = self.specs.get(parameter_id)
        return spec is None or spec.describes_product

    def holds(
        self, condition: Mapping[str, Any], chosen: Mapping[str, set[str]], filled: set[str]
    ) -> bool:
        """True when every condition of a ``requiredIf`` holds. A condition on a value that
        cannot be known here (see :meth:`unknowable`) does not hold: Allegro decides."""
        for item in as_list(condition.get("parametersWithValue")):
            item_map = as_dict(item)
            wanted = {number_text(v) for v in as_list(item_map.get("oneOfValueIds"))}
            if not chosen.get(number_text(item_map.get("id")) or "", set()) & wanted:
                return False
        for item in as_list(condition.get("parametersWithoutValue")):
            parameter_id = number_text(as_dict(item).get("id")) or ""
            if parameter_id in filled or self.unknowable(parameter_id, chosen):
                return False
        return True

    def check_dependencies(self, chosen: Mapping[str, set[str]]) -> None:
        for entry in self.entries:
            spec = entry.spec
            other_id = spec.depends_on_parameter_id
            if other_id is None:
                continue
            other = self.specs.get(other_id)
            if self.unknowable(other_id, chosen):
                continue
            other_label = other.label if other else f"({other_id})"
            picked = chosen.get(other_id, set())
            for value_id in sorted(entry.chosen):
                allowed_ids = spec.depends_on_value_ids(value_id)
                if not allowed_ids or allowed_ids & picked:
                    continue
                names = ", ".join(
                    f'"{other.value_label(a) if other else a}"' for a in sorted(allowed_ids)
                )
                has = ", ".join(f'"{other.value_label(p) if other else p}"' for p in sorted(picked))
                self.add(
                    Code.DEPENDENCY,
                    f'{entry.path}: {spec.label} = "{spec.value_label(value_id)}" needs '
                    f"{other_label} to be one of {names}; it is {has or 'not set'}",
                    entry.path,
                    f'Parameter {spec.label} "{spec.value_label(value_id)}" goes only with '
                    f"{other_label} {names} (now {has or 'not set'}): fix one of them in the "
                    "store.",
                )

    def check_required(self, chosen: Mapping[str, set[str]]) -> None:
        listed = {entry.spec.id for entry in self.entries}
        filled = {entry.spec.id for entry in self.entries if entry.filled}
        missing: dict[bool, list[CategoryParameter]] = {True: [], False: []}
        for spec in self.specs.values():
            if spec.id in listed or (spec.describes_product and self.linked):
                continue
            needed = spec.required or (spec.required_for_product and not self.linked)
            if not needed:
                continue
            if spec.required_if is not None and not self.holds(spec.required_if, chosen, filled):
                continue
            missing[spec.describes_product].append(spec)
        for in_product, specs in missing.items():
            if not specs:
                continue
            path = self.product_path if in_product else "parameters"
            ids = ", ".join(s.id for s in specs)
            names = ", ".join(s.label for s in specs)
            self.add(
                Code.MISSING_REQUIRED_PARAMETERS,
                f"Missing required parameters: {ids}",
                path,
                f"Allegro category {self.category} requires {names}. {_ADD_IN_STORE}",
            )


def _category_id(body: Mapping[str, Any]) -> str:
    category = as_dict(body.get("category")).get("id")
    if category is None:
        for product in products(body):
            category = as_dict(product.get("category")).get("id")
            if category is not None:
                break
    return str(category) if category is not None else "(unknown)"


def check_parameters(
    body: Mapping[str, Any], parameters: list[dict[str, Any]], *, catalogue_linked: bool
) -> list[StatusError]:
    """Every parameter rule (module docstring) for ``body`` against the category's
    ``parameters``; all problems, in body order, then the missing required ones."""
    check = _Check(body, parameters, catalogue_linked)
    check.read_list(body.get("parameters"), "parameters", in_product=False)
    for index, product in enumerate(products(body)):
        check.read_list(
            product.get("parameters"), f"productSet[{index}].product.parameters", in_product=True
        )
    chosen: dict[str, set[str]] = {}
    for entry in check.entries:
        chosen.setdefault(entry.spec.id, set()).update(entry.chosen)
    check.check_dependencies(chosen)
    check.check_required(chosen)
    return check.errors

"""Resolution of ``productSet[]``: which catalogue product each entry names, or which new
product it describes, and what is wrong with it.

An entry's ``product`` takes one of these forms:

* ``{id: <uuid>}``: a catalogue product; unknown -> ``ProductNotFoundException``;
* ``{id, idType: GTIN | MPN}``: looked up in the catalogue; several hits ->
  ``MultipleProductsFoundException`` (``metadata.foundProductsIds``, comma-separated); no
  hit -> a new product if the entry carries ``name`` and a category, else
  ``ProductNotFoundException``;
* ``{id: <digits>}`` without ``idType``: treated as a GTIN. Allegro's own tutorial sends a
  draft that way, so the sandbox accepts it (our reading);
* ``{name, category, parameters, images}`` without ``id``: a new product, unless its GTIN
  parameter names a catalogue product, which then gets linked; conflicting data gives
  ``PARAMETER_MISMATCH`` / ``CATEGORY_MISMATCH``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sandbox.catalog import Catalog
from sandbox.rules_common import as_dict, as_list, error, gtin_error, is_uuid, join_path
from sandbox.rules_parameters import GTIN_PARAMETER_ID, Given, ParameterSet, read_parameters
from sandbox.rules_parameters_cross import missing_required, parameter_mismatches

__all__ = ["MAX_PRODUCTS", "ProductEntry", "category_errors", "resolve_product_set"]

MAX_PRODUCTS = 10
PRODUCT_NAME_MAX = 75


@dataclass
class ProductEntry:
    """What one ``productSet`` entry turned out to be."""

    index: int
    path: str  # productSet[i].product
    catalog_product: dict[str, Any] | None = None
    new: bool = False
    category_id: str | None = None
    name: str | None = None
    given: dict[str, Given] = field(default_factory=dict)
    images: list[Any] = field(default_factory=list)
    images_path: str = ""

    @property
    def product_id(self) -> str | None:
        return self.catalog_product["id"] if self.catalog_product else None


def category_errors(catalog: Catalog, category_id: Any, path: str) -> list[dict[str, Any]]:
    """The category must exist (``CATEGORY_NOT_EXISTS``) and be a leaf. For a non-leaf the
    sandbox answers ``INVALID_CATEGORY_ID``, the documented code for a category id that is
    "not valid" for the request (Allegro's exact code for this case is not published)."""
    found = catalog.category(str(category_id), shared=True)
    if found is None:
        return [
            error(
                "CATEGORY_NOT_EXISTS",
                f"Category {category_id} does not exist.",
                path=path,
                metadata={"categoryId": category_id},
            )
        ]
    if not found["leaf"]:
        return [
            error(
                "INVALID_CATEGORY_ID",
                f"Category {category_id} ({found['name']}) is not a leaf category; offers "
                "and products can only be placed in leaf categories.",
                path=path,
                metadata={"categoryId": category_id},
            )
        ]
    return []


def _category_fits(product: dict[str, Any], category_id: str) -> bool:
    category = product["category"]
    return category_id == category["id"] or any(
        s["id"] == category_id for s in category.get("similar", [])
    )


def category_mismatch(
    catalog: Catalog, product: dict[str, Any], requested_id: str, path: str
) -> dict[str, Any]:
    requested = catalog.category(requested_id, shared=True) or {"name": ""}
    existing_id = product["category"]["id"]
    existing = catalog.category(existing_id, shared=True) or {"name": ""}
    return error(
        "CATEGORY_MISMATCH",
        f"The requested category {requested_id} does not match the category {existing_id} of "
        f"the existing product {product['id']}.",
        path=path,
        metadata={
            "requestedCategoryId": requested_id,
            "requestedCategoryName": requested["name"],
            "existingCategoryId": existing_id,
            "existingCategoryName": existing["name"],
            "existingProductId": product["id"],
        },
    )


def _not_found(product_id: str, path: str) -> dict[str, Any]:
    return error(
        "ProductNotFoundException",
        f"Product {product_id} was not found.",
        path=path,
        metadata={"productId": product_id},
    )


def _multiple(found: list[dict[str, Any]], path: str) -> dict[str, Any]:
    ids = ",".join(p["id"] for p in found)
    return error(
        "MultipleProductsFoundException",
        f"Several products match the given identifier: {ids}. Send one of them by its id.",
        path=path,
        metadata={"foundProductsIds": ids},
    )


def _lookup(
    catalog: Catalog, product: dict[str, Any], path: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str | None]:
    """(errors, catalogue matches, GTIN used) for a product given with an ``id``."""
    pid = str(product["id"]).strip()
    id_type = product.get("idType")
    id_path = join_path(path, "id")
    if id_type == "MPN":
        return [], catalog.search_products(pid, mode="MPN", shared=True), None
    if id_type == "GTIN" or (id_type is None and not is_uuid(pid) and pid.isdigit()):
        if id_type == "GTIN":
            problem = gtin_error(pid, id_path)
            if problem is not None:
                return [problem], [], None
        return [], catalog.products_by_gtin(pid, shared=True), pid
    found = catalog.product(pid, shared=True)
    if found is None:
        return [_not_found(pid, id_path)], [], None
    return [], [found], None


def _read_product_parameters(
    catalog: Catalog, entry: ProductEntry, raw_parameters: Any, errors: list[dict[str, Any]]
) -> ParameterSet | None:
    if entry.category_id is None:
        return None
    definitions = catalog.parameters(entry.category_id, shared=True) or []
    pset = ParameterSet(entry.category_id, definitions)
    problems, entry.given = read_parameters(
        raw_parameters, pset, path=join_path(entry.path, "parameters"), product_level=True
    )
    errors.extend(problems)
    return pset


def _known_values(given: dict[str, Given]) -> dict[str, set[str] | None]:
    return {pid: set(item.value_ids) for pid, item in given.items()}


def _resolve_entry(
    catalog: Catalog,
    index: int,
    raw_entry: Any,
    offer_category: str | None,
    errors: list[dict[str, Any]],
) -> ProductEntry:
    base = join_path("productSet", index)
    entry = ProductEntry(index=index, path=join_path(base, "product"))
    element = as_dict(raw_entry)
    quantity = as_dict(element.get("quantity")).get("value")
    if (
        isinstance(quantity, (int, str))
        and str(quantity).strip().lstrip("-").isdigit()
        and (int(quantity) < 1)
    ):
        errors.append(
            error(
                "ConstraintViolationException.Min",
                "productSet[].quantity.value must be at least 1.",
                path=join_path(base, "quantity.value"),
            )
        )
    product = element.get("product")
    if not isinstance(product, dict):
        errors.append(
            error(
                "ConstraintViolationException.NotNull",
                "productSet[].product is required.",
                path=entry.path,
            )
        )
        return entry

    gtin_used = None
    if product.get("id") not in (None, ""):
        problems, matches, gtin_used = _lookup(catalog, product, entry.path)
        if problems:
            errors.extend(problems)
            return entry
        if len(matches) > 1:
            errors.append(_multiple(matches, join_path(entry.path, "id")))
            return entry
        if matches:
            return _linked(catalog, entry, product, matches[0], errors)
        if product.get("name") is None:
            errors.append(_not_found(str(product["id"]), join_path(entry.path, "id")))
            return entry

    # A new product, unless its GTIN parameter names a catalogue product.
    entry.new = True
    entry.name = product.get("name") if isinstance(product.get("name"), str) else None
    requested_category = as_dict(product.get("category")).get("id")
    category_path = join_path(entry.path, "category.id")
    if requested_category is None:
        requested_category, category_path = offer_category, "category.id"
    if entry.name is None:
        errors.append(
            error(
                "ConstraintViolationException.NotNull",
                "A new product needs a name.",
                path=join_path(entry.path, "name"),
            )
        )
    elif len(entry.name) > PRODUCT_NAME_MAX:
        errors.append(
            error(
                "ConstraintViolationException.StringLength",
                f"A product name may have at most {PRODUCT_NAME_MAX} characters.",
                path=join_path(entry.path, "name"),
                metadata={"max": PRODUCT_NAME_MAX},
            )
        )
    if requested_category is None:
        errors.append(
            error(
                "ConstraintViolationException.NotNull",
                "A new product needs a category.",
                path=join_path(entry.path, "category.id"),
            )
        )
    else:
        problems = category_errors(catalog, requested_category, category_path)
        errors.extend(problems)
        if not problems:
            entry.category_id = str(requested_category)
    pset = _read_product_parameters(catalog, entry, product.get("parameters"), errors)
    entry.images = as_list(product.get("images"))
    entry.images_path = join_path(entry.path, "images")

    gtin_item = entry.given.get(GTIN_PARAMETER_ID)
    gtins = list(gtin_item.values) if gtin_item else ([gtin_used] if gtin_used else [])
    by_gtin = {p["id"]: p for g in gtins for p in catalog.products_by_gtin(g, shared=True)}
    if len(by_gtin) > 1:
        errors.append(_multiple(list(by_gtin.values()), join_path(entry.path, "parameters")))
        return entry
    if by_gtin:
        existing = next(iter(by_gtin.values()))
        if entry.category_id is not None and not _category_fits(existing, entry.category_id):
            errors.append(category_mismatch(catalog, existing, entry.category_id, category_path))
        errors.extend(
            parameter_mismatches(entry.given, existing, path=join_path(entry.path, "parameters"))
        )
        entry.catalog_product, entry.new = existing, False
        return entry
    if pset is not None:
        present = set(entry.given)
        if gtin_used:
            present.add(GTIN_PARAMETER_ID)
        errors.extend(
            missing_required(
                pset.definitions,
                "requiredForProduct",
                present,
                _known_values(entry.given),
                path=join_path(entry.path, "parameters"),
            )
        )
    return entry


def _linked(
    catalog: Catalog,
    entry: ProductEntry,
    product: dict[str, Any],
    existing: dict[str, Any],
    errors: list[dict[str, Any]],
) -> ProductEntry:
    entry.catalog_product = existing
    entry.category_id = existing["category"]["id"]
    entry.name = existing["name"]
    requested_category = as_dict(product.get("category")).get("id")
    if requested_category is not None and not _category_fits(existing, str(requested_category)):
        errors.append(
            category_mismatch(
                catalog, existing, str(requested_category), join_path(entry.path, "category.id")
            )
        )
    if product.get("parameters"):
        _read_product_parameters(catalog, entry, product.get("parameters"), errors)
        errors.extend(
            parameter_mismatches(entry.given, existing, path=join_path(entry.path, "parameters"))
        )
    # `images` sent with the product replace the catalogue's (`[]` drops them).
    if "images" in product and product["images"] is not None:
        entry.images = as_list(product["images"])
        entry.images_path = join_path(entry.path, "images")
    else:
        entry.images = [image["url"] for image in existing.get("images", [])]
        entry.images_path = join_path(entry.path, "images")
    return entry


def resolve_product_set(
    catalog: Catalog, product_set: Any, offer_category: str | None
) -> tuple[list[dict[str, Any]], list[ProductEntry]]:
    """Errors and one :class:`ProductEntry` per ``productSet`` element (1 to 10)."""
    errors: list[dict[str, Any]] = []
    elements = as_list(product_set)
    if not 1 <= len(elements) <= MAX_PRODUCTS:
        errors.append(
            error(
                "ConstraintViolationException.Size",
                f"productSet must have between 1 and {MAX_PRODUCTS} products; it has "
                f"{len(elements)}.",
                path="productSet",
                metadata={"min": 1, "max": MAX_PRODUCTS},
            )
        )
    entries = [
        _resolve_entry(catalog, index, raw, offer_category, errors)
        for index, raw in enumerate(elements[:MAX_PRODUCTS])
    ]
    return errors, entries

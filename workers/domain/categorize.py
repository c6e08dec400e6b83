"""Step 1 of the pipeline: which Allegro category a product goes to (pure).

Precedence (the first that answers wins):

1. ``allegro.category_id`` sent with the product (source ``override``);
2. the mapping file's ``categories.exact``: the store category path or id (``exact``);
3. ``categories.prefix``: the longest prefix of the path, on whole segments (``prefix``);
4. ``categories.default`` (``default``).

Paths are compared with :func:`schemas.mapping.normalize_category_path` (separators ``>``
``/`` ``|``, spaces and case do not matter). Anything else is rejected with
``UNMAPPED_CATEGORY``, naming the store category and the two ways to fix it.

A category from ``categories.default`` may still give way to the linked catalogue product's
own in step 2 (source ``catalogue``, see :mod:`workers.domain.catalogue_link`).

Allegro lists offers only in leaf categories; :func:`check_leaf` checks the chosen one once
its ``CategoryDto`` has been fetched, and :func:`unknown_category` is the rejection of an id
Allegro does not know (404).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas.mapping import MappingFile
from schemas.status import StatusError
from workers.domain.model import CategoryChoice, Rejected, problem

__all__ = [
    "UNMAPPED_CATEGORY",
    "categorize",
    "category_origin",
    "check_leaf",
    "unknown_category",
]

#: The code of every "no usable Allegro category" outcome.
UNMAPPED_CATEGORY = "UNMAPPED_CATEGORY"


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def categorize(product: Mapping[str, Any], mapping: MappingFile | None) -> CategoryChoice:
    """The Allegro category of ``product`` (the desired state's ``product`` dict).

    Raises :class:`Rejected` (``UNMAPPED_CATEGORY``) when neither the override nor the
    mapping file gives one.
    """
    store_category = _text(product.get("category"))
    overrides = product.get("allegro") or {}
    override = _text(overrides.get("category_id")) if isinstance(overrides, Mapping) else None
    if override is not None:
        return CategoryChoice(override, "override", store_category)
    if mapping is not None and store_category is not None:
        found = mapping.categories.match(store_category)
        if found is not None:
            return CategoryChoice(found[0], found[1], store_category)
    raise Rejected([_unmapped(store_category, mapping)])


def _unmapped(store_category: str | None, mapping: MappingFile | None) -> StatusError:
    send_id = 'send "allegro": {"category_id": "<Allegro leaf id>"} with the product'
    if store_category is None:
        message = "The product has no store category and no allegro.category_id."
        fix = f"Send its category (and map it in the mapping file), or {send_id}."
        return problem(UNMAPPED_CATEGORY, message + " " + fix, path="category")
    if mapping is None:
        message = (
            f'Store category "{store_category}" cannot be mapped: no mapping file is '
            "configured (ALLEGRO_FEED_MAPPING_FILE)."
        )
        fix = (
            f'Configure a mapping file that lists "{store_category}" under categories, '
            f"or {send_id}."
        )
    else:
        message = (
            f'Store category "{store_category}" matches no entry of the mapping file\'s '
            "categories (exact, prefix) and there is no default."
        )
        fix = (
            f'Add "{store_category}" (or a prefix of it) to categories.exact or '
            f"categories.prefix in the mapping file, set categories.default, or {send_id}."
        )
    return problem(UNMAPPED_CATEGORY, f"{message} {fix}", path="category")


def category_origin(choice: CategoryChoice | None) -> tuple[str, str]:
    """(what to change, the event field to name) for a category id from ``choice``."""
    if choice is not None and choice.source == "override":
        return "the product's allegro.category_id", "allegro.category_id"
    if choice is not None and choice.source == "catalogue":
        return "the linked catalogue product's category", "category"
    if choice is not None:
        where = f"the mapping file's categories.{choice.source}"
        if choice.store_category:
            where += f' entry for "{choice.store_category}"'
        return where, "category"
    return "the mapping", "category.id"  # source unknown: the offer's field


def check_leaf(category: Mapping[str, Any], choice: CategoryChoice | None = None) -> None:
    """Reject unless ``category`` (Allegro's ``CategoryDto``) is a leaf.

    ``choice`` (optional) says where the id came from, to name the right fix and field
    (``allegro.category_id`` for an override, ``category`` for a mapped store category).
    Raises :class:`Rejected` (``UNMAPPED_CATEGORY``).
    """
    if category.get("leaf") is True:
        return
    name = category.get("name") or "?"
    category_id = category.get("id") or (choice.category_id if choice else "?")
    where, path = category_origin(choice)
    message = (
        f'Allegro category "{name}" ({category_id}) is not a leaf category: offers can only '
        "be listed in a leaf category (one without subcategories). "
        f"Change {where} to one of its subcategories."
    )
    raise Rejected([problem(UNMAPPED_CATEGORY, message, path=path)])


def unknown_category(category_id: str, choice: CategoryChoice | None = None) -> Rejected:
    """The rejection of a category id Allegro answers 404 for (``GET /sale/categories/{id}``
    or its ``/parameters``: "the category with the given ID does not exist"), naming where
    the id came from (``UNMAPPED_CATEGORY``). A replay cannot help, so it is no failure."""
    where, path = category_origin(choice)
    message = (
        f'Allegro has no category "{category_id}" (from {where}). Change it to an existing '
        'leaf category id: allegro-feed suggest "<product name>" lists candidates, and '
        "allegro-feed check-mapping --against-allegro checks a mapping file."
    )
    return Rejected([problem(UNMAPPED_CATEGORY, message, path=path)])

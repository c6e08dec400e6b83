"""Local validation of an offer body: every rule of Allegro's that can be checked here.

:func:`validate_offer` runs before anything is sent, so that a product Allegro would refuse
is ``REJECTED`` at once with every reason, instead of failing one 422 at a time. Each error
has Allegro's shape and, where Allegro documents one, its ``code`` (FACTS.md §8), a ``path``
in Allegro's notation (``productSet[0].product.parameters[2]``, ``sellingMode.price.amount``)
and a ``userMessage`` telling the seller what to change in the store.

The rules live in small modules, each documenting its part:

- :mod:`workers.domain.rules_offer`: known properties (``UnknownJSONProperty``), price and
  currency, stock, publication, external id, images, delivery, presence of name/category;
- :mod:`workers.domain.rules_text`: the name (12-75 characters as Allegro counts them, 3+
  words, no word over 30) and the description (sections, size, the HTML whitelist);
- :mod:`workers.domain.rules_parameters`: the category parameters across the body (ids,
  duplicates, placement by ``describesProduct``, required/``requiredIf``,
  ``dependsOnValueIds``);
- :mod:`workers.domain.rules_values`: each parameter's values (dictionary ids and labels,
  custom values, multiple choices, numbers, precision, ranges, string lengths, GTINs).

Passing here does not promise Allegro's acceptance: it cannot see the catalogue's data,
the seller's shipping rates or Allegro's character whitelist, and a full validation runs
only at activation (FACTS.md §11). The rules are meant to be no stricter than Allegro's:
where a source leaves a limit open (a 10-digit GTIN, the apostrophe in names), the check is
left to Allegro.
"""

from __future__ import annotations

from typing import Any

from schemas.status import StatusError
from workers.domain.rules_common import MALFORMED_FIX, Code, error, products, type_name
from workers.domain.rules_offer import (
    check_delivery,
    check_external,
    check_images,
    check_presence,
    check_price,
    check_publication,
    check_stock,
    check_unknown_properties,
)
from workers.domain.rules_parameters import check_parameters
from workers.domain.rules_text import check_description, check_name, check_product_name
from workers.domain.rules_values import gtin_ok

__all__ = ["Code", "gtin_ok", "validate_offer"]


def validate_offer(
    body: dict[str, Any],
    parameters: list[dict[str, Any]],
    *,
    currency: str,
    catalogue_linked: bool,
    catalogue_images: int | None = None,
) -> list[StatusError]:
    """Every local rule's problems with ``body`` (a ``POST /sale/product-offers`` body in
    Allegro's JSON), all of them at once; an empty list when none is found.

    ``parameters`` are the category's parameters as ``GET /sale/categories/{id}/parameters``
    returns them; ``currency`` is the account marketplace's base currency (FACTS.md §12);
    ``catalogue_linked`` says the offer is linked to a catalogue product, which brings its
    own product parameters and images (so those are not required here);
    ``catalogue_images`` how many images that product has, counted in the offer's 1-16
    unless the body replaces them (None: not known, an offer without images of its own is
    then left to Allegro).

    Never raises on malformed data: a field of the wrong JSON type is reported as
    ``JsonMappingException`` at its path.
    """
    if not isinstance(body, dict):
        return [
            error(
                Code.NOT_READABLE,
                f"the offer body must be a JSON object, got {type_name(body)}",
                None,
                MALFORMED_FIX,
            )
        ]
    errors = check_unknown_properties(body)
    errors.extend(check_presence(body, catalogue_linked=catalogue_linked))
    errors.extend(_check_names(body, catalogue_linked=catalogue_linked))
    errors.extend(check_parameters(body, parameters, catalogue_linked=catalogue_linked))
    if body.get("description") is not None:
        errors.extend(check_description(body["description"]))
    errors.extend(check_price(body, currency=currency))
    errors.extend(check_stock(body))
    errors.extend(check_publication(body))
    errors.extend(check_external(body))
    errors.extend(
        check_images(body, catalogue_linked=catalogue_linked, catalogue_images=catalogue_images)
    )
    errors.extend(check_delivery(body))
    return errors


def _check_names(body: dict[str, Any], *, catalogue_linked: bool) -> list[StatusError]:
    """The offer name's rules on ``name``, or on the product's name when ``name`` is left
    out (Allegro then uses it as the title); a new product's name is at most 75 long."""
    errors: list[StatusError] = []
    title_checked = "name" in body
    if title_checked:
        errors.extend(check_name(body["name"], "name"))
    if catalogue_linked:
        return errors
    for index, product in enumerate(products(body)):
        if "name" not in product:
            continue
        path = f"productSet[{index}].product.name"
        if not title_checked:
            errors.extend(check_name(product["name"], path))
            title_checked = True
        else:
            errors.extend(check_product_name(product["name"], path))
    return errors

"""Offer validation of the Allegro sandbox: the rules ``POST /sale/product-offers`` and
``PATCH /sale/product-offers/{id}`` apply, with Allegro's error codes, paths and metadata.

Three entry points, meant to be called in this order (each stage's errors are answered
alone, as Allegro's mapper refuses a body before business rules run):

1. :func:`check_unknown_properties` -> ``UnknownJSONProperty`` (422);
2. :func:`check_types` -> ``JsonMappingException`` (422);
3. :func:`validate_offer` -> every business problem of the body at once.

``validate_offer`` takes a POST body, or for a PATCH the stored offer merged with the patch
(RFC 7396). Activation-only problems are separated from the rest: a draft may be saved with
them (``activating=False``), and they come back in :attr:`OfferCheck.pending` so the server
can show them in the offer's ``validation.errors``.

Codes: the documented ones where one fits; where Allegro publishes none, the sandbox's choice
is documented in the rule module concerned (``rules_offer``, ``rules_parameters``,
``rules_products``, ``rules_html``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sandbox.catalog import Catalog, Seller
from sandbox.rules_common import as_dict, error
from sandbox.rules_html import check_description
from sandbox.rules_offer import (
    check_additional_marketplaces,
    check_after_sales,
    check_external,
    check_images,
    check_language,
    check_location,
    check_name,
    check_publication,
    check_selling_mode,
    check_stock,
    not_null,
)
from sandbox.rules_parameters import Given, ParameterSet, read_parameters
from sandbox.rules_parameters_cross import check_dependencies, is_required, missing_required
from sandbox.rules_products import (
    ProductEntry,
    category_errors,
    category_mismatch,
    resolve_product_set,
)
from sandbox.rules_schema import check_types, check_unknown_properties

__all__ = [
    "DEFERRED_CODES",
    "OfferCheck",
    "check_types",
    "check_unknown_properties",
    "validate_offer",
]

#: Codes Allegro reports on the operation resource after a 202 rather than in the POST's
#: 422 (issue #11011 shows the stock one there). The sandbox detects them synchronously and
#: leaves the choice of channel to the server: see :meth:`OfferCheck.split`.
DEFERRED_CODES = frozenset({"AvailableStockMustEqualToOneOrBeGreaterThanOne"})


@dataclass
class OfferCheck:
    """Outcome of :func:`validate_offer`.

    ``errors``: Allegro error items that make this request fail; ``[]`` means valid.
    ``product_ids``: per ``productSet`` entry, the catalogue product it resolved to
    (``None``: a new product, or the entry could not be resolved).
    ``pending``: with ``activating=False``, the problems that will block the offer's
    activation (missing required parameters, price, images, name, stock below 1); empty
    with ``activating=True``, because those problems are then in ``errors``.
    ``filled``: defaults the sandbox chose, by dotted path, for the server to store
    (``delivery.shippingRates``, ``afterSalesServices.*``, ``name``, ``category.id``).
    """

    errors: list[dict[str, Any]]
    product_ids: list[str | None]
    pending: list[dict[str, Any]] = field(default_factory=list)
    filled: dict[str, Any] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not self.errors

    def split(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(errors to answer now with 422, errors Allegro reports on the operation later)."""
        now = [e for e in self.errors if e["code"] not in DEFERRED_CODES]
        later = [e for e in self.errors if e["code"] in DEFERRED_CODES]
        return now, later


def _known(entries: list[ProductEntry], *groups: dict[str, Given]) -> dict[str, set[str] | None]:
    """Parameter id -> dictionary value ids, over everything the offer and its main product
    say (catalogue values included): the input of ``requiredIf`` and ``dependsOnValueIds``."""
    known: dict[str, set[str] | None] = {}
    if entries and entries[0].catalog_product:
        for param in entries[0].catalog_product.get("parameters", []):
            known[param["id"]] = set(param.get("valuesIds") or [])
    for entry in entries[:1]:
        for pid, item in entry.given.items():
            known[pid] = set(item.value_ids)
    for group in groups:
        for pid, item in group.items():
            known[pid] = set(item.value_ids)
    return known


def _parameter_rules(
    body: dict[str, Any], catalog: Catalog, category_id: str, entries: list[ProductEntry]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(errors, activation-only errors) of the offer's parameters in ``category_id``."""
    definitions = catalog.parameters(category_id, shared=True) or []
    pset = ParameterSet(category_id, definitions)
    errors, offer_given = read_parameters(
        body.get("parameters"), pset, path="parameters", product_level=False
    )
    known = _known(entries, offer_given)
    errors += check_dependencies(offer_given, known)
    for entry in entries:
        errors += check_dependencies(entry.given, known)

    offer_defs = [d for d in definitions if not d["options"]["describesProduct"]]
    activation = missing_required(
        offer_defs, "required", set(offer_given), known, path="parameters"
    )
    main = entries[0] if entries else None
    if main is not None and (main.catalog_product is not None or main.new):
        present = set(main.given)
        if main.catalog_product is not None:
            present |= {p["id"] for p in main.catalog_product.get("parameters", [])}
        product_defs = [d for d in definitions if d["options"]["describesProduct"]]
        if main.new and main.category_id == category_id:
            # Already reported as missing for the product itself.
            product_defs = [
                d for d in product_defs if not is_required(d, "requiredForProduct", known)
            ]
        activation += missing_required(
            product_defs, "required", present, known, path=f"{main.path}.parameters"
        )
    return errors, activation


def validate_offer(
    body: dict[str, Any], catalog: Catalog, seller: Seller, *, activating: bool = True
) -> OfferCheck:
    """Every business problem of an offer body, reported together.

    ``body``: a POST body or the merged stored offer + PATCH, already accepted by
    :func:`check_unknown_properties` and :func:`check_types` (odd types are skipped, never
    raised on). ``seller``: the account the offer belongs to (currency, shipping rates,
    policies).

    ``activating`` (default True) says that this request must leave the offer published:
    a POST without ``publication.status: INACTIVE``, a PATCH sending ``publication.status:
    ACTIVE``, or an edit of an offer that is live and stays live. Then the activation-only
    rules apply as well and their problems are in :attr:`OfferCheck.errors`: required
    parameters, a price, at least one image, a name, a category, and a stock of at least 1
    (``AvailableStockMustEqualToOneOrBeGreaterThanOne``, which Allegro reports on the
    operation resource: see :data:`DEFERRED_CODES`). The sandbox reports it here,
    synchronously; the server decides whether to answer it at once or from the operation.

    ``activating=False`` applies the draft rules: the body's own problems (bad ids, values,
    formats, lengths, unknown settings) are errors; the activation-only problems go to
    :attr:`OfferCheck.pending`. Use it for drafts, for asynchronous activations checked
    later, and for a PATCH that ends a live offer (a stock of 0 there ends the offer
    instead of failing). ``publication.status`` in the body is not consulted.
    """
    errors: list[dict[str, Any]] = []
    activation: list[dict[str, Any]] = []
    filled: dict[str, Any] = {}
    publishing = activating

    raw_category = as_dict(body.get("category")).get("id")
    offer_category: str | None = None
    if raw_category is not None:
        problems = category_errors(catalog, raw_category, "category.id")
        errors += problems
        if not problems:
            offer_category = str(raw_category)

    product_errors, entries = resolve_product_set(catalog, body.get("productSet"), offer_category)
    errors += product_errors
    main = entries[0] if entries else None

    if raw_category is None:
        offer_category = main.category_id if main else None
        if offer_category is not None:
            filled["category.id"] = offer_category
        elif not product_errors:
            activation.append(not_null("category.id"))
    elif (
        offer_category is not None
        and main is not None
        and main.catalog_product is not None
        and not any(e["code"] == "CATEGORY_MISMATCH" for e in product_errors)
    ):
        similar = {s["id"] for s in main.catalog_product["category"].get("similar", [])}
        if offer_category not in similar | {main.catalog_product["category"]["id"]}:
            errors.append(
                category_mismatch(catalog, main.catalog_product, offer_category, "category.id")
            )

    if offer_category is not None:
        param_errors, param_activation = _parameter_rules(body, catalog, offer_category, entries)
        errors += param_errors
        activation += param_activation

    name = body.get("name")
    if isinstance(name, (int, float)) and not isinstance(name, bool):
        name = str(name)  # the mapper binds a JSON number to a string field
    if name is None and main is not None and main.name is not None:
        name = main.name
        filled["name"] = name
    if name is None:
        activation.append(not_null("name"))
    else:
        errors += check_name(name)

    category = catalog.category(offer_category, shared=True) if offer_category else None
    advertisement = bool(category and category["options"].get("advertisement"))
    selling_errors = check_selling_mode(
        body.get("sellingMode"), seller, publishing=False, advertisement_allowed=advertisement
    )
    errors += selling_errors
    if not selling_errors:
        activation += check_selling_mode(
            body.get("sellingMode"), seller, publishing=True, advertisement_allowed=advertisement
        )
    errors += check_additional_marketplaces(body.get("additionalMarketplaces"), seller)
    stock_errors = check_stock(body.get("stock"), activating=False)
    errors += stock_errors
    if not stock_errors:
        activation += check_stock(body.get("stock"), activating=True)

    product_images = [(e.images_path, e.images) for e in entries if e.images_path]
    image_errors = check_images(body.get("images"), product_images, publishing=False)
    errors += image_errors
    if not image_errors:
        activation += check_images(body.get("images"), product_images, publishing=True)

    errors += check_description(body.get("description"))
    errors += check_external(body.get("external"))
    errors += check_after_sales(body, seller, filled)
    additional_info = as_dict(body.get("delivery")).get("additionalInfo")
    if isinstance(additional_info, str) and len(additional_info) > 650:
        errors.append(
            error(
                "ConstraintViolationException.StringLength",
                "delivery.additionalInfo may have at most 650 characters.",
                path="delivery.additionalInfo",
                metadata={"max": 650},
            )
        )
    errors += check_location(body.get("location"))
    errors += check_language(body.get("language"))
    errors += check_publication(
        body.get("publication"), as_dict(body.get("sellingMode")).get("format")
    )

    if publishing:
        errors += activation
        activation = []
    return OfferCheck(
        errors=errors,
        product_ids=[e.product_id for e in entries],
        pending=activation,
        filled=filled,
    )

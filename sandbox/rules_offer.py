"""Rules for the offer's own fields: name, price, stock, images, external id, delivery and
after-sales settings, location, language, publication.

Each function takes the (type-checked) body or a part of it and returns a list of Allegro
error items; none raises on odd input. Where Allegro documents no code for a rule, the code
is our choice and is marked "(our code)" below:

* name length (entity-expanded) -> ``ConstraintViolationException.StringLength``
* fewer than 3 words -> ``ConstraintViolationException.NotEnoughWords`` (our code)
* a word over 30 characters -> ``ConstraintViolationException.MaxWordLength``
* characters outside the whitelist -> ``ConstraintViolationException.CharacterNotAllowed``
* price format or bounds -> ``ConstraintViolationException.Price``
* price currency not the marketplace's -> ``ConstraintViolationException.Currency`` (our code)
* a required field missing -> ``ConstraintViolationException.NotNull`` (our code)
* stock below 0 -> ``AvailableStockMustEqualToZeroOrBeGreaterThanZero``
* activation with stock below 1 -> ``AvailableStockMustEqualToOneOrBeGreaterThanOne``
* more than 16 images -> ``GallerySizeException``; none ->
  ``ConstraintViolationException.MissingImages`` (our code); not an http(s) URL ->
  ``ConstraintViolationException.ImageUrl`` (our code)
* shipping rates / return policy / implied warranty / warranty unknown ->
  ``ShippingRatesNotFoundException`` / ``ReturnPolicyNotFoundException`` /
  ``ImpliedWarrantyNotFoundException`` / ``WarrantyNotFoundException``; no default to fall
  back on -> ``DefaultShippingRatesNotFoundException`` and the like
* location -> ``ConstraintViolationException.Province`` / ``PostCode`` (our codes)
* handling time / duration outside Allegro's lists -> ``ConstraintViolationException.HandlingTime``
  / ``Duration`` (our codes)
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from typing import Any

from sandbox.catalog import Seller
from sandbox.rules_common import as_dict, as_list, error, join_path

__all__ = [
    "MARKETPLACE_CURRENCIES",
    "MAX_IMAGES",
    "PRICE_MAX",
    "PRICE_MIN",
    "check_additional_marketplaces",
    "check_after_sales",
    "check_external",
    "check_images",
    "check_language",
    "check_location",
    "check_name",
    "check_publication",
    "check_selling_mode",
    "check_stock",
    "expanded_length",
    "not_null",
]

MAX_IMAGES = 16
NAME_MIN, NAME_MAX, NAME_MIN_WORDS, WORD_MAX = 12, 75, 3, 30

MARKETPLACE_CURRENCIES = {
    "allegro-pl": "PLN",
    "allegro-business-pl": "PLN",
    "allegro-cz": "CZK",
    "allegro-business-cz": "CZK",
    "allegro-sk": "EUR",
    "allegro-hu": "HUF",
}

# Allegro stores names HTML-escaped; the escaped form is what the 75-character limit counts.
_ENTITY_LENGTH = {"&": 5, "<": 4, ">": 4, '"': 6, "'": 5}
# Typographic quotes, dashes, the acute accent and the multiplication sign are written as
# escapes so that they cannot be mistaken for their ASCII look-alikes.
_NAME_PUNCTUATION = set(" .,-_/\\()[]{}+&%'\"!?:;*#@=|~^$§°²³`€£¥…·") | {
    "\u00b4",
    "\u2013",
    "\u2014",
    "\u201e",
    "\u201d",
    "\u2019",
    "\u2018",
    "\u00d7",
}
_PRICE = re.compile(r"^\d+(\.\d{1,2})?$")
#: The bounds of an offer price, in any currency (batch price changes keep to them too).
PRICE_MIN, PRICE_MAX = Decimal("1"), Decimal("1000000000")
_HANDLING_DAYS = (2, 3, 4, 5, 7, 10, 14, 21, 30, 60)
# Allegro's list (PT0S, PT24H, then days), and the same days in hours, which Allegro also
# takes (FACTS §6: "PT48H").
_HANDLING_TIMES = {
    "PT0S",
    "PT24H",
    *(f"P{days}D" for days in _HANDLING_DAYS),
    *(f"PT{24 * days}H" for days in _HANDLING_DAYS),
}
_DURATIONS = {"P3D", "P5D", "P7D", "P10D", "P20D", "P30D"}
_PROVINCES = {
    "DOLNOSLASKIE",
    "KUJAWSKO_POMORSKIE",
    "LUBELSKIE",
    "LUBUSKIE",
    "LODZKIE",
    "MALOPOLSKIE",
    "MAZOWIECKIE",
    "OPOLSKIE",
    "PODKARPACKIE",
    "PODLASKIE",
    "POMORSKIE",
    "SLASKIE",
    "SWIETOKRZYSKIE",
    "WARMINSKO_MAZURSKIE",
    "WIELKOPOLSKIE",
    "ZACHODNIOPOMORSKIE",
}
_PL_POST_CODE = re.compile(r"^\d{2}-\d{3}$")
LANGUAGES = ("pl-PL", "cs-CZ", "sk-SK", "hu-HU", "uk-UA", "en-US")


def not_null(path: str) -> dict[str, Any]:
    return error("ConstraintViolationException.NotNull", f"{path} is required.", path=path)


# -- name ----------------------------------------------------------------------------


def expanded_length(name: str) -> int:
    """Length of the name once Allegro has HTML-escaped it (``&`` counts 5, and so on)."""
    return sum(_ENTITY_LENGTH.get(ch, 1) for ch in name)


def _name_char_ok(ch: str) -> bool:
    if ch in _NAME_PUNCTUATION:
        return True
    category = unicodedata.category(ch)
    return category[0] in ("L", "N") or category == "Mn"


def check_name(name: Any, path: str = "name") -> list[dict[str, Any]]:
    """12 to 75 characters after escaping, at least 3 words, no word over 30, whitelisted
    characters (letters and digits of any script, space and common punctuation; no
    control characters, no emoji or other symbols)."""
    if not isinstance(name, str):
        return []
    errors = []
    length = expanded_length(name)
    if not NAME_MIN <= length <= NAME_MAX:
        errors.append(
            error(
                "ConstraintViolationException.StringLength",
                f"The offer name must have between {NAME_MIN} and {NAME_MAX} characters "
                f"(special characters count as their HTML entities); it has {length}.",
                path=path,
                details="ConstraintViolationException.StringLength",
                metadata={"min": NAME_MIN, "max": NAME_MAX, "actual": length},
            )
        )
    words = name.split()
    if len(words) < NAME_MIN_WORDS:
        errors.append(
            error(
                "ConstraintViolationException.NotEnoughWords",
                f"The offer name must consist of at least {NAME_MIN_WORDS} words.",
                path=path,
                metadata={"minWords": NAME_MIN_WORDS},
            )
        )
    long_words = [w for w in words if len(w) > WORD_MAX]
    if long_words:
        errors.append(
            error(
                "ConstraintViolationException.MaxWordLength",
                f"A word of the offer name may have at most {WORD_MAX} characters: {long_words[0]}",
                path=path,
                details="ConstraintViolationException.MaxWordLength",
                metadata={"maxWordLength": WORD_MAX},
            )
        )
    bad = sorted({ch for ch in name if not _name_char_ok(ch)})
    if bad:
        shown = ", ".join(repr(ch) for ch in bad)
        errors.append(
            error(
                "ConstraintViolationException.CharacterNotAllowed",
                f"The offer name contains characters that are not allowed: {shown}",
                path=path,
                details="ConstraintViolationException.CharacterNotAllowed",
                metadata={"characters": "".join(bad)},
            )
        )
    return errors


# -- price, stock ------------------------------------------------------------------


def _price_errors(price: Any, path: str, currency: str) -> list[dict[str, Any]]:
    price = as_dict(price)
    errors = []
    amount = price.get("amount")
    text = amount if isinstance(amount, str) else ("" if amount is None else str(amount))
    if not _PRICE.match(text.strip()):
        errors.append(
            error(
                "ConstraintViolationException.Price",
                f"The amount '{text}' must be a decimal number with at most 2 decimal places.",
                path=join_path(path, "amount"),
            )
        )
    elif not PRICE_MIN <= Decimal(text.strip()) <= PRICE_MAX:
        errors.append(
            error(
                "ConstraintViolationException.Price",
                f"The price must be between {PRICE_MIN} and {PRICE_MAX:,} {currency}.",
                path=join_path(path, "amount"),
                metadata={"min": "1.00", "max": "1000000000.00"},
            )
        )
    if price.get("currency") != currency:
        errors.append(
            error(
                "ConstraintViolationException.Currency",
                f"The currency must be {currency} here, not {price.get('currency')}.",
                path=join_path(path, "currency"),
                metadata={
                    "expectedCurrency": currency,
                    "requestedCurrency": price.get("currency") or "",
                },
            )
        )
    return errors


def check_selling_mode(
    selling_mode: Any, seller: Seller, *, publishing: bool, advertisement_allowed: bool
) -> list[dict[str, Any]]:
    selling_mode = as_dict(selling_mode)
    fmt = selling_mode.get("format") or "BUY_NOW"
    errors = []
    for key in ("price", "startingPrice", "minimalPrice"):
        if selling_mode.get(key) is not None:
            errors.extend(_price_errors(selling_mode[key], f"sellingMode.{key}", seller.currency))
    needed = "startingPrice" if fmt == "AUCTION" else "price"
    if publishing and selling_mode.get(needed) is None:
        errors.append(not_null(f"sellingMode.{needed}"))
    if fmt == "ADVERTISEMENT" and not advertisement_allowed:
        errors.append(
            error(
                "ConstraintViolationException.SellingModeFormat",
                "The ADVERTISEMENT format is not available in this category.",
                path="sellingMode.format",
            )
        )
    return errors


def check_additional_marketplaces(value: Any, seller: Seller) -> list[dict[str, Any]]:
    errors = []
    supported = [m for m in MARKETPLACE_CURRENCIES if m != seller.marketplace]
    for marketplace, settings in as_dict(value).items():
        path = join_path("additionalMarketplaces", marketplace)
        if marketplace == seller.marketplace:
            errors.append(
                error(
                    "BaseMarketplaceInAdditionalMarketplacesException",
                    f"{marketplace} is the base marketplace; do not list it as an additional one.",
                    path=path,
                    metadata={"baseMarketplace": marketplace},
                )
            )
            continue
        if marketplace not in MARKETPLACE_CURRENCIES:
            errors.append(
                error(
                    "UnsupportedAdditionalMarketplaceException",
                    f"The marketplace {marketplace} is not supported.",
                    path=path,
                    metadata={"supportedAdditionalMarketplaces": ",".join(supported)},
                )
            )
            continue
        price = as_dict(as_dict(settings).get("sellingMode")).get("price")
        if price is not None:
            errors.extend(
                _price_errors(
                    price, join_path(path, "sellingMode.price"), MARKETPLACE_CURRENCIES[marketplace]
                )
            )
    return errors


def check_stock(stock: Any, *, activating: bool) -> list[dict[str, Any]]:
    if stock is None:
        return [not_null("stock")]
    available = as_dict(stock).get("available")
    if available is None:
        return [not_null("stock.available")] if activating else []
    try:
        count = int(available)
    except (TypeError, ValueError):
        return []  # a JSON mapping error, reported by check_types
    if count < 0:
        return [
            error(
                "AvailableStockMustEqualToZeroOrBeGreaterThanZero",
                "The available stock cannot be less than 0.",
                path="stock.available",
            )
        ]
    if activating and count < 1:
        return [
            error(
                "AvailableStockMustEqualToOneOrBeGreaterThanOne",
                "The listed quantity cannot be less than 1.",
                path="stock.available",
            )
        ]
    return []


# -- images, external id --------------------------------------------------------------


def _url_ok(url: Any) -> bool:
    return isinstance(url, str) and re.match(r"^https?://\S+$", url.strip(), re.I) is not None


def check_images(
    offer_images: Any, product_images: list[tuple[str, list[Any]]], *, publishing: bool
) -> list[dict[str, Any]]:
    """``product_images``: (path of the list, urls) for each product's contribution. The
    gallery is the offer's images plus the products' images, duplicates counted once."""
    errors = []
    gallery: list[str] = []
    sources = [("images", as_list(offer_images)), *product_images]
    for path, urls in sources:
        for index, url in enumerate(urls):
            if not _url_ok(url):
                errors.append(
                    error(
                        "ConstraintViolationException.ImageUrl",
                        f"The image '{url}' must be an http or https URL.",
                        path=join_path(path, index),
                    )
                )
            elif url.strip() not in gallery:
                gallery.append(url.strip())
    if len(gallery) > MAX_IMAGES:
        errors.append(
            error(
                "GallerySizeException",
                f"The offer may have at most {MAX_IMAGES} images, counting the product's; it has "
                f"{len(gallery)}.",
                path="images",
                metadata={"gallerySizeLimit": MAX_IMAGES},
            )
        )
    if publishing and not gallery and not errors:
        errors.append(
            error(
                "ConstraintViolationException.MissingImages",
                "The offer needs at least 1 image (its own or the product's).",
                path="images",
            )
        )
    return errors


def check_external(external: Any) -> list[dict[str, Any]]:
    external_id = as_dict(external).get("id")
    if isinstance(external_id, str) and len(external_id) > 100:
        return [
            error(
                "ConstraintViolationException.StringLength",
                "external.id may have at most 100 characters.",
                path="external.id",
                metadata={"max": 100},
            )
        ]
    return []


# -- delivery and after-sales services ------------------------------------------------

_SERVICES = {
    # key: (seller attribute, not-found code, default-not-found code, what)
    "shippingRates": (
        "shipping_rates",
        "ShippingRatesNotFoundException",
        "DefaultShippingRatesNotFoundException",
        "Shipping rates",
    ),
    "returnPolicy": (
        "return_policies",
        "ReturnPolicyNotFoundException",
        "DefaultReturnPolicyNotFoundException",
        "Return policy",
    ),
    "impliedWarranty": (
        "implied_warranties",
        "ImpliedWarrantyNotFoundException",
        "DefaultImpliedWarrantyNotFoundException",
        "Implied warranty",
    ),
    "warranty": ("warranties", "WarrantyNotFoundException", None, "Warranty"),
}
_DEFAULT_NAME = "default"


def _pick_default(options: tuple[dict[str, str], ...]) -> dict[str, str] | None:
    if len(options) == 1:
        return options[0]
    return next((o for o in options if o.get("name") == _DEFAULT_NAME), None)


def _service(
    key: str, requested: Any, path: str, seller: Seller, filled: dict[str, Any]
) -> list[dict[str, Any]]:
    attribute, code, default_code, what = _SERVICES[key]
    options: tuple[dict[str, str], ...] = getattr(seller, attribute)
    requested = as_dict(requested)
    wanted_id, wanted_name = requested.get("id"), requested.get("name")
    if wanted_id is None and wanted_name is None:
        chosen = _pick_default(options)
        if chosen is None:
            if default_code is None or (key == "warranty" and not options):
                return []
            return [
                error(
                    default_code,
                    f"{what} not given and the account has no single or '{_DEFAULT_NAME}' one.",
                    path=path,
                    metadata={"defaultName": _DEFAULT_NAME},
                )
            ]
        filled[path] = {"id": chosen["id"]}
        return []
    if wanted_id is not None:
        chosen = next((o for o in options if o["id"] == wanted_id), None)
        metadata = {"requestedId": wanted_id}
    else:
        chosen = next((o for o in options if o["name"] == wanted_name), None)
        metadata = {"requestedName": wanted_name, "defaultName": _DEFAULT_NAME}
    if chosen is None:
        shown = wanted_id if wanted_id is not None else wanted_name
        return [
            error(
                code,
                f"{what} '{shown}' not found in the seller's settings.",
                path=path,
                metadata=metadata,
            )
        ]
    filled[path] = {"id": chosen["id"]}
    return []


def check_after_sales(
    body: dict[str, Any], seller: Seller, filled: dict[str, Any]
) -> list[dict[str, Any]]:
    """Shipping rates and after-sales services, by id or name, falling back to the account's
    single entry or to the one named "default". ``filled`` receives the chosen ids by path
    (``delivery.shippingRates`` -> ``{"id": ...}``)."""
    delivery = as_dict(body.get("delivery"))
    services = as_dict(body.get("afterSalesServices"))
    errors = _service(
        "shippingRates", delivery.get("shippingRates"), "delivery.shippingRates", seller, filled
    )
    for key in ("returnPolicy", "impliedWarranty", "warranty"):
        errors += _service(key, services.get(key), f"afterSalesServices.{key}", seller, filled)
    handling = delivery.get("handlingTime")
    if handling is not None and not (isinstance(handling, str) and handling in _HANDLING_TIMES):
        errors.append(
            error(
                "ConstraintViolationException.HandlingTime",
                f"The handling time {handling} is not one of Allegro's values.",
                path="delivery.handlingTime",
            )
        )
    return errors


# -- location, language, publication --------------------------------------------------


def check_location(location: Any) -> list[dict[str, Any]]:
    location = as_dict(location)
    errors = []
    city = location.get("city")
    if isinstance(city, str) and not 1 <= len(city) <= 50:
        errors.append(
            error(
                "ConstraintViolationException.StringLength",
                "The city must have between 1 and 50 characters.",
                path="location.city",
            )
        )
    if location.get("countryCode") == "PL":
        if location.get("province") not in _PROVINCES:
            errors.append(
                error(
                    "ConstraintViolationException.Province",
                    "For Poland the province must be one of the 16 voivodeship codes.",
                    path="location.province",
                )
            )
        post_code = location.get("postCode")
        if post_code is not None and not _PL_POST_CODE.match(str(post_code)):
            errors.append(
                error(
                    "ConstraintViolationException.PostCode",
                    "Invalid postal code. Use the format XX-XXX.",
                    path="location.postCode",
                )
            )
    return errors


def check_language(language: Any) -> list[dict[str, Any]]:
    if language is None or language in LANGUAGES:
        return []
    return [
        error(
            "UnsupportedLanguageException",
            f"The language {language} is not supported.",
            path="language",
            metadata={"availableLocales": ",".join(LANGUAGES)},
        )
    ]


def check_publication(publication: Any, selling_format: Any) -> list[dict[str, Any]]:
    duration = as_dict(publication).get("duration")
    if duration is None or duration in _DURATIONS:
        return []
    return [
        error(
            "ConstraintViolationException.Duration",
            f"The duration {duration} is not allowed for {selling_format or 'BUY_NOW'} offers.",
            path="publication.duration",
        )
    ]

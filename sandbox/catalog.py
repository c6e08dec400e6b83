"""The sandbox's reference data: category tree, category parameters, product catalogue, sellers.

Everything is read once from ``sandbox/data/*.json`` (package data, loaded through
``importlib.resources``) and served as deep copies, so callers may mutate what they get;
the lookups that validation and rendering make on every request can ask for the shared
objects instead (``shared=True``). The JSON is produced by ``sandbox/build_data.py`` and
committed.

Shapes follow Allegro's public API: categories are ``CategoryDto`` dicts, parameters are
``CategoryParameter`` dicts, products are ``BaseSaleProductResponseDto``-like dicts.
"""

from __future__ import annotations

import copy
import json
import unicodedata
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["ROOT_CATEGORY_ID", "Catalog", "Seller", "normalize_gtin"]

# Allegro's invisible top category ("Allegro"): the default of `parent.id`.
ROOT_CATEGORY_ID = "954b95b6-43cf-4104-8354-dea4d9b10ddf"

_T = TypeVar("_T")

_GTIN_PARAMETER_ID = "225693"
_MPN_PARAMETER_ID = "224017"


@dataclass(frozen=True)
class Seller:
    """A sandbox seller account and its after-sales settings.

    ``shipping_rates``, ``return_policies``, ``implied_warranties`` and ``warranties`` are
    tuples of ``{"id": <uuid>, "name": <str>}`` dicts.
    """

    login: str
    user_id: str
    marketplace: str
    currency: str
    shipping_rates: tuple[dict[str, str], ...]
    return_policies: tuple[dict[str, str], ...]
    implied_warranties: tuple[dict[str, str], ...]
    warranties: tuple[dict[str, str], ...]


def normalize_gtin(value: str) -> str:
    """A GTIN padded with leading zeros to 14 digits, so that UPC-12 ``X`` and EAN-13
    ``0X`` compare equal. Non-digit input is returned stripped, unchanged otherwise."""
    value = value.strip()
    return value.zfill(14) if value.isdigit() else value


def _fold(text: str) -> str:
    """Lower case without Polish diacritics (``ł`` is not decomposable, so mapped by hand)."""
    text = text.casefold().replace("ł", "l")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _words(text: str) -> list[str]:
    cleaned = "".join(ch if ch.isalnum() else " " for ch in _fold(text))
    return cleaned.split()


def _data_dir() -> Traversable:
    try:
        return resources.files("sandbox").joinpath("data")
    except (NotADirectoryError, TypeError):
        # Python 3.11 cannot serve resources of a namespace package (no __init__.py).
        return Path(__file__).with_name("data")


def _read_json(name: str) -> Any:
    return json.loads(_data_dir().joinpath(name).read_text(encoding="utf-8"))


def _copied(value: _T, shared: bool) -> _T:
    return value if shared else copy.deepcopy(value)


class Catalog:
    """Read-only lookups over the sandbox's reference data. Every result is a deep copy,
    unless the lookup is asked for ``shared=True``: then it is the catalogue's own object,
    for callers that only read it (the offer rules and renderers, on every request, where
    copying a category's parameter list cost more than checking the offer). A shared result
    must never be modified, nor put where something may modify it later.
    """

    def __init__(
        self,
        categories: list[dict[str, Any]],
        parameters: dict[str, list[dict[str, Any]]],
        products: list[dict[str, Any]],
        sellers: list[Seller],
        keywords: dict[str, list[str]] | None = None,
    ) -> None:
        self._categories = {c["id"]: c for c in categories}
        self._order = [c["id"] for c in categories]
        self._children: dict[str, list[str]] = {}
        for c in categories:
            parent = c["parent"]["id"] if c.get("parent") else ROOT_CATEGORY_ID
            self._children.setdefault(parent, []).append(c["id"])
        self._parameters = parameters
        self._products = {p["id"]: p for p in products}
        self._product_order = [p["id"] for p in products]
        self._sellers = {s.login: s for s in sellers}
        self._keywords = {cid: [_fold(w) for w in words] for cid, words in (keywords or {}).items()}
        self._by_gtin: dict[str, list[str]] = {}
        for p in products:
            for value in self._values(p, _GTIN_PARAMETER_ID):
                self._by_gtin.setdefault(normalize_gtin(value), []).append(p["id"])

    # -- construction ---------------------------------------------------------------

    @classmethod
    def load_default(cls) -> Catalog:
        """The catalogue shipped in ``sandbox/data``."""
        sellers = [
            Seller(
                login=s["login"],
                user_id=s["user_id"],
                marketplace=s["marketplace"],
                currency=s["currency"],
                shipping_rates=tuple(s["shipping_rates"]),
                return_policies=tuple(s["return_policies"]),
                implied_warranties=tuple(s["implied_warranties"]),
                warranties=tuple(s["warranties"]),
            )
            for s in _read_json("sellers.json")["sellers"]
        ]
        return cls(
            categories=_read_json("categories.json")["categories"],
            parameters=_read_json("parameters.json"),
            products=_read_json("products.json")["products"],
            sellers=sellers,
            keywords=_read_json("category_keywords.json"),
        )

    # -- categories -----------------------------------------------------------------

    def root_categories(self) -> list[dict[str, Any]]:
        """The main categories (``parent: null``), as ``GET /sale/categories`` lists them."""
        return [copy.deepcopy(self._categories[cid]) for cid in self._children[ROOT_CATEGORY_ID]]

    def children(self, parent_id: str) -> list[dict[str, Any]] | None:
        """Direct children of a category; ``[]`` for a leaf, ``None`` for an unknown id.

        Allegro's top node id (:data:`ROOT_CATEGORY_ID`) gives the main categories."""
        if parent_id != ROOT_CATEGORY_ID and parent_id not in self._categories:
            return None
        return [copy.deepcopy(self._categories[cid]) for cid in self._children.get(parent_id, [])]

    def category(self, category_id: str, *, shared: bool = False) -> dict[str, Any] | None:
        found = self._categories.get(category_id)
        return _copied(found, shared) if found is not None else None

    def category_path(self, category_id: str) -> list[dict[str, str]] | None:
        """``[{id, name}]`` from the main category down to ``category_id`` (inclusive)."""
        if category_id not in self._categories:
            return None
        path = []
        current: str | None = category_id
        while current is not None:
            node = self._categories[current]
            path.append({"id": node["id"], "name": node["name"]})
            current = node["parent"]["id"] if node.get("parent") else None
        return list(reversed(path))

    def leaf_categories(self) -> list[dict[str, Any]]:
        return [
            copy.deepcopy(self._categories[cid])
            for cid in self._order
            if self._categories[cid]["leaf"]
        ]

    def all_categories(self) -> list[dict[str, Any]]:
        return [copy.deepcopy(self._categories[cid]) for cid in self._order]

    # -- parameters -----------------------------------------------------------------

    def parameters(self, category_id: str, *, shared: bool = False) -> list[dict[str, Any]] | None:
        """``CategoryParameter`` dicts of a category; ``[]`` for an inner category (Allegro
        defines parameters on leaves only), ``None`` for an unknown id."""
        if category_id not in self._categories:
            return None
        return _copied(self._parameters.get(category_id, []), shared)

    def product_parameters(self, category_id: str) -> list[dict[str, Any]] | None:
        """The product parameters of a category (``options.describesProduct``), in the
        ``CategoryProductParameter`` shape of ``GET /sale/categories/{id}/product-parameters``:
        there ``required`` means required for a product, and ``requiredForProduct``,
        ``options`` and ``dependsOnValueIds`` are absent."""
        params = self.parameters(category_id)
        if params is None:
            return None
        result = []
        for param in params:
            if not param["options"]["describesProduct"]:
                continue
            shaped = {
                "id": param["id"],
                "name": param["name"],
                "type": param["type"],
                "required": param["requiredForProduct"],
                "requiredIf": param["requiredIf"],
                "displayedIf": param["displayedIf"],
                "unit": param["unit"],
            }
            if "formerData" in param:
                shaped["formerData"] = param["formerData"]
            if "dictionary" in param:
                shaped["dictionary"] = [
                    {k: v for k, v in entry.items() if k != "dependsOnValueIds"}
                    for entry in param["dictionary"]
                ]
            shaped["restrictions"] = param.get("restrictions", {})
            result.append(shaped)
        return result

    def matching_categories(self, name: str) -> list[dict[str, Any]]:
        """``CategorySuggestion`` items for a product name, best match first.

        A leaf matches when a word of the name starts with one of its keywords (so
        "smartfon" matches "smartfony"); leaves are ranked by how many words matched."""
        words = _words(name)
        scored = []
        for position, cid in enumerate(self._order):
            keywords = self._keywords.get(cid)
            if not keywords:
                continue
            score = sum(
                1
                for w in words
                if any(w.startswith(k) or (len(w) >= 4 and k.startswith(w)) for k in keywords)
            )
            if score:
                scored.append((-score, position, cid))
        return [self._suggestion(cid) for _, _, cid in sorted(scored)]

    def _suggestion(self, category_id: str) -> dict[str, Any]:
        node = self._categories[category_id]
        parent = node["parent"]["id"] if node.get("parent") else None
        return {
            "id": node["id"],
            "name": node["name"],
            "parent": None if parent is None else self._suggestion(parent),
        }

    # -- products -------------------------------------------------------------------

    @staticmethod
    def _values(product: dict[str, Any], parameter_id: str) -> list[str]:
        for param in product.get("parameters", []):
            if param["id"] == parameter_id:
                return list(param.get("values") or [])
        return []

    def search_products(
        self,
        phrase: str,
        mode: str | None = None,
        category_id: str | None = None,
        *,
        shared: bool = False,
    ) -> list[dict[str, Any]]:
        """``GET /sale/products``: by GTIN (``mode="GTIN"``, leading zeros ignored), by
        manufacturer code (``mode="MPN"``, case-insensitive) or, without a mode, by name
        (every word of the phrase must begin a word of the product name; a bare GTIN also
        matches). ``category_id`` keeps products in that category, below it, or listing it
        as a similar category."""
        phrase = phrase.strip()
        if mode == "GTIN":
            ids = self._by_gtin.get(normalize_gtin(phrase), [])
        elif mode == "MPN":
            wanted = phrase.casefold()
            ids = [
                pid
                for pid in self._product_order
                if any(
                    v.casefold() == wanted
                    for v in self._values(self._products[pid], _MPN_PARAMETER_ID)
                )
            ]
        else:
            query = _words(phrase)
            gtin_hits = set(self._by_gtin.get(normalize_gtin(phrase), [])) if phrase else set()
            ids = []
            for pid in self._product_order:
                name_words = _words(self._products[pid]["name"])
                by_name = bool(query) and all(
                    any(nw.startswith(q) for nw in name_words) for q in query
                )
                if by_name or pid in gtin_hits:
                    ids.append(pid)
        if category_id is not None:
            ids = [pid for pid in ids if self._in_category(self._products[pid], category_id)]
        return [_copied(self._products[pid], shared) for pid in ids]

    @staticmethod
    def _in_category(product: dict[str, Any], category_id: str) -> bool:
        category = product["category"]
        if any(node["id"] == category_id for node in category.get("path", [])):
            return True
        return any(s["id"] == category_id for s in category.get("similar", []))

    def product(self, product_id: str, *, shared: bool = False) -> dict[str, Any] | None:
        found = self._products.get(product_id)
        return _copied(found, shared) if found is not None else None

    def products_by_gtin(self, gtin: str, *, shared: bool = False) -> list[dict[str, Any]]:
        """Catalogue products carrying this GTIN (zero-padding ignored); possibly several."""
        return [
            _copied(self._products[pid], shared)
            for pid in self._by_gtin.get(normalize_gtin(gtin), [])
        ]

    def products(self) -> list[dict[str, Any]]:
        return [copy.deepcopy(self._products[pid]) for pid in self._product_order]

    # -- sellers --------------------------------------------------------------------

    def seller(self, login: str, *, shared: bool = False) -> Seller | None:
        found = self._sellers.get(login)
        return _copied(found, shared) if found is not None else None

    def sellers(self) -> list[Seller]:
        return [copy.deepcopy(s) for s in self._sellers.values()]

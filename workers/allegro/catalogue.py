"""Categories, their parameters and the product catalogue (FACTS §4, §5)."""

from __future__ import annotations

from collections.abc import Mapping

from workers.allegro._base import ClientBase, segment
from workers.allegro._http import AuthMode
from workers.allegro.errors import InvalidRequest
from workers.allegro.models import (
    Category,
    CategoryParameter,
    MatchingCategory,
    Product,
    ProductSearchPage,
    parse_items,
    parse_model,
)

__all__ = ["CatalogueMixin"]


class CatalogueMixin(ClientBase):
    """Category tree and parameters (application token), matching categories and
    catalogue products (user token)."""

    def list_categories(self, parent_id: str | None = None) -> list[Category]:
        """Children of ``parent_id``, or the main categories without it."""
        params = {"parent.id": parent_id} if parent_id else None
        response = self._http.request("GET", "/sale/categories", auth=AuthMode.APP, params=params)
        return parse_items(Category, response.body, "categories", response.trace_id)

    def get_category(self, category_id: str) -> Category:
        response = self._http.request(
            "GET", f"/sale/categories/{segment(category_id, 'category id')}", auth=AuthMode.APP
        )
        return parse_model(Category, response.body, response.trace_id)

    def get_category_parameters(self, category_id: str) -> list[CategoryParameter]:
        """All parameters of a category (offer and product ones; see ``describes_product``)."""
        return self._parameters(
            f"/sale/categories/{segment(category_id, 'category id')}/parameters"
        )

    def get_category_product_parameters(self, category_id: str) -> list[CategoryParameter]:
        """Only the product parameters of a category."""
        return self._parameters(
            f"/sale/categories/{segment(category_id, 'category id')}/product-parameters"
        )

    def _parameters(self, path: str) -> list[CategoryParameter]:
        response = self._http.request("GET", path, auth=AuthMode.APP)
        return parse_items(CategoryParameter, response.body, "parameters", response.trace_id)

    def match_categories(self, name: str) -> list[MatchingCategory]:
        """Allegro's category suggestions for a product name (user token; 5 req/s)."""
        if not name.strip():
            raise InvalidRequest("a product name is needed to suggest categories")
        response = self._http.request("GET", "/sale/matching-categories", params={"name": name})
        return parse_items(MatchingCategory, response.body, "matchingCategories", response.trace_id)

    def search_products(
        self,
        phrase: str | None = None,
        *,
        mode: str | None = None,
        category_id: str | None = None,
        language: str | None = None,
        page_id: str | None = None,
        search_features: str | None = None,
        filters: Mapping[str, str] | None = None,
    ) -> ProductSearchPage:
        """``GET /sale/products``: by name, or with ``mode`` ``GTIN`` / ``MPN``.

        ``category_id`` only together with ``phrase``; ``page_id`` is the previous page's
        ``next_page.id``. Pages hold up to 30 products.
        """
        if mode is not None and mode.upper() not in ("GTIN", "MPN"):
            raise InvalidRequest(f"mode must be GTIN or MPN, not {mode!r}")
        if category_id and not phrase:
            raise InvalidRequest("category_id can only be used together with a phrase")
        params: list[tuple[str, str | int]] = []
        if phrase:
            params.append(("phrase", phrase))
        if mode:
            params.append(("mode", mode.upper()))
        if category_id:
            params.append(("category.id", category_id))
        if language:
            params.append(("language", language))
        if search_features:
            params.append(("searchFeatures", search_features))
        if page_id:
            params.append(("page.id", page_id))
        params.extend((key, value) for key, value in (filters or {}).items())
        response = self._http.request("GET", "/sale/products", params=params)
        return parse_model(ProductSearchPage, response.body, response.trace_id)

    def products_by_gtin(self, gtin: str) -> list[Product]:
        """Catalogue products with this GTIN (one GTIN may belong to several products)."""
        page = self.search_products(gtin, mode="GTIN")
        return list(page.products or [])

    def get_product(self, product_id: str, *, category_id: str | None = None) -> Product:
        """One catalogue product; ``category_id`` picks one of its similar categories."""
        params = {"category.id": category_id} if category_id else None
        response = self._http.request(
            "GET", f"/sale/products/{segment(product_id, 'product id')}", params=params
        )
        return parse_model(Product, response.body, response.trace_id)

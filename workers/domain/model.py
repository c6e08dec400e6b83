"""Data passed between the pipeline's steps (shared by the domain, the store and actors)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from schemas.status import StatusError

__all__ = [
    "CategoryChoice",
    "CategoryParameters",
    "Enriched",
    "ProductState",
    "Rejected",
    "derived",
    "problem",
]

T = TypeVar("T")


def problem(
    code: str, message: str, *, path: str | None = None, user_message: str | None = None
) -> StatusError:
    """An error item in Allegro's shape (``code``, ``message``, ``path``, ``userMessage``).

    ``user_message`` defaults to ``message``: every text we write is meant to be actionable
    by the seller (it names the field and the fix).
    """
    return StatusError(code=code, message=message, path=path, user_message=user_message or message)


class Rejected(Exception):  # a domain outcome (not retried), not a programming error
    """The product cannot become a valid offer; not retried. Carries every reason found."""

    def __init__(self, errors: Sequence[StatusError]) -> None:
        if not errors:
            raise ValueError("Rejected needs at least one error")
        self.errors = list(errors)
        super().__init__("; ".join(f"{e.code}: {e.message}" for e in self.errors))


@dataclass(frozen=True)
class ProductState:
    """The desired state of one SKU: every event merged into it, newest field values win.

    ``product`` holds the fields of ``product.upserted`` as JSON-ready data (``name``,
    ``description``, ``category``, ``ean``, ``mpn``, ``brand``, ``price`` {amount, currency},
    ``stock`` {available, unit}, ``images``, ``attributes``, ``allegro`` {category_id,
    product_id, parameters}); stock and price events replace only their part. ``complete``
    is true once a ``product.upserted`` has been merged (a SKU known only from stock or price
    events cannot be listed). ``version`` is the highest version merged; ``event_id`` the
    event that last changed the state.
    """

    account: str
    sku: str
    version: int
    event_id: str
    product: dict[str, Any]
    deleted: bool = False
    complete: bool = False


@dataclass(frozen=True)
class CategoryChoice:
    """Where the product goes on Allegro and why (``source``: override, exact, prefix,
    default, or catalogue: the linked catalogue product's category, taken instead of the
    mapping's default; see :mod:`workers.domain.catalogue_link`)."""

    category_id: str
    source: str
    store_category: str | None


@dataclass(frozen=True)
class Enriched:
    """A product ready to become an offer body.

    ``product_id``: a catalogue product to link (from the override or a GTIN/MPN match), or
    None for a new product described by ``product_parameters``. Parameters are in Allegro's
    request shape (``{id, values | valuesIds | rangeValue}``), split by ``describesProduct``.
    ``description`` is Allegro's ``{sections: [{items: [...]}]}`` or None (use the
    catalogue's). ``notes`` are non-blocking remarks for the log (e.g. an attribute that
    matched no parameter). ``catalogue_images``: how many images the linked catalogue
    product has (None when not linked, or its data is not known); they are the offer's
    when the store gives none (see :mod:`workers.domain.offer`).
    """

    category_id: str
    name: str
    product_id: str | None
    product_parameters: list[dict[str, Any]]
    offer_parameters: list[dict[str, Any]]
    description: dict[str, Any] | None
    images: list[str]
    ean: str | None = None
    notes: list[str] = field(default_factory=list)
    catalogue_images: int | None = None


class CategoryParameters(list[dict[str, Any]]):
    """A category's parameters (Allegro's ``CategoryParameter`` dicts) that nobody changes:
    what the steps derive from them (an index by id and name, the parsed definitions of
    the parameter rules) is kept with the list and derived once, not for every event.
    :meth:`workers.services.Services.parameters` hands them out so; a plain list works
    everywhere too, and has everything derived afresh."""

    def __init__(self, parameters: Iterable[dict[str, Any]] = ()) -> None:
        super().__init__(parameters)
        self._derived: dict[str, Any] = {}

    def derived(self, key: str, build: Callable[[Sequence[dict[str, Any]]], T]) -> T:
        """``build(self)``, built on the first call with ``key`` and kept. Threads may
        race to build it; each build gives the same value, the last one is kept."""
        try:
            return cast(T, self._derived[key])
        except KeyError:
            value = build(self)
            self._derived[key] = value
            return value


def derived(
    parameters: Sequence[dict[str, Any]], key: str, build: Callable[[Sequence[dict[str, Any]]], T]
) -> T:
    """``build(parameters)``, kept with ``parameters`` when they are
    :class:`CategoryParameters` (derived once), else built afresh. What ``build`` returns
    is shared by every caller then: they only read it."""
    if isinstance(parameters, CategoryParameters):
        return parameters.derived(key, build)
    return build(parameters)

"""Allegro's marketplaces as the sandbox knows them (GET /marketplaces, offer rendering,
price commands)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["MARKETPLACES", "Marketplace", "default_location", "marketplaces_document"]


@dataclass(frozen=True)
class Marketplace:
    id: str
    currency: str
    language: str
    country: str


MARKETPLACES: dict[str, Marketplace] = {
    m.id: m
    for m in (
        Marketplace("allegro-pl", "PLN", "pl-PL", "PL"),
        Marketplace("allegro-cz", "CZK", "cs-CZ", "CZ"),
        Marketplace("allegro-sk", "EUR", "sk-SK", "SK"),
        Marketplace("allegro-hu", "HUF", "hu-HU", "HU"),
        Marketplace("allegro-business-pl", "PLN", "pl-PL", "PL"),
        Marketplace("allegro-business-cz", "CZK", "cs-CZ", "CZ"),
    )
}

# Where a seller's goods ship from when an offer names no location ("the account address").
_ACCOUNT_ADDRESS: dict[str, dict[str, str]] = {
    "PL": {
        "countryCode": "PL",
        "province": "MAZOWIECKIE",
        "city": "Warszawa",
        "postCode": "00-001",
    },
    "CZ": {"countryCode": "CZ", "city": "Praha", "postCode": "110 00"},
    "SK": {"countryCode": "SK", "city": "Bratislava", "postCode": "811 01"},
    "HU": {"countryCode": "HU", "city": "Budapest", "postCode": "1011"},
}


def default_location(marketplace_id: str) -> dict[str, str]:
    market = MARKETPLACES.get(marketplace_id, MARKETPLACES["allegro-pl"])
    return dict(_ACCOUNT_ADDRESS[market.country])


def marketplaces_document() -> dict[str, Any]:
    """The body of ``GET /marketplaces`` (``AllegroMarketplaces``)."""
    countries = [{"code": code} for code in ("PL", "CZ", "SK", "HU")]
    return {
        "marketplaces": [
            {
                "id": m.id,
                "languages": {
                    "offerCreation": [{"code": m.language}],
                    "offerDisplay": [{"code": m.language}],
                },
                "currencies": {"base": {"code": m.currency}, "additional": []},
                "shippingCountries": [c for c in countries if c["code"] == m.country] or countries,
            }
            for m in MARKETPLACES.values()
        ]
    }

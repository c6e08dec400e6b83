"""Shop-like values of the generated products: prices, EANs, MPNs, descriptions, images.

Each takes the catalogue's seeded ``random.Random``; the draws it makes are part of the
sequence that keeps ``catalogue.json`` reproducible.
"""

from __future__ import annotations

import random
from decimal import ROUND_HALF_UP, Decimal

from workers.sample.lines import gtin_with_check_digit

__all__ = ["IMAGE_HOST", "description", "gtin", "images", "mpn", "price"]

IMAGE_HOST = "https://img.sklep-przyklad.example"

_INTROS = (
    "{name} to sprawdzony wybór w naszym sklepie.",
    "Przedstawiamy {name}: produkt, który klienci polecają.",
    "{name}: oryginalny produkt z polskiej dystrybucji.",
    "Szukasz solidnego produktu? {name} spełni oczekiwania.",
)
_CLOSINGS = (
    "Wysyłamy w 24 godziny, a na zwrot masz 30 dni.",
    "Produkt fabrycznie nowy, z gwarancją producenta.",
    "Do każdego zamówienia dołączamy paragon lub fakturę VAT.",
    "Masz pytania? Nasz zespół doradzi przed zakupem.",
)


def price(rng: random.Random, base: float) -> str:
    """A shop-like price near ``base``: x9.99, x9.00 or x4.90 style endings."""
    value = Decimal(str(base)) * Decimal(str(rng.uniform(0.96, 1.04)))
    whole = int(value.quantize(Decimal("1"), rounding=ROUND_HALF_UP))
    if whole < 20:
        cents = rng.choice(("0.99", "0.49", "0.90"))
        return str(Decimal(max(whole, 2) - 1) + Decimal(cents))
    ending = rng.choice(("9.99", "9.00", "4.90", "9.90"))
    return str(Decimal(whole // 10 * 10) + Decimal(ending))


def gtin(rng: random.Random, prefix: str, taken: set[str]) -> str:
    """A new EAN-13 under the GS1 prefix ``prefix``, distinct from every one in ``taken``."""
    while True:
        body = prefix + "".join(rng.choice("0123456789") for _ in range(12 - len(prefix)))
        gtin = gtin_with_check_digit(body)
        if gtin not in taken:
            taken.add(gtin)
            return gtin


def mpn(rng: random.Random, pattern: str) -> str:
    """``pattern`` with ``#`` replaced by digits and ``@`` by capital letters."""
    out = []
    for ch in pattern:
        if ch == "#":
            out.append(rng.choice("0123456789"))
        elif ch == "@":
            out.append(rng.choice("ABCDEFGHJKLMNPRSTUVWXZ"))
        else:
            out.append(ch)
    return "".join(out)


def description(rng: random.Random, name: str, features: list[str]) -> str:
    """Plain text, clean HTML, or the messier HTML of a shop's editor (with tags Allegro
    does not allow, which the pipeline's sanitiser must reduce)."""
    intro = rng.choice(_INTROS).format(name=name)
    closing = rng.choice(_CLOSINGS)
    style = rng.random()
    items = features or ["Oryginalny produkt"]
    if style < 0.45:
        bullets = "".join(f"<li>{f}</li>" for f in items)
        return f"<h2>{name}</h2><p>{intro}</p><ul>{bullets}</ul><p>{closing}</p>"
    if style < 0.75:
        bullets = "".join(f"<li><span>{f}</span></li>" for f in items)
        return (
            f'<div class="opis-produktu"><p><strong>{name}</strong></p>'
            f"<p>{intro}<br>{closing}</p><ul>{bullets}</ul></div>"
        )
    lines = "\n".join(f"- {f}" for f in items)
    return f"{intro}\n\n{lines}\n\n{closing}"


def images(rng: random.Random, sku: str) -> list[str]:
    slug = sku.lower()
    count = rng.choice((1, 2, 3, 3, 4, 5))
    return [f"{IMAGE_HOST}/produkty/{slug}/{n}.jpg" for n in range(1, count + 1)]

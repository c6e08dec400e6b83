"""Generator of the sandbox's reference data (``sandbox/data/*.json``).

The JSON files are committed; this script only exists so that the data can be
re-generated consistently (check digits, dictionary ids, category paths) after an edit.
Run it from the repository root::

    .venv/bin/python -m sandbox.build_data

The sandbox never imports this module at run time: ``sandbox.catalog`` reads the JSON.

Everything here was written for this project. Category and parameter ids reuse the
real Allegro ids where the project's Allegro facts name them (Elektronika, 165, 11323,
225693, 224017, 17448, ...); the rest are invented but shaped like Allegro's.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from sandbox.rules_common import gtin_check_digit

DATA_DIR = Path(__file__).with_name("data")

# Allegro's invisible top node; `GET /sale/categories` without `parent.id` lists its children.
ROOT_ID = "954b95b6-43cf-4104-8354-dea4d9b10ddf"

# Deterministic UUIDs: a fixed namespace keeps ids stable across re-generation.
_NS = uuid.UUID("6c1f1f39-5b55-4d0a-9a43-5c0a3e4d2f10")


def stable_uuid(name: str) -> str:
    return str(uuid.uuid5(_NS, name))


# ---------------------------------------------------------------------------
# GTIN helpers
# ---------------------------------------------------------------------------


def gtin(body: str) -> str:
    return body + gtin_check_digit(body)


# ---------------------------------------------------------------------------
# Category tree
# ---------------------------------------------------------------------------

_CATEGORY_OPTIONS_PRODUCTS = {
    "advertisement": False,
    "offersWithProductPublicationEnabled": True,
    "productCreationEnabled": True,
    "sellerCanRequirePurchaseComments": False,
}
_CATEGORY_OPTIONS_PLAIN = {
    "advertisement": False,
    "offersWithProductPublicationEnabled": False,
    "productCreationEnabled": False,
    "sellerCanRequirePurchaseComments": False,
}

# (id, name, parent id or None, keywords for matching-categories; None = not a leaf)
# Leaves carry keywords; inner nodes carry None.
TREE: list[tuple[str, str, str | None, list[str] | None]] = [
    # Elektronika
    ("42540aec-367a-4e5e-b411-17c09b08e41f", "Elektronika", None, None),
    ("4", "Telefony i Akcesoria", "42540aec-367a-4e5e-b411-17c09b08e41f", None),
    (
        "165",
        "Smartfony i telefony komórkowe",
        "4",
        ["smartfon", "telefon", "iphone", "galaxy", "redmi", "komórkowy", "smartphone"],
    ),
    ("259347", "Etui i pokrowce", "4", ["etui", "pokrowiec", "case", "obudowa"]),
    ("261544", "Ładowarki sieciowe", "4", ["ładowarka", "zasilacz", "charger"]),
    ("10", "RTV i AGD", "42540aec-367a-4e5e-b411-17c09b08e41f", None),
    ("66887", "Słuchawki", "10", None),
    (
        "85166",
        "Bezprzewodowe",
        "66887",
        ["słuchawki", "bezprzewodowe", "bluetooth", "tws", "earbuds", "anc"],
    ),
    ("85167", "Przewodowe", "66887", ["słuchawki", "przewodowe", "jack", "douszne"]),
    ("2e1f0f5a-9d3b-4a8e-8c21-7a6d2b1c9e40", "AGD drobne", "10", None),
    (
        "67490",
        "Czajniki elektryczne",
        "2e1f0f5a-9d3b-4a8e-8c21-7a6d2b1c9e40",
        ["czajnik", "elektryczny", "kettle"],
    ),
    (
        "67461",
        "Ekspresy do kawy",
        "2e1f0f5a-9d3b-4a8e-8c21-7a6d2b1c9e40",
        ["ekspres", "kawy", "espresso", "kawiarka"],
    ),
    ("2", "Komputery", "42540aec-367a-4e5e-b411-17c09b08e41f", None),
    ("491", "Laptopy", "2", ["laptop", "notebook", "ultrabook", "macbook", "thinkpad"]),
    ("4476", "Myszy", "2", ["mysz", "myszka", "mouse"]),
    # Dom i Ogród
    ("5", "Dom i Ogród", None, None),
    ("1532", "Ogród", "5", None),
    ("257931", "Kosiarki", "1532", ["kosiarka", "trawy", "spalinowa", "elektryczna"]),
    ("1536", "Narzędzia", "5", None),
    (
        "147657",
        "Wiertarko-wkrętarki",
        "1536",
        ["wiertarka", "wkrętarka", "wiertarko", "akumulatorowa"],
    ),
    ("1520", "Wyposażenie", "5", None),
    ("260556", "Kubki", "1520", ["kubek", "kubki", "ceramiczny", "termiczny"]),
    ("260557", "Pościel", "1520", ["pościel", "poszwa", "poszewka", "bawełniana"]),
    # Moda
    ("ea5b98dd-4b6f-4bd0-8c80-22c2629132d0", "Moda", None, None),
    ("1454", "Obuwie", "ea5b98dd-4b6f-4bd0-8c80-22c2629132d0", None),
    ("76033", "Obuwie męskie", "1454", None),
    ("257916", "Sneakersy męskie", "76033", ["sneakersy", "buty", "trampki", "męskie"]),
    ("76036", "Obuwie damskie", "1454", None),
    ("257913", "Kozaki damskie", "76036", ["kozaki", "botki", "buty", "damskie"]),
    ("1455", "Odzież męska", "ea5b98dd-4b6f-4bd0-8c80-22c2629132d0", None),
    ("257939", "T-shirty męskie", "1455", ["koszulka", "t-shirt", "tshirt", "męska"]),
    # Sport i turystyka
    ("3919", "Sport i turystyka", None, None),
    ("16414", "Rowery i akcesoria", "3919", None),
    ("110145", "Rowery górskie MTB", "16414", ["rower", "górski", "mtb"]),
    ("4d6a3c1e-0b7f-4e6a-9f55-2a1c8b3d7e91", "Siłownia i fitness", "3919", None),
    (
        "110153",
        "Hantle",
        "4d6a3c1e-0b7f-4e6a-9f55-2a1c8b3d7e91",
        ["hantle", "hantel", "ciężarki", "obciążenie"],
    ),
    ("110169", "Turystyka", "3919", None),
    ("110171", "Namioty", "110169", ["namiot", "turystyczny", "kempingowy"]),
    # Dziecko
    ("11763", "Dziecko", None, None),
    ("11818", "Zabawki", "11763", None),
    ("12041", "Klocki", "11818", ["klocki", "lego", "konstrukcyjne"]),
    ("11830", "Lalki i akcesoria", "11818", ["lalka", "lalki", "barbie"]),
    # Uroda
    ("1429", "Uroda", None, None),
    ("1431", "Perfumy i wody", "1429", None),
    ("90532", "Wody perfumowane", "1431", ["perfumy", "perfumowana", "edp", "zapach"]),
    ("1434", "Pielęgnacja", "1429", None),
    ("90542", "Kremy do twarzy", "1434", ["krem", "twarzy", "nawilżający", "przeciwzmarszczkowy"]),
    # Kultura i rozrywka
    ("38d588fd-7e9c-4c42-a4ae-6831775eca45", "Kultura i rozrywka", None, None),
    ("7", "Książki i Komiksy", "38d588fd-7e9c-4c42-a4ae-6831775eca45", None),
    ("66780", "Literatura piękna", "7", ["książka", "powieść", "literatura", "opowiadania"]),
    (
        "66794",
        "Książki do nauki języka obcego",
        "7",
        ["podręcznik", "angielski", "niemiecki", "nauki", "języka"],
    ),
    # Motoryzacja
    ("3", "Motoryzacja", None, None),
    ("620", "Części samochodowe", "3", None),
    ("18554", "Akumulatory", "620", ["akumulator", "samochodowy", "bateria"]),
    ("8c0e7b44-5f21-4d4a-b7c3-61a9e2f0d5b8", "Opony i felgi", "3", None),
    (
        "257689",
        "Opony letnie",
        "8c0e7b44-5f21-4d4a-b7c3-61a9e2f0d5b8",
        ["opony", "opona", "letnie", "letnia"],
    ),
    # Supermarket
    ("258832", "Supermarket", None, None),
    ("258845", "Produkty spożywcze", "258832", None),
    ("261116", "Kawa", "258845", ["kawa", "ziarnista", "mielona", "arabica"]),
]


def build_categories() -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    ids_with_children = {parent for _, _, parent, _ in TREE if parent is not None}
    categories = []
    keywords: dict[str, list[str]] = {}
    top_level_product_enabled = {"42540aec-367a-4e5e-b411-17c09b08e41f", "1429"}
    by_id = {cid: (name, parent) for cid, name, parent, _ in TREE}
    for cid, name, parent, words in TREE:
        leaf = cid not in ids_with_children
        assert leaf == (words is not None), cid
        top = cid
        while (up := by_id[top][1]) is not None:
            top = up
        products = leaf or top in top_level_product_enabled
        categories.append(
            {
                "id": cid,
                "name": name,
                "parent": None if parent is None else {"id": parent},
                "leaf": leaf,
                "options": dict(
                    _CATEGORY_OPTIONS_PRODUCTS if products else _CATEGORY_OPTIONS_PLAIN
                ),
            }
        )
        if words is not None:
            keywords[cid] = words
    return categories, keywords


# ---------------------------------------------------------------------------
# Parameter definitions
# ---------------------------------------------------------------------------


def _options(
    *,
    describes: bool,
    ambiguous: str | None = None,
    depends_on: str | None = None,
    custom: bool = False,
) -> dict[str, Any]:
    return {
        "ambiguousValueId": ambiguous,
        "dependsOnParameterId": depends_on,
        "describesProduct": describes,
        "customValuesEnabled": custom,
    }


def _base(pid: str, name: str, ptype: str, unit: str | None) -> dict[str, Any]:
    return {
        "id": pid,
        "name": name,
        "type": ptype,
        "required": False,
        "requiredForProduct": False,
        "requiredIf": None,
        "displayedIf": None,
        "unit": unit,
    }


def dictionary(
    pid: str,
    name: str,
    values: list[Any],
    *,
    describes: bool = True,
    custom: bool = False,
    ambiguous_suffix: str | None = None,
    multiple: bool = False,
    depends_on: str | None = None,
    unit: str | None = None,
) -> dict[str, Any]:
    """`values`: (suffix, label) or (suffix, label, [depends-on value ids])."""
    param = _base(pid, name, "dictionary", unit)
    entries = []
    for value in values:
        suffix, label = value[0], value[1]
        depends = list(value[2]) if len(value) > 2 else []
        entries.append({"id": f"{pid}_{suffix}", "value": label, "dependsOnValueIds": depends})
    ambiguous = None if ambiguous_suffix is None else f"{pid}_{ambiguous_suffix}"
    param["options"] = _options(
        describes=describes, ambiguous=ambiguous, depends_on=depends_on, custom=custom
    )
    param["dictionary"] = entries
    param["restrictions"] = {"multipleChoices": multiple}
    return param


def integer(
    pid: str,
    name: str,
    *,
    lo: int,
    hi: int,
    unit: str | None = None,
    range_: bool = False,
    describes: bool = True,
) -> dict[str, Any]:
    param = _base(pid, name, "integer", unit)
    param["options"] = _options(describes=describes)
    param["restrictions"] = {"min": lo, "max": hi, "range": range_}
    return param


def floating(
    pid: str,
    name: str,
    *,
    lo: float,
    hi: float,
    precision: int,
    unit: str | None = None,
    range_: bool = False,
    describes: bool = True,
) -> dict[str, Any]:
    param = _base(pid, name, "float", unit)
    param["options"] = _options(describes=describes)
    param["restrictions"] = {"min": lo, "max": hi, "range": range_, "precision": precision}
    return param


def string(
    pid: str,
    name: str,
    *,
    min_length: int = 1,
    max_length: int = 50,
    values: int = 1,
    describes: bool = True,
) -> dict[str, Any]:
    param = _base(pid, name, "string", None)
    param["options"] = _options(describes=describes)
    param["restrictions"] = {
        "minLength": min_length,
        "maxLength": max_length,
        "allowedNumberOfValues": values,
    }
    return param


def brand(pid: str, name: str, labels: list[str]) -> dict[str, Any]:
    """A brand dictionary: custom values allowed through the "inna" entry."""
    values: list[Any] = [(str(1000 + i), label) for i, label in enumerate(labels)]
    values.append(("1", "inna"))
    return dictionary(pid, name, values, custom=True, ambiguous_suffix="1")


def yes_no(pid: str, name: str, *, describes: bool = True) -> dict[str, Any]:
    return dictionary(pid, name, [("1", "tak"), ("2", "nie")], describes=describes)


# Shared parameters ---------------------------------------------------------

STAN = dictionary(
    "11323",
    "Stan",
    [
        ("1", "Nowy"),
        ("2", "Używany"),
        ("238066", "Po zwrocie"),
        ("238058", "Powystawowy"),
        ("238062", "Uszkodzony"),
        ("246534", "Odnowiony przez producenta"),
    ],
    describes=False,
)
STAN_OPAKOWANIA = dictionary(
    "229205",
    "Stan opakowania",
    [("340245", "oryginalne"), ("340249", "zastępcze"), ("340253", "brak opakowania")],
    describes=False,
)
STAN_OPAKOWANIA["displayedIf"] = {
    "parametersWithValue": [
        {"id": "11323", "oneOfValueIds": ["11323_2", "11323_238066", "11323_238058"]}
    ]
}
EAN = string("225693", "EAN (GTIN)", min_length=1, max_length=14)
EAN["formerData"] = {"names": ["EAN", "GTIN"]}
MPN = string("224017", "Kod producenta", min_length=1, max_length=35)
MPN["formerData"] = {"names": ["MPN"]}
WAGA_OPAK = floating(
    "17448", "Waga produktu z opakowaniem jednostkowym", lo=0, hi=1000000, precision=3, unit="kg"
)
SZEROKOSC = floating("223333", "Szerokość produktu", lo=0, hi=1000000, precision=2, unit="cm")
WYSOKOSC = floating("223329", "Wysokość produktu", lo=0, hi=1000000, precision=2, unit="cm")
GLEBOKOSC = floating("201321", "Głębokość produktu", lo=0, hi=1000000, precision=2, unit="cm")
KOLOR = dictionary(
    "127448",
    "Kolor",
    [
        ("1", "czarny"),
        ("2", "biały"),
        ("3", "szary"),
        ("4", "srebrny"),
        ("5", "niebieski"),
        ("6", "czerwony"),
        ("7", "zielony"),
        ("8", "różowy"),
        ("9", "złoty"),
        ("10", "wielokolorowy"),
    ],
)
KOLOR_MULTI = dict(KOLOR, restrictions={"multipleChoices": True})
MODEL_TEXT = string("250439", "Model", max_length=50)


def _required(
    param: dict[str, Any], *, offer: bool = True, product: bool = False
) -> dict[str, Any]:
    copy: dict[str, Any] = json.loads(json.dumps(param))
    copy["required"] = offer
    copy["requiredForProduct"] = product
    return copy


def _mpn_when_no_ean() -> dict[str, Any]:
    # Allegro asks for the manufacturer code when a product has no GTIN: this is the
    # `parametersWithoutValue` flavour of `requiredIf`.
    copy = _required(MPN, offer=True, product=True)
    copy["requiredIf"] = {"parametersWithValue": [], "parametersWithoutValue": [{"id": "225693"}]}
    return copy


def common(
    brand_param: dict[str, Any], *, ean_for_product: bool = True, mpn_if_no_ean: bool = True
) -> list[dict[str, Any]]:
    """The parameters every leaf has: condition, GTIN, manufacturer code, brand, weight."""
    return [
        _required(STAN, offer=True, product=False),
        STAN_OPAKOWANIA,
        _required(EAN, offer=False, product=ean_for_product),
        _mpn_when_no_ean() if mpn_if_no_ean else MPN,
        _required(brand_param, offer=True, product=True),
        WAGA_OPAK,
    ]


# Category-specific parameters ---------------------------------------------

PHONE_BRANDS = [
    ("598617", "Apple"),
    ("598621", "Samsung"),
    ("598625", "Xiaomi"),
    ("598629", "Motorola"),
    ("598633", "Google"),
    ("598637", "Ulefone"),
]
MARKA_TELEFONU = dictionary(
    "246705", "Marka telefonu", [*PHONE_BRANDS, ("1", "inna")], custom=True, ambiguous_suffix="1"
)
MODEL_TELEFONU = dictionary(
    "246709",
    "Model telefonu",
    [
        ("700101", "iPhone 15", ["246705_598617"]),
        ("700102", "iPhone 15 Pro", ["246705_598617"]),
        ("700103", "iPhone 13", ["246705_598617"]),
        ("700201", "Galaxy S24", ["246705_598621"]),
        ("700202", "Galaxy A55", ["246705_598621"]),
        ("700301", "Redmi Note 13", ["246705_598625"]),
        ("700401", "Moto G84", ["246705_598629"]),
        ("700501", "Pixel 8", ["246705_598633"]),
        ("700601", "Armor 24", ["246705_598637"]),
        (
            "1",
            "inny",
            [
                "246705_598617",
                "246705_598621",
                "246705_598625",
                "246705_598629",
                "246705_598633",
                "246705_598637",
                "246705_1",
            ],
        ),
    ],
    custom=True,
    ambiguous_suffix="1",
    depends_on="246705",
)
PRZEKATNA = floating("202749", "Przekątna ekranu", lo=1, hi=20, precision=2, unit="cal")
PAMIEC_WBUDOWANA = integer("202869", "Pamięć wbudowana", lo=1, hi=4096, unit="GB")
PAMIEC_RAM = integer("202865", "Pamięć RAM", lo=1, hi=128, unit="GB")
DUAL_SIM = yes_no("202829", "Dual SIM")
TYP_DRUGIEJ_KARTY = dictionary(
    "202833", "Typ drugiej karty SIM", [("1", "nanoSIM"), ("2", "eSIM"), ("3", "microSIM")]
)
TYP_DRUGIEJ_KARTY_REQ = _required(TYP_DRUGIEJ_KARTY, offer=True, product=True)
TYP_DRUGIEJ_KARTY_REQ["requiredIf"] = {
    "parametersWithValue": [{"id": "202829", "oneOfValueIds": ["202829_1"]}],
    "parametersWithoutValue": [],
}
TYP_DRUGIEJ_KARTY_REQ["displayedIf"] = {
    "parametersWithValue": [{"id": "202829", "oneOfValueIds": ["202829_1"]}]
}
TRANSMISJA = dictionary(
    "202685",
    "Transmisja danych",
    [("212925", "2G"), ("212927", "3G"), ("212929", "4G (LTE)"), ("212931", "5G")],
    multiple=True,
)
SMARTPHONE = [
    *common(MARKA_TELEFONU),
    _required(MODEL_TELEFONU, offer=True, product=True),
    _required(PAMIEC_WBUDOWANA, offer=True, product=True),
    PAMIEC_RAM,
    _required(PRZEKATNA, offer=False, product=True),
    _required(DUAL_SIM, offer=True, product=True),
    TYP_DRUGIEJ_KARTY_REQ,
    TRANSMISJA,
    _required(KOLOR, offer=True, product=False),
]

MARKA_AKCESORIA = brand("248817", "Marka", ["Spigen", "Apple", "Samsung", "Baseus", "Ugreen"])
ETUI = [
    *common(MARKA_AKCESORIA, ean_for_product=False),
    _required(
        dictionary("202941", "Rodzaj", [("1", "plecki"), ("2", "z klapką"), ("3", "pancerne")]),
        offer=True,
        product=True,
    ),
    string("202945", "Dedykowany model", max_length=60, values=5),
    KOLOR,
]
LADOWARKI = [
    *common(MARKA_AKCESORIA),
    _required(integer("203501", "Moc ładowania", lo=1, hi=300, unit="W"), product=True),
    dictionary(
        "203505",
        "Złącza",
        [("1", "USB typ A"), ("2", "USB typ C"), ("3", "Lightning")],
        multiple=True,
    ),
    yes_no("203509", "Szybkie ładowanie"),
]

MARKA_AUDIO = brand(
    "248811", "Marka", ["Sony", "JBL", "Soundcore", "Apple", "Samsung", "Sennheiser"]
)
RODZAJ_SLUCHAWEK = dictionary(
    "203681",
    "Rodzaj słuchawek",
    [
        ("217753", "dokanałowe"),
        ("217757", "douszne"),
        ("217761", "nauszne"),
        ("217765", "wokółuszne"),
    ],
)
DIMENSIONS = [SZEROKOSC, WYSOKOSC, GLEBOKOSC]
HEADPHONES_WIRELESS = [
    *common(MARKA_AUDIO),
    _required(RODZAJ_SLUCHAWEK, offer=True, product=True),
    dict(
        _required(KOLOR, offer=True),
        id="129357",
        name="Kolor dominujący",
        dictionary=[dict(v, id=v["id"].replace("127448", "129357")) for v in KOLOR["dictionary"]],
    ),
    dictionary("203713", "Transmisja sygnału", [("217785", "Bluetooth"), ("217789", "radiowa")]),
    yes_no("203689", "Mikrofon"),
    yes_no("248248", "Aktywne tłumienie hałasu"),
    integer("203725", "Czas pracy", lo=0, hi=1000, unit="h"),
    *DIMENSIONS,
]
HEADPHONES_WIRED = [
    *common(MARKA_AUDIO),
    _required(RODZAJ_SLUCHAWEK, offer=True, product=True),
    dictionary("203729", "Złącze", [("1", "jack 3,5 mm"), ("2", "USB typ C"), ("3", "Lightning")]),
    floating("207838", "Długość przewodu", lo=0, hi=25, precision=2, unit="m"),
    yes_no("203689", "Mikrofon"),
]

MARKA_AGD = brand(
    "248821", "Marka", ["Bosch", "Philips", "Tefal", "De'Longhi", "Russell Hobbs", "Krups"]
)
CZAJNIKI = [
    *common(MARKA_AGD),
    _required(
        floating("205297", "Pojemność", lo=0.1, hi=10, precision=1, unit="l"),
        offer=True,
        product=True,
    ),
    _required(integer("205301", "Moc", lo=100, hi=4000, unit="W"), product=True),
    dictionary(
        "205305",
        "Materiał obudowy",
        [("1", "stal nierdzewna"), ("2", "tworzywo sztuczne"), ("3", "szkło")],
    ),
    KOLOR,
]
EKSPRESY = [
    *common(MARKA_AGD),
    _required(
        dictionary(
            "205311",
            "Rodzaj ekspresu",
            [("1", "automatyczny"), ("2", "kolbowy"), ("3", "przelewowy"), ("4", "kapsułkowy")],
        ),
        offer=True,
        product=True,
    ),
    integer("205315", "Ciśnienie", lo=1, hi=30, unit="bar"),
    floating("205319", "Pojemność zbiornika na wodę", lo=0.1, hi=10, precision=1, unit="l"),
    yes_no("205323", "Spieniacz do mleka"),
    KOLOR,
]

MARKA_KOMPUTERY = brand(
    "248825", "Marka", ["Lenovo", "Dell", "HP", "Apple", "Asus", "Logitech", "Razer"]
)
LAPTOPY = [
    *common(MARKA_KOMPUTERY),
    _required(MODEL_TEXT, offer=True, product=True),
    _required(
        floating("202749", "Przekątna ekranu", lo=7, hi=21, precision=1, unit="cal"),
        offer=True,
        product=True,
    ),
    _required(integer("4094", "Pojemność dysku", lo=1, hi=16384, unit="GB"), product=True),
    _required(integer("202865", "Pamięć RAM", lo=1, hi=256, unit="GB"), product=True),
    dictionary(
        "202870",
        "Seria procesora",
        [
            ("1", "Intel Core i5"),
            ("2", "Intel Core i7"),
            ("3", "AMD Ryzen 5"),
            ("4", "AMD Ryzen 7"),
            ("5", "Apple M3"),
        ],
    ),
    integer("202877", "Liczba rdzeni procesora", lo=1, hi=128),
]
MYSZY = [
    *common(MARKA_KOMPUTERY),
    _required(
        dictionary(
            "203901",
            "Łączność",
            [("1", "przewodowa"), ("2", "bezprzewodowa"), ("3", "Bluetooth")],
            multiple=True,
        ),
        offer=True,
        product=True,
    ),
    integer("203905", "Rozdzielczość", lo=100, hi=50000, unit="dpi"),
    integer("203909", "Liczba przycisków", lo=1, hi=30),
    KOLOR,
]

MARKA_OGROD = brand("248831", "Marka", ["Bosch", "Makita", "Stiga", "Einhell", "DeWalt", "Gardena"])
KOSIARKI = [
    *common(MARKA_OGROD),
    _required(
        dictionary(
            "211962",
            "Rodzaj napędu",
            [("1", "elektryczny"), ("2", "spalinowy"), ("3", "akumulatorowy")],
        ),
        offer=True,
        product=True,
    ),
    _required(integer("211958", "Szerokość koszenia", lo=10, hi=200, unit="cm"), product=True),
    _required(
        floating(
            "211966",
            "Zakres regulacji wysokości koszenia",
            lo=0,
            hi=1000,
            precision=2,
            unit="cm",
            range_=True,
        ),
        offer=False,
        product=True,
    ),
    integer("211970", "Pojemność kosza", lo=0, hi=500, unit="l"),
]
WIERTARKI = [
    *common(MARKA_OGROD),
    _required(integer("212003", "Napięcie akumulatora", lo=1, hi=60, unit="V"), product=True),
    integer("212007", "Maksymalny moment obrotowy", lo=1, hi=500, unit="Nm"),
    integer("212011", "Liczba akumulatorów w zestawie", lo=0, hi=5),
    yes_no("212015", "Udar"),
]
MARKA_DOM = brand("248835", "Marka", ["Ambition", "Florentyna", "IKEA", "Luminarc", "Dormeo"])
KUBKI = [
    *common(MARKA_DOM, ean_for_product=False),
    _required(integer("226949", "Pojemność", lo=10, hi=3000, unit="ml"), product=True),
    dictionary(
        "226953",
        "Materiał",
        [("1", "ceramika"), ("2", "porcelana"), ("3", "szkło"), ("4", "stal nierdzewna")],
    ),
    integer("226957", "Liczba sztuk w zestawie", lo=1, hi=48),
    KOLOR_MULTI,
]
POSCIEL = [
    *common(MARKA_DOM, ean_for_product=False),
    _required(
        dictionary(
            "227001",
            "Rozmiar kołdry",
            [("1", "140 x 200 cm"), ("2", "160 x 200 cm"), ("3", "200 x 220 cm")],
        ),
        offer=True,
        product=True,
    ),
    dictionary(
        "227005",
        "Materiał",
        [("1", "bawełna"), ("2", "satyna bawełniana"), ("3", "kora"), ("4", "mikrofibra")],
    ),
    KOLOR_MULTI,
]

MARKA_OBUWIE = brand("249001", "Marka", ["Nike", "adidas", "Puma", "New Balance", "Ecco", "Wojas"])
ROZMIAR_OBUWIA = dictionary(
    "4128",
    "Rozmiar",
    [(str(36 + i), str(36 + i)) for i in range(11)],
    describes=False,
)
OBUWIE = [
    *common(MARKA_OBUWIE),
    # Size is an offer parameter: one catalogue product covers every size.
    _required(ROZMIAR_OBUWIA, offer=True, product=False),
    _required(KOLOR_MULTI, offer=True, product=True),
    _required(
        floating(
            "249005",
            "Długość wkładki",
            lo=10,
            hi=40,
            precision=1,
            unit="cm",
            range_=True,
            describes=False,
        ),
        offer=False,
    ),
    dictionary(
        "249009",
        "Materiał wierzchni",
        [("1", "skóra naturalna"), ("2", "skóra ekologiczna"), ("3", "tkanina"), ("4", "zamsz")],
    ),
    _required(MODEL_TEXT, offer=False, product=True),
]
MARKA_ODZIEZ = brand("249013", "Marka", ["Nike", "adidas", "4F", "Reserved", "Tommy Hilfiger"])
TSHIRTY = [
    *common(MARKA_ODZIEZ, ean_for_product=False),
    _required(
        dictionary(
            "249017",
            "Rozmiar",
            [("1", "XS"), ("2", "S"), ("3", "M"), ("4", "L"), ("5", "XL"), ("6", "XXL")],
            describes=False,
        ),
        offer=True,
    ),
    _required(KOLOR_MULTI, offer=True, product=True),
    dictionary(
        "249021", "Materiał dominujący", [("1", "bawełna"), ("2", "poliester"), ("3", "wiskoza")]
    ),
    integer("249025", "Skład bawełny", lo=0, hi=100, unit="%"),
]

MARKA_SPORT = brand(
    "249101", "Marka", ["Kross", "Merida", "Trek", "Hop-Sport", "Coleman", "Quechua"]
)
ROWERY = [
    *common(MARKA_SPORT),
    _required(
        dictionary("249105", "Rozmiar koła", [("1", '26"'), ("2", '27,5"'), ("3", '29"')]),
        offer=True,
        product=True,
    ),
    _required(integer("249109", "Rozmiar ramy", lo=12, hi=24, unit="cal"), product=True),
    integer("249113", "Liczba biegów", lo=1, hi=36),
    dictionary("249117", "Materiał ramy", [("1", "aluminium"), ("2", "stal"), ("3", "karbon")]),
]
HANTLE = [
    *common(MARKA_SPORT, ean_for_product=False),
    _required(
        floating("249121", "Waga", lo=0.5, hi=100, precision=1, unit="kg"), offer=True, product=True
    ),
    integer("249125", "Liczba sztuk", lo=1, hi=20),
    dictionary(
        "249129", "Materiał", [("1", "żeliwo"), ("2", "winyl"), ("3", "bitumin"), ("4", "neopren")]
    ),
]
NAMIOTY = [
    *common(MARKA_SPORT),
    _required(integer("249133", "Liczba osób", lo=1, hi=12), offer=True, product=True),
    integer("249137", "Wodoodporność", lo=0, hi=20000, unit="mm"),
    floating("249141", "Waga", lo=0.1, hi=50, precision=2, unit="kg"),
]

MARKA_ZABAWKI = brand("249201", "Marka", ["LEGO", "Cobi", "Mattel", "Barbie", "Smoby"])
WIEK_DZIECKA = integer("249205", "Wiek dziecka", lo=0, hi=18, unit="lata", range_=True)
KLOCKI = [
    *common(MARKA_ZABAWKI),
    _required(WIEK_DZIECKA, offer=True, product=True),
    _required(integer("249209", "Liczba elementów", lo=1, hi=100000), product=True),
    string("249213", "Numer zestawu", max_length=20),
    dictionary(
        "249217",
        "Seria",
        [("1", "City"), ("2", "Technic"), ("3", "Star Wars"), ("4", "Friends"), ("5", "Duplo")],
    ),
]
LALKI = [
    *common(MARKA_ZABAWKI),
    _required(WIEK_DZIECKA, offer=True, product=False),
    integer("249221", "Wysokość lalki", lo=5, hi=150, unit="cm"),
    yes_no("249225", "Akcesoria w zestawie"),
]

MARKA_URODA = brand(
    "249301", "Marka", ["Dior", "Chanel", "Hugo Boss", "Nivea", "La Roche-Posay", "Ziaja"]
)
PERFUMY = [
    *common(MARKA_URODA),
    _required(integer("249305", "Pojemność", lo=1, hi=1000, unit="ml"), offer=True, product=True),
    _required(
        dictionary(
            "249309", "Przeznaczenie", [("1", "dla kobiet"), ("2", "dla mężczyzn"), ("3", "unisex")]
        ),
        offer=True,
        product=True,
    ),
    dictionary(
        "249313",
        "Nuty zapachowe",
        [
            ("1", "cytrusowe"),
            ("2", "drzewne"),
            ("3", "kwiatowe"),
            ("4", "orientalne"),
            ("5", "owocowe"),
        ],
        multiple=True,
    ),
]
KREMY = [
    *common(MARKA_URODA),
    _required(integer("249305", "Pojemność", lo=1, hi=1000, unit="ml"), offer=True, product=True),
    dictionary(
        "249317",
        "Rodzaj cery",
        [
            ("1", "sucha"),
            ("2", "tłusta"),
            ("3", "mieszana"),
            ("4", "wrażliwa"),
            ("5", "każdy rodzaj"),
        ],
        multiple=True,
    ),
    integer("249321", "Faktor SPF", lo=0, hi=100),
]

WYDAWNICTWO = brand(
    "249401",
    "Wydawnictwo",
    ["Znak", "Wydawnictwo Literackie", "Albatros", "Oxford University Press", "Pearson"],
)
KSIAZKI_BASE = [
    *common(WYDAWNICTWO, mpn_if_no_ean=False),
    _required(string("249405", "Tytuł", max_length=150), offer=True, product=True),
    _required(string("249409", "Autor", max_length=80, values=5), offer=True, product=True),
    _required(
        dictionary(
            "249413", "Okładka", [("1", "miękka"), ("2", "twarda"), ("3", "miękka ze skrzydełkami")]
        ),
        offer=True,
        product=True,
    ),
    integer("249417", "Liczba stron", lo=1, hi=10000),
    integer("249421", "Rok wydania", lo=1450, hi=2100),
]
JEZYK = dictionary(
    "249425",
    "Język publikacji",
    [("1", "polski"), ("2", "angielski"), ("3", "niemiecki"), ("4", "hiszpański")],
    multiple=True,
)
KSIAZKI = [*KSIAZKI_BASE, JEZYK]
KSIAZKI_JEZYKI = [
    *KSIAZKI_BASE,
    _required(JEZYK, offer=True, product=True),
    dictionary(
        "249429",
        "Poziom",
        [("1", "A1"), ("2", "A2"), ("3", "B1"), ("4", "B2"), ("5", "C1"), ("6", "C2")],
        multiple=True,
    ),
]

MARKA_MOTO = brand(
    "249501", "Marka", ["Varta", "Bosch", "Exide", "Michelin", "Continental", "Dębica"]
)
AKUMULATORY = [
    *common(MARKA_MOTO),
    _required(integer("249505", "Pojemność", lo=1, hi=300, unit="Ah"), offer=True, product=True),
    _required(integer("249509", "Prąd rozruchu", lo=50, hi=2000, unit="A"), product=True),
    dictionary("249513", "Napięcie", [("1", "6 V"), ("2", "12 V"), ("3", "24 V")]),
]
OPONY = [
    *common(MARKA_MOTO),
    _required(
        integer("249517", "Szerokość opony", lo=100, hi=400, unit="mm"), offer=True, product=True
    ),
    _required(integer("249521", "Profil opony", lo=20, hi=90, unit="%"), offer=True, product=True),
    _required(
        dictionary("249525", "Średnica", [(str(i), f'{i}"') for i in range(13, 22)]),
        offer=True,
        product=True,
    ),
    integer("249529", "Rok produkcji", lo=2015, hi=2030, describes=False),
]

MARKA_KAWA = brand("249601", "Marka", ["Lavazza", "Jacobs", "Segafredo", "Tchibo", "Kimbo"])
KAWA = [
    *common(MARKA_KAWA),
    _required(
        dictionary(
            "249605", "Postać", [("1", "ziarnista"), ("2", "mielona"), ("3", "rozpuszczalna")]
        ),
        offer=True,
        product=True,
    ),
    _required(integer("249609", "Waga", lo=1, hi=10000, unit="g"), offer=True, product=True),
    integer("249613", "Zawartość arabiki", lo=0, hi=100, unit="%"),
]

PARAMETERS_BY_CATEGORY: dict[str, list[dict[str, Any]]] = {
    "165": SMARTPHONE,
    "259347": ETUI,
    "261544": LADOWARKI,
    "85166": HEADPHONES_WIRELESS,
    "85167": HEADPHONES_WIRED,
    "67490": CZAJNIKI,
    "67461": EKSPRESY,
    "491": LAPTOPY,
    "4476": MYSZY,
    "257931": KOSIARKI,
    "147657": WIERTARKI,
    "260556": KUBKI,
    "260557": POSCIEL,
    "257916": OBUWIE,
    "257913": OBUWIE,
    "257939": TSHIRTY,
    "110145": ROWERY,
    "110153": HANTLE,
    "110171": NAMIOTY,
    "12041": KLOCKI,
    "11830": LALKI,
    "90532": PERFUMY,
    "90542": KREMY,
    "66780": KSIAZKI,
    "66794": KSIAZKI_JEZYKI,
    "18554": AKUMULATORY,
    "257689": OPONY,
    "261116": KAWA,
}


# ---------------------------------------------------------------------------
# Product catalogue
# ---------------------------------------------------------------------------

# A product: (key, name, category id, LISTED?, parameters); parameter values are labels for
# dictionaries, strings for the others, (from, to) tuples for ranges, lists for several values.
PRODUCTS: list[tuple[str, str, str, bool, dict[str, Any]]] = [
    (
        "iphone15-128-black",
        "Apple iPhone 15 128 GB czarny",
        "165",
        True,
        {
            "225693": gtin("019425321543"),
            "224017": "MTP03PX/A",
            "246705": "Apple",
            "246709": "iPhone 15",
            "202869": "128",
            "202865": "6",
            "202749": "6.1",
            "202829": "tak",
            "202833": "eSIM",
            "202685": ["4G (LTE)", "5G"],
            "127448": "czarny",
            "17448": "0.32",
        },
    ),
    (
        "iphone15pro-256",
        "Apple iPhone 15 Pro 256 GB tytan naturalny",
        "165",
        True,
        {
            "225693": gtin("019425322028"),
            "224017": "MTV53PX/A",
            "246705": "Apple",
            "246709": "iPhone 15 Pro",
            "202869": "256",
            "202865": "8",
            "202749": "6.1",
            "202829": "tak",
            "202833": "eSIM",
            "202685": ["4G (LTE)", "5G"],
            "127448": "szary",
            "17448": "0.35",
        },
    ),
    (
        "galaxy-s24",
        "Samsung Galaxy S24 8/256 GB Onyx Black",
        "165",
        True,
        {
            "225693": gtin("880609493640"),
            "224017": "SM-S921BZKGEUE",
            "246705": "Samsung",
            "246709": "Galaxy S24",
            "202869": "256",
            "202865": "8",
            "202749": "6.2",
            "202829": "tak",
            "202833": "nanoSIM",
            "202685": ["4G (LTE)", "5G"],
            "127448": "czarny",
            "17448": "0.38",
        },
    ),
    (
        "galaxy-a55",
        "Samsung Galaxy A55 5G 8/128 GB granatowy",
        "165",
        False,
        {
            "225693": gtin("880609507391"),
            "224017": "SM-A556BZKAEUE",
            "246705": "Samsung",
            "246709": "Galaxy A55",
            "202869": "128",
            "202865": "8",
            "202749": "6.6",
            "202829": "nie",
            "202685": ["4G (LTE)", "5G"],
            "127448": "niebieski",
            "17448": "0.41",
        },
    ),
    (
        "redmi-note13",
        "Xiaomi Redmi Note 13 8/256 GB Midnight Black",
        "165",
        True,
        {
            "225693": gtin("694144303524"),
            "224017": "MZB0FRJEU",
            "246705": "Xiaomi",
            "246709": "Redmi Note 13",
            "202869": "256",
            "202865": "8",
            "202749": "6.67",
            "202829": "tak",
            "202833": "nanoSIM",
            "202685": ["4G (LTE)"],
            "127448": "czarny",
            "17448": "0.36",
        },
    ),
    (
        "pixel8",
        "Google Pixel 8 8/128 GB Obsidian",
        "165",
        True,
        {
            "225693": "0840244706357",
            "224017": "GA04803-GB",
            "246705": "Google",
            "246709": "Pixel 8",
            "202869": "128",
            "202865": "8",
            "202749": "6.2",
            "202829": "tak",
            "202833": "eSIM",
            "202685": ["4G (LTE)", "5G"],
            "127448": "czarny",
            "17448": "0.39",
        },
    ),
    (
        "moto-g84",
        "Motorola Moto G84 5G 12/256 GB Midnight Blue",
        "165",
        False,
        {
            "225693": gtin("084024470000"),
            "224017": "PAYM0011PL",
            "246705": "Motorola",
            "246709": "Moto G84",
            "202869": "256",
            "202865": "12",
            "202749": "6.55",
            "202829": "tak",
            "202833": "nanoSIM",
            "202685": ["5G"],
            "127448": "niebieski",
            "17448": "0.37",
        },
    ),
    (
        "spigen-case-15",
        "Etui Spigen Ultra Hybrid do iPhone 15 przezroczyste",
        "259347",
        True,
        {
            "225693": gtin("881060000000"),
            "224017": "ACS06793",
            "248817": "Spigen",
            "202941": "plecki",
            "202945": ["iPhone 15"],
            "127448": "wielokolorowy",
        },
    ),
    (
        "baseus-charger",
        "Ładowarka sieciowa Baseus GaN5 Pro 65W USB-C",
        "261544",
        True,
        {
            "225693": gtin("694103290000"),
            "224017": "CCGP120202",
            "248817": "Baseus",
            "203501": "65",
            "203505": ["USB typ A", "USB typ C"],
            "203509": "tak",
        },
    ),
    (
        "soundcore-dot3i",
        "Soundcore Life Dot 3i słuchawki bezprzewodowe ANC czarne",
        "85166",
        True,
        {
            "225693": "194644131784",
            "224017": "A3982G12",
            "248811": "Soundcore",
            "203681": "dokanałowe",
            "129357": "czarny",
            "203713": "Bluetooth",
            "203689": "tak",
            "248248": "tak",
            "203725": "36",
            "17448": "0.01",
            "223333": "18",
            "223329": "10.5",
        },
    ),
    (
        "sony-wh1000xm5",
        "Sony WH-1000XM5 słuchawki bezprzewodowe nauszne czarne",
        "85166",
        True,
        {
            "225693": gtin("454873521467"),
            "224017": "WH1000XM5B.CE7",
            "248811": "Sony",
            "203681": "nauszne",
            "129357": "czarny",
            "203713": "Bluetooth",
            "203689": "tak",
            "248248": "tak",
            "203725": "30",
            "17448": "0.54",
        },
    ),
    (
        "jbl-tune520",
        "JBL Tune 520BT słuchawki bezprzewodowe nauszne niebieskie",
        "85166",
        True,
        {
            "225693": gtin("605091300000"),
            "224017": "JBLT520BTBLUEU",
            "248811": "JBL",
            "203681": "nauszne",
            "129357": "niebieski",
            "203713": "Bluetooth",
            "203689": "tak",
            "248248": "nie",
            "203725": "57",
            "17448": "0.25",
        },
    ),
    # Two catalogue entries sharing one GTIN (a duplicate created from two proposals).
    (
        "airpods-pro2-a",
        "Apple AirPods Pro 2 generacji z etui MagSafe USB-C",
        "85166",
        True,
        {
            "225693": gtin("019425331780"),
            "224017": "MTJV3ZM/A",
            "248811": "Apple",
            "203681": "dokanałowe",
            "129357": "biały",
            "203713": "Bluetooth",
            "203689": "tak",
            "248248": "tak",
            "203725": "30",
            "17448": "0.19",
        },
    ),
    (
        "airpods-pro2-b",
        "Słuchawki Apple AirPods Pro (2. generacja) USB-C białe",
        "85166",
        False,
        {
            "225693": gtin("019425331780"),
            "224017": "MTJV3ZM/A",
            "248811": "Apple",
            "203681": "dokanałowe",
            "129357": "biały",
            "203713": "Bluetooth",
            "203689": "tak",
            "248248": "tak",
            "17448": "0.2",
        },
    ),
    (
        "sennheiser-ie100",
        "Sennheiser IE 100 PRO słuchawki przewodowe douszne",
        "85167",
        True,
        {
            "225693": gtin("461500000000"),
            "224017": "508940",
            "248811": "Sennheiser",
            "203681": "dokanałowe",
            "203729": "jack 3,5 mm",
            "207838": "1.3",
            "203689": "nie",
        },
    ),
    (
        "bosch-kettle",
        "Czajnik elektryczny Bosch TWK3P420 1,7 l 2400 W",
        "67490",
        True,
        {
            "225693": gtin("424200237550"),
            "224017": "TWK3P420",
            "248821": "Bosch",
            "205297": "1.7",
            "205301": "2400",
            "205305": "stal nierdzewna",
            "127448": "srebrny",
            "17448": "1.25",
        },
    ),
    (
        "delonghi-magnifica",
        "Ekspres ciśnieniowy De'Longhi Magnifica S ECAM 22.110.B",
        "67461",
        True,
        {
            "225693": gtin("804410084418"),
            "224017": "ECAM22.110.B",
            "248821": "De'Longhi",
            "205311": "automatyczny",
            "205315": "15",
            "205319": "1.8",
            "205323": "tak",
            "127448": "czarny",
            "17448": "10.5",
        },
    ),
    (
        "thinkpad-e14",
        "Laptop Lenovo ThinkPad E14 Gen 5 i5 16 GB 512 GB",
        "491",
        True,
        {
            "225693": gtin("019719852360"),
            "224017": "21JK0083PB",
            "248825": "Lenovo",
            "250439": "ThinkPad E14 Gen 5",
            "202749": "14",
            "4094": "512",
            "202865": "16",
            "202870": "Intel Core i5",
            "202877": "10",
            "17448": "2.1",
        },
    ),
    (
        "macbook-air-m3",
        "Apple MacBook Air 13 M3 8 GB 256 GB północ",
        "491",
        True,
        {
            "225693": gtin("019525341520"),
            "224017": "MRXV3ZE/A",
            "248825": "Apple",
            "250439": "MacBook Air 13 M3",
            "202749": "13.6",
            "4094": "256",
            "202865": "8",
            "202870": "Apple M3",
            "202877": "8",
            "17448": "1.7",
        },
    ),
    (
        "logitech-mx3s",
        "Mysz bezprzewodowa Logitech MX Master 3S grafitowa",
        "4476",
        True,
        {
            "225693": gtin("509920000000"),
            "224017": "910-006559",
            "248825": "Logitech",
            "203901": ["bezprzewodowa", "Bluetooth"],
            "203905": "8000",
            "203909": "7",
            "127448": "szary",
        },
    ),
    # EAN-8 product
    (
        "razer-viper-mini",
        "Mysz przewodowa Razer Viper Mini gamingowa czarna",
        "4476",
        False,
        {
            "225693": gtin("4005127"),
            "224017": "RZ01-03250100-R3M1",
            "248825": "Razer",
            "203901": ["przewodowa"],
            "203905": "8500",
            "203909": "6",
            "127448": "czarny",
        },
    ),
    (
        "stiga-collector",
        "Kosiarka akumulatorowa Stiga Collector 137e 37 cm",
        "257931",
        True,
        {
            "225693": gtin("802094301537"),
            "224017": "2T0370481/ST1",
            "248831": "Stiga",
            "211962": "akumulatorowy",
            "211958": "37",
            "211966": ("2.5", "7.5"),
            "211970": "40",
            "17448": "13.5",
        },
    ),
    (
        "makita-ddf485",
        "Wiertarko-wkrętarka Makita DDF485RTJ 18 V 2 akumulatory",
        "147657",
        True,
        {
            "225693": gtin("008859241153"),
            "224017": "DDF485RTJ",
            "248831": "Makita",
            "212003": "18",
            "212007": "50",
            "212011": "2",
            "212015": "nie",
            "17448": "4.9",
        },
    ),
    (
        "luminarc-mugs",
        "Kubki szklane Luminarc Trianon 290 ml 6 sztuk",
        "260556",
        False,
        {
            "225693": gtin("388333215623"),
            "248835": "Luminarc",
            "226949": "290",
            "226953": "szkło",
            "226957": "6",
        },
    ),
    (
        "dormeo-bedding",
        "Pościel bawełniana Dormeo 160x200 cm szara komplet",
        "260557",
        True,
        {
            "225693": gtin("386002302211"),
            "248835": "Dormeo",
            "227001": "160 x 200 cm",
            "227005": "bawełna",
            "127448": ["szary"],
        },
    ),
    (
        "nike-airmax90",
        "Buty męskie sneakersy Nike Air Max 90 białe",
        "257916",
        True,
        {
            "225693": gtin("019305480311"),
            "224017": "CN8490-100",
            "249001": "Nike",
            "127448": ["biały"],
            "249009": "skóra naturalna",
            "250439": "Air Max 90",
        },
    ),
    (
        "adidas-samba",
        "Buty adidas Samba OG męskie białe z czarnym",
        "257916",
        True,
        {
            "225693": gtin("405974254101"),
            "224017": "B75806",
            "249001": "adidas",
            "127448": ["biały", "czarny"],
            "249009": "skóra naturalna",
            "250439": "Samba OG",
        },
    ),
    (
        "wojas-kozaki",
        "Kozaki damskie Wojas skórzane na obcasie czarne",
        "257913",
        False,
        {
            "225693": gtin("590359620451"),
            "224017": "6456-51",
            "249001": "Wojas",
            "127448": ["czarny"],
            "249009": "skóra naturalna",
            "250439": "6456-51",
        },
    ),
    (
        "4f-tshirt",
        "Koszulka męska 4F T-shirt bawełniany granatowy",
        "257939",
        False,
        {
            "225693": gtin("590590011452"),
            "249013": "4F",
            "127448": ["niebieski"],
            "249021": "bawełna",
            "249025": "100",
        },
    ),
    (
        "kross-hexagon",
        "Rower górski MTB Kross Hexagon 5.0 29 cali rama M",
        "110145",
        True,
        {
            "225693": gtin("590427220148"),
            "224017": "KRHX5Z29X19M004",
            "249101": "Kross",
            "249105": '29"',
            "249109": "19",
            "249113": "24",
            "249117": "aluminium",
            "17448": "15.9",
        },
    ),
    (
        "hop-sport-dumbbells",
        "Hantle żeliwne Hop-Sport 2 x 5 kg komplet",
        "110153",
        True,
        {
            "225693": gtin("590771721315"),
            "249101": "Hop-Sport",
            "249121": "5",
            "249125": "2",
            "249129": "żeliwo",
            "17448": "10.3",
        },
    ),
    (
        "coleman-tent",
        "Namiot turystyczny Coleman Darwin 3 osobowy zielony",
        "110171",
        True,
        {
            "225693": gtin("312960000000"),
            "224017": "2000038924",
            "249101": "Coleman",
            "249133": "3",
            "249137": "3000",
            "249141": "4.5",
        },
    ),
    (
        "lego-city-60316",
        "LEGO City 60316 Posterunek policji klocki",
        "12041",
        True,
        {
            "225693": gtin("567357000000"),
            "224017": "60316",
            "249201": "LEGO",
            "249205": ("6", "12"),
            "249209": "668",
            "249213": "60316",
            "249217": "City",
            "17448": "1.3",
        },
    ),
    (
        "cobi-tank",
        "Klocki Cobi Czołg Sherman M4A1 historical collection",
        "12041",
        False,
        {
            "225693": gtin("590325802551"),
            "224017": "2570",
            "249201": "Cobi",
            "249205": ("8", "18"),
            "249209": "615",
            "249213": "2570",
        },
    ),
    (
        "barbie-dreamhouse",
        "Lalka Barbie Fashionistas z akcesoriami Mattel",
        "11830",
        True,
        {
            "225693": gtin("019488000000"),
            "224017": "FBR37",
            "249201": "Barbie",
            "249205": ("3", "10"),
            "249221": "29",
            "249225": "tak",
        },
    ),
    (
        "dior-sauvage",
        "Dior Sauvage woda perfumowana dla mężczyzn 100 ml",
        "90532",
        True,
        {
            "225693": gtin("334887525540"),
            "224017": "F068524009",
            "249301": "Dior",
            "249305": "100",
            "249309": "dla mężczyzn",
            "249313": ["cytrusowe", "drzewne"],
        },
    ),
    (
        "nivea-creme",
        "Krem nawilżający Nivea Creme do twarzy i ciała 150 ml",
        "90542",
        True,
        {
            "225693": gtin("4005800"),
            "224017": "80104",
            "249301": "Nivea",
            "249305": "150",
            "249317": ["każdy rodzaj"],
        },
    ),
    (
        "ziaja-cream",
        "Ziaja krem do twarzy z kozim mlekiem 50 ml",
        "90542",
        False,
        {
            "225693": gtin("590051600181"),
            "224017": "ZKM50",
            "249301": "Ziaja",
            "249305": "50",
            "249317": ["sucha", "wrażliwa"],
        },
    ),
    (
        "solaris-lem",
        "Stanisław Lem Solaris wydanie kolekcjonerskie twarda oprawa",
        "66780",
        True,
        {
            "225693": gtin("978830805166"),
            "249401": "Wydawnictwo Literackie",
            "249405": "Solaris",
            "249409": ["Stanisław Lem"],
            "249413": "twarda",
            "249417": "340",
            "249421": "2021",
            "249425": ["polski"],
        },
    ),
    (
        "wiedzmin-ostatnie",
        "Andrzej Sapkowski Ostatnie życzenie Wiedźmin tom 1",
        "66780",
        True,
        {
            "225693": gtin("978837578067"),
            "249401": "Znak",
            "249405": "Ostatnie życzenie",
            "249409": ["Andrzej Sapkowski"],
            "249413": "miękka",
            "249417": "332",
            "249421": "2014",
            "249425": ["polski"],
        },
    ),
    (
        "english-file",
        "English File Intermediate Student's Book podręcznik B1",
        "66794",
        True,
        {
            "225693": gtin("978019403586"),
            "249401": "Oxford University Press",
            "249405": "English File Intermediate",
            "249409": ["Christina Latham-Koenig", "Clive Oxenden"],
            "249413": "miękka",
            "249421": "2019",
            "249425": ["angielski"],
            "249429": ["B1"],
        },
    ),
    (
        "varta-e11",
        "Akumulator Varta Blue Dynamic E11 74 Ah 680 A",
        "18554",
        True,
        {
            "225693": gtin("401299000000"),
            "224017": "5740120683132",
            "249501": "Varta",
            "249505": "74",
            "249509": "680",
            "249513": "12 V",
            "17448": "17.9",
        },
    ),
    (
        "michelin-primacy4",
        "Opona letnia Michelin Primacy 4+ 205/55 R16 91V",
        "257689",
        True,
        {
            "225693": gtin("352877000000"),
            "224017": "468270",
            "249501": "Michelin",
            "249517": "205",
            "249521": "55",
            "249525": '16"',
            "17448": "8.1",
        },
    ),
    (
        "lavazza-oro",
        "Kawa ziarnista Lavazza Qualita Oro 1 kg arabica",
        "261116",
        True,
        {
            "225693": gtin("800007000000"),
            "224017": "2056",
            "249601": "Lavazza",
            "249605": "ziarnista",
            "249609": "1000",
            "249613": "100",
            "17448": "1.05",
        },
    ),
    # UPC-12 product (a US import) in the coffee category
    (
        "jacobs-kronung",
        "Kawa mielona Jacobs Kronung 500 g klasyczna",
        "261116",
        False,
        {
            "225693": gtin("04600000000"),
            "224017": "4000508",
            "249601": "Jacobs",
            "249605": "mielona",
            "249609": "500",
            "249613": "70",
        },
    ),
    # The tutorial's own "existing product by GTIN" example resolves to this product.
    (
        "tutorial-gtin",
        "Zestaw klocków Cobi Fiat 126p Maluch do samodzielnego złożenia",
        "12041",
        True,
        {
            "225693": "5902719471797",
            "224017": "24530",
            "249201": "Cobi",
            "249205": ("7", "18"),
            "249209": "71",
            "249213": "24530",
        },
    ),
]

_IDENTIFYING = {"225693", "224017", "246709", "250439"}


def _category_path(category_id: str) -> list[dict[str, str]]:
    by_id = {cid: (name, parent) for cid, name, parent, _ in TREE}
    path = []
    current: str | None = category_id
    while current is not None:
        name, parent = by_id[current]
        path.append({"id": current, "name": name})
        current = parent
    path.append({"id": ROOT_ID, "name": "Allegro"})
    return list(reversed(path))


def _product_parameter(definition: dict[str, Any], raw: Any) -> dict[str, Any]:
    pid = definition["id"]
    item: dict[str, Any] = {
        "id": pid,
        "name": definition["name"],
        "values": [],
        "valuesIds": None,
        "valuesLabels": [],
        "unit": definition.get("unit"),
        "rangeValue": None,
        "options": {
            "identifiesProduct": pid in _IDENTIFYING or definition["name"] == "Marka",
            "isGTIN": pid == "225693",
            "isTrusted": False,
        },
    }
    if isinstance(raw, tuple):
        item["rangeValue"] = {"from": raw[0], "to": raw[1]}
        item["values"] = None
        item["valuesLabels"] = None
        return item
    values = raw if isinstance(raw, list) else [raw]
    if definition["type"] == "dictionary":
        by_label = {entry["value"]: entry["id"] for entry in definition["dictionary"]}
        item["valuesIds"] = [by_label[value] for value in values]
        item["values"] = list(values)
        item["valuesLabels"] = list(values)
    else:
        item["values"] = [str(value) for value in values]
        unit = definition.get("unit")
        item["valuesLabels"] = [f"{value} {unit}" if unit else str(value) for value in values]
    return item


def _description(name: str, parameters: list[dict[str, Any]]) -> dict[str, Any]:
    bullet_points = "".join(
        f"<li><b>{p['name']}:</b> {', '.join(p['valuesLabels'] or [])}</li>"
        for p in parameters
        if p["valuesLabels"] and p["id"] != "225693"
    )
    return {
        "sections": [
            {
                "items": [
                    {
                        "type": "TEXT",
                        "content": f"<h1>{name}</h1><p>Opis produktu z katalogu Allegro.</p>",
                    }
                ]
            },
            {"items": [{"type": "TEXT", "content": f"<ul>{bullet_points}</ul>"}]},
        ]
    }


def build_products() -> list[dict[str, Any]]:
    similar = {"257916": ["257913"], "257913": ["257916"], "85166": ["85167"], "66780": ["66794"]}
    products = []
    for key, name, category_id, listed, raw_params in PRODUCTS:
        definitions = {p["id"]: p for p in PARAMETERS_BY_CATEGORY[category_id]}
        parameters = [_product_parameter(definitions[pid], raw) for pid, raw in raw_params.items()]
        for p in parameters:
            assert definitions[p["id"]]["options"]["describesProduct"], (key, p["id"])
        product_id = stable_uuid("product:" + key)
        image_hash = product_id.replace("-", "")
        products.append(
            {
                "id": product_id,
                "name": name,
                "category": {
                    "id": category_id,
                    "path": _category_path(category_id),
                    "similar": [
                        {"id": other, "path": _category_path(other)}
                        for other in similar.get(category_id, [])
                    ],
                },
                "images": [
                    {
                        "url": f"https://a.allegroimg.com/original/{image_hash[:6]}/{image_hash[6:30]}"
                    },
                    {
                        "url": f"https://a.allegroimg.com/original/{image_hash[30:]}/{image_hash[:24]}"
                    },
                ],
                "parameters": parameters,
                "description": _description(name, parameters),
                "publication": {"status": "LISTED" if listed else "PROPOSED"},
                "hasProtectedBrand": False,
            }
        )
    return products


# ---------------------------------------------------------------------------
# Sellers
# ---------------------------------------------------------------------------


def build_sellers() -> list[dict[str, Any]]:
    return [
        {
            "login": "seller",
            "user_id": "44325801",
            "marketplace": "allegro-pl",
            "currency": "PLN",
            # The tutorial's draft example names this shipping rate id.
            "shipping_rates": [{"id": "862347c4-b2b0-42d4-b84a-1db01509a69d", "name": "default"}],
            "return_policies": [
                {"id": stable_uuid("seller:return:default"), "name": "default"},
                {"id": stable_uuid("seller:return:30"), "name": "30 dni"},
            ],
            "implied_warranties": [
                {"id": stable_uuid("seller:implied:default"), "name": "default"},
                {"id": stable_uuid("seller:implied:zabawki"), "name": "zabawki"},
            ],
            "warranties": [
                {"id": stable_uuid("seller:warranty:default"), "name": "default"},
                {"id": stable_uuid("seller:warranty:24"), "name": "Gwarancja producenta 24 mies."},
            ],
        },
        {
            "login": "seller-cz",
            "user_id": "51877302",
            "marketplace": "allegro-cz",
            "currency": "CZK",
            "shipping_rates": [
                {"id": stable_uuid("seller-cz:shipping:default"), "name": "default"}
            ],
            "return_policies": [{"id": stable_uuid("seller-cz:return:default"), "name": "default"}],
            "implied_warranties": [
                {"id": stable_uuid("seller-cz:implied:default"), "name": "default"}
            ],
            "warranties": [],
        },
    ]


def _write(name: str, payload: Any) -> None:
    text = json.dumps(payload, ensure_ascii=False, indent=1) + "\n"
    (DATA_DIR / name).write_text(text, encoding="utf-8")


def _gtin_valid(value: str) -> bool:
    return (
        value.isdigit()
        and len(value) in (8, 12, 13, 14)
        and (gtin_check_digit(value[:-1]) == value[-1])
    )


def main() -> None:
    DATA_DIR.mkdir(exist_ok=True)
    for key, _, _, _, raw in PRODUCTS:
        assert _gtin_valid(raw["225693"]), key
    categories, keywords = build_categories()
    leaves = {c["id"] for c in categories if c["leaf"]}
    assert leaves == set(PARAMETERS_BY_CATEGORY), leaves ^ set(PARAMETERS_BY_CATEGORY)
    _write("categories.json", {"categories": categories})
    _write("category_keywords.json", keywords)
    _write("parameters.json", PARAMETERS_BY_CATEGORY)
    _write("products.json", {"products": build_products()})
    _write("sellers.json", {"sellers": build_sellers()})


if __name__ == "__main__":
    main()

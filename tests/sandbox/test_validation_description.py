"""Offer validation: the structured description and its HTML."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.rules_html import check_description, html_problems
from tests.sandbox.test_validation import IMAGE, check, codes, offer_for_product

RICH_ITEM = (
    "<h1>Słuchawki nauszne</h1>\n"
    "<p><b>Aktywna redukcja szumów</b> i do 30 godzin pracy na baterii.</p>\n"
    "<ul>\n  <li><b>Łączność:</b> Bluetooth 5.2</li>\n  <li>Etui w zestawie</li>\n</ul>\n"
    "<ol><li><p><b>Krok 1</b></p></li><li><p>Sparuj z telefonem.</p></li></ol>"
    "<h2>Gwarancja&nbsp;24&nbsp;miesiące &amp; zwrot</h2>"
)


def _text(content: str) -> dict[str, Any]:
    return {"sections": [{"items": [{"type": "TEXT", "content": content}]}]}


def test_allowed_tags_and_nesting_pass() -> None:
    assert html_problems(RICH_ITEM) == []
    assert check(offer_for_product(description=_text(RICH_ITEM))).errors == []


def test_every_section_layout_passes() -> None:
    text = {"type": "TEXT", "content": "<p>opis</p>"}
    image = {"type": "IMAGE", "url": IMAGE}
    description = {
        "sections": [
            {"items": [text]},
            {"items": [image]},
            {"items": [text, image]},
            {"items": [image, image]},
        ]
    }
    assert check_description(description) == []


def test_absent_description_is_fine() -> None:
    assert check(offer_for_product(description=None)).errors == []


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("opis tekstowy", "text must be placed inside a tag"),
        ("<h1><b>Tytuł sekcji<b></h1>", "tag <b> is not allowed inside <h1>"),
        ("<P>duże litery</P>", "tag <P> must be written in lower case"),
        ("<div>blok</div>", "tag <div> is not allowed"),
        ("<p>a<br>b</p>", "tag <br> is not allowed"),
        ("<p>a<br/>b</p>", "self-closing tag <br/> is not allowed"),
        ('<p class="x">klasa</p>', "tag <p> must not have attributes"),
        ("<p>niezamknięty", "tag <p> is not closed"),
        ("<li>sam punkt</li>", "tag <li> is not allowed at the top level"),
        ("<b>pogrubienie</b>", "tag <b> is not allowed at the top level"),
        ("<ul>tekst<li>a</li></ul>", "text is not allowed directly inside <ul>"),
        ("<ul><p>akapit</p></ul>", "tag <p> is not allowed inside <ul>"),
        ("<p><p>w akapicie</p></p>", "tag <p> is not allowed inside <p>"),
        ("<h2><p>w nagłówku</p></h2>", "tag <p> is not allowed inside <h2>"),
        ("<ul><li><ul><li>zagnieżdżona</li></ul></li></ul>", "tag <ul> is not allowed inside <li>"),
        ("<p>a</p></b>", "closing tag </b> has no opening tag"),
        ("<!-- uwaga --><p>a</p>", "comments are not allowed"),
        ("   ", "the text item is empty"),
    ],
)
def test_html_problems(content: str, problem: str) -> None:
    assert problem in html_problems(content)
    result = check(offer_for_product(description=_text(content)))
    assert codes(result) == [
        ("ConstraintViolationException.DescriptionHtml", "description.sections[0].items[0].content")
    ]


def test_at_most_100_sections() -> None:
    sections = [{"items": [{"type": "TEXT", "content": "<p>x</p>"}]}] * 101
    result = check(offer_for_product(description={"sections": sections}))
    assert codes(result) == [
        ("ConstraintViolationException.DescriptionSectionsCount", "description.sections")
    ]
    assert check(offer_for_product(description={"sections": sections[:100]})).errors == []


@pytest.mark.parametrize("count", [0, 3])
def test_one_or_two_items_per_section(count: int) -> None:
    items = [{"type": "TEXT", "content": "<p>x</p>"}] * count
    result = check(offer_for_product(description={"sections": [{"items": items}]}))
    assert codes(result) == [
        ("ConstraintViolationException.DescriptionItemsCount", "description.sections[0].items")
    ]


def test_at_most_40000_bytes() -> None:
    # "ł" takes two bytes in UTF-8: 20,000 of them exceed the limit in 20,007 characters
    content = "<p>" + "ł" * 20_000 + "</p>"
    result = check(offer_for_product(description=_text(content)))
    assert codes(result) == [("ConstraintViolationException.DescriptionSize", "description")]
    assert result.errors[0]["metadata"]["maxBytes"] == "40000"
    assert check(offer_for_product(description=_text("<p>" + "l" * 39_000 + "</p>"))).errors == []


def test_image_items_need_an_http_url() -> None:
    description = {
        "sections": [
            {"items": [{"type": "IMAGE", "url": "file:///images/a.jpg"}, {"type": "IMAGE"}]}
        ]
    }
    result = check(offer_for_product(description=description))
    assert codes(result) == [
        ("ConstraintViolationException.DescriptionItem", "description.sections[0].items[0].url"),
        ("ConstraintViolationException.DescriptionItem", "description.sections[0].items[1].url"),
    ]


def test_text_items_need_content() -> None:
    result = check(offer_for_product(description={"sections": [{"items": [{"type": "TEXT"}]}]}))
    assert codes(result) == [
        ("ConstraintViolationException.DescriptionItem", "description.sections[0].items[0]")
    ]


def test_every_item_problem_is_reported() -> None:
    description = {
        "sections": [
            {"items": [{"type": "TEXT", "content": "goły tekst"}]},
            {
                "items": [
                    {"type": "TEXT", "content": "<p>dobrze</p>"},
                    {"type": "TEXT", "content": "<h1><b>źle</b></h1>"},
                ]
            },
        ]
    }
    assert [path for _, path in codes(check(offer_for_product(description=description)))] == [
        "description.sections[0].items[0].content",
        "description.sections[1].items[1].content",
    ]

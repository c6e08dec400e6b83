"""Descriptions: plain text and HTML reduced to Allegro's structure, within its limits.

Every result is also checked by the sandbox's own description rules (an implementation
independent of ours) and by a small checker written here.
"""

from __future__ import annotations

import json
import random
from html.parser import HTMLParser
from typing import Any

import nh3
import pytest

from sandbox.rules_html import check_description
from workers.domain.describe import (
    ALLOWED_TAGS,
    MAX_DESCRIPTION_BYTES,
    describe,
    normalize_description,
)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.tags: list[str] = []
        self.attributes: list[Any] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.extend(attrs)


def contents(description: dict[str, Any] | None) -> list[str]:
    assert description is not None
    return [item["content"] for s in description["sections"] for item in s["items"]]


def html_of(text: str, **options: Any) -> str:
    return "".join(contents(normalize_description(text, **options)))


def assert_valid(
    description: dict[str, Any] | None, max_bytes: int = MAX_DESCRIPTION_BYTES
) -> None:
    """Allegro's rules, as the sandbox enforces them, plus our own reading."""
    if description is None:
        return
    assert check_description(description) == []
    assert len(description["sections"]) <= 100
    total = 0
    for section in description["sections"]:
        assert len(section["items"]) == 1 and section["items"][0]["type"] == "TEXT"
        content = section["items"][0]["content"]
        total += len(content.encode("utf-8"))
        parser = _Tags()
        parser.feed(content)
        assert set(parser.tags) <= ALLOWED_TAGS and parser.attributes == []
        assert nh3.clean(content, tags=set(ALLOWED_TAGS), attributes={}) == content
    assert total <= max_bytes


# --- plain text -------------------------------------------------------------------------------


def test_plain_text_becomes_escaped_paragraphs() -> None:
    text = "Czajnik 1,7 l\nze stali\r\n\r\nMoc 2200 W & <szybkie> gotowanie\n\n\n  \nKoniec."
    assert html_of(text) == (
        "<p>Czajnik 1,7 l ze stali</p><p>Moc 2200 W &amp; &lt;szybkie&gt; gotowanie</p>"
        "<p>Koniec.</p>"
    )


def test_plain_text_lists_become_lists() -> None:
    text = "Zalety:\n\n- cichy\n- szybki\n• tani\n\n1. Nalej wodę\n2) Włącz"
    assert html_of(text) == (
        "<p>Zalety:</p><ul><li>cichy</li><li>szybki</li><li>tani</li></ul>"
        "<ol><li>Nalej wodę</li><li>Włącz</li></ol>"
    )


def test_text_with_angle_brackets_but_no_html_tag_stays_text() -> None:
    assert html_of("a < b > c") == "<p>a &lt; b &gt; c</p>"
    assert html_of("Rozmiar <XL>") == "<p>Rozmiar &lt;XL&gt;</p>"


@pytest.mark.parametrize("text", ["", "   ", "\n\n", "<p> </p>", "<script>x()</script>", "<br>"])
def test_empty_descriptions_give_none(text: str) -> None:
    assert normalize_description(text) is None
    assert describe(text).notes == []


# --- HTML ---------------------------------------------------------------------------------------

NASTY = """
<HTML><head><style>p { color: red }</style><title>t</title></head><body>
<H1 class="hero" style="x"><b>Czajnik</b> <i>Elektryczny</i> <span>X200</span></H1>
<script type="text/javascript">alert('x')</script>
Tekst bez znacznika
<div onclick="steal()"><p>Opis <strong>pogrubiony <em>i pochyły</em></strong> i <u>podkreślony</u>
<a href="https://x.example">link</a><br>nowa linia<br/>druga</p></div>
<!-- komentarz -->
<ul class="features"><li>Moc <b>2200 W</b><ul><li>zagnieżdżony</li></ul>po liście</li>
<li><p>akapit 1</p><p>akapit 2</p></li></ul>
<h3>Dane techniczne</h3>
<table><tr><th>Pojemność</th><td>1,7 l</td></tr><tr><td>Waga</td><td>1 kg</td></tr></table>
<p>&copy; 2026 &amp; &nbsp;koniec &lt;3 &#8725; &quot;cytat&quot;</p>
<img src="x.jpg"><iframe src="https://evil.example"></iframe>
</body></HTML>
"""


def test_nasty_html_is_reduced_to_allegros_tags() -> None:
    result = normalize_description(NASTY)
    assert_valid(result)
    assert html_of(NASTY) == (
        "<h1>Czajnik Elektryczny X200</h1>"
        "<p>Tekst bez znacznika</p>"
        "<p>Opis <b>pogrubiony i pochyły</b> i podkreślony link</p><p>nowa linia</p><p>druga</p>"
        "<ul><li>Moc <b>2200 W</b></li><li>zagnieżdżony</li><li>po liście</li>"
        "<li><p>akapit 1</p><p>akapit 2</p></li></ul>"
        "<p><b>Dane techniczne</b></p>"
        "<p>Pojemność | 1,7 l</p><p>Waga | 1 kg</p>"
        '<p>© 2026 &amp; &nbsp;koniec &lt;3 \u2215 "cytat"</p>'
    )


def test_headings_keep_plain_text_only_and_start_sections() -> None:
    result = normalize_description(
        "<p>Wstęp</p><h2><strong>Zalety</strong></h2><p>a</p><h1>Dane <em>techniczne</em></h1>"
        "<ul><li>b</li></ul>"
    )
    assert_valid(result)
    assert contents(result) == [
        "<p>Wstęp</p>",
        "<h2>Zalety</h2><p>a</p>",
        "<h1>Dane techniczne</h1><ul><li>b</li></ul>",
    ]


def test_tags_are_lower_case_and_attributes_gone() -> None:
    assert html_of('<P ALIGN="center">A <B CLASS="x">b</B></P>') == "<p>A <b>b</b></p>"


def test_bold_spaces_move_outside_the_tag_and_nested_bold_is_flat() -> None:
    assert html_of("<p>a<b> b <strong>c</strong> </b>d</p>") == "<p>a <b>b c</b> d</p>"


def test_stray_list_items_get_a_list() -> None:
    assert html_of("<li>jeden</li><li>dwa</li><p>dalej</p>") == (
        "<ul><li>jeden</li><li>dwa</li></ul><p>dalej</p>"
    )


def test_text_directly_inside_a_list_becomes_an_item() -> None:
    assert html_of("<ol>luźny tekst<li>a</li></ol>") == "<ol><li>luźny tekst</li><li>a</li></ol>"


def test_unclosed_markup_is_repaired() -> None:
    result = normalize_description("<h1>Tytuł<p>tekst <b>bold<ul><li>x")
    assert_valid(result)


def test_the_output_is_stable_when_normalised_again() -> None:
    first = html_of(NASTY)
    assert html_of(first) == first


# --- limits -----------------------------------------------------------------------------------


def test_an_oversize_description_is_cut_at_a_block_boundary_with_a_note() -> None:
    paragraphs = "".join(f"<p>Akapit {n}: {'zażółć gęślą jaźń ' * 20}</p>" for n in range(400))
    result = describe(paragraphs)
    assert_valid(result.description)
    body = "".join(contents(result.description))
    assert len(body.encode()) <= MAX_DESCRIPTION_BYTES
    assert body.endswith("</p>")
    (note,) = result.notes
    assert note.startswith("description cut to ") and "(Allegro allows 40000)" in note
    assert "of 400 blocks kept whole" in note


def test_one_huge_paragraph_is_cut_at_a_word_and_marked() -> None:
    result = describe("<p>" + "słowo " * 10_000 + "</p>", max_bytes=1_000)
    (content,) = contents(result.description)
    assert len(content.encode()) <= 1_000
    assert content.endswith("słowo…</p>")
    assert "0 of 1 blocks kept whole, the next one shortened" in result.notes[0]


def test_a_long_list_keeps_the_items_that_fit() -> None:
    items = "".join(f"<li>pozycja {n}</li>" for n in range(500))
    result = describe(f"<h1>Lista</h1><ul>{items}</ul><p>po</p>", max_bytes=500)
    assert_valid(result.description, max_bytes=500)
    body = "".join(contents(result.description))
    assert body.startswith("<h1>Lista</h1><ul><li>pozycja 0</li>")
    assert body.endswith("</li></ul>") and "po</p>" not in body


def test_escaping_counts_towards_the_limit() -> None:
    result = describe("& " * 5_000, max_bytes=2_000)
    assert_valid(result.description, max_bytes=2_000)


def test_more_than_100_sections_are_merged_into_the_last() -> None:
    source = "".join(f"<h2>Rozdział {n}</h2><p>treść {n}</p>" for n in range(150))
    result = normalize_description(source)
    assert_valid(result)
    assert result is not None
    assert len(result["sections"]) == 100
    last = result["sections"][-1]["items"][0]["content"]
    assert last.startswith("<h2>Rozdział 99</h2>") and last.endswith("<p>treść 149</p>")


# --- anything at all --------------------------------------------------------------------------

PIECES = [
    "<p>",
    "</p>",
    "<b>",
    "</b>",
    "<i>",
    "<H1>",
    "</h1>",
    "<h2 id=x>",
    "</h2>",
    "<ul>",
    "</ul>",
    "<ol>",
    "<li>",
    "</li>",
    "<br>",
    "<div>",
    "</div>",
    "<span style='x'>",
    "<table><tr><td>",
    "<script>bad()</script>",
    "<!--c-->",
    "&amp;",
    "&nbsp;",
    "&lt;",
    "&bogus;",
    "&#0;",
    "<",
    ">",
    "&",
    "tekst",
    " zażółć ",
    "\n",
    "\n\n",
    "  ",
    "<img src=x>",
    "<a href='y'>",
    "</a>",
    "\x00",
    "\u200b",
    "<h3>",
    "</h3>",
    "<strong>",
    "</em>",
    "<p class='a'>",
    '"',
    "'",
]


@pytest.mark.parametrize("seed", range(40))
def test_random_markup_always_gives_a_valid_description(seed: int) -> None:
    chooser = random.Random(seed)
    source = "".join(chooser.choice(PIECES) for _ in range(chooser.randint(1, 120)))
    limit = chooser.choice([300, 2_000, MAX_DESCRIPTION_BYTES])
    result = normalize_description(source, max_bytes=limit)
    assert_valid(result, max_bytes=limit)
    json.dumps(result)

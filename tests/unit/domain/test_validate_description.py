"""Description rules of the local offer validation: structure, size and HTML (FACTS.md §6)."""

from __future__ import annotations

from typing import Any

import pytest

from workers.domain.rules_text import check_description, description_bytes, html_problems

TUTORIAL_LIKE = """<h1>Lorem ipsum dolor sit amet</h1>
<p><b>Aliquam vitae nisi</b>. Vivamus egestas &amp; orci&nbsp;quis.</p>
<ul>
    <li><b>Nulla eu justo.</b></li>
    <li>Pellentesque eget arcu.</li> <li>Nullam nec felis.</li>
</ul>
<ol>
    <li><p><b>In eget vulputate purus</b></p></li>
    <li><p>Integer a pharetra odio.</p></li>
</ol>
<h2>Dane techniczne</h2>"""


def text(content: str) -> dict[str, Any]:
    return {"sections": [{"items": [{"type": "TEXT", "content": content}]}]}


def codes_of(content: str) -> list[str]:
    return [code for code, _ in html_problems(content)]


def test_allowed_html_passes() -> None:
    assert html_problems(TUTORIAL_LIKE) == []
    assert check_description(text(TUTORIAL_LIKE)) == []


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("<p>opis tekstowy</p>", []),
        ("<h1>Tytuł sekcji</h1>", []),
        ("<p></p>", []),
        ("opis tekstowy", ["ConstraintViolationException.DescriptionBareText"]),
        ("<p>a</p> tail", ["ConstraintViolationException.DescriptionBareText"]),
        ("<ul>t<li>a</li></ul>", ["ConstraintViolationException.DescriptionBareText"]),
        ("<h1><b>Tytuł</b></h1>", ["ConstraintViolationException.DescriptionNesting"]),
        ("<h2><p>x</p></h2>", ["ConstraintViolationException.DescriptionNesting"]),
        ("<b>x</b>", ["ConstraintViolationException.DescriptionNesting"]),
        ("<li>x</li>", ["ConstraintViolationException.DescriptionNesting"]),
        ("<p><p>x</p></p>", ["ConstraintViolationException.DescriptionNesting"]),
        ("<p><b><b>x</b></b></p>", ["ConstraintViolationException.DescriptionNesting"]),
        (
            "<ul><li><ul><li>x</li></ul></li></ul>",
            ["ConstraintViolationException.DescriptionNesting"],
        ),
        ("<div>x</div>", ["ConstraintViolationException.DescriptionTagNotAllowed"]),
        ("<p>a<br>b</p>", ["ConstraintViolationException.DescriptionTagNotAllowed"]),
        ("<p>a<br/>b</p>", ["ConstraintViolationException.DescriptionTagNotAllowed"]),
        ("<p><i>x</i></p>", ["ConstraintViolationException.DescriptionTagNotAllowed"]),
        ("<p>x</p><!-- note -->", ["ConstraintViolationException.DescriptionTagNotAllowed"]),
        ("<!DOCTYPE html><p>x</p>", ["ConstraintViolationException.DescriptionTagNotAllowed"]),
        ("<P>x</p>", ["ConstraintViolationException.DescriptionTagCase"]),
        ("<p>x</P>", ["ConstraintViolationException.DescriptionTagCase"]),
        ('<p class="lead">x</p>', ["ConstraintViolationException.DescriptionAttributeNotAllowed"]),
        ("<p style>x</p>", ["ConstraintViolationException.DescriptionAttributeNotAllowed"]),
        ("<p>x", ["ConstraintViolationException.DescriptionMalformedHtml"]),
        ("</p>", ["ConstraintViolationException.DescriptionMalformedHtml"]),
        ("<p/>", ["ConstraintViolationException.DescriptionMalformedHtml"]),
        ("", ["ConstraintViolationException.DescriptionEmptyText"]),
        ("   ", ["ConstraintViolationException.DescriptionEmptyText"]),
    ],
)
def test_html_rules(content: str, expected: list[str]) -> None:
    assert codes_of(content) == expected


def test_misnested_tags() -> None:
    assert html_problems("<p><b>x</p></b>") == [
        ("ConstraintViolationException.DescriptionMalformedHtml", "<b> is not closed before </p>"),
        (
            "ConstraintViolationException.DescriptionMalformedHtml",
            "</b> closes a tag that is not open",
        ),
    ]


def test_every_problem_of_an_item_once() -> None:
    content = '<DIV class="x">a</DIV>loose<h1><b>t</b></h1>more loose<p>open'
    assert [message for _, message in html_problems(content)] == [
        "<div> is not allowed",
        'text "loose" is outside any tag',
        "<h1> must hold plain text only, not <b>",
        'text "more loose" is outside any tag',
        "<p> is not closed",
    ]
    assert len(html_problems("<div>a</div><div>b</div>")) == 1


def test_item_errors_carry_the_content_path_and_a_fix() -> None:
    description = text("<p>ok</p>")
    description["sections"].append({"items": [{"type": "TEXT", "content": "<h1><b>x</b></h1>"}]})
    [problem] = check_description(description)
    assert problem.code == "ConstraintViolationException.DescriptionNesting"
    assert problem.path == "description.sections[1].items[0].content"
    assert problem.user_message and "<h1>" in problem.user_message
    assert problem.user_message.endswith("correct it in the store.")


def test_sections_hold_one_or_two_items() -> None:
    image = {"type": "IMAGE", "url": "https://shop.example/1.jpg"}
    description = {
        "sections": [
            {"items": [image, {"type": "TEXT", "content": "<p>x</p>"}]},
            {"items": []},
            {"items": [image, image, image]},
        ]
    }
    found = check_description(description)
    assert [(e.code, e.path) for e in found] == [
        ("ConstraintViolationException.DescriptionSectionItems", "description.sections[1].items"),
        ("ConstraintViolationException.DescriptionSectionItems", "description.sections[2].items"),
    ]


def test_at_most_100_sections() -> None:
    description = {"sections": [{"items": [{"type": "TEXT", "content": "<p>x</p>"}]}] * 100}
    assert check_description(description) == []
    description["sections"] = description["sections"] * 2
    [problem] = check_description(description)
    assert problem.code == "ConstraintViolationException.DescriptionSections"


def test_item_types_and_image_urls() -> None:
    description = {
        "sections": [
            {"items": [{"type": "VIDEO", "url": "https://x.example/v"}]},
            {"items": [{"type": "IMAGE", "url": "ftp://x.example/1.jpg"}]},
            {"items": [{"type": "TEXT", "content": 5}]},
        ]
    }
    found = check_description(description)
    assert [(e.code, e.path) for e in found] == [
        (
            "ConstraintViolationException.DescriptionItemType",
            "description.sections[0].items[0].type",
        ),
        ("ConstraintViolationException.ImageUrl", "description.sections[1].items[0].url"),
        ("JsonMappingException", "description.sections[2].items[0].content"),
    ]


def test_size_counts_utf8_bytes_of_the_text() -> None:
    paragraph = "<p>" + "ż" * 9_000 + "</p>"  # 18,007 bytes
    description = {"sections": [{"items": [{"type": "TEXT", "content": paragraph}]}] * 2}
    assert description_bytes(description) == 36_014
    assert check_description(description) == []
    description["sections"] = description["sections"] * 2
    [problem] = check_description(description)
    assert problem.code == "ConstraintViolationException.DescriptionTooLarge"
    assert "72,028" in (problem.user_message or "")


def test_exactly_40000_bytes_pass() -> None:
    content = "<p>" + "a" * (40_000 - 7) + "</p>"
    assert check_description(text(content)) == []
    assert len(check_description(text(content + "<p></p>"))) == 1


@pytest.mark.parametrize("value", [None, [], {"sections": "x"}, {"sections": [5]}])
def test_malformed_descriptions(value: Any) -> None:
    found = check_description(value)
    assert [e.code for e in found] == ["JsonMappingException"]

"""Text rules: the offer name and the description's sections and HTML (FACTS.md §6).

Name: 12-75 characters counted the way Allegro counts them (it stores some characters as
HTML entities, so ``&`` counts as 5: ``&amp;``), at least 3 words, no word over 30
characters, no control characters.

Description: ``{sections: [{items: [TEXT | IMAGE]}]}``, at most 100 sections of 1 or 2 items,
at most 40,000 bytes; the HTML of TEXT items uses only ``h1 h2 p b ul ol li``, in lower case,
without attributes, with every piece of text inside a tag, ``h1``/``h2`` holding plain text
only, ``b`` only inside ``p`` or ``li``, ``li`` only inside ``ul``/``ol``, and every tag
closed in order. The HTML is read with the standard library's :class:`html.parser.HTMLParser`
driving a small strict walker; no regular expressions.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any, Final
from urllib.parse import urlsplit

from schemas.status import StatusError
from workers.domain.rules_common import Code, as_dict, as_list, error, join, type_name, unreadable

__all__ = [
    "ALLOWED_TAGS",
    "DESCRIPTION_MAX_BYTES",
    "DESCRIPTION_MAX_SECTIONS",
    "NAME_MAX_LENGTH",
    "NAME_MAX_WORD_LENGTH",
    "NAME_MIN_LENGTH",
    "NAME_MIN_WORDS",
    "check_description",
    "check_name",
    "check_product_name",
    "description_bytes",
    "html_problems",
    "is_http_url",
    "name_length",
]

NAME_MIN_LENGTH: Final = 12
NAME_MAX_LENGTH: Final = 75
NAME_MIN_WORDS: Final = 3
NAME_MAX_WORD_LENGTH: Final = 30
DESCRIPTION_MAX_BYTES: Final = 40_000
DESCRIPTION_MAX_SECTIONS: Final = 100
DESCRIPTION_MAX_ITEMS: Final = 2

#: How many characters Allegro counts for a character it stores as an HTML entity.
#: ``'`` is not escaped by HTML 4 escaping and counts as 1.
_ENTITY_LENGTH: Final = {"&": len("&amp;"), "<": len("&lt;"), ">": len("&gt;"), '"': len("&quot;")}

#: The only tags Allegro accepts in a TEXT item (the description builder emits only these).
ALLOWED_TAGS: Final = frozenset({"h1", "h2", "p", "b", "ul", "ol", "li"})
#: Which allowed tags may appear directly inside which (None: the top level of an item).
_CHILDREN: Final[dict[str | None, frozenset[str]]] = {
    None: frozenset({"h1", "h2", "p", "ul", "ol"}),
    "h1": frozenset(),
    "h2": frozenset(),
    "p": frozenset({"b"}),
    "b": frozenset(),
    "ul": frozenset({"li"}),
    "ol": frozenset({"li"}),
    "li": frozenset({"p", "b"}),
}
#: Tags where text is not allowed directly (it must sit in a child tag).
_NO_TEXT_IN: Final = frozenset({None, "ul", "ol"})
_VOID_TAGS: Final = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)
_HTML_FIX: Final = (
    "Allegro descriptions allow only <h1>, <h2>, <p>, <b>, <ul>, <ol> and <li>, in lower case "
    "and without attributes, with all text inside <h1>, <h2>, <p> or <li>"
)


def name_length(text: str) -> int:
    """The length of ``text`` as Allegro counts it: characters it stores as HTML entities
    count as the entity (``&`` 5, ``<`` and ``>`` 4, ``"`` 6), every other character 1."""
    return sum(_ENTITY_LENGTH.get(char, 1) for char in text)


def _entity_note(text: str) -> str:
    extra = name_length(text) - len(text)
    if not extra:
        return ""
    return ' (Allegro counts & as 5 characters, < and > as 4, " as 6)'


def check_name(value: Any, path: str) -> list[StatusError]:
    """The offer name's rules: 12-75 characters as Allegro counts them, 3+ words, no word
    over 30 characters, no control characters."""
    if not isinstance(value, str):
        return [unreadable(path, value, "a string", "Give the product a name in the store.")]
    errors: list[StatusError] = []
    length = name_length(value)
    if not NAME_MIN_LENGTH <= length <= NAME_MAX_LENGTH:
        direction = "Lengthen" if length < NAME_MIN_LENGTH else "Shorten"
        errors.append(
            error(
                Code.STRING_LENGTH,
                f"{path} counts {length} characters; Allegro takes "
                f"{NAME_MIN_LENGTH}-{NAME_MAX_LENGTH}{_entity_note(value)}",
                path,
                f"{direction} the product name in the store to {NAME_MIN_LENGTH}-"
                f"{NAME_MAX_LENGTH} characters (it counts {length}){_entity_note(value)}.",
            )
        )
    words = value.split()
    if len(words) < NAME_MIN_WORDS:
        errors.append(
            error(
                Code.NOT_ENOUGH_WORDS,
                f"{path} has {len(words)} word(s); Allegro needs at least {NAME_MIN_WORDS}",
                path,
                f"Use at least {NAME_MIN_WORDS} words in the product name in the store "
                "(e.g. brand, model and product type).",
            )
        )
    long_words = [word for word in words if len(word) > NAME_MAX_WORD_LENGTH]
    if long_words:
        shown = ", ".join(f'"{word}"' for word in long_words)
        errors.append(
            error(
                Code.MAX_WORD_LENGTH,
                f"{path} has words longer than {NAME_MAX_WORD_LENGTH} characters: {shown}",
                path,
                f"Split or shorten these words of the product name in the store (at most "
                f"{NAME_MAX_WORD_LENGTH} characters each): {shown}.",
            )
        )
    controls = sorted({f"U+{ord(char):04X}" for char in value if ord(char) < 32 or char == "\x7f"})
    if controls:
        errors.append(
            error(
                Code.CHARACTER_NOT_ALLOWED,
                f"{path} contains control characters: {', '.join(controls)}",
                path,
                "Remove line breaks, tabs and other control characters from the product name "
                "in the store.",
            )
        )
    return errors


def check_product_name(value: Any, path: str) -> list[StatusError]:
    """A new catalogue product's name: 1-75 characters as Allegro counts them."""
    if not isinstance(value, str) or not value.strip():
        return [
            error(
                Code.MISSING_NAME,
                f"{path}: a new product needs a name, got {type_name(value)}",
                path,
                "Give the product a name in the store.",
            )
        ]
    length = name_length(value)
    if length > NAME_MAX_LENGTH:
        return [
            error(
                Code.STRING_LENGTH,
                f"{path} counts {length} characters; Allegro takes at most "
                f"{NAME_MAX_LENGTH}{_entity_note(value)}",
                path,
                f"Shorten the product name in the store to at most {NAME_MAX_LENGTH} "
                f"characters (it counts {length}){_entity_note(value)}.",
            )
        ]
    return []


def is_http_url(value: Any) -> bool:
    """True for an absolute ``http://`` or ``https://`` URL with a host."""
    if not isinstance(value, str) or any(char.isspace() for char in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


# --- description ----------------------------------------------------------------------------


def check_description(value: Any, path: str = "description") -> list[StatusError]:
    """The description's structure, size and HTML. Every problem of every item is reported."""
    if not isinstance(value, dict) or not isinstance(value.get("sections"), list):
        return [
            unreadable(
                path,
                value,
                "an object with a sections array",
                "Send the description as sections of text and images.",
            )
        ]
    errors: list[StatusError] = []
    sections: list[Any] = value["sections"]
    size = description_bytes(value)
    if size > DESCRIPTION_MAX_BYTES:
        errors.append(
            error(
                Code.DESCRIPTION_SIZE,
                f"{path} is {size} bytes; Allegro takes at most {DESCRIPTION_MAX_BYTES}",
                path,
                f"Shorten the product description in the store: Allegro takes at most "
                f"{DESCRIPTION_MAX_BYTES:,} bytes and it has {size:,}.",
            )
        )
    if len(sections) > DESCRIPTION_MAX_SECTIONS:
        errors.append(
            error(
                Code.DESCRIPTION_SECTIONS,
                f"{path}.sections has {len(sections)} sections; Allegro takes at most "
                f"{DESCRIPTION_MAX_SECTIONS}",
                join(path, "sections"),
                f"Shorten the product description in the store to at most "
                f"{DESCRIPTION_MAX_SECTIONS} sections (paragraph blocks and images).",
            )
        )
    for index, section in enumerate(sections):
        errors.extend(_check_section(section, join(join(path, "sections"), index)))
    return errors


def description_bytes(description: Any) -> int:
    """The size Allegro limits to 40,000 bytes: the UTF-8 bytes of the TEXT items' HTML.

    The spec says only that "the description section cannot have more than 40000 bytes";
    counting the text content (not the JSON around it) is the reading the description
    builder (:mod:`workers.domain.describe`) uses too, so the two agree.
    """
    total = 0
    for section in as_list(as_dict(description).get("sections")):
        for item in as_list(as_dict(section).get("items")):
            content = as_dict(item).get("content")
            if as_dict(item).get("type") == "TEXT" and isinstance(content, str):
                total += len(content.encode())
    return total


def _check_section(section: Any, path: str) -> list[StatusError]:
    items = as_dict(section).get("items")
    if not isinstance(items, list):
        return [
            unreadable(
                path,
                section,
                "an object with an items array",
                "Send each description section as one or two items.",
            )
        ]
    errors: list[StatusError] = []
    if not 1 <= len(items) <= DESCRIPTION_MAX_ITEMS:
        errors.append(
            error(
                Code.DESCRIPTION_ITEMS,
                f"{path}.items has {len(items)} items; a section takes 1 or 2",
                join(path, "items"),
                "Each description section holds one or two items (text or image); "
                "adjust the product description in the store.",
            )
        )
    for index, item in enumerate(items):
        errors.extend(_check_item(item, join(join(path, "items"), index)))
    return errors


def _check_item(item: Any, path: str) -> list[StatusError]:
    data = as_dict(item)
    kind = data.get("type")
    if kind == "TEXT":
        content = data.get("content")
        content_path = join(path, "content")
        if not isinstance(content, str):
            return [unreadable(content_path, content, "a string", "Send description text as HTML.")]
        return [
            error(
                code,
                f"{content_path}: {message}",
                content_path,
                f"Product description: {message}. {_HTML_FIX}; correct it in the store.",
            )
            for code, message in html_problems(content)
        ]
    if kind == "IMAGE":
        url = data.get("url")
        if not is_http_url(url):
            url_path = join(path, "url")
            return [
                error(
                    Code.IMAGE_URL,
                    f"{url_path} must be an http(s) URL, got {json.dumps(url)[:80]}",
                    url_path,
                    "Use absolute http:// or https:// image URLs in the product description "
                    "in the store.",
                )
            ]
        return []
    type_path = join(path, "type")
    return [
        error(
            Code.DESCRIPTION_ITEM_TYPE,
            f"{type_path} must be TEXT or IMAGE, got {json.dumps(kind)[:40]}",
            type_path,
            "Description items are text or images only.",
        )
    ]


def html_problems(content: str) -> list[tuple[str, str]]:
    """Every distinct problem of one TEXT item's HTML, as ``(code, message)`` pairs in the
    order found; empty when Allegro would accept it."""
    walker = _StrictWalker()
    walker.feed(content)
    walker.close()
    return walker.problems()


class _StrictWalker(HTMLParser):
    """Walks one TEXT item's HTML and records what Allegro would reject."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._stack: list[str] = []
        self._found: dict[tuple[str, str], None] = {}
        self._elements = 0

    def problems(self) -> list[tuple[str, str]]:
        return list(self._found)

    def _add(self, code: str, message: str) -> None:
        self._found.setdefault((code, message), None)

    def _parent(self) -> str | None:
        return self._stack[-1] if self._stack else None

    def _check_tag(self, tag: str, attrs: list[tuple[str, str | None]], raw: str) -> bool:
        """Checks name, case and attributes; True when the tag is one Allegro allows."""
        if tag not in ALLOWED_TAGS:
            self._add(Code.HTML_TAG, f"<{tag}> is not allowed")
            return False
        written = raw.lstrip("</")[: len(tag)]
        if written != tag:
            self._add(Code.HTML_TAG_CASE, f"<{written}> must be written in lower case: <{tag}>")
        if attrs:
            names = ", ".join(sorted({name for name, _ in attrs}))
            self._add(Code.HTML_ATTRIBUTE, f"<{tag}> may not have attributes ({names})")
        return True

    def _check_nesting(self, tag: str) -> None:
        parent = self._parent()
        if parent is not None and parent not in ALLOWED_TAGS:
            return  # inside a tag already reported as not allowed
        if tag in _CHILDREN[parent]:
            return
        if parent in ("h1", "h2"):
            self._add(Code.HTML_NESTING, f"<{parent}> must hold plain text only, not <{tag}>")
        elif parent is None:
            where = "<ul> or <ol>" if tag == "li" else "<p> or <li>"
            self._add(Code.HTML_NESTING, f"<{tag}> must be inside {where}")
        else:
            self._add(Code.HTML_NESTING, f"<{tag}> is not allowed inside <{parent}>")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._elements += 1
        allowed = self._check_tag(tag, attrs, self.get_starttag_text() or f"<{tag}>")
        if allowed:
            self._check_nesting(tag)
        if tag not in _VOID_TAGS:
            self._stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._elements += 1
        if self._check_tag(tag, attrs, self.get_starttag_text() or f"<{tag}/>"):
            self._add(Code.HTML_MALFORMED, f"<{tag}/> is not valid: write <{tag}>...</{tag}>")

    def parse_endtag(self, i: int) -> int:
        # HTMLParser lower-cases end tags before handle_endtag; the raw text keeps the case.
        end = super().parse_endtag(i)
        if end > i:
            written = self.rawdata[i + 2 : end].rstrip(">").strip()
            if written and written != written.lower() and written.lower() in ALLOWED_TAGS:
                self._add(
                    Code.HTML_TAG_CASE,
                    f"</{written}> must be written in lower case: </{written.lower()}>",
                )
        return end

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID_TAGS:
            if tag not in ALLOWED_TAGS:
                self._add(Code.HTML_TAG, f"<{tag}> is not allowed")
            return
        if tag not in self._stack:
            self._add(Code.HTML_MALFORMED, f"</{tag}> closes a tag that is not open")
            return
        while self._stack:
            open_tag = self._stack.pop()
            if open_tag == tag:
                return
            self._add(Code.HTML_MALFORMED, f"<{open_tag}> is not closed before </{tag}>")

    def handle_data(self, data: str) -> None:
        if data.strip() and self._parent() in _NO_TEXT_IN:
            shown = " ".join(data.split())[:40]
            parent = self._parent()
            where = "outside any tag" if parent is None else f"directly in <{parent}>"
            self._add(Code.HTML_BARE_TEXT, f'text "{shown}" is {where}')

    def handle_comment(self, data: str) -> None:
        self._add(Code.HTML_TAG, "HTML comments are not allowed")

    def handle_decl(self, decl: str) -> None:
        self._add(Code.HTML_TAG, f"<!{decl.split()[0] if decl.split() else ''}> is not allowed")

    def handle_pi(self, data: str) -> None:
        self._add(Code.HTML_TAG, "processing instructions (<?...>) are not allowed")

    def unknown_decl(self, data: str) -> None:
        self._add(Code.HTML_TAG, "<![...]> sections are not allowed")

    def close(self) -> None:
        super().close()
        for open_tag in reversed(self._stack):
            self._add(Code.HTML_MALFORMED, f"<{open_tag}> is not closed")
        self._stack.clear()
        if not self._elements and not self._found:
            self._add(Code.DESCRIPTION_EMPTY, "the text is empty")

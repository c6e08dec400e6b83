"""A store description (plain text or HTML) as Allegro's structured description (pure).

Allegro takes ``{sections: [{items: [{type: TEXT, content: <html>}]}]}`` with at most 100
sections and 40,000 bytes, and HTML of the tags ``h1 h2 p b ul ol li`` only: lower case,
no attributes, no bare text, nothing but text inside ``h1``/``h2``, only ``li`` inside
lists. Store descriptions are anything but, so:

- **plain text** (no tag or entity in it): blank lines split paragraphs, lines inside a
  paragraph are joined; a paragraph whose every line starts with ``-``, ``*`` or ``•`` (or
  ``1.`` / ``1)``) becomes a list; text is HTML-escaped;
- **HTML** is first sanitised with ``nh3`` (scripts, styles, the head, forms and
  embedded objects go with their text; comments, attributes and unknown tags go, their
  text kept; malformed markup is repaired), then reduced: ``h1``/``h2`` keep plain
  text only; ``h3``-``h6`` become a bold paragraph; ``strong`` becomes ``b``; ``em``,
  ``i``, ``u``, ``span``, ``a`` and the like are dropped, their text kept; ``div``,
  ``section``, table rows and other blocks become paragraphs; ``br`` splits a paragraph;
  table cells are separated by `` | ``; lists nested in lists are flattened into the outer
  list; bare text is wrapped in ``p``;
- each ``h1``/``h2`` starts a new section (one TEXT item each); sections past the 100th
  are merged into it;
- past ``max_bytes`` the description is cut at a block boundary (a paragraph that does not
  fit is cut at a word, ending in "…") and a note says so.

The HTML produced is stable under ``nh3.clean`` with the allowed tags (checked).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import nh3

from workers.domain.rules_text import ALLOWED_TAGS, DESCRIPTION_MAX_BYTES, DESCRIPTION_MAX_SECTIONS

__all__ = [
    "ALLOWED_TAGS",
    "MAX_DESCRIPTION_BYTES",
    "MAX_SECTIONS",
    "DescriptionResult",
    "describe",
    "normalize_description",
]

#: Allegro's limits on a description (bytes of the TEXT items' content, sections), as
#: validation checks them (:mod:`workers.domain.rules_text`).
MAX_DESCRIPTION_BYTES = DESCRIPTION_MAX_BYTES
MAX_SECTIONS = DESCRIPTION_MAX_SECTIONS

# What nh3 keeps for the reduction to see; everything else loses its tag, keeps its text,
# except these, whose text is not for reading.
_DROP_WITH_TEXT = {"script", "style", "title", "head", "noscript", "template", "iframe"}
_DROP_WITH_TEXT |= {"object", "svg", "math", "select", "textarea", "button"}
_SANITISE_TAGS = {
    *ALLOWED_TAGS,
    *("h3", "h4", "h5", "h6", "strong", "br", "div", "section", "article", "header"),
    *("footer", "blockquote", "pre", "address", "table", "tr", "td", "th", "dl", "dt", "dd"),
    *("figcaption", "hr"),
}
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_BLOCKS = {
    *("p", "div", "section", "article", "header", "footer", "blockquote", "pre"),
    *("address", "table", "tr", "dl", "dt", "dd", "figcaption", "hr", "br"),
}
# Text is taken for HTML when it holds a tag of HTML's own (not any "<word>") or an entity.
_HTML_TAG_NAMES = (
    "a|abbr|address|article|aside|b|big|blockquote|body|br|center|code|dd|del|div|dl|dt|em|"
    "figcaption|figure|font|footer|h[1-6]|head|header|hr|html|i|iframe|img|ins|li|mark|meta|"
    "ol|p|pre|s|section|small|span|strike|strong|style|script|sub|sup|table|tbody|td|tfoot|"
    "th|thead|title|tr|tt|u|ul"
)
_HTML_HINT = re.compile(
    rf"<\s*/?\s*(?:{_HTML_TAG_NAMES})(?:\s[^<>]*)?/?\s*>|<!--"
    r"|&(?:#[0-9]+|#x[0-9a-fA-F]+|[a-zA-Z]+[0-9]*);",
    re.IGNORECASE,
)
_COLLAPSE = re.compile(r"[ \t\n\r\f\v]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BULLET = re.compile(r"^\s*[-*\u2022\u2013]\s+")
_NUMBERED = re.compile(r"^\s*[0-9]{1,3}[.)]\s+")

Segment = tuple[str, bool]  # (text, bold)


@dataclass
class _Block:
    """One top-level element: a heading or paragraph (``segments``), or a list (``items``,
    each a list of paragraphs)."""

    tag: str  # h1, h2, h3 (rendered as a bold paragraph), p, ul, ol
    segments: list[Segment] = field(default_factory=list)
    items: list[list[list[Segment]]] = field(default_factory=list)


@dataclass(frozen=True)
class DescriptionResult:
    """Allegro's description (or None when there is no text) and remarks (truncation)."""

    description: dict[str, Any] | None
    notes: list[str] = field(default_factory=list)


def _escape(text: str) -> str:
    return html.escape(text, quote=False).replace("\xa0", "&nbsp;")


def _tidy(segments: list[Segment]) -> list[Segment]:
    """Whitespace collapsed, ends trimmed, neighbours of equal weight merged."""
    merged: list[Segment] = []
    for text, bold in segments:
        text = _COLLAPSE.sub(" ", _CONTROL.sub("", text))
        if merged and (merged[-1][1] == bold or not text.strip()):
            merged[-1] = (merged[-1][0] + text, merged[-1][1])
        elif text:
            merged.append((text, bold))
    if merged:
        merged[0] = (merged[0][0].lstrip(" "), merged[0][1])
        merged[-1] = (merged[-1][0].rstrip(" "), merged[-1][1])
    result: list[Segment] = []
    for text, bold in merged:
        text = re.sub(" {2,}", " ", text)
        if result and result[-1][0].endswith(" ") and text.startswith(" "):
            text = text[1:]
        if text:
            result.append((text, bold))
    return result


def _inline(segments: list[Segment]) -> str:
    out = []
    for text, bold in segments:
        if bold and text.strip():
            lead = " " if text.startswith(" ") else ""
            tail = " " if text.endswith(" ") else ""
            out.append(f"{lead}<b>{_escape(text.strip(' '))}</b>{tail}")
        else:
            out.append(_escape(text))
    return "".join(out)


def _plain(segments: list[Segment]) -> str:
    return "".join(text for text, _ in segments).strip()


def _render(block: _Block) -> str:
    if block.tag in ("h1", "h2"):
        return f"<{block.tag}>{_escape(_plain(block.segments))}</{block.tag}>"
    if block.tag == "h3":
        return f"<p><b>{_escape(_plain(block.segments))}</b></p>"
    if block.tag == "p":
        return f"<p>{_inline(block.segments)}</p>"
    items = []
    for paragraphs in block.items:
        if len(paragraphs) == 1:
            items.append(f"<li>{_inline(paragraphs[0])}</li>")
        else:
            items.append("<li>" + "".join(f"<p>{_inline(p)}</p>" for p in paragraphs) + "</li>")
    return f"<{block.tag}>{''.join(items)}</{block.tag}>"


class _Reducer(HTMLParser):
    """Walks sanitised HTML and collects :class:`_Block` s (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[_Block] = []
        self.pending: list[Segment] = []  # the open paragraph's text (or heading's)
        self.heading: str | None = None
        self.lists: list[_Block] = []  # open lists; items go to the outermost
        self.item: list[list[Segment]] | None = None  # the open li's paragraphs
        self.implicit = False  # the open list was opened by an li without ul/ol
        self.bold = 0

    # paragraphs -----------------------------------------------------------------------
    def _flush(self) -> None:
        if self.heading is not None:  # a block inside a heading: the heading goes on
            self.pending.append((" ", False))
            return
        segments = _tidy(self.pending)
        self.pending = []
        if not segments:
            return
        if self.item is not None:
            self.item.append(segments)
        elif self.lists:  # text directly inside ul/ol: an item of its own
            self.lists[0].items.append([segments])
        else:
            self.blocks.append(_Block("p", segments))

    def _close_item(self) -> None:
        self._flush()
        if self.item and self.lists:
            self.lists[0].items.append(self.item)
        self.item = None

    def _end_implicit_list(self) -> None:
        """Content after a stray ``li`` (one without ``ul``/``ol``) ends its list."""
        if self.implicit and self.item is None and len(self.lists) == 1:
            self.implicit = False
            done = self.lists.pop()
            if done.items:
                self.blocks.append(done)

    # parser callbacks ---------------------------------------------------------------------
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "li":
            self._end_implicit_list()
        if tag in _HEADINGS:
            self._flush()
            self.heading = tag if tag in ("h1", "h2") else "h3"
        elif tag in ("ul", "ol"):
            if self.lists:
                self._close_item()  # a nested list: its items join the outer list
            else:
                self._flush()
            self.lists.append(_Block(tag))
        elif tag == "li":
            if not self.lists:
                self._flush()
                self.lists.append(_Block("ul"))
                self.implicit = True
            self._close_item()
            self.item = []
        elif tag in ("b", "strong"):
            self.bold += 1
        elif tag in ("td", "th"):
            if _plain(self.pending):
                self.pending.append((" | ", False))
        elif tag in _BLOCKS:
            self._flush()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in _HEADINGS and self.heading is not None:
            segments = _tidy(self.pending)
            self.pending = []
            if segments and not self.lists:
                self.blocks.append(_Block(self.heading, segments))
            elif segments:  # a heading inside a list: keep its text as a paragraph
                self.pending = [(_plain(segments), True)]
                self._flush()
            self.heading = None
        elif tag in ("ul", "ol") and self.lists:
            self._close_item()
            done = self.lists.pop()
            self.implicit = False
            if not self.lists and done.items:
                self.blocks.append(done)
            elif self.lists:
                self.item = None
        elif tag == "li":
            self._close_item()
        elif tag in ("b", "strong"):
            self.bold = max(0, self.bold - 1)
        elif tag in _BLOCKS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if data.strip():
            self._end_implicit_list()
        self.pending.append((data, self.bold > 0 and self.heading is None))

    def finish(self) -> list[_Block]:
        self.close()
        if self.heading is not None:
            self.handle_endtag("h1")
        while self.lists:
            self.handle_endtag(self.lists[-1].tag)
        self._flush()
        return self.blocks


def _from_html(source: str) -> list[_Block]:
    sanitised = nh3.clean(
        source,
        tags=_SANITISE_TAGS,
        clean_content_tags=_DROP_WITH_TEXT,
        attributes={},
        strip_comments=True,
    )
    reducer = _Reducer()
    reducer.feed(sanitised)
    return reducer.finish()


def _from_text(source: str) -> list[_Block]:
    blocks = []
    text = _CONTROL.sub("", source.replace("\r\n", "\n").replace("\r", "\n"))
    for chunk in re.split(r"\n[ \t]*\n", text):
        lines = [line for line in chunk.split("\n") if line.strip()]
        if not lines:
            continue
        for pattern, tag in ((_BULLET, "ul"), (_NUMBERED, "ol")):
            if all(pattern.match(line) for line in lines):
                items = [[_tidy([(pattern.sub("", line), False)])] for line in lines]
                blocks.append(_Block(tag, items=items))
                break
        else:
            blocks.append(_Block("p", _tidy([(" ".join(lines), False)])))
    return blocks


def _cut_segments(segments: list[Segment], budget: int) -> list[Segment] | None:
    """The longest word-boundary prefix of ``segments`` (ending in "…") whose paragraph
    takes at most ``budget`` bytes; None when not even one word fits."""
    flat = "".join(text for text, _ in segments)

    def cut(length: int) -> list[Segment]:
        out: list[Segment] = []
        left = len(flat[:length].rstrip())
        for text, bold in segments:
            if left <= 0:
                break
            out.append((text[:left], bold))
            left -= len(text)
        return [*out, ("…", False)]

    def size(length: int) -> int:
        return len(f"<p>{_inline(cut(length))}</p>".encode())

    # Every character takes at least one byte, so no more than ``budget`` of them fit.
    low, high = 0, min(len(flat), budget)
    while low < high:  # the longest prefix that fits, then back to a word boundary
        middle = (low + high + 1) // 2
        if size(middle) <= budget:
            low = middle
        else:
            high = middle - 1
    space = flat.rfind(" ", 0, low + 1)
    length = space if space > 0 else low
    if length <= 0 or size(length) > budget:
        return None
    return cut(length)


def _fit(blocks: list[_Block], max_bytes: int) -> tuple[list[str], list[str]]:
    """Rendered blocks within ``max_bytes`` in total, and a note when some were cut."""
    rendered: list[str] = []
    used = 0
    for index, block in enumerate(blocks):
        content = _render(block)
        size = len(content.encode())
        if used + size <= max_bytes:
            rendered.append(content)
            used += size
            continue
        budget = max_bytes - used
        partial: str | None = None
        if block.tag == "p":
            segments = _cut_segments(block.segments, budget)
            partial = _render(_Block("p", segments)) if segments else None
        elif block.tag in ("ul", "ol"):
            kept = _Block(block.tag)
            for item in block.items:
                kept.items.append(item)
                if len(_render(kept).encode()) > budget:
                    kept.items.pop()
                    break
            partial = _render(kept) if kept.items else None
        if partial is not None:
            rendered.append(partial)
            used += len(partial.encode())
        note = (
            f"description cut to {used} bytes (Allegro allows {max_bytes}): "
            f"{index} of {len(blocks)} blocks kept whole"
            + (", the next one shortened" if partial is not None else "")
        )
        return rendered, [note]
    return rendered, []


def _sections(rendered: list[str], max_sections: int) -> list[dict[str, Any]]:
    groups: list[list[str]] = []
    for content in rendered:
        if not groups or (content.startswith(("<h1>", "<h2>")) and groups[-1]):
            groups.append([])
        groups[-1].append(content)
    if len(groups) > max_sections:
        tail = [content for group in groups[max_sections - 1 :] for content in group]
        groups = [*groups[: max_sections - 1], tail]
    return [{"items": [{"type": "TEXT", "content": "".join(group)}]} for group in groups]


def describe(
    text_or_html: str,
    *,
    max_bytes: int = MAX_DESCRIPTION_BYTES,
    max_sections: int = MAX_SECTIONS,
) -> DescriptionResult:
    """The store's description as Allegro's structured description, with notes.

    ``max_bytes`` bounds the UTF-8 size of all TEXT contents together; ``max_sections``
    the number of sections. Never raises for any input text.
    """
    if not text_or_html or not text_or_html.strip():
        return DescriptionResult(None)
    is_html = _HTML_HINT.search(text_or_html) is not None
    blocks = _from_html(text_or_html) if is_html else _from_text(text_or_html)
    rendered, notes = _fit(blocks, max_bytes)
    checked = []
    for content in rendered:
        # A guard, not a step: the reduction only emits what nh3 would keep unchanged.
        clean = nh3.clean(content, tags=set(ALLOWED_TAGS), attributes={})
        checked.append(clean)
    if not checked:
        return DescriptionResult(None, notes)
    return DescriptionResult({"sections": _sections(checked, max_sections)}, notes)


def normalize_description(
    text_or_html: str, *, max_bytes: int = MAX_DESCRIPTION_BYTES
) -> dict[str, Any] | None:
    """Allegro's ``description`` for the store's text or HTML, or None when it is empty.

    See :func:`describe` (which also returns the notes, e.g. about truncation).
    """
    return describe(text_or_html, max_bytes=max_bytes).description

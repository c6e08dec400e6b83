"""Rules for an offer's structured description (``StandardizedDescription``).

Allegro's rules, as the project's facts sheet states them:

* ``sections[]`` of 1 or 2 ``items`` each, at most 100 sections, at most 40,000 bytes;
* items are ``{type: TEXT, content: <html>}`` or ``{type: IMAGE, url}``;
* the HTML may only use ``h1 h2 p b ul ol li``, in lower case, with no attributes;
* text must sit inside a tag (no bare text at the top level);
* ``h1``/``h2`` hold plain text only; ``b`` may appear in ``p`` and in lists; ``p`` may
  appear in list items; ``ul``/``ol`` hold ``li`` elements only.

Allegro does not document its exact error codes for description problems; the sandbox uses
the ``ConstraintViolationException.Description*`` family below (our choice) and always puts
the offending item's path in ``path``.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

from sandbox.rules_common import as_dict, as_list, error, join_path

__all__ = [
    "MAX_DESCRIPTION_BYTES",
    "MAX_SECTIONS",
    "check_description",
    "html_problems",
]

MAX_DESCRIPTION_BYTES = 40_000
MAX_SECTIONS = 100

CODE_SIZE = "ConstraintViolationException.DescriptionSize"
CODE_SECTIONS = "ConstraintViolationException.DescriptionSectionsCount"
CODE_ITEMS = "ConstraintViolationException.DescriptionItemsCount"
CODE_ITEM = "ConstraintViolationException.DescriptionItem"
CODE_HTML = "ConstraintViolationException.DescriptionHtml"

_ALLOWED = {"h1", "h2", "p", "b", "ul", "ol", "li"}
# Which tags each context accepts as children; "#text" stands for non-blank text.
_CHILDREN: dict[str, set[str]] = {
    "#root": {"h1", "h2", "p", "ul", "ol"},
    "h1": {"#text"},
    "h2": {"#text"},
    "p": {"#text", "b"},
    "b": {"#text"},
    "ul": {"li"},
    "ol": {"li"},
    "li": {"#text", "b", "p"},
}
_RAW_TAG = re.compile(r"</?\s*([A-Za-z][A-Za-z0-9]*)")


class _Checker(HTMLParser):
    """Walks one TEXT item and collects human-readable problems (first of each kind)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = ["#root"]
        self.problems: list[str] = []

    def _problem(self, text: str) -> None:
        if text not in self.problems:
            self.problems.append(text)

    def _raw_name(self, raw: str | None) -> str:
        match = _RAW_TAG.match(raw or "")
        return match.group(1) if match else ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raw_name = self._raw_name(self.get_starttag_text())
        if raw_name and raw_name != raw_name.lower():
            self._problem(f"tag <{raw_name}> must be written in lower case")
        if tag not in _ALLOWED:
            self._problem(f"tag <{tag}> is not allowed")
            return
        if attrs:
            self._problem(f"tag <{tag}> must not have attributes")
        parent = self.stack[-1]
        if parent in _CHILDREN and tag not in _CHILDREN[parent]:
            where = "at the top level" if parent == "#root" else f"inside <{parent}>"
            self._problem(f"tag <{tag}> is not allowed {where}")
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._problem(f"self-closing tag <{tag}/> is not allowed")

    def handle_endtag(self, tag: str) -> None:
        if tag not in _ALLOWED:
            if tag not in self.stack:
                self._problem(f"tag <{tag}> is not allowed")
            return
        if tag not in self.stack:
            self._problem(f"closing tag </{tag}> has no opening tag")
            return
        while self.stack[-1] != tag:
            self._problem(f"tag <{self.stack.pop()}> is not closed")
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if not data.strip():
            return
        parent = self.stack[-1]
        if "#text" not in _CHILDREN.get(parent, {"#text"}):
            if parent == "#root":
                self._problem("text must be placed inside a tag")
            else:
                self._problem(f"text is not allowed directly inside <{parent}>")

    def handle_comment(self, data: str) -> None:
        self._problem("comments are not allowed")

    def finish(self) -> list[str]:
        self.close()
        for tag in reversed(self.stack[1:]):
            self._problem(f"tag <{tag}> is not closed")
        return self.problems


def html_problems(content: str) -> list[str]:
    """Problems of one TEXT item's HTML; ``[]`` when Allegro would accept it."""
    if not content.strip():
        return ["the text item is empty"]
    checker = _Checker()
    checker.feed(content)
    return checker.finish()


def _item_errors(item: Any, path: str) -> tuple[list[dict[str, Any]], int]:
    """Errors of one section item and its size in bytes."""
    item = as_dict(item)
    kind = item.get("type")
    if kind == "TEXT":
        content = item.get("content")
        if not isinstance(content, str):
            return [error(CODE_ITEM, "A TEXT item needs a content.", path=path)], 0
        size = len(content.encode("utf-8"))
        problems = html_problems(content)
        if problems:
            return [
                error(
                    CODE_HTML,
                    "Invalid HTML in the description: " + "; ".join(problems) + ".",
                    path=join_path(path, "content"),
                    user_message=(
                        "The description may only use the tags h1, h2, p, b, ul, ol and li, "
                        "with text inside tags."
                    ),
                )
            ], size
        return [], size
    if kind == "IMAGE":
        url = item.get("url")
        if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
            return [
                error(
                    CODE_ITEM,
                    "An IMAGE item needs an http(s) url.",
                    path=join_path(path, "url"),
                )
            ], 0
        return [], len(url.encode("utf-8"))
    return [
        error(
            CODE_ITEM,
            "A description item must have the type TEXT or IMAGE.",
            path=join_path(path, "type"),
        )
    ], 0


def check_description(description: Any, path: str = "description") -> list[dict[str, Any]]:
    """All problems of a ``description`` value (``None`` -> no problems: the product's
    description is used)."""
    if description is None:
        return []
    sections = as_list(as_dict(description).get("sections"))
    errors: list[dict[str, Any]] = []
    if len(sections) > MAX_SECTIONS:
        errors.append(
            error(
                CODE_SECTIONS,
                f"The description has {len(sections)} sections; at most {MAX_SECTIONS} are "
                "allowed.",
                path=join_path(path, "sections"),
                metadata={"maxSections": MAX_SECTIONS},
            )
        )
    total_bytes = 0
    for s_index, section in enumerate(sections):
        section_path = join_path(join_path(path, "sections"), s_index)
        items = as_list(as_dict(section).get("items"))
        if not 1 <= len(items) <= 2:
            errors.append(
                error(
                    CODE_ITEMS,
                    f"A description section must have 1 or 2 items, not {len(items)}.",
                    path=join_path(section_path, "items"),
                )
            )
        for i_index, item in enumerate(items):
            item_errors, size = _item_errors(
                item, join_path(join_path(section_path, "items"), i_index)
            )
            errors.extend(item_errors)
            total_bytes += size
    if total_bytes > MAX_DESCRIPTION_BYTES:
        errors.append(
            error(
                CODE_SIZE,
                f"The description takes {total_bytes} bytes; at most {MAX_DESCRIPTION_BYTES} "
                "are allowed.",
                path=path,
                metadata={"maxBytes": MAX_DESCRIPTION_BYTES, "actualBytes": total_bytes},
            )
        )
    return errors

"""Write the JSON Schema files of the public contracts into ``schemas/json/``.

Usage (from the repository root)::

    python -m schemas.generate            # (re)write the files that changed
    python -m schemas.generate --check    # exit 1 and list the files that are stale

Exit codes: 0 up to date (or written), 1 stale files found by ``--check``, 2 usage error.

The output is deterministic (sorted keys, two-space indent, one trailing newline), so the
check compares bytes. Producers in any language validate their events against
``product-event.v1.schema.json`` (JSON Schema draft 2020-12).
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import CoreSchema

from schemas import events, mapping, offer, status

__all__ = ["SCHEMA_FILES", "SchemaFile", "default_directory", "main", "render", "stale", "write"]

DIALECT = "https://json-schema.org/draft/2020-12/schema"
#: ``$id`` prefix. A URN, because the schemas are not served from any URL (yet).
ID_PREFIX = "urn:allegro-feed:schema:"


class _Generator(GenerateJsonSchema):
    """pydantic's generator without the per-field titles ("Valuesids") it invents."""

    def field_title_should_be_set(self, schema: CoreSchema) -> bool:
        return False


def _summary(obj: object) -> str:
    """The first paragraph of ``obj``'s docstring, on one line."""
    doc = inspect.getdoc(obj) or ""
    return " ".join(doc.split("\n\n")[0].split())


@dataclass(frozen=True)
class SchemaFile:
    """One generated file: its name, title, and how to build its body."""

    filename: str
    title: str
    description: str
    build: Callable[[], dict[str, Any]]

    @property
    def schema_id(self) -> str:
        return ID_PREFIX + self.filename.removesuffix(".schema.json")


def _product_event() -> dict[str, Any]:
    schema = events.PRODUCT_EVENT_ADAPTER.json_schema(schema_generator=_Generator)
    schema["examples"] = list(events.EXAMPLE_EVENTS)
    return schema


def _status_message() -> dict[str, Any]:
    # What we emit, hence the serialization view.
    return status.StatusMessage.model_json_schema(mode="serialization", schema_generator=_Generator)


def _offer_request() -> dict[str, Any]:
    return offer.OfferRequest.model_json_schema(schema_generator=_Generator)


def _mapping_file() -> dict[str, Any]:
    schema = mapping.MappingFile.model_json_schema(schema_generator=_Generator)
    schema["examples"] = [mapping.EXAMPLE_MAPPING]
    return schema


SCHEMA_FILES: tuple[SchemaFile, ...] = (
    SchemaFile(
        "product-event.v1.schema.json",
        "allegro-feed product event, version 1",
        _summary(events),
        _product_event,
    ),
    SchemaFile(
        "status-message.v1.schema.json",
        "allegro-feed status message, version 1",
        _summary(status),
        _status_message,
    ),
    SchemaFile(
        "offer-request.v1.schema.json",
        "Allegro offer request (the subset allegro-feed sends), version 1",
        _summary(offer),
        _offer_request,
    ),
    SchemaFile(
        "mapping-file.v1.schema.json",
        "allegro-feed mapping file, version 1",
        _summary(mapping),
        _mapping_file,
    ),
)


def _tidy(node: Any) -> Any:
    """Docstring markup to Markdown: ``code`` -> `code` in every description."""
    if isinstance(node, dict):
        return {
            k: v.replace("``", "`") if k == "description" and isinstance(v, str) else _tidy(v)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_tidy(v) for v in node]
    return node


def render(spec: SchemaFile) -> str:
    """The file's exact text."""
    body = spec.build()
    document = {
        **{k: v for k, v in body.items() if k not in ("title", "description")},
        "$schema": DIALECT,
        "$id": spec.schema_id,
        "title": spec.title,
        "description": spec.description,
    }
    return json.dumps(_tidy(document), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def default_directory() -> Path:
    """``schemas/json`` beside this module."""
    return Path(__file__).resolve().parent / "json"


def _stale_texts(directory: Path) -> dict[Path, str]:
    """The files under ``directory`` that are missing or differ, with the text they need."""
    result = {}
    for spec in SCHEMA_FILES:
        path = directory / spec.filename
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        text = render(spec)
        if current != text:
            result[path] = text
    return result


def stale(directory: Path) -> list[Path]:
    """The files under ``directory`` that are missing or differ from what would be written."""
    return list(_stale_texts(directory))


def write(directory: Path) -> list[Path]:
    """Write the files that are stale; return them."""
    directory.mkdir(parents=True, exist_ok=True)
    changed = _stale_texts(directory)
    for path, text in changed.items():
        path.write_text(text, encoding="utf-8", newline="\n")
    return list(changed)


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m schemas.generate",
        description="Generate the JSON Schema files of allegro-feed's public contracts.",
        epilog="examples:\n  python -m schemas.generate\n  python -m schemas.generate --check",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 listing stale files"
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="directory (default: schemas/json in the package)"
    )
    args = parser.parse_args(argv)
    directory: Path = args.out or default_directory()
    if args.check:
        outdated = stale(directory)
        for path in outdated:
            print(f"stale: {_shown(path)}", file=sys.stderr)
        if outdated:
            print("run: python -m schemas.generate", file=sys.stderr)
            return 1
        return 0
    for path in write(directory):
        print(f"wrote {_shown(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

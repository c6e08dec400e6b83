"""Write the RabbitMQ definitions of the default topology to ``deploy/rabbitmq/``.

``python -m workers.topology_export`` regenerates the file; ``--check`` exits 1 when the
committed file differs from what :func:`workers.topology.definitions` produces (a test runs
it, so the deploy file cannot drift from the code).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from workers.settings import Settings
from workers.topology import definitions

__all__ = ["TARGET", "main", "render"]

TARGET = Path(__file__).resolve().parents[1] / "deploy" / "rabbitmq" / "definitions.json"


def render() -> str:
    """The definitions of the default (unprefixed) topology as stable JSON text."""
    defaults = Settings(name_prefix="")
    return json.dumps(definitions(defaults), indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    text = render()
    if "--check" in args:
        if not TARGET.is_file() or TARGET.read_text(encoding="utf-8") != text:
            print(f"{TARGET.name} is stale: run python -m workers.topology_export", file=sys.stderr)
            return 1
        return 0
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

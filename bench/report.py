"""Results of ``make bench``: figures, the printed table, the JSON file, machine facts.

A :class:`Figure` is one measured number (the median of ``runs`` runs) with the issue's
target, if it has one; a :class:`ScenarioResult` groups a scenario's figures with its
set-up and notes. :func:`render_table` and :func:`to_json` are pure.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.stats import Target

__all__ = [
    "Figure",
    "ScenarioResult",
    "format_value",
    "machine_info",
    "render_table",
    "to_json",
    "write_json",
]


@dataclass
class Figure:
    """One measured number; ``runs`` is how many runs it is the median of."""

    key: str
    label: str
    value: float | None
    unit: str
    runs: int
    target: Target | None = None
    note: str = ""
    #: The issue's scenario the figure belongs to, when not its own (memory is measured
    #: during the burst).
    group: str | None = None

    @property
    def met(self) -> bool | None:
        return self.target.met(self.value) if self.target is not None else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label.strip(),
            "value": self.value,
            "unit": self.unit,
            "runs": self.runs,
            "target": self.target.text() if self.target is not None else None,
            "met": self.met,
            "note": self.note or None,
            "group": self.group,
        }


@dataclass
class ScenarioResult:
    """A scenario's figures, its set-up in words, notes, raw details and error."""

    name: str
    setup: str
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)
    duration_s: float | None = None
    error: str | None = None

    def add(self, figure: Figure) -> None:
        self.figures.append(figure)

    def value(self, key: str) -> float | None:
        return next((f.value for f in self.figures if f.key == key), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "setup": self.setup,
            "duration_s": self.duration_s,
            "error": self.error,
            "figures": [f.as_dict() for f in self.figures],
            "notes": self.notes,
            "detail": self.detail,
        }


def format_value(value: float | None, unit: str = "") -> str:
    """A figure for the table: 3 significant digits (thousands separated), unit appended."""
    if value is None:
        return "n/a"
    if value == int(value) and abs(value) >= 1:
        text = f"{int(value):,}"
    elif abs(value) >= 100:
        text = f"{value:,.0f}"
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}".strip()


#: The scenarios' numbers in issue 4.
ISSUE_NUMBERS = {
    "ceiling": 1,
    "throughput": 2,
    "burst": 3,
    "initial sync": 4,
    "latency": 5,
    "memory": 6,
}


def _met_text(met: bool | None) -> str:
    return {True: "met", False: "MISSED", None: ""}[met]


def render_table(results: Sequence[ScenarioResult], header: Sequence[str] = ()) -> str:
    """The results as a fixed-width text table with notes below it."""
    header_row = ("#", "scenario", "figure", "value", "runs", "target", "")
    rows: list[tuple[str, ...]] = []
    for result in results:
        if result.error is not None:
            number = str(ISSUE_NUMBERS.get(result.name, ""))
            rows.append((number, result.name, "FAILED: see notes", "", "", "", ""))
        for figure in result.figures:
            scenario = figure.group or result.name
            rows.append(
                (
                    str(ISSUE_NUMBERS.get(scenario, "")),
                    scenario,
                    figure.label,
                    format_value(figure.value, figure.unit),
                    "1 (single)" if figure.runs == 1 else f"{figure.runs} (median)",
                    figure.target.text() if figure.target is not None else "",
                    _met_text(figure.met),
                )
            )
    # In the issue's order (memory, measured during the burst, comes last); stable otherwise.
    rows.sort(key=lambda row: int(row[0]) if row[0].isdigit() else 99)
    rows.insert(0, header_row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header_row))]
    right = {3}
    lines = list(header)
    for index, row in enumerate(rows):
        cells = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    notes = []
    for result in results:
        notes.append(f"- {result.name}: {result.setup}")
        if result.duration_s is not None:
            notes[-1] += f" [{result.duration_s:.0f} s]"
        notes += [f"    {note}" for note in result.notes]
        for figure in result.figures:
            if figure.note:
                notes.append(f"    {figure.label.strip()}: {figure.note}")
        if result.error is not None:
            notes.append(f"    ERROR: {result.error}")
    return "\n".join([*lines, "", "notes:", *notes])


def to_json(results: Sequence[ScenarioResult], meta: dict[str, Any]) -> dict[str, Any]:
    """The JSON document of a benchmark run."""
    return {**meta, "scenarios": [r.as_dict() for r in results]}


def write_json(document: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _memory_gb() -> float | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    return None


def rabbitmq_version(amqp_url: str) -> str | None:
    """The broker's version from the AMQP handshake (server properties), or None."""
    import pika

    try:
        connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    except Exception:
        return None
    try:
        properties = getattr(connection._impl, "server_properties", None) or {}
        version = properties.get("version")
        return version.decode() if isinstance(version, bytes) else version
    finally:
        connection.close()


def machine_info(amqp_url: str) -> dict[str, Any]:
    """CPU model, cores, memory, OS, Python and RabbitMQ versions."""
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gb": _memory_gb(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "rabbitmq": rabbitmq_version(amqp_url),
    }

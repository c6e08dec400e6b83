"""Several OS processes hammering one rate budget at the same moment.

The parent calls :func:`hammer`; each child (``python -m tests.integration._budget_proc``)
opens the budget and prints ``ready``. Then, round by round, it waits for ``go`` on stdin
(sent to every child at once, so the work really overlaps), tries ``attempts``
acquisitions at the round's time and prints one JSON line: the units it was granted and
whether every refusal named a wait.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from workers.budget import BudgetConfig, RateBudget, open_budget

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 60.0
#: The limits the backends' multi-process tests hammer (BudgetConfig fields).
CONFIG: dict[str, Any] = {
    "client_per_min": 100,
    "offer_writes_per_min": 40,
    "offer_writes_per_hour": 100,
    "batch_changes_per_min": 100,
}


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def hammer(
    url: str,
    *,
    processes: int,
    attempts: int,
    config: dict[str, Any],
    kind: str = "client",
    cost: int = 1,
    rounds: Sequence[float | None] = (None,),
    prefix: str = "",
) -> list[int]:
    """Total units granted to ``processes`` children in each round. A round's time is
    epoch seconds for every child, or None: the backend's own clock (then every round
    uses it)."""
    times = ["" if at is None else repr(at) for at in rounds]
    argv = [url, kind, str(cost), str(attempts), json.dumps(config), prefix, *times]
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.integration._budget_proc", *argv],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    try:
        for child in children:
            _expect(child, "ready")
        totals = []
        for _ in rounds:
            for child in children:
                assert child.stdin is not None
                child.stdin.write("go\n")
                child.stdin.flush()
            total = 0
            for child in children:
                result = json.loads(_expect(child, None))
                assert result["refusals_named_a_wait"], result
                total += int(result["granted"])
            totals.append(total)
        for child in children:
            _, err = child.communicate(timeout=TIMEOUT_S)
            if child.returncode != 0:
                raise AssertionError(f"child failed ({child.returncode}):\n{err}")
        return totals
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
            for stream in (child.stdin, child.stdout, child.stderr):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()


def _expect(child: subprocess.Popen[str], wanted: str | None) -> str:
    assert child.stdout is not None
    line = child.stdout.readline().strip()
    if not line or (wanted is not None and line != wanted):
        child.kill()
        _, err = child.communicate(timeout=TIMEOUT_S)
        raise AssertionError(f"child said {line!r}, not {wanted or 'a result'}:\n{err}")
    return line


def _open(url: str, config: BudgetConfig, clock: _Clock | None, prefix: str) -> RateBudget:
    if url.startswith("redis"):
        from workers.budget.backends.redis import RedisBudget

        return RedisBudget(url, config, clock=clock, prefix=prefix)
    return open_budget(url, config, clock=clock)


def main(argv: list[str]) -> None:
    url, kind, cost, attempts, config_json, prefix, *times = argv
    config = BudgetConfig(**json.loads(config_json))
    clock = None if times[0] == "" else _Clock()
    budget = _open(url, config, clock, prefix)
    budget.status(kind, account="seller")  # connect (and create the table) before "go"
    print("ready", flush=True)
    for at in times:
        if sys.stdin.readline().strip() != "go":
            raise SystemExit("no go from the parent")
        if clock is not None:
            clock.now = float(at)
        granted, named = 0, True
        for _ in range(int(attempts)):
            wait = budget.acquire(kind, int(cost), account="seller")
            if wait == 0.0:
                granted += int(cost)
            else:
                named = named and wait > 0.0
        print(json.dumps({"granted": granted, "refusals_named_a_wait": named}), flush=True)
    budget.close()


if __name__ == "__main__":
    main(sys.argv[1:])

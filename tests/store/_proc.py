"""Several OS processes doing store work at the same moment (cross-process tests).

The parent calls :func:`run_together` with one argument list per child. Each child
(``python -m tests.store._proc COMMAND URL ...``) opens the store, prints ``ready``, waits
for ``go`` on stdin, does its work and prints one JSON line with its result. The parent
sends ``go`` only once every child is ready, so the work really overlaps.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog

from schemas.events import PRODUCT_EVENT_ADAPTER
from schemas.status import Status
from workers.allegro.tokens import TokenSet
from workers.store import LockTimeout, Store, open_store
from workers.store.postgres import PostgresStore
from workers.store.sqlite import SQLiteStore

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 60.0


def run_together(*commands: list[str]) -> list[Any]:
    """Run one child per command at once; the JSON result of each, in order."""
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.store._proc", *command],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for command in commands
    ]
    try:
        for child in children:
            assert child.stdout is not None
            line = child.stdout.readline()
            if line.strip() != "ready":
                _, err = child.communicate(timeout=TIMEOUT_S)
                raise AssertionError(f"child did not start: {line!r}\n{err}")
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        results = []
        for child, command in zip(children, commands, strict=True):
            out, err = child.communicate(timeout=TIMEOUT_S)
            if child.returncode != 0:
                raise AssertionError(f"child {command[0]} failed ({child.returncode}):\n{err}")
            results.append(json.loads(out.strip().splitlines()[-1]))
        return results
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
            for stream in (child.stdin, child.stdout, child.stderr):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()


def open_backend(url: str, **options: Any) -> SQLiteStore | PostgresStore:
    """A store object of the backend ``url`` names, with constructor ``options``."""
    if url.startswith("sqlite:///"):
        return SQLiteStore(url.removeprefix("sqlite:///"), **options)
    return PostgresStore(url, **options)


def _open(url: str, **options: Any) -> Store:
    return open_backend(url, **options) if options else open_store(url, migrate=False)


def _ready() -> None:
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        raise SystemExit("no go from the parent")


def _migrate(url: str) -> Any:
    store = _open(url)
    _ready()
    store.migrate()
    store.close()
    return "migrated"


def _refresh(url: str, account: str, stale: str, name: str) -> Any:
    # The refresh protocol of workers.allegro.tokens: lock, look again, refresh only when
    # the stored token is still the stale one.
    store = _open(url)
    assert store.get(account) is not None
    _ready()
    with store.refresh_lock(account):
        stored = store.get(account)
        assert stored is not None
        if stored.access_token == stale:
            # Widens the window in which a broken lock would let the other child refresh
            # too; the test's verdict does not depend on this time.
            time.sleep(0.2)
            fresh = TokenSet(f"access-{name}", f"refresh-{name}", stored.expires_at + 3600)
            store.put(account, fresh)
            result = "refreshed"
        else:
            result = "reused"
    final = store.get(account)
    store.close()
    return {"result": result, "token": final.access_token if final else None}


def _try_locks(url: str, timeout_s: str, *locks: str) -> Any:
    # Each lock is "parameters:<category id>" or "refresh:<account>"; one attempt each.
    store = _open(url, lock_timeout_s=float(timeout_s))
    _ready()
    results = []
    for spec in locks:
        kind, key = spec.split(":", 1)
        lock = store.parameters_lock(key) if kind == "parameters" else store.refresh_lock(key)
        try:
            with lock:
                results.append("acquired")
        except LockTimeout:
            results.append("timeout")
    store.close()
    return results


def _record(url: str, events_file: str) -> Any:
    store = _open(url)
    events = [
        PRODUCT_EVENT_ADAPTER.validate_python(raw)
        for raw in json.loads(Path(events_file).read_text(encoding="utf-8"))
    ]
    _ready()
    outcomes = [store.record_event(event).outcome.value for event in events]
    store.close()
    return outcomes


def _add_statuses(url: str, status: str, *event_ids: str) -> Any:
    # One terminal status per event: whether the store took it (a replay's outcome).
    from tests.store.test_status import message

    store = _open(url)
    _ready()
    taken = [store.add_status(message(event_id, Status(status), 1)) for event_id in event_ids]
    store.close()
    return taken


COMMANDS: dict[str, Callable[..., Any]] = {
    "migrate": _migrate,
    "refresh": _refresh,
    "try-locks": _try_locks,
    "record": _record,
    "add-statuses": _add_statuses,
}


def main(argv: list[str]) -> None:
    # Logs go to stderr: stdout carries the protocol.
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    command, *args = argv
    result = COMMANDS[command](*args)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])

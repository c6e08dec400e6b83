"""Processes of ``allegro-feed worker`` and their memory, read from ``/proc`` (Linux;
psutil is not a dependency). ``VmHWM`` in ``/proc/<pid>/status`` is a process's peak
resident set size ("high water mark"), so one read at the end of a scenario gives the
peak over all of it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["peak_rss_mb", "process_tree", "role_of", "worker_memory"]


def _parents() -> dict[int, int]:
    """pid -> parent pid of every process."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1:
            found[int(entry.name)] = int(fields[1])
    return found


def process_tree(root: int) -> dict[int, tuple[int, str]]:
    """``root`` and its descendants: pid -> (parent pid, command line)."""
    parents = _parents()
    tree: dict[int, tuple[int, str]] = {}
    todo = [root]
    while todo:
        pid = todo.pop()
        try:
            raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        command = raw.replace(b"\0", b" ").decode(errors="replace").strip()
        tree[pid] = (parents.get(pid, 0), command)
        todo += [child for child, parent in parents.items() if parent == pid]
    return tree


def peak_rss_mb(pid: int) -> float | None:
    """``VmHWM`` of ``pid`` (peak resident set size) in MB; None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except (OSError, ValueError):
        return None
    return None


def role_of(command: str, parent_command: str) -> str:
    """A short name for a process of ``allegro-feed worker``: ``supervisor``, ``ingest
    bridge``, ``batcher`` (stock/price batch commands), ``dramatiq master`` (forks and
    watches the actor processes) or ``actor process`` (the threads that run the actors)."""
    if "workers.ingest" in command:
        return "ingest bridge"
    if "workers.batching" in command:
        return "batcher"
    if "dramatiq" in command:
        return "actor process" if "dramatiq" in parent_command else "dramatiq master"
    if "workers.cli" in command:
        return "supervisor"
    return command[:40]


def worker_memory(root: int) -> list[dict[str, Any]]:
    """Peak RSS (MB) of ``root`` (``allegro-feed worker``) and its descendants, with roles."""
    tree = process_tree(root)
    rows = []
    for pid, (parent, command) in sorted(tree.items()):
        role = role_of(command, tree.get(parent, (0, ""))[1])
        rows.append({"pid": pid, "role": role, "peak_rss_mb": peak_rss_mb(pid)})
    return rows

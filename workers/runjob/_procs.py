"""The children of ``make run`` (:mod:`workers.runjob`): starting and stopping processes, their
logs, the local Allegro sandbox, the workers' command line and the seller's device flow."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx

from workers.settings import Settings

from ._errors import RunError

#: Longest wait for the sandbox, the workers' topology or the device flow, s.
STARTUP_TIMEOUT_S = 30.0
#: How long stopping a child may take before it is killed, s.
STOP_TIMEOUT_S = 20.0


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def spawn(command: list[str], log_path: Path, env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """Start ``command`` with its output appended to ``log_path``, in a session of its own
    (see :func:`stop_process`)."""
    with log_path.open("ab") as log:
        # A session of its own: Ctrl-C reaches only this command, which stops the children
        # in order (workers first, so that they finish their messages while Allegro is up).
        return subprocess.Popen(  # noqa: S603 - our own interpreter and modules
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env),
            start_new_session=True,
        )


def stop_process(proc: subprocess.Popen[bytes] | None, timeout_s: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM ``proc`` and wait up to ``timeout_s``; then SIGKILL its whole process group
    (it was started in a session of its own, so that also ends the children it started)."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.kill()
        proc.wait(timeout=10)


def tail(path: Path, lines: int = 15) -> str:
    """The last ``lines`` lines of a log file, indented (for error messages)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join("    " + line for line in text.splitlines()[-lines:])


def start_sandbox(
    port: int,
    log_path: Path,
    env: Mapping[str, str],
    timeout_s: float = STARTUP_TIMEOUT_S,
    *,
    log_level: str = "info",
) -> subprocess.Popen[bytes]:
    """``allegro-feed sandbox --port PORT`` as a child, once ``/__sandbox/config`` answers.
    ``log_level``: uvicorn's (``info`` logs a line per request)."""
    command = [sys.executable, "-m", "workers.cli", "sandbox", "--port", str(port)]
    command += ["--log-level", log_level]
    proc = spawn(command, log_path, env)
    url = f"http://127.0.0.1:{port}/__sandbox/config"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RunError(
                f"the sandbox exited at start (code {proc.returncode}):\n{tail(log_path)}"
            )
        try:
            httpx.get(url, timeout=1.0).raise_for_status()
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    stop_process(proc)
    raise RunError(f"the sandbox did not answer on port {port} within {timeout_s:.0f} s")


def connect_seller(settings: Settings, admin_url: str, out: Callable[[str], None]) -> None:
    """Connect the account ``default`` with the device flow; tokens go into the store."""
    from workers.allegro.device import connect_account
    from workers.allegro.oauth import DeviceAuthorization
    from workers.store import open_store

    def approve(device: DeviceAuthorization) -> None:
        # The sandbox's admin endpoint plays the seller confirming the code in a browser.
        httpx.post(
            f"{admin_url}/__sandbox/device/approve",
            json={"user_code": device.user_code},
            timeout=10.0,
        ).raise_for_status()
        out(f"(the sandbox's seller confirms {device.user_code} for you)")

    store = open_store(settings.database_url)
    try:
        connect_account(settings, store, "default", out=out, on_started=approve)
    finally:
        store.close()


def worker_command(processes: int, threads: int) -> list[str]:
    """``allegro-feed worker`` with the pool sizes of the run."""
    return [
        sys.executable,
        "-m",
        "workers.cli",
        "worker",
        "--processes",
        str(processes),
        "--threads",
        str(threads),
    ]

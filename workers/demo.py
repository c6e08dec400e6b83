"""``make run`` until the pipeline lands: the Allegro client against the local sandbox.

Starts ``allegro-feed sandbox`` as a child process on a free port, connects a seller account
with the device flow (the sandbox's admin endpoint plays the seller confirming the code),
reads the category tree, finds catalogue products, lists offers for them with the category's
required offer parameters, shows one offer refused with Allegro's 422 errors, changes the
stock of every offer with one batch command, and prints a summary. It talks to the sandbox
only over HTTP, as it would to Allegro.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from workers.allegro import AllegroClient, FileTokenStore, ValidationFailed
from workers.allegro.device import connect_account
from workers.allegro.models import CategoryParameter
from workers.allegro.oauth import DeviceAuthorization
from workers.logging import configure_logging
from workers.settings import LOCAL_CLIENT_ID, LOCAL_CLIENT_SECRET, Settings

__all__ = ["main"]

SEARCHES = ("czajnik", "słuchawki", "iphone", "kawa", "buty", "lego", "rower", "krem", "mysz")
STARTUP_TIMEOUT_S = 20.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start_sandbox(port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
        [sys.executable, "-m", "workers.cli", "sandbox", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the sandbox exited at start (code {proc.returncode})")
        try:
            httpx.get(f"http://127.0.0.1:{port}/__sandbox/config", timeout=1.0)
            return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError(f"the sandbox did not answer on port {port} within {STARTUP_TIMEOUT_S} s")


def _offer_parameters(params: list[CategoryParameter]) -> list[dict[str, Any]]:
    """The required offer (not product) dictionary parameters, each with its first value;
    condition 11323 gets "new"."""
    chosen: list[dict[str, Any]] = []
    for param in params:
        if not param.required or param.describes_product or not param.dictionary:
            continue
        ids = [v.id for v in param.dictionary if v.id]
        value = f"{param.id}_1" if f"{param.id}_1" in ids else ids[0]
        chosen.append({"id": param.id, "valuesIds": [value]})
    return chosen


def run(settings: Settings, admin_url: str, out: Any = print) -> dict[str, Any]:
    """Run the demo against a sandbox at ``settings.api_url``; returns the figures."""
    started = time.monotonic()
    store = FileTokenStore(settings.token_file)

    def approve(device: DeviceAuthorization) -> None:
        httpx.post(
            f"{admin_url}/__sandbox/device/approve", json={"user_code": device.user_code}
        ).raise_for_status()

    connect_account(settings, store, "default", out=out, on_started=approve)
    created: list[str] = []
    refused: list[str] = []
    with AllegroClient(settings, store) as client:
        roots = client.list_categories()
        out(f"category tree: {len(roots)} main categories")
        for n, phrase in enumerate(SEARCHES, start=1):
            page = client.search_products(phrase)
            product = next(iter(page.products or []), None)
            if product is None or product.category is None or not product.category.id:
                out(f"  [{n}/{len(SEARCHES)}] {phrase!r}: no catalogue product")
                continue
            params = client.get_category_parameters(product.category.id)
            body = {
                "productSet": [{"product": {"id": product.id}}],
                "parameters": _offer_parameters(params),
                "sellingMode": {"price": {"amount": f"{49 + 10 * n}.99", "currency": "PLN"}},
                "stock": {"available": n},
                "external": {"id": f"DEMO-{n:03d}"},
            }
            result = client.create_offer(body)
            created.append(str(result.offer_id))
            out(f"  [{n}/{len(SEARCHES)}] offer {result.offer_id} for {product.name!r}")

        bad = {
            "productSet": [{"product": {"id": "0000000000000", "idType": "GTIN"}}],
            "name": "Superładowarka turbo",  # two words: Allegro wants three
            "sellingMode": {"price": {"amount": "0.50", "currency": "PLN"}},
            "stock": {"available": 1},
            "external": {"id": "DEMO-BAD"},
        }
        try:
            client.create_offer(bad)
        except ValidationFailed as exc:
            refused = [f"{e.code} at {e.path}" for e in exc.errors]
            out(f"refused as Allegro would (trace {exc.trace_id}):")
            for line in refused:
                out(f"  - {line}")

        if created:
            command = client.change_quantity(created, 25)
            report = client.wait_command("quantity", command.command_id, max_wait_s=30)
            counts = report.task_count
            out(
                f"stock of {len(created)} offers set to 25 by one batch command: "
                f"{counts.success if counts else 0} tasks succeeded, "
                f"{counts.failed if counts else 0} failed"
            )
    elapsed = time.monotonic() - started
    return {"created": len(created), "refused_errors": len(refused), "elapsed_s": elapsed}


def main() -> int:
    """Entry point of ``make run``."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="allegro-feed-demo-") as tmp:
        settings = Settings(
            api_url=url,
            auth_url=url,
            client_id=LOCAL_CLIENT_ID,
            client_secret=SecretStr(LOCAL_CLIENT_SECRET),
            token_file=Path(tmp) / "tokens.json",
            log_level="WARNING",
        )
        configure_logging(settings)
        print(f"starting the local Allegro sandbox on {url} ...")
        proc = _start_sandbox(port)
        try:
            figures = run(settings, url)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    print(
        f"done: {figures['created']} offers listed, {figures['refused_errors']} errors shown "
        f"for the refused one, in {figures['elapsed_s']:.1f} s"
    )
    print("the event pipeline (RabbitMQ -> actors -> Allegro) is the next milestone; see README")
    return 0


if __name__ == "__main__":
    sys.exit(main())

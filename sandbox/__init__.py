"""A local Allegro REST API simulator: the same API surface, served on one port.

OAuth (client credentials, device flow, refresh), categories and parameters, catalogue
products, offers (``/sale/product-offers`` with async operations, ``/sale/offers``), batch
commands, Allegro's rate limits, and knobs for latency and injected faults. It is a test
double of Allegro and shares no code with ``workers/``.

Start it with ``allegro-feed sandbox`` or ``python -m sandbox``; in tests use
:func:`sandbox.testing.running_sandbox`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.app import create_app
    from sandbox.config import SandboxConfig

__all__ = ["SandboxConfig", "create_app"]


def __getattr__(name: str) -> Any:
    # Deferred so that `import sandbox.catalog` does not pull in the web stack.
    if name == "create_app":
        from sandbox.app import create_app

        return create_app
    if name == "SandboxConfig":
        from sandbox.config import SandboxConfig

        return SandboxConfig
    raise AttributeError(name)

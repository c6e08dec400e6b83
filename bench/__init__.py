"""The benchmark harness behind ``make bench`` (``python -m bench``; see ``bench.__main__``).

Modules: ``harness`` (start/stop sandbox, store, workers; /proc memory), ``amqp`` (publish
events with confirms in flight, collect statuses), ``events`` (upstream events),
``noop`` (the Dramatiq no-op actor of the ceiling), ``common``, ``scenarios`` and
``sync_latency`` (what is measured), ``stats`` (pure helpers) and ``report`` (table, JSON).
"""

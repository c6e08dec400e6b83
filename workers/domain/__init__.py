"""The pure domain steps of the pipeline: categorize, enrich, validate, plan.

Nothing here imports pika, Dramatiq, httpx or the store: each step is a function of plain
data (the product's desired state, Allegro's category parameters, catalogue matches, the
mapping file) that returns plain data or raises :class:`~workers.domain.model.Rejected`.
The actors in ``workers/actors.py`` do the I/O around them.
"""

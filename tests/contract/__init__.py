"""Contract checks of allegro-feed's Allegro traffic against Allegro's own OpenAPI spec.

The spec is read from the shared reference folder (``../shared/allegro/openapi.yaml``) at
test time and never copied into the project. ``openapi.py`` is the validator library; the
``test_*.py`` modules prove it on the examples in ``../shared/allegro/examples``.
"""

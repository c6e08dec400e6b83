"""``python -m sandbox``: serve the Allegro sandbox (see ``--help``)."""

from sandbox.server import main

main()

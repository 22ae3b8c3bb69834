"""Run once by the server process before its first session (``panel serve apps/kl_explorer.py --setup
apps/server_setup.py``): the same setup as ``klpanel serve``'s (:mod:`klpanel.server.startup`: warm-up, then the
speedups; ``KLPANEL_SPEEDUPS=0`` turns the speedups off)."""

from klpanel.server.startup import setup

setup()

"""Run once by the server process before its first session (``panel serve apps/kl_explorer.py --setup
apps/server_setup.py``; ``klpanel serve`` runs :mod:`klpanel.server.startup`, the same): installs the served app's
speedups (:mod:`klpanel.server.speedups`; ``KLPANEL_SPEEDUPS=0`` turns them off)."""

from klpanel.server.speedups import install_all

install_all()

"""Run once by the server process before its first session (``panel serve ... --setup`` this file; ``klpanel serve``
passes it, and ``apps/server_setup.py`` does the same): installs the served app's speedups
(:mod:`klpanel.server.speedups`; ``KLPANEL_SPEEDUPS=0`` turns them off)."""

from klpanel.server.speedups import install_all

install_all()

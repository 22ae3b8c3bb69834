"""Run once by the server process before its first session (``panel serve ... --setup`` this file; ``klpanel serve``
passes it): installs the served app's library adjustments, which keep the startup heap out of Python's full
garbage collections among others (:mod:`klpanel.server.speedups`)."""

try:
    from klpanel.server.speedups import install_all
except ImportError:  # before the speedups package existed, the setup froze the startup heap only
    from klpanel.views.heap import freeze_startup_heap as install_all

install_all()

"""Run once by the server process before its first session (``panel serve apps/kl_explorer.py --setup
apps/server_setup.py``; ``klpanel serve`` passes it): the startup heap is kept out of Python's full garbage
collections (:mod:`klpanel.views.heap`)."""

from klpanel.views.heap import freeze_startup_heap

freeze_startup_heap()

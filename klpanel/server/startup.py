"""Run once by the server process before its first session (``panel serve ... --setup`` this file; ``klpanel serve``
passes it, and ``apps/server_setup.py`` does the same): warms the process up (:mod:`klpanel.server.warmup`: the
numba kernels compiled or loaded, the default page's optima and landscapes in the shared caches; ``/api/health``
says ready after it), then installs the served app's speedups (:mod:`klpanel.server.speedups`; ``KLPANEL_SPEEDUPS=0``
turns them off), and serves each page's HTML from a kept session, the visitor's own built when its browser connects
(:mod:`klpanel.server.reuse`). The pages ask nothing of the visitor's browser: Panel's ``BrowserInfo`` (time zone,
language, window sizes...; unused here) sent ~11 messages the server applied to each new page. The warm-up runs
first and in this thread: the ``heap`` speedup freezes what exists when it is installed, and must not race a warm-up
still creating objects."""

import sys

import panel as pn

from klpanel.server import reuse
from klpanel.server.speedups import install_all
from klpanel.server.warmup import warm_up


def setup() -> None:
    warm_up()
    install_all()
    pn.config.browser_info = False
    reuse.configure()
    reuse.keep_pages_at_start(sys.argv)


# Panel runs this file as a script (module ``panel_setup_module``); an import runs nothing
if __name__ != "klpanel.server.startup":
    setup()

"""Run once by the server process before its first session (``panel serve ... --setup`` this file; ``klpanel serve``
passes it, and ``apps/server_setup.py`` does the same): warms the process up (:mod:`klpanel.server.warmup`: the
numba kernels compiled or loaded, the default page's optima and landscapes in the shared caches; ``/api/health``
says ready after it), then installs the served app's speedups (:mod:`klpanel.server.speedups`; ``KLPANEL_SPEEDUPS=0``
turns them off), and serves each page's HTML from a kept session, the visitor's own built when its browser connects
(:mod:`klpanel.server.reuse`). Bokeh's "expensive error diagnostics" are off unless
``BOKEH_PERFORM_ERROR_DIAGNOSTICS`` asks for them: they check the signature of every callback a new page registers
(~250 ``inspect.signature`` calls, ~13 ms of each session's build) and suggest names in attribute errors. The warm-up runs first and in this thread: the ``heap`` speedup freezes what exists
when it is installed, and must not race a warm-up still creating objects."""

import os
import sys

from bokeh.settings import settings

from klpanel.server import reuse
from klpanel.server.speedups import install_all
from klpanel.server.warmup import warm_up


def setup() -> None:
    warm_up()
    diagnostics_off()
    install_all()
    reuse.configure()
    reuse.keep_pages_at_start(sys.argv)


def diagnostics_off(environ=os.environ) -> bool:
    """Bokeh's expensive error diagnostics off, unless ``BOKEH_PERFORM_ERROR_DIAGNOSTICS`` chooses; whether turned off."""
    if "BOKEH_PERFORM_ERROR_DIAGNOSTICS" in environ:
        return False
    settings.perform_error_diagnostics.set_value(False)
    return True


# Panel runs this file as a script (module ``panel_setup_module``); an import runs nothing
if __name__ != "klpanel.server.startup":
    setup()

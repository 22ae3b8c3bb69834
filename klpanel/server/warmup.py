"""The served process's warm-up, before its first visitor: every numba kernel compiled or loaded from its cache,
what every visitor's first screen reads (the default target's optima and landscapes, the 2-D picture's optima)
computed once into the models' shared caches, and the page built once (the libraries' first-use work).

Without it the first request after a start paid for numba (seconds with an empty cache), for the default target's
optima and for the first use of HoloViews' and Panel's machinery. :func:`warm_up` runs in the server's setup (:mod:`klpanel.server.startup`) before the speedups
freeze the startup heap; ``GET /api/health`` answers 503 ``{"status": "starting"}`` while it runs and 200 once it
is done (:func:`ready`). A process that never starts a warm-up (the API mounted on its own) is ready at once.
"""

from __future__ import annotations

import logging
import threading
import time

import numpy as np

log = logging.getLogger(__name__)

_lock = threading.Lock()
_state = {"status": "idle", "seconds": None}  # idle (no warm-up asked for) -> starting -> ready


def status() -> str:
    """``"idle"`` (no warm-up was started: nothing to wait for), ``"starting"`` or ``"ready"``."""
    return _state["status"]


def ready() -> bool:
    """Whether the process may take visitors: its warm-up is done, or none was started."""
    return _state["status"] != "starting"


def seconds() -> float | None:
    """How long the warm-up took (None before it finished)."""
    return _state["seconds"]


def begin() -> None:
    """Mark the process as warming up (health answers 503 until :func:`finish`)."""
    with _lock:
        _state.update(status="starting", seconds=None)


def finish(took: float | None = None) -> None:
    with _lock:
        _state.update(status="ready", seconds=took)


def kernels() -> None:
    """Call every compiled kernel with every argument type the app passes it: the whole registry with gradients
    and Hessians at one q and along a landscape row, the mixture density with its derivatives, an optimum,
    and the 2-D cubature."""
    from ..models.target import Target
    from ..numerics import divergences, gauss2d, quadrature
    from ..numerics.optima import optimal_q

    p = Target()
    names = list(divergences.REGISTRY)
    divergences.evaluate_grid(p, 0.0, 0.8, names, hessian=True)
    divergences.evaluate_grid(p, np.linspace(-5.0, 5.0, 24), 0.8, names, gradients=True)  # a row, split on threads
    for derivatives in (0, 1, 2):
        quadrature.mixture_logpdf(p, np.linspace(-6.0, 6.0, 16), derivatives=derivatives)
    optimal_q(p, "jsd")
    mixture = gauss2d.Mixture2D([1.0, 1.0], [[-2.0, -1.0], [2.0, 1.0]], [[0.8, 0.8]] * 2, [0.3, 0.3])
    for direction in gauss2d.DIRECTIONS:
        gauss2d.optimal_q(mixture, direction, "full")


def shared_defaults() -> None:
    """Fill the shared caches with what every visitor's page reads for the default state: the optima of the
    default divergences and the dynamics landscapes (:mod:`klpanel.models.cache`, ``landscape._GRIDS``), and the
    2-D picture's optima."""
    from ..models.dynamics import Dynamics
    from ..models.explorer import Explorer
    from ..models.twod import TwoD

    Explorer()
    Dynamics()
    TwoD()


def page() -> None:
    """Build and serialise the whole page once, every section, into a throwaway document: what a process does the
    first time (HoloViews' plotting modules imported and its options resolved, Panel's templates and Bokeh's
    property defaults set up) is then not done on a visitor's request. Nothing of it outlives the call."""
    from bokeh.document import Document
    from bokeh.server.contexts import BokehSessionContext

    from ..views.app import KLExplorer

    doc = Document()
    KLExplorer().template().server_doc(doc)
    doc.to_json()
    # end the page as a server ends a session: Panel's session-destroyed hooks drop the page from its registry of
    # live views (``pn.state``), which otherwise kept this one page, and its Explorer, for the process's life
    # (Panel's own hooks run as its server runs them: each once, a failing one skipped)
    context = BokehSessionContext("klpanel-warm-up", None, doc)
    callbacks, doc.session_destroyed_callbacks = doc.session_destroyed_callbacks, set()
    for callback in callbacks:
        try:
            callback(context)
        except Exception as exc:  # e.g. a view registered twice ends once
            log.debug("warm-up page: session-destroyed hook %s: %r", callback, exc)
    doc.clear()


def warm_up() -> float:
    """Compile or load the kernels, fill the shared caches and build the page once (:func:`kernels`,
    :func:`shared_defaults`, :func:`page`); the seconds it took. Health says "starting" meanwhile."""
    begin()
    start = time.perf_counter()
    try:
        kernels()
        shared_defaults()
        page()
    finally:
        took = time.perf_counter() - start
        finish(took)
    log.info("klpanel warm-up done in %.1f s", took)
    return took


def compiled_signatures() -> dict[str, int]:
    """Every numba kernel of :mod:`klpanel.numerics` (``module.name``) -> how many signatures it has compiled or
    loaded in this process (a kernel first called on a visitor's request would add one)."""
    import sys

    from numba.core.registry import CPUDispatcher

    counts = {}
    for name, module in list(sys.modules.items()):
        if not name.startswith("klpanel.numerics") or module is None:
            continue
        for attr, obj in vars(module).items():
            if isinstance(obj, CPUDispatcher) and obj.__module__ == name:
                counts[f"{name}.{attr}"] = len(obj.signatures)
    return counts

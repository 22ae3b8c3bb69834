"""The served process's warm-up (klpanel.server.warmup): health says "starting" until it is done, after it a visitor's
work compiles no kernel, and what it leaves in the shared caches is what every session reads, read-only."""

from __future__ import annotations

import asyncio

import pytest
from tornado.httpclient import AsyncHTTPClient
from tornado.web import Application

from klpanel.models.dynamics import Dynamics
from klpanel.models.explorer import Explorer
from klpanel.models.runs import Run
from klpanel.models.spectrum import alpha_curve
from klpanel.models.target import Target
from klpanel.models.twod import TwoD
from klpanel.server import api, warmup


def health() -> tuple[int, dict]:
    """(status code, JSON body) of ``GET /api/health`` served by the API's handler on a loopback port."""
    async def ask():
        server = Application([(r"/api/health", api.HealthHandler)]).listen(0, "127.0.0.1")
        port = next(iter(server._sockets.values())).getsockname()[1]
        try:
            response = await AsyncHTTPClient().fetch(f"http://127.0.0.1:{port}/api/health", raise_error=False)
        finally:
            server.stop()
        return response.code, api.json.loads(response.body)
    return asyncio.run(ask())


@pytest.fixture
def restore_state():
    saved = dict(warmup._state)
    yield
    warmup._state.update(saved)


def test_health_says_starting_until_the_warm_up_is_done(restore_state):
    warmup.begin()
    code, body = health()
    assert (code, body["status"]) == (503, "starting")
    warmup.finish(0.1)
    code, body = health()
    assert (code, body["status"]) == (200, "ok")


def test_a_process_that_never_warms_up_is_ready(restore_state):
    """The API mounted without the served setup (``pn.serve(extra_patterns=ROUTES)``) must not wait forever."""
    warmup._state.update(status="idle", seconds=None)
    assert warmup.ready()
    assert health()[0] == 200


def test_after_the_warm_up_a_visitors_work_compiles_no_kernel(restore_state):
    warmup.warm_up()
    assert warmup.status() == "ready" and warmup.seconds() is not None
    before = warmup.compiled_signatures()
    # the kernels Python calls (the others are compiled into them, and count no signature when cached)
    entry = {"kernels.integrate_rows", "kernels.mixture_logpdf_flat", "cubature2d._line_sums"}
    assert {f"klpanel.numerics.{k}" for k in entry} <= {k for k, n in before.items() if n}, before
    # what sessions do: another target, q moved, runs with both estimators, restarts, a curve, the 2-D picture
    e = Explorer(target=Target(n_modes=5, spread=2.0))
    e.q.param.update(mu=-2.0, sigma=0.4)
    d = Dynamics(target=e.target)
    d.advance(5)
    d.estimator = "reparameterization"
    d.start_restarts()
    d.advance(5)
    Run(target=e.target, divergence="alpha", mu0=1.0, sigma0=1.0).step(3)
    alpha_curve(Target(n_modes=2, spread=1.5), points=5)
    m = TwoD()
    m.family = "full"
    for run in m.descents():
        run.step(3)
    assert warmup.compiled_signatures() == before


def test_the_default_page_reads_shared_read_only_values(restore_state):
    warmup.warm_up()
    optima = Explorer().optima
    again = Explorer().optima
    assert optima and all(again[name] is optima[name] for name in optima)  # from the cache, not recomputed
    grid = Dynamics().landscape.grid
    assert grid is Dynamics().landscape.grid
    for array in (grid.mu, grid.sigma, grid.y, grid.values):
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 0.0
    curve = alpha_curve(Target(n_modes=2, spread=1.5), points=5)
    assert alpha_curve(Target(n_modes=2, spread=1.5), points=5) is curve
    for array in (curve.t, curve.mu, curve.sigma, curve.value, curve.jump):
        with pytest.raises(ValueError, match="read-only"):
            array[0] = array[-1]


def test_the_warm_up_page_and_renders_outside_a_session_leave_nothing_alive():
    """The warm-up's throwaway page is let go (Panel's registry of live views, Bokeh's default document): it held
    one whole page, and a figure rendered outside a session (a notebook, a script) stayed hooked on Bokeh's
    process-wide document for the process's life."""
    import gc

    from bokeh.io import curdoc

    from klpanel.views.app import KLExplorer

    def alive() -> int:  # (other tests' fixtures may hold pages of their own)
        gc.collect()
        return sum(isinstance(o, (KLExplorer, Explorer)) for o in gc.get_objects())

    hooks, before = len(curdoc().session_destroyed_callbacks), alive()
    warmup.page()
    assert len(curdoc().session_destroyed_callbacks) == hooks
    assert alive() == before


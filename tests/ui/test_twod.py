"""The 2-D section (Bishop's picture) in Chromium against the served app: change p's correlation, move q by dragging
its handles with the mouse, and read both KLs; expected numbers come from klpanel.numerics.gauss2d."""

from __future__ import annotations

import pytest

from klpanel.models.twod import Approximation2D, Target2D
from klpanel.numerics import gauss2d as g

from pagetools import CHANGE_TIMEOUT_MS, js, set_slider, wait_until

pytestmark = pytest.mark.ui

HEADING = "6. Two dimensions"
P_RHO = "ρ of p (correlation)"


def shown(page) -> dict[str, str]:
    cells = page.locator("td.kl2d-readout")
    return dict(zip(cells.evaluate_all("cs => cs.map(c => c.dataset.divergence)"), cells.all_inner_texts()))


def expect_values(page, mixture: g.Mixture2D, q: g.Gaussian2D) -> None:
    """The readouts show the library's forward and reverse KL at q, to their 3 decimals."""
    exact = g.evaluate(mixture, q)
    last = {}

    def agree():
        last["shown"] = shown(page)
        return set(last["shown"]) == set(exact) and all(
            abs(float(last["shown"][d]) - v) <= 0.0005 + 1e-9 for d, v in exact.items())
    try:
        wait_until(agree, timeout=CHANGE_TIMEOUT_MS / 1e3, what="2-D readouts equal to the library's values")
    except TimeoutError as exc:
        raise AssertionError(f"shown {last['shown']}, library {exact}") from exc


def q_shape(page) -> list[float]:
    """q as the page's drawing knows it: (μ₁, μ₂, σ₁, σ₂, ρ)."""
    return js(page, "() => Array.from(klColumn(klNamed('klpanel-twod-q-shape'), 'q'))")


def screen_point(page, x1: float, x2: float) -> tuple[float, float]:
    """Page coordinates of data point (x1, x2) on the 2-D plot (its Bokeh view's scales and canvas position)."""
    return tuple(js(page, """([x, y]) => {
        const view = Bokeh.index.find_one(klNamed('klpanel-twod-plot'));
        const box = view.el.getBoundingClientRect();
        return [box.left + view.frame.x_scale.compute(x), box.top + view.frame.y_scale.compute(y)];
    }""", [x1, x2]))


def test_twod_section_follows_rho_and_drags(open_app, artifacts):
    page = open_app()
    heading = page.locator("h2", has_text=HEADING).first
    heading.scroll_into_view_if_needed()
    q = Approximation2D().gaussian
    expect_values(page, Target2D().mixture, q)

    set_slider(page, P_RHO, 0.5)
    p = Target2D(rho=0.5).mixture
    expect_values(page, p, q)
    # the optimal mean-field q of reverse KL is drawn where the closed form puts it: σᵢ = √(1 − ρ²)
    radius = g.optimal_q(p, "reverse_kl").q.sigma1
    xs = js(page, """() => { const s = klModels().find(m => m.name === 'klpanel-twod-optimum-reverse_kl'
                                                         && m.type === 'ColumnDataSource');
                            return Array.from(klColumn(s, 'xs')[0]); }""")
    assert max(xs) == pytest.approx(radius, rel=1e-3)

    # drag q's σ₁ handle 0.6 to the right, then its centre to (−0.5, 0.5), with the mouse
    js(page, "() => Bokeh.index.find_one(klNamed('klpanel-twod-plot')).el.scrollIntoView({block: 'center'})")
    for (a1, a2), (b1, b2), moved in (((q.mu1 + q.sigma1, q.mu2), (q.mu1 + q.sigma1 + 0.6, q.mu2), {"sigma1": 1.2}),
                                      ((q.mu1, q.mu2), (-0.5, 0.5), {"mu1": -0.5, "mu2": 0.5})):
        start, end = screen_point(page, a1, a2), screen_point(page, b1, b2)
        page.mouse.move(*start)
        page.mouse.down()
        for i in range(1, 11):
            page.mouse.move(start[0] + (end[0] - start[0]) * i / 10, start[1] + (end[1] - start[1]) * i / 10)
        page.mouse.up()
        wait_until(lambda: all(abs(v - w) < 0.03 for v, w in zip(
            q_shape(page),
            q._replace(**moved))), timeout=CHANGE_TIMEOUT_MS / 1e3, what="q to follow the drag")
        q = g.Gaussian2D(*q_shape(page))
        assert q == pytest.approx(tuple(q._replace(**moved)), abs=0.03)
        expect_values(page, p, q)

    # both descents from the dragged q, animated until they converge on the closed-form optima
    page.get_by_role("button", name="Run gradient descent from q").click()
    runs = page.locator("td.kl2d-run")
    wait_until(lambda: runs.count() == 2 and all("converged" in t for t in runs.all_inner_texts()),
               timeout=CHANGE_TIMEOUT_MS / 1e3, what="both descents to converge")
    for direction, text in zip(runs.evaluate_all("cs => cs.map(c => c.dataset.divergence)"), runs.all_inner_texts()):
        assert float(text.split()[0]) == pytest.approx(g.optimal_q(p, direction).value, abs=0.0005)
    paths = js(page, """() => ['forward_kl', 'reverse_kl'].map(d => klModels().find(
        m => m.name === 'klpanel-twod-run-' + d && m.type === 'ColumnDataSource')).map(s => klColumn(s, 'xs')[0].length)""")
    assert min(paths) > 2  # each run's path of centres is drawn

    section = heading.evaluate_handle("h => h.getRootNode().host.getRootNode().host")
    section.as_element().screenshot(path=str(artifacts / "section-twod.png"))
    assert not page.console_errors

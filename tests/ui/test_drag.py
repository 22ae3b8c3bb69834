"""Dragging on the Explore plot with the mouse in Chromium against the served app: a mode of p, q's peak and its width
handle, a refused drag and a double-click; the readouts must equal the library's values for the p and q the page's
URL then holds. A mode of p dragged on section 1's optimal-approximations plot moves the target and its optima.

A real drag needs what a person's hand gives Bokeh: the plot on screen, the pointer resting over the handle before
the button goes down (the hover that makes the handle the drag's target), and several move events (Bokeh's pan
gesture starts only once the pointer has travelled a few pixels, then follows each move); the drag tool is the
plot's active one.
"""

from __future__ import annotations

import math
from urllib.parse import parse_qs, urlparse

import pytest

from klpanel.models.approximation import Approximation
from klpanel.models.target import Target
from klpanel.numerics import divergences
from klpanel.numerics.optima import optimal_q

from pagetools import CHANGE_TIMEOUT_MS, js, wait_until

pytestmark = pytest.mark.ui

PLOT = "klpanel-explore-plot"
P_HANDLES, Q_HANDLES = "klpanel-explore-p-handles", "klpanel-explore-q-handles"
OPTIMAL_PLOT, OPTIMAL_P_HANDLES = "klpanel-optimal-plot", "klpanel-optimal-plot-p-handles"


def screen_point(page, x: float, y: float, plot: str = PLOT) -> tuple[float, float]:
    """Page coordinates of data point (x, y) on ``plot`` (the Explore plot's name by default)."""
    return tuple(js(page, """([name, x, y]) => {
        const view = Bokeh.index.find_one(klNamed(name));
        const box = view.canvas_view.el.getBoundingClientRect();
        return [box.left + view.frame.x_scale.compute(x), box.top + view.frame.y_scale.compute(y)];
    }""", [plot, x, y]))


def drag(page, start: tuple[float, float], end: tuple[float, float], steps: int = 12, release: bool = True,
         plot: str = PLOT) -> None:
    """Press at data point ``start``, move to ``end`` in ``steps`` mouse moves, release (unless told not to); once the
    plot has stopped moving on the page (a section above it may still be redrawing after the last change)."""
    last = [None]

    def still():
        now, last[0] = last[0], screen_point(page, *start, plot)
        return now == last[0]
    wait_until(still, timeout=CHANGE_TIMEOUT_MS / 1e3, interval=0.3, what="the plot to stop moving")
    a, b = screen_point(page, *start, plot), screen_point(page, *end, plot)
    page.mouse.move(a[0] - 3, a[1])
    page.mouse.move(*a, steps=3)  # hover the handle first
    page.mouse.down()
    page.mouse.move(*b, steps=steps)
    if release:
        page.mouse.up()


def url_query(page) -> dict:
    """The page's URL query, read in the page (``page.url`` follows ``history.replaceState`` only when Playwright
    next handles its events)."""
    return {k: v[0] for k, v in parse_qs(urlparse(page.evaluate("() => location.href")).query).items()}


def url_state(page) -> tuple[Target, Approximation]:
    """p and q as the page's URL holds them (q's default when the URL does not name it)."""
    query = url_query(page)
    w, m, s = (list(map(float, part.split(","))) for part in query["components"].split("|"))
    return Target(weights=w, means=m, sigmas=s), Approximation(mu=float(query.get("mu", 0.0)),
                                                               sigma=float(query.get("sigma", 0.8)))


def url_has(page, **expected) -> bool:
    query = url_query(page)
    return all(k in query and (v is None or abs(float(query[k]) - v) < 0.05) for k, v in expected.items())


def readouts(page) -> dict[str, str]:
    cells = page.locator("td.kl-readout")
    return dict(zip(cells.evaluate_all("cs => cs.map(c => c.dataset.divergence)"), cells.all_inner_texts()))


def expect_library_readouts(page, target: Target, q: Approximation) -> None:
    """Every readout shows the library's value at (p, q) to its 3 decimals."""
    last = {}

    def agree():
        shown = last["shown"] = readouts(page)
        exact = last["exact"] = divergences.evaluate(target, q, list(shown))
        return shown and all(abs(float(t.replace("−", "-")) - exact[n]) <= 5e-4 + 1e-9 for n, t in shown.items()
                             if math.isfinite(exact[n]))
    try:
        wait_until(agree, timeout=CHANGE_TIMEOUT_MS / 1e3, what="readouts equal to the library's values")
    except TimeoutError as exc:
        raise AssertionError(f"shown {last.get('shown')}, library {last.get('exact')}") from exc


def handle_rows(page, name: str) -> dict:
    """The handles' positions as the browser holds them (the source, not its renderer of the same name)."""
    return js(page, """(name) => { const s = klModels().find(m => m.name === name && m.type === 'ColumnDataSource');
                                   return {x: klColumn(s, 'x'), y: klColumn(s, 'y')}; }""", name)


def source_columns(page, name: str, *columns: str) -> dict:
    """Columns of the data source named ``name`` as the browser holds them."""
    return js(page, """([name, columns]) => {
        const s = klModels().find(m => m.name === name && m.type === 'ColumnDataSource');
        return Object.fromEntries(columns.map(c => [c, klColumn(s, c)])); }""", [name, list(columns)])


def message(page, plot: str = "explore") -> str:
    """The refusal message's text on ``plot``'s section while it is shown ('' when hidden); read from its model: its
    text sits in shadow DOM, which ``inner_text`` does not reach."""
    return js(page, """(c) => { const m = klModels().find(m => (m.css_classes || []).includes(c));
                                return m && m.visible ? String(m.text) : ''; }""", f"klpanel-{plot}-drag-message")


def test_dragging_p_and_q_on_the_plot_moves_the_readouts_to_the_library_values(open_app, artifacts):
    page = open_app()
    js(page, f"() => Bokeh.index.find_one(klNamed('{PLOT}')).el.scrollIntoView({{block: 'center'}})")
    tool = js(page, f"() => klNamed('{PLOT}').toolbar.active_drag.type")
    assert tool == "PointDrawTool"

    # a mode of p: the first (mean −3) sideways to −2 and up by half its height; held there, the readouts already
    # show the dragged p's values (p itself changes on release)
    p = handle_rows(page, P_HANDLES)
    x0, y0 = p["x"][0], p["y"][0]
    drag(page, (x0, y0), (x0 + 1.0, y0 * 1.5), release=False)
    held = js(page, """(name) => { const s = klModels().find(m => m.name === name && m.type === 'ColumnDataSource');
                                   return Object.fromEntries(['x', 'y', 'w', 's'].map(k => [k, klColumn(s, k)])); }""",
              P_HANDLES)
    n = len(held["x"]) // 2
    w = held["w"][:n]
    w[0] = held["y"][0] * held["s"][0] * math.sqrt(2 * math.pi)  # the dragged mode's weight, as the drag reads it
    expect_library_readouts(page, Target(weights=w, means=held["x"][:n], sigmas=held["s"][:n]), Approximation())
    assert "components" not in url_query(page)
    page.mouse.up()
    wait_until(lambda: url_has(page, components=None) and url_state(page)[0].means[0] > -2.3,
               timeout=CHANGE_TIMEOUT_MS / 1e3, what="the dragged mode in the URL")
    target, q = url_state(page)
    assert target.means[0] == pytest.approx(-2.0, abs=0.1)
    assert target.weights[0] > Target().weights[0]  # dragged up: heavier
    assert target.means[1:].tolist() == [0.0, 3.0]
    expect_library_readouts(page, target, q)
    # the handles sit on the new components (the server put them back where the model is)
    wait_until(lambda: abs(handle_rows(page, P_HANDLES)["x"][0] - target.means[0]) < 1e-4,
               timeout=CHANGE_TIMEOUT_MS / 1e3, what="p's handles on the new p")

    # q's peak sideways to μ ≈ 1.5 (the vertical part means nothing), then its width handle out to σ ≈ 1.3
    qh = handle_rows(page, Q_HANDLES)
    drag(page, (qh["x"][0], qh["y"][0]), (1.5, qh["y"][0] * 0.8))
    wait_until(lambda: url_has(page, mu=1.5), timeout=CHANGE_TIMEOUT_MS / 1e3, what="q's μ in the URL")
    target, q = url_state(page)
    expect_library_readouts(page, target, q)
    assert js(page, "() => klTitled('Slider', 'μ (mean of q)').value") == pytest.approx(q.mu, abs=1e-9)

    qh = handle_rows(page, Q_HANDLES)
    drag(page, (qh["x"][1], qh["y"][1]), (q.mu + 1.3, qh["y"][1]))
    wait_until(lambda: url_has(page, sigma=1.3), timeout=CHANGE_TIMEOUT_MS / 1e3, what="q's σ in the URL")
    target, q = url_state(page)
    expect_library_readouts(page, target, q)
    assert js(page, "() => klTitled('Slider', 'σ (std of q)').value") == pytest.approx(q.sigma, abs=1e-9)

    section = page.locator(".kl-section-explore").first
    section.screenshot(path=str(artifacts / "section-explore-dragged.png"))

    # a refused drag: the middle mode's width handle onto its mean (σ under the least a drag makes; a mode cannot be
    # dragged below the axis: Bokeh's edit tools keep a handle inside the plot's frame)
    p = handle_rows(page, P_HANDLES)
    n = len(p["x"]) // 2
    drag(page, (p["x"][n + 1], p["y"][n + 1]), (target.means[1] + 0.01, p["y"][n + 1]))
    wait_until(lambda: "σ must be at least" in message(page), timeout=CHANGE_TIMEOUT_MS / 1e3,
               what="the refusal message")
    assert url_state(page)[0].to_dict() == target.to_dict()
    wait_until(lambda: handle_rows(page, P_HANDLES)["x"][n + 1] == pytest.approx(p["x"][n + 1]),
               timeout=CHANGE_TIMEOUT_MS / 1e3, what="the refused width handle back in place")

    # a double-click adds a mode where it was
    a = screen_point(page, 6.0, 0.1)
    page.mouse.dblclick(*a)
    wait_until(lambda: len(url_state(page)[0].means) == n + 1, timeout=CHANGE_TIMEOUT_MS / 1e3,
               what="a fourth mode in the URL")
    target, q = url_state(page)
    assert target.means[-1] == pytest.approx(6.0, abs=0.1)
    expect_library_readouts(page, target, q)
    assert not page.console_errors


def test_a_touch_drag_moves_q_on_a_phone(browser, app_server):
    """A finger (touch events, on a phone-sized touch screen) drags q's peak: the readouts follow as for the mouse."""
    from pagetools import LOAD_TIMEOUT_MS, wait_ready, watch_console

    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    try:
        page = context.new_page()
        page.set_default_timeout(CHANGE_TIMEOUT_MS)
        watch_console(page)
        page.goto(app_server.app_url, timeout=LOAD_TIMEOUT_MS)
        wait_ready(page)
        js(page, f"() => Bokeh.index.find_one(klNamed('{PLOT}')).el.scrollIntoView({{block: 'center'}})")
        q = handle_rows(page, Q_HANDLES)
        a, b = screen_point(page, q["x"][0], q["y"][0]), screen_point(page, q["x"][0] - 1.0, q["y"][0])
        touch = context.new_cdp_session(page)
        touch.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": a[0], "y": a[1]}]})
        for i in range(1, 13):
            touch.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [
                {"x": a[0] + (b[0] - a[0]) * i / 12, "y": a[1]}]})
        touch.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        wait_until(lambda: url_has(page, mu=-1.0), timeout=CHANGE_TIMEOUT_MS / 1e3, what="q's μ in the URL")
        query = url_query(page)
        expect_library_readouts(page, Target(), Approximation(mu=float(query["mu"]), sigma=0.8))
        assert not page.console_errors
    finally:
        context.close()


def test_dragging_a_mode_of_p_on_the_optimal_plot_moves_the_target_and_its_optima(open_app, artifacts):
    """Section 1: the left mode of p (mean −3) dragged sideways to −2: the URL's target has it there, section 1's p
    and its forward-KL optimum (moment matching: at p's mean) are drawn for that target, the readouts agree."""
    page = open_app()
    js(page, f"() => Bokeh.index.find_one(klNamed('{OPTIMAL_PLOT}')).el.scrollIntoView({{block: 'center'}})")
    assert js(page, f"() => klNamed('{OPTIMAL_PLOT}').toolbar.active_drag.type") == "PointDrawTool"
    p_before = source_columns(page, "klpanel-optimal-curves", "x", "p")
    handles = handle_rows(page, OPTIMAL_P_HANDLES)
    x0, y0 = handles["x"][0], handles["y"][0]
    drag(page, (x0, y0), (x0 + 1.0, y0), plot=OPTIMAL_PLOT)
    wait_until(lambda: url_has(page, components=None) and url_state(page)[0].means[0] > -2.3,
               timeout=CHANGE_TIMEOUT_MS / 1e3, what="the dragged mode in the URL")
    target, q = url_state(page)
    assert target.means[0] == pytest.approx(-2.0, abs=0.1) and target.means[1:].tolist() == [0.0, 3.0]
    assert target.weights == pytest.approx(Target().weights, abs=0.02)  # sideways: the weights stay

    def drawn_for_target():
        cols = source_columns(page, "klpanel-optimal-curves", "x", "p")
        return max(abs(a - b) for a, b in zip(cols["p"], target.pdf(cols["x"]))) < 1e-3
    wait_until(drawn_for_target, timeout=CHANGE_TIMEOUT_MS / 1e3, what="section 1's p drawn for the new target")
    assert source_columns(page, "klpanel-optimal-curves", "p")["p"] != p_before["p"]
    best = optimal_q(target, "forward_kl").mu

    def optimum_moved():
        cols = source_columns(page, "klpanel-optimal-curves", "x", "forward_kl")  # p and every optimum: one source
        peak = cols["x"][max(range(len(cols["x"])), key=cols["forward_kl"].__getitem__)]
        return abs(peak - best) < 0.05
    wait_until(optimum_moved, timeout=CHANGE_TIMEOUT_MS / 1e3, what="the forward-KL optimum at the new p's mean")
    wait_until(lambda: abs(handle_rows(page, OPTIMAL_P_HANDLES)["x"][0] - target.means[0]) < 1e-4,
               timeout=CHANGE_TIMEOUT_MS / 1e3, what="section 1's handles on the new p")
    page.locator(".kl-section-optimal").first.screenshot(path=str(artifacts / "section-optimal-dragged.png"))
    js(page, f"() => Bokeh.index.find_one(klNamed('{PLOT}')).el.scrollIntoView({{block: 'center'}})")
    expect_library_readouts(page, target, q)
    assert not page.console_errors

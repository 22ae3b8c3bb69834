"""What a person does on the page, in Chromium against ``panel serve`` with the API plugin.

Most cases share one page (a page load costs ~30 s on this loaded 2-core machine); each starts by putting
the page back at the default target and q (``page_at_defaults``) so none depends on another's leftovers.
Expected numbers always come from the library (``klpanel.numerics.divergences``, ``optimal_q``, ``Run``), never from
the app's own objects. Screenshots of every section go to ``tests/artifacts/`` (git-ignored).
"""

from __future__ import annotations

import json
import math
import re
from urllib.parse import urlencode

import numpy as np
import pytest
from playwright.sync_api import expect

from klpanel import Approximation, Target, divergences, optimal_q
from klpanel.models.runs import Run

from pagetools import CHANGE_TIMEOUT_MS, columns, js, set_slider, slider_value, wait_ready, wait_until

pytestmark = pytest.mark.ui

MU, SIGMA = "μ (mean of q)", "σ (std of q)"
#: the start of each section's heading, in page order
SECTION_HEADINGS = ("1. Optimal approximations", "2. The divergences", "3. Explore", "4. Optimization dynamics",
                    "5. The α", "Export")
#: a target change re-optimises every divergence; on this loaded machine that can take a while
TARGET_TIMEOUT = 90.0
DEFAULTS = {"n_modes": 3, "spread": 3.0, "decay": 0.55, "mu": 0.0, "sigma": 0.8}


# -- reading the page ------------------------------------------------------------------------------------
def readouts(page) -> dict[str, str]:
    """Divergence name -> the readout text on screen (section 3)."""
    cells = page.locator("td.kl-readout")
    return dict(zip(cells.evaluate_all("cs => cs.map(c => c.dataset.divergence)"), cells.all_inner_texts()))


def shown_matches(text: str, value: float) -> bool:
    """A readout shows ``value`` up to its display rounding (``∞`` for infinite values)."""
    if math.isinf(value):
        return text.strip() == "∞"
    try:
        shown = float(text.replace("−", "-"))
    except ValueError:
        return False
    decimals = len(text.split(".")[1]) if "." in text else 0
    return abs(shown - value) <= 0.5 * 10.0 ** -decimals + 1e-9 * abs(value)


def readout_mismatches(page, target: Target, mu: float, sigma: float) -> dict:
    """Readouts that differ from the library's value at q = N(mu, sigma²) ({} when all agree)."""
    shown = readouts(page)
    if not shown:
        return {"(none)": "no readout on the page"}
    exact = divergences.evaluate(target, Approximation(mu=mu, sigma=sigma), list(shown))
    return {name: (text, exact[name]) for name, text in shown.items() if not shown_matches(text, exact[name])}


def expect_readouts(page, target: Target, mu: float, sigma: float) -> None:
    last = {}

    def agree():
        last["diff"] = readout_mismatches(page, target, mu, sigma)
        return not last["diff"]
    try:
        wait_until(agree, timeout=CHANGE_TIMEOUT_MS / 1e3, what="readouts equal to the library's values")
    except TimeoutError as exc:
        raise AssertionError(f"readouts (shown, library) at q=N({mu}, {sigma}²): {last['diff']}") from exc


def selected_names(page) -> list[str]:
    return list(readouts(page))


def optimal_columns(page, key: str, keys) -> dict:
    """Columns of section 1's data source ``key`` (``plots.sources``' key: ``p``, ``optimum-<name>``,
    ``minima-<name>``), as the browser holds them; None for a divergence not drawn."""
    return js(page, "([key, keys]) => { const fig = klNamed('klpanel-optimal-plot'); "
                    "const r = fig.renderers.find(r => r.name === 'klpanel-' + key); "
                    "return Object.fromEntries(keys.map(k => [k, r ? klColumn(r.data_source, k) : null])); }",
              [key, list(keys)])


def optimal_curves(page, names) -> dict:
    """{"x": …, "p": …, name: q's density of that divergence's optimum, …} as section 1 shows them."""
    data = optimal_columns(page, "p", ["x", "p"])
    for name in names:
        data[name] = optimal_columns(page, f"optimum-{name}", [name])[name]
    return data


def library_optima(target: Target, names) -> dict:
    """name -> ``optimal_q`` of the library (computed once per expectation, not per poll)."""
    return {name: optimal_q(target, name) for name in names}


def optimal_curves_mismatch(page, target: Target, optima: dict) -> str:
    """'' when section 1's curves and minima markers are the library's optima for ``target``."""
    names = selected_names(page)
    if set(names) != set(optima):
        return f"divergences on show {names}, expected {list(optima)}"
    data = optimal_curves(page, names)
    x = np.asarray(data["x"], dtype=float)
    if not np.allclose(data["p"], target.pdf(x), rtol=1e-4, atol=1e-6):
        return "p(x) is not the target's density"
    markers = {"mu": [], "sigma": []}
    for name in names:
        for k, v in optimal_columns(page, f"minima-{name}", ["mu", "sigma"]).items():
            markers[k] += v or []
    expected_markers = []
    for name in names:
        best = optima[name]
        q = Approximation(mu=best.mu, sigma=best.sigma).pdf(x)
        if data[name] is None:
            return f"{name}: no curve drawn"
        if not np.allclose(data[name], q, rtol=1e-4, atol=1e-5):
            i = int(np.argmax(data[name]))
            return (f"{name}: curve peaks at x={x[i]:.3f}, height {data[name][i]:.4f}; library optimum "
                    f"N({best.mu:.4f}, {best.sigma:.4f}²)")
        expected_markers += [(m.mu, m.sigma) for m in best.local_minima]
    got = sorted(zip(markers["mu"], markers["sigma"]))
    if len(got) != len(expected_markers) or not np.allclose(got, sorted(expected_markers), atol=1e-6):
        return f"minima markers {got} are not the library's local minima {sorted(expected_markers)}"
    return ""


def expect_optimal_curves(page, target: Target) -> dict:
    """Wait until section 1 shows the library's optima for ``target``; returns the curves shown."""
    optima = library_optima(target, selected_names(page))
    last = {}

    def agree():
        last["why"] = optimal_curves_mismatch(page, target, optima)
        return not last["why"]
    try:
        wait_until(agree, timeout=TARGET_TIMEOUT, interval=0.2, what="optimal-q curves of the library")
    except TimeoutError as exc:
        raise AssertionError(f"section 1 does not show the optima of {target.to_dict()}: {last['why']}") from exc
    return optimal_curves(page, list(optima))


def mode_button(page, n: int):
    return page.locator(".bk-btn-group button", has_text=re.compile(f"^{n}$"))


def slider_handle(page, title: str):
    group = page.locator(".bk-input-group", has=page.locator(".bk-slider-title", has_text=title))
    return group.locator(".noUi-handle")


def active_mode(page) -> int:
    return js(page, "() => { const g = klModels().find(m => m.type.endsWith('RadioButtonGroup')); "
                    "return Number(g.labels[g.active]); }")


def set_defaults(page) -> None:
    if active_mode(page) != DEFAULTS["n_modes"]:
        mode_button(page, DEFAULTS["n_modes"]).click()
    for title, key in (("Spread", "spread"), ("Weight decay", "decay"), (MU, "mu"), (SIGMA, "sigma")):
        if slider_value(page, title) != DEFAULTS[key]:
            set_slider(page, title, DEFAULTS[key])


def play_button(page):
    return page.locator("button", has_text=re.compile(r"^(Play|Pause)$"))


def toggle_state(page) -> tuple[str, bool]:
    return tuple(js(page, "() => { const t = klModels().find(m => m.type === 'Toggle'); return [t.label, t.active]; }"))


def pause(page, click: bool = True) -> None:
    """Pause the animation with the Pause button (or, ``click=False``, through its Bokeh model)."""
    if toggle_state(page)[1]:
        if click:
            play_button(page).click()
        else:
            js(page, "() => { klModels().find(m => m.type === 'Toggle').active = false; }")
    wait_until(lambda: toggle_state(page) == ("Play", False), timeout=30, what="the dynamics to pause")


def play(page) -> None:
    if not toggle_state(page)[1]:
        play_button(page).click()
    wait_until(lambda: toggle_state(page) == ("Pause", True), timeout=30, what="the dynamics to play")


@pytest.fixture(scope="module")
def shared_page(open_app):
    return open_app()


STATE = {"modes": 5, "spread": 2.5, "decay": 0.8, "mu": -1.25, "sigma": 0.5, "div": ["jsd", "hellinger"]}


@pytest.fixture(scope="module")
def state_page(open_app):
    """A page opened from a shared link carrying target, q and the divergences on show."""
    query = urlencode({k: json.dumps(v) if isinstance(v, list) else v for k, v in STATE.items()})
    return open_app(query)


@pytest.fixture
def page(shared_page):
    """The shared page at the default target and q, the animation paused (it would only slow the other cases
    down on this machine; the dynamics case plays it), its console free of errors before and after the test."""
    assert not shared_page.console_errors, shared_page.console_errors
    pause(shared_page, click=False)
    set_defaults(shared_page)
    expect_readouts(shared_page, Target(), DEFAULTS["mu"], DEFAULTS["sigma"])
    expect_optimal_curves(shared_page, Target())
    yield shared_page
    assert not shared_page.console_errors, shared_page.console_errors


# -- dynamics ---------------------------------------------------------------------------------------------
RUN_STATE = re.compile(r"μ = (-?[\d.]+)\s+σ = (-?[\d.]+)\s+loss = (\S+)")


def run_labels(page, index: int) -> list[str]:
    return js(page, "(i) => [0, 1, 2].map(k => klNamed(`run-${i}-line-${k}`).text)", index)


def run_state(page, index: int) -> dict:
    """Run ``index``'s panel: divergence label, step, μ, σ, status line (from its canvas labels)."""
    head, state, status = run_labels(page, index)
    label, step = re.fullmatch(r"(.+?)\s+step (\d+)", head).groups()
    mu, sigma, loss = RUN_STATE.fullmatch(state).groups()
    return {"label": label, "step": int(step), "mu": float(mu), "sigma": float(sigma), "status": status}


# -- the cases --------------------------------------------------------------------------------------------
def test_page_loads_with_every_section_and_no_error(page, app_server):
    expect(page).to_have_title(re.compile("Forward KL vs Reverse KL"))
    headings = page.locator("h2").all_inner_texts()
    for heading in SECTION_HEADINGS:
        assert any(h.strip().startswith(heading) for h in headings), (heading, headings)
    for name in divergences.DEFAULT_NAMES:  # the four formula cards, their formulas typeset
        expect(page.locator("h3", has_text=divergences.REGISTRY[name].label).first).to_be_visible()
    assert page.locator(".katex").count() >= len(divergences.DEFAULT_NAMES)
    for name in ("klpanel-optimal-plot", "klpanel-explore-plot", "dynamics-now"):
        assert js(page, "(n) => klNamed(n) !== undefined", name), name
    assert js(page, "() => klModels().some(m => (m.css_classes || []).includes('klpanel-readouts'))")
    assert set(readouts(page)) == set(divergences.DEFAULT_NAMES)
    assert run_state(page, 0)["label"] == divergences.REGISTRY["forward_kl"].label
    assert run_state(page, 1)["label"] == divergences.REGISTRY["reverse_kl"].label
    assert not app_server.errors()


def test_moving_mu_and_sigma_sets_every_readout_to_the_library_value(page):
    target = Target()
    mu_handle, sigma_handle = slider_handle(page, MU), slider_handle(page, SIGMA)
    for _ in range(5):  # a person nudging μ with the keyboard: 5 × 5 steps of 0.05
        mu_handle.press("PageDown")
    for _ in range(3):  # and σ: 3 × 5 steps of 0.01
        sigma_handle.press("PageDown")
    wait_until(lambda: abs(slider_value(page, MU) + 1.25) < 1e-9 and abs(slider_value(page, SIGMA) - 0.65) < 1e-9,
               what="the sliders to reach μ=-1.25, σ=0.65")
    expect_readouts(page, target, slider_value(page, MU), slider_value(page, SIGMA))
    # q in the plot is the density of the new q
    data = columns(page, "klpanel-explore-curves", ["x", "q"])
    assert np.allclose(data["q"], Approximation(mu=-1.25, sigma=0.65).pdf(np.asarray(data["x"])), atol=1e-5)
    # far from p, the values are large and must stay readable and exact (never clipped)
    mu_handle.press("End")
    sigma_handle.press("Home")
    wait_until(lambda: slider_value(page, MU) == 5 and abs(slider_value(page, SIGMA) - 0.15) < 1e-9,
               what="μ=5, σ=0.15")
    expect_readouts(page, target, 5.0, 0.15)
    assert float(readouts(page)["forward_kl"]) > 100


def test_changing_modes_spread_and_decay_moves_the_optimal_curves_to_the_library_optima(page):
    previous = expect_optimal_curves(page, Target())
    for n_modes in (2, 5):
        mode_button(page, n_modes).click()
        current = expect_optimal_curves(page, Target(n_modes=n_modes, spread=3.0, decay=0.55))
        assert any(not np.allclose(current[k], previous[k]) for k in current)
        previous = current
    set_slider(page, "Spread", 2.0)
    current = expect_optimal_curves(page, Target(n_modes=5, spread=2.0, decay=0.55))
    assert any(not np.allclose(current[k], previous[k]) for k in current)
    previous = current
    set_slider(page, "Weight decay", 0.8)
    current = expect_optimal_curves(page, Target(n_modes=5, spread=2.0, decay=0.8))
    assert any(not np.allclose(current[k], previous[k]) for k in current)


def positions(page) -> list[tuple[float, float]]:
    """(μ, σ) of every run as the landscape's current-position source holds it (updated every frame)."""
    now = columns(page, "dynamics-now", ["mu", "sigma"])
    return list(zip(now["mu"], now["sigma"]))


def library_path(name: str, mu0: float, sigma0: float, steps: int = 3000) -> np.ndarray:
    """The library's run of ``name`` from (mu0, sigma0) with the page's default optimizer: rows (μ, σ) per step."""
    run = Run(target=Target(), divergence=name, mu0=mu0, sigma0=sigma0).step(steps)
    return np.column_stack([run.trajectory["mu"], run.trajectory["sigma"]])


def step_index(path: np.ndarray, position) -> int:
    """Which step of ``path`` the run shown at ``position`` is on."""
    distance = np.abs(path - np.asarray(position)).max(axis=1)
    assert distance.min() < 1e-5, f"{position} is not on the library's path"
    return int(np.argmin(distance))


def test_play_pause_step_reset_and_reverse_kl_stops_on_the_middle_mode(page):
    start = (slider_value(page, MU), slider_value(page, SIGMA))
    forward = library_path("forward_kl", *start)
    step_button = page.locator("button", has_text=re.compile("^Step$"))

    # Play animates: μ, σ and the step count change over time
    play(page)
    before = run_state(page, 0)
    wait_until(lambda: (s := run_state(page, 0))["step"] > before["step"] and (s["mu"], s["sigma"]) != (
        before["mu"], before["sigma"]), timeout=30, what="the forward-KL run to move while playing")

    # Pause stops it; each Step then advances exactly one step (checked against the library's path)
    pause(page)
    n = step_index(forward, positions(page)[0])
    for k in (1, 2):
        step_button.click()
        wait_until(lambda: step_index(forward, positions(page)[0]) != n + k - 1, timeout=30,
                   what="Step to move the run")
        assert step_index(forward, positions(page)[0]) == n + k, "Step did not advance exactly one step"

    # Reset returns every run to the Explore q
    page.locator("button", has_text="Reset").click()
    expect(page.locator(".kl-dynamics-status")).to_contain_text("Reset")
    for i in (0, 1):
        wait_until(lambda i=i: (run_state(page, i)["step"], run_state(page, i)["mu"], run_state(page, i)["sigma"])
                   == (0, *start), timeout=30, what=f"run {i} back at the Explore q")
    assert positions(page) == [start, start]
    assert toggle_state(page) == ("Play", False)  # Reset while paused stays paused

    # from the default q, reverse KL stops on the middle mode: a local minimum, and the page says so
    play(page)
    wait_until(lambda: run_state(page, 1)["status"].startswith("converged"), timeout=60,
               what="the reverse-KL run to converge")
    final = positions(page)[1]
    library = Run(target=Target(), divergence="reverse_kl", mu0=start[0], sigma0=start[1]).step(3000)
    assert library.converged and np.allclose(final, (library.mu, library.sigma), atol=1e-5)
    assert abs(final[0]) < 0.05 and abs(final[1] - 0.35) < 0.01  # the middle mode, not the global one at −3
    assert re.search(r"local min.*not (the )?global", run_state(page, 1)["status"]), run_state(page, 1)["status"]
    pause(page)


def test_step_button_updates_the_step_readout(page):
    step_button = page.locator("button", has_text=re.compile("^Step$"))
    for _ in range(3):
        shown = run_state(page, 0)["step"]
        step_button.click()
        wait_until(lambda: run_state(page, 0)["step"] != shown, timeout=10, what="the step readout to change")  # noqa: B023


LANDSCAPE_JS = """([mu, sigma]) => {
  const fig = klModels().find(m => m.type === 'Figure' && m.toolbar.tools.some(t => t.type === 'TapTool'));
  const view = Bokeh.index.find_one(fig);
  view.el.scrollIntoView({block: 'center'});
  const r = view.el.getBoundingClientRect();
  return [r.left + view.frame.x_scale.compute(mu), r.top + view.frame.y_scale.compute(sigma)];
}"""


def test_clicking_the_landscape_sets_the_start_q(page):
    pause(page)
    x, y = js(page, LANDSCAPE_JS, [-2.0, 1.5])
    page.mouse.click(x, y)
    wait_until(lambda: abs(slider_value(page, MU) + 2.0) < 0.03 and abs(slider_value(page, SIGMA) - 1.5) < 0.03,
               what="the Explore q to move to the clicked point")
    mu, sigma = slider_value(page, MU), slider_value(page, SIGMA)
    expect(page.locator(".kl-dynamics-status")).to_contain_text(f"q = N({mu:.2f}, {sigma:.2f}²)")
    start = {"step": 0, "mu": round(mu, 3), "sigma": round(sigma, 3)}
    wait_until(lambda: all({k: run_state(page, i)[k] for k in start} == start for i in (0, 1)), timeout=30,
               what="both runs restarted at the clicked q")
    expect_readouts(page, Target(), mu, sigma)


def test_invalid_components_show_a_message_and_keep_the_plot(page):
    before = optimal_curves(page, selected_names(page))
    shown = readouts(page)
    editor = page.locator(".card-header", has_text="Edit components")
    editor.click()
    weights = page.locator(".bk-input-group", has=page.locator("label", has_text="Weights")).locator("input")
    sigmas = page.locator(".bk-input-group", has=page.locator("label", has_text="σ (standard")).locator("input")
    message = page.locator(".alert-danger")
    for field, text, why in ((weights, "0.5, abc, 0.2", "not a comma-separated list"),
                             (sigmas, "0.35, -1, 0.35", "> 0")):
        field.fill(text)
        field.press("Enter")
        page.locator("button", has_text="Apply components").click()
        expect(message).to_be_visible()
        expect(message).to_contain_text(why)
        expect(message).not_to_contain_text("Traceback")
        after = optimal_curves(page, [k for k in before if k not in ("x", "p")])
        assert all(np.array_equal(after[k], before[k]) for k in before), "the plot changed"
        assert readouts(page) == shown
        weights.fill("0.5, 0.3, 0.2")  # back to something valid for the next round's bad field
        weights.press("Enter")
    editor.click()


def test_url_with_state_reopens_the_same_target_and_q(state_page):
    page = state_page
    target = Target(n_modes=STATE["modes"], spread=STATE["spread"], decay=STATE["decay"])
    assert active_mode(page) == STATE["modes"]
    assert slider_value(page, "Spread") == STATE["spread"] and slider_value(page, "Weight decay") == STATE["decay"]
    assert slider_value(page, MU) == STATE["mu"] and slider_value(page, SIGMA) == STATE["sigma"]
    assert selected_names(page) == STATE["div"]
    expect_readouts(page, target, STATE["mu"], STATE["sigma"])
    expect_optimal_curves(page, target)
    assert not page.console_errors, page.console_errors


def test_moved_q_reaches_the_url_once_it_rests(page):
    """q goes into the address bar once it has rested (a shared link reopens it; the state_page case)."""
    for mu in (1.05, 1.1, 1.15):  # a drag's steps
        set_slider(page, MU, mu)
    page.wait_for_url(re.compile(r"[?&]mu=1\.15(&|$)"))
    set_slider(page, SIGMA, 0.9)
    page.wait_for_url(re.compile(r"[?&]sigma=0\.9(&|$)"))
    assert re.search(r"[?&]mu=1\.15(&|$)", page.url), page.url


def section_screenshots(page, directory, theme: str) -> list:
    """One PNG per section (its Panel column, found from its heading), named after the heading. The viewport
    is made tall enough for the largest section while they are taken."""
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": 2600})
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    paths = []
    try:
        for heading in SECTION_HEADINGS:
            h2 = page.locator("h2", has_text=heading).first
            section = h2.evaluate_handle("h => h.getRootNode().host.getRootNode().host")
            slug = re.sub(r"[^a-z0-9]+", "-", h2.inner_text().lower()).strip("-")[:40].strip("-")
            path = directory / f"section-{slug}-{theme}.png"
            section.as_element().screenshot(path=str(path))
            paths.append(path)
    finally:
        page.set_viewport_size(size)
    return paths


def theme_css(page) -> str:
    """The template's theme stylesheet (in the document, not in a shadow root): 'dark' or 'default'."""
    return page.evaluate("() => [...document.querySelectorAll('link[rel=stylesheet]')].map(l => l.href)"
                         ".map(h => (h.match(/theme\\/(dark|default)\\.css/) || [])[1]).find(Boolean)")


@pytest.mark.parametrize("value", ["light", "sepia"])
def test_a_links_theme_light_is_the_light_theme_and_an_unknown_one_is_named(open_app, value):
    """``?theme=light`` (Panel's name is ``default``) and an unknown theme opened a blank page: Panel's template
    raised a KeyError in the session's handler. Light is light now; an unknown theme keeps dark and says so."""
    page = open_app(f"theme={value}")
    if value == "light":
        assert theme_css(page) == "default"
    else:
        assert theme_css(page) == "dark"
        expect(page.get_by_text(f"Ignored invalid link parameters: theme={value}")).to_be_visible()


def test_theme_toggle_and_section_screenshots(shared_page, state_page, artifacts):
    """Dark sections from the default page; the toggle turns the shared-link page light, keeping its state."""
    dark = section_screenshots(shared_page, artifacts, "dark")
    page = state_page
    assert theme_css(page) == "dark"
    dark_bg = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    page.locator("#theme-switch").click()
    page.wait_for_url(re.compile(r"theme=default"))
    wait_ready(page)
    assert theme_css(page) == "default"
    light_bg = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    luminance = lambda rgb: sum(int(c) for c in re.findall(r"\d+", rgb)[:3]) / 765  # noqa: E731
    assert luminance(light_bg) > 0.8 > 0.2 > luminance(dark_bg), (dark_bg, light_bg)
    # the shared link's state survived the reload
    assert slider_value(page, MU) == STATE["mu"] and slider_value(page, SIGMA) == STATE["sigma"]
    assert active_mode(page) == STATE["modes"]
    light = section_screenshots(page, artifacts, "light")
    assert all(p.stat().st_size > 5_000 for p in dark + light)
    assert not page.console_errors, page.console_errors

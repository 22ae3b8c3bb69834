"""The Explore plot's drag handles without a browser: Target's component edits, and what the view does with the data
a drag sends (the handles' source as PointDrawTool leaves it), refusals included."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from klpanel import KLExplorer, divergences
from klpanel.models.explorer import Explorer
from klpanel.models.target import MAX_MODES, Target
from klpanel.views.handles import MIN_SIGMA, ROOT_2PI, p_handle_columns, q_handle_columns


# -- the model's edits ---------------------------------------------------------------------------------------------
def test_edit_component_moves_one_mode_and_renormalises():
    t = Target(weights=[0.5, 0.5], means=[-2.0, 2.0], sigmas=[0.5, 1.0])
    t.edit_component(1, mean=3.0, weight=1.5, sigma=0.7)
    assert t.means.tolist() == [-2.0, 3.0] and t.sigmas.tolist() == [0.5, 0.7]
    assert t.weights == pytest.approx([0.25, 0.75])
    assert t.mode == "custom"


@pytest.mark.parametrize("edit, message", [({"weight": 0.0}, "weight must be above 0"),
                                           ({"weight": -1.0}, "weight must be above 0"),
                                           ({"sigma": 0.0}, "σ must be at least"),
                                           ({"mean": float("nan")}, "finite")])
def test_bad_edits_are_refused_and_keep_the_target(edit, message):
    t = Target()
    before = t.to_dict()
    with pytest.raises(ValueError, match=message):
        t.edit_component(0, **edit)
    assert t.to_dict() == before


def test_add_and_remove_components_within_bounds():
    t = Target(weights=[1.0], means=[0.0], sigmas=[1.0])
    with pytest.raises(ValueError, match="at least one mode"):
        t.remove_component(0)
    for i in range(MAX_MODES - 1):
        t.add_component(float(i), 1.0)
    assert t.weights.size == MAX_MODES
    with pytest.raises(ValueError, match=f"{MAX_MODES} modes already"):
        t.add_component(0.0, 1.0)
    t.remove_component(0)
    assert t.weights.size == MAX_MODES - 1 and t.means[0] == 0.0 and t.weights.sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="no mode 9"):
        t.remove_component(9)


# -- the view's callbacks ------------------------------------------------------------------------------------------
@pytest.fixture
def app():
    return KLExplorer(explorer=Explorer(), sections=["explore"])


def dragged(columns: dict, row: int, x: float, y: float) -> dict:
    """The handles' data after PointDrawTool moved ``row`` to (x, y)."""
    data = {k: list(v) for k, v in columns.items()}
    data["x"][row], data["y"][row] = x, y
    return data


def library_values(e: Explorer) -> dict:
    return divergences.evaluate(e.target, e.q, list(e.selected))


def test_dragging_a_mode_moves_its_mean_and_weight_and_everything_follows(app):
    e, h = app.explorer, app.explore.handles
    n = e.target.weights.size
    s1 = e.target.sigmas[1]
    h._on_p("data", None, dragged(h.p_source.data, 1, 1.0, 0.8))
    raw = 0.8 * s1 * ROOT_2PI
    assert e.target.means[1] == 1.0 and e.target.mode == "custom"
    assert e.target.weights[1] == pytest.approx(raw / (raw + 1 - Target().weights[1]))
    assert e.custom.split("|")[1].split(", ")[1] == "1"  # the URL's form of the target
    assert e.values == pytest.approx(library_values(e))
    assert "1" in e.means_text.split(", ")
    # the handles, the curve and the readouts show the new p
    assert np.allclose(h.p_source.data["x"], p_handle_columns(e.target)["x"]) and len(h.p_source.data["x"]) == 2 * n
    assert np.allclose(app.explore.sources["q"].data["p"], e.p_density, atol=1e-6)
    assert f">{e.values['forward_kl']:.3f}<" in app.explore.readouts.object
    assert not h.message.visible


def test_dragging_a_width_handle_sets_that_modes_sigma(app):
    e, h = app.explorer, app.explore.handles
    m0 = e.target.means[0]
    h._on_p("data", None, dragged(h.p_source.data, 3, m0 - 0.9, 0.1))  # row n + 0: left of the mean works too
    assert e.target.sigmas[0] == pytest.approx(0.9) and e.target.means[0] == m0


@pytest.mark.parametrize("row, to, message", [(0, (-3.0, -0.01), "weight must be above 0"),
                                              (0, (40.0, 0.1), "within the plot"),
                                              (4, (0.0 + MIN_SIGMA / 2, 0.1), "σ must be at least")])
def test_bad_drags_are_refused_with_a_message_and_snap_back(app, row, to, message):
    e, h = app.explorer, app.explore.handles
    before, handles = e.target.to_dict(), {k: list(v) for k, v in h.p_source.data.items()}
    app.explore.sources["q"].data["p"] = np.zeros_like(e.p_density)  # what the browser drew during the drag
    h._on_p("data", None, dragged(h.p_source.data, row, *to))
    assert e.target.to_dict() == before
    assert h.message.visible and message in h.message.object
    assert np.allclose(h.p_source.data["x"], handles["x"]) and np.allclose(h.p_source.data["y"], handles["y"])
    assert np.allclose(app.explore.sources["q"].data["p"], e.p_density, atol=1e-6)
    h._on_p("data", None, dragged(h.p_source.data, 0, -2.5, 0.3))  # a good drag clears the message
    assert not h.message.visible


def test_dragging_q_moves_mu_then_sigma_and_the_sliders(app):
    e, h, view = app.explorer, app.explore.handles, app.explore
    h._on_q("data", None, dragged(h.q_source.data, 0, -1.5, 3.0))  # up and down means nothing
    assert (e.q.mu, e.q.sigma) == (-1.5, 0.8) and view.mu.value == -1.5
    h._on_q("data", None, dragged(h.q_source.data, 1, -1.5 + 1.25, 0.2))
    assert e.q.sigma == pytest.approx(1.25) and view.sigma.value == pytest.approx(1.25)
    assert np.allclose(h.q_source.data["x"], q_handle_columns(-1.5, 1.25)["x"])
    assert np.allclose(view.sources["q"].data["q"], e.q.pdf(e.x), atol=1e-6)
    assert e.values == pytest.approx(library_values(e))
    h._on_q("data", None, dragged(h.q_source.data, 0, 7.0, 0.3))  # beyond the μ slider
    assert e.q.mu == -1.5 and "μ must stay within" in h.message.object
    h._on_q("data", None, dragged(h.q_source.data, 1, -1.5 + 0.01, 0.3))
    assert e.q.sigma == pytest.approx(1.25) and "σ must stay within" in h.message.object


def test_a_live_q_update_moves_the_readouts_and_leaves_the_curve_to_the_browser(app):
    e, h, view = app.explorer, app.explore.handles, app.explore
    curve = np.array(view.sources["q"].data["q"])
    h._on_live("data", None, {"mu": [1.0], "sigma": [0.6]})
    assert (e.q.mu, e.q.sigma) == (1.0, 0.6)
    assert f">{e.values['reverse_kl']:.3f}<" in view.readouts.object
    assert np.array_equal(view.sources["q"].data["q"], curve)


def test_double_click_adds_a_mode_and_remove_deletes_one(app):
    e, h = app.explorer, app.explore.handles
    n = e.target.weights.size
    h.on_double_tap(SimpleNamespace(x=5.0, y=0.2))
    assert e.target.weights.size == n + 1 and e.target.means[-1] == 5.0
    assert len(h.remove.items) == n + 1 and len(h.p_source.data["x"]) == 2 * (n + 1)
    h.on_double_tap(SimpleNamespace(x=5.0, y=-0.1))
    assert e.target.weights.size == n + 1 and "above the x axis" in h.message.object
    h._on_remove(SimpleNamespace(new="0"))
    assert e.target.weights.size == n and e.target.means[-1] == 5.0 and not h.message.visible
    while e.target.weights.size > 1:
        h._on_remove(SimpleNamespace(new="0"))
    assert h.remove.disabled
    h._on_remove(SimpleNamespace(new="0"))
    assert "at least one mode" in h.message.object and e.target.weights.size == 1
    for _ in range(MAX_MODES - 1):
        h.on_double_tap(SimpleNamespace(x=0.5, y=0.1))
    h.on_double_tap(SimpleNamespace(x=0.5, y=0.1))
    assert e.target.weights.size == MAX_MODES and f"{MAX_MODES} modes already" in h.message.object
    assert all(math.isfinite(v) for v in e.values.values())


def test_a_drag_of_p_under_way_previews_the_readouts_and_the_release_sets_p(app):
    e, h, view = app.explorer, app.explore.handles, app.explore
    before = e.target.to_dict()
    w, m, s = [0.5, 0.3, 0.2], [-2.0, 0.0, 3.0], [0.35, 0.35, 0.35]
    h._on_p_live("data", None, {"w": w, "m": m, "s": s})
    preview = divergences.evaluate(Target(weights=w, means=m, sigmas=s), e.q, list(e.selected))
    assert e.target.to_dict() == before  # p itself waits for the release
    assert f">{preview['forward_kl']:.3f}<" in view.readouts.object
    h._on_p_live("data", None, {"w": [0.0, 1.0, 1.0], "m": m, "s": s})  # not a target: ignored
    assert f">{preview['forward_kl']:.3f}<" in view.readouts.object
    h._on_p("data", None, dragged(h.p_source.data, 0, 40.0, 0.1))  # a refused release: the model's values again
    assert f">{e.values['forward_kl']:.3f}<" in view.readouts.object


# -- section 1: p's handles on the optimal-approximations plot ----------------------------------------------------
@pytest.fixture
def section1():
    return KLExplorer(explorer=Explorer(), sections=["optimal"]).optimal


def optimal_mean(e: Explorer, name: str) -> float:
    return e.optima[name].mu


def test_section1_has_ps_handles_and_no_q_handles_on_its_plot(section1):
    from bokeh.models import PointDrawTool

    fig, h = section1.figure, section1.handles
    assert fig.name == "klpanel-optimal-plot" and h.figure is fig
    tool = fig.toolbar.active_drag
    assert isinstance(tool, PointDrawTool) and [r.data_source for r in tool.renderers] == [h.source]
    assert np.allclose(h.source.data["x"], p_handle_columns(section1.explorer.target)["x"])
    assert section1.sources["p"].name == "klpanel-optimal-curves" and {"x", "p"} <= set(section1.sources["p"].data)


def test_a_drag_on_section1_edits_the_target_and_the_optima_follow(section1):
    e, h = section1.explorer, section1.handles
    before = {name: optimal_mean(e, name) for name in e.optima}
    h._on_p("data", None, dragged(h.source.data, 0, -1.0, 0.15))  # the left mode (mean −3) to −1
    assert e.target.means[0] == -1.0 and e.target.mode == "custom"
    assert e.custom.split("|")[1].split(", ")[0] == "-1"  # the URL's form of the target
    after = {name: optimal_mean(e, name) for name in e.optima}
    assert after["forward_kl"] > before["forward_kl"]  # the mass-covering optimum follows the mode moved right
    assert np.allclose(section1.sources["p"].data["p"], e.target.pdf(section1.sources["p"].data["x"]), atol=1e-5)
    assert np.allclose(h.source.data["x"], p_handle_columns(e.target)["x"]) and not h.message.visible
    h._on_p("data", None, dragged(h.source.data, 4, e.target.means[1] + 0.9, 0.1))  # the middle mode's σ
    assert e.target.sigmas[1] == pytest.approx(0.9)


@pytest.mark.parametrize("row, to, message", [(0, (-3.0, -0.01), "weight must be above 0"),
                                              (0, (40.0, 0.1), "within the plot"),
                                              (4, (0.0 + MIN_SIGMA / 2, 0.1), "σ must be at least")])
def test_a_refused_drag_on_section1_keeps_p_and_says_why(section1, row, to, message):
    e, h = section1.explorer, section1.handles
    before, handles = e.target.to_dict(), {k: list(v) for k, v in h.source.data.items()}
    optima = {name: optimal_mean(e, name) for name in e.optima}
    p = np.array(section1.sources["p"].data["p"])
    section1.sources["p"].data["p"] = np.zeros_like(p)  # what the browser drew during the drag
    h._on_p("data", None, dragged(h.source.data, row, *to))
    assert e.target.to_dict() == before and {name: optimal_mean(e, name) for name in e.optima} == optima
    assert h.message.visible and message in h.message.object
    assert np.allclose(h.source.data["x"], handles["x"]) and np.allclose(h.source.data["y"], handles["y"])
    assert np.array_equal(section1.sources["p"].data["p"], p)
    h._on_p("data", None, dragged(h.source.data, 0, -2.5, 0.1))  # a good drag clears the message
    assert not h.message.visible and e.target.means[0] == -2.5


def test_double_click_on_section1_adds_a_mode(section1):
    e, h = section1.explorer, section1.handles
    n = e.target.weights.size
    h.on_double_tap(SimpleNamespace(x=5.0, y=0.1))
    assert e.target.weights.size == n + 1 and e.target.means[-1] == 5.0
    assert len(h.source.data["x"]) == 2 * (n + 1)
    h.on_double_tap(SimpleNamespace(x=5.0, y=-0.1))
    assert e.target.weights.size == n + 1 and "above the x axis" in h.message.object


def test_section1_handles_follow_a_new_figure_when_the_divergences_on_show_change(section1):
    e = section1.explorer
    old = section1.figure
    e.selected = [*e.selected, "hellinger"] if "hellinger" not in e.selected else list(e.selected)[:-1]
    fig, h = section1.figure, section1.handles
    assert fig is not old and h.figure is fig and fig.toolbar.active_drag.renderers[0].data_source is h.source
    assert h.source in fig.references() and h.source not in old.references()
    h._on_p("data", None, dragged(h.source.data, 0, -2.0, 0.15))
    assert e.target.means[0] == -2.0
    assert np.allclose(section1.sources["p"].data["p"], e.target.pdf(section1.sources["p"].data["x"]), atol=1e-5)
    assert np.allclose(h.source.data["x"], p_handle_columns(e.target)["x"])


def test_a_q_step_leaves_section1s_handles_alone(section1):
    e, h = section1.explorer, section1.handles
    data = h.source.data
    sent = []
    h.source.on_change("data", lambda attr, old, new: sent.append(new))
    e.q.mu = 1.25
    assert h.source.data is data and not sent

"""The page draws klpanel.plots' pictures: the pictures that change on a target or option change are HoloViews panes
of DynamicMaps whose Bokeh data follow the models; the Explore plot is written directly on a q step (same figure,
same sources); the dynamics landscape is plots.landscape of the section's own grid."""

from __future__ import annotations

import math

import holoviews as hv
import numpy as np
import panel as pn
import pytest
from bokeh.document import Document
from bokeh.models import GlyphRenderer, Span

from klpanel import KLExplorer, Target, optimal_q, plots
from klpanel.models import spectrum as sp
from klpanel.models.explorer import Explorer
from klpanel.models.landscape import landscape_grid
from klpanel.plots.style import label


@pytest.fixture(scope="module")
def page():
    """The page's plotting sections rendered into one document, as a session's: (app, document)."""
    app = KLExplorer(explorer=Explorer(), sections=["optimal", "explore", "dynamics", "spectrum"])
    doc = Document()
    doc.add_root(pn.panel(app).get_root(doc))
    return app, doc


def figure_data(fig) -> dict:
    return {key: source.data for key, source in plots.sources(fig).items()}


def rendered(pane):
    """The Bokeh figures a HoloViews pane draws, in a document of their own."""
    doc = Document()
    doc.add_root(pane.get_root(doc))
    return [m for m in doc.models if type(m).__name__ == "figure"]


def test_the_slowly_changing_pictures_are_holoviews_panes_of_dynamic_maps(page):
    app, _ = page
    panes = [app.spectrum.alpha_plot, app.spectrum.phase_plot, *app.spectrum.distill_plots.values()]
    assert len(panes) == 5
    for pane in panes:
        assert isinstance(pane, pn.pane.HoloViews) and isinstance(pane.object, hv.DynamicMap)


def renderers(fig) -> list:
    return [(r.name, type(r.glyph).__name__, sorted(r.data_source.data)) for r in fig.renderers if r.name]


def test_the_optimal_plot_is_plots_optima_rendered_once(page):
    app, doc = page
    e = app.explorer
    fig = doc.get_model_by_name("klpanel-optimal-plot")
    assert app.optimal.plot.object is fig
    want = hv.render(plots.optima(e.target, list(e.optima),
                                  divergence_params={n: e.divergence_params(n) for n in e.optima}))
    drawn = renderers(fig)  # plus p's drag handles (tests/test_handles.py)
    ours = [r for r in drawn if r[0] != "klpanel-optimal-plot-p-handles"]
    assert ours != drawn and [r[:2] for r in ours] == [r[:2] for r in renderers(want)]
    assert all(set(wanted) <= set(columns) for (*_, columns), (*_, wanted) in zip(ours, renderers(want)))
    # p and every optimal q drawn from one source (its x sent once), as the view writes them
    curves = [r for r in fig.renderers if r.name == "klpanel-p" or (r.name or "").startswith("klpanel-optimum-")]
    assert len(curves) == 1 + len(e.optima) and len({id(r.data_source) for r in curves}) == 1
    assert [i.label.value for i in fig.legend[0].items] == [i.label.value for i in want.legend[0].items]
    assert fig.output_backend == "canvas"
    selected = list(e.selected)
    e.selected = ["forward_kl", "hellinger"]  # another set on show: rendered again, in the same pane
    new = doc.get_model_by_name("klpanel-optimal-plot")
    assert new is not fig and app.optimal.plot.object is new
    assert [i.label.value for i in new.legend[0].items] == ["p (target)", label("forward_kl"), label("hellinger")]
    e.selected = selected


def test_optimal_plot_peaks_at_the_library_optima_after_a_target_change(page):
    app, doc = page
    fig = doc.get_model_by_name("klpanel-optimal-plot")
    app.explorer.target.n_modes = 5
    target = Target(n_modes=5, spread=app.explorer.target.spread, decay=app.explorer.target.decay)
    data = figure_data(doc.get_model_by_name("klpanel-optimal-plot"))
    assert doc.get_model_by_name("klpanel-optimal-plot") is fig  # updated, not replaced
    x = np.asarray(data["p"]["x"])
    np.testing.assert_allclose(data["p"]["p"], target.pdf(x), rtol=1e-5, atol=1e-7)  # float32
    tallest = 0.0
    for name in app.explorer.selected:
        best = optimal_q(target, name)
        curve = data[f"optimum-{name}"]
        peak = int(np.argmax(curve[name]))
        assert abs(curve["x"][peak] - best.mu) <= x[1] - x[0], name
        assert curve[name][peak] == pytest.approx(1 / (best.sigma * math.sqrt(2 * math.pi)), rel=2e-3)
        minima = data[f"minima-{name}"]
        np.testing.assert_allclose(sorted(minima["mu"]), sorted(m.mu for m in best.local_minima), atol=1e-6)
        assert list(minima["kind"]).count("global minimum") == 1
        tallest = max(tallest, float(np.max(curve[name])))
    assert fig.y_range.end >= max(tallest, float(np.max(data["p"]["p"])))  # nothing cut off at the top
    assert [item.label.value for item in fig.legend[0].items if item.visible] == \
        ["p (target)"] + [label(n) for n in app.explorer.selected]
    app.explorer.target.n_modes = 3


def test_a_q_step_writes_the_explore_sources_in_place(page):
    app, doc = page
    fig, sources, drawn = app.explore.figure, dict(app.explore.sources), plots.sources(app.explore.figure)
    assert drawn["q"] is sources["q"]  # the view writes the figure's own source (the drag handles have theirs)
    models = len(doc.models)
    app.explorer.q.param.update(mu=1.25, sigma=0.6)
    assert doc.get_model_by_name("klpanel-explore-plot") is fig and len(doc.models) == models  # nothing rebuilt
    assert plots.sources(fig) == drawn  # the same source objects
    x = np.asarray(sources["q"].data["x"], dtype=float)
    np.testing.assert_allclose(sources["q"].data["q"], app.explorer.q.pdf(x), rtol=1e-5, atol=1e-7)
    assert sources["reverse-cost"] is sources["q"]  # the regions are vareas on the lines' source
    np.testing.assert_allclose(sources["q"].data["lo"],  # both regions' lower edge, N long
                               np.minimum(app.explorer.target.pdf(x), app.explorer.q.pdf(x)), rtol=1e-5, atol=1e-7)
    app.explorer.q.param.update(mu=0.0, sigma=0.8)


def test_the_dynamics_landscape_is_plots_landscape_of_the_sections_grid(page):
    app, _ = page
    section = app.dynamics
    fig = section.landscape_figure
    grid = section.model.landscape.grid
    data = figure_data(fig)
    image = np.asarray(data["landscape"]["image"][0])
    finite = np.isfinite(grid.values)
    np.testing.assert_allclose(image[finite], grid.values[finite])
    np.testing.assert_allclose(data["landscape-minima"]["mu"], [m.mu for m in grid.minima])
    assert fig.title.text.startswith(f"Landscape of {label(grid.divergence)}")
    # the runs are drawn on that figure, from the section's sources
    assert any(getattr(r, "data_source", None) is section.now_source for r in fig.renderers)
    assert section.landscape_pane.object is fig
    spread = app.explorer.target.spread
    app.explorer.target.spread = spread + 0.5  # a new grid of the same divergence: written into the same figure
    assert section.landscape_figure is fig
    grid = section.model.landscape.grid
    np.testing.assert_array_equal(plots.sources(fig)["landscape"].data["image"][0], grid.values)
    np.testing.assert_allclose(plots.sources(fig)["landscape-minima"].data["mu"], [m.mu for m in grid.minima])
    section.model.landscape_divergence = "forward_kl"  # another divergence: rendered anew
    assert section.landscape_pane.object is section.landscape_figure is not fig
    fig = section.landscape_figure
    assert fig.title.text.startswith(f"Landscape of {label('forward_kl')}")
    np.testing.assert_array_equal(plots.sources(fig)["landscape"].data["image"][0], section.model.landscape.grid.values)
    assert any(getattr(r, "data_source", None) is section.now_source for r in fig.renderers)
    section.model.landscape_divergence = "reverse_kl"
    app.explorer.target.spread = spread


def test_the_alpha_plot_draws_the_computed_curve_and_moves_its_mark_in_place(page):
    app, _ = page
    view = app.spectrum
    view.refresh_alpha()  # outside a server session: computed in place
    curve = sp.alpha_curve(app.explorer.target, "alpha")
    data = figure_data(view.alpha_figure)
    for column in ("mu", "sigma"):
        t, y = curve.broken(column)
        np.testing.assert_array_equal(data[f"spectrum-{column}"]["alpha"], t)
        np.testing.assert_array_equal(data[f"spectrum-{column}"][column], y)
    mark = view.alpha_marks[-1]
    view.spectrum.alpha = 1.25
    assert view.alpha_marks[-1] is mark and mark.location == 1.25


def test_the_phase_and_distillation_plots_draw_the_computed_curves():
    view = KLExplorer(explorer=Explorer(target=Target(n_modes=2, spread=2.0, decay=0.9)), sections=["spectrum"]).spectrum
    view.phase.names = ["reverse_kl", "hellinger"]
    view.refresh_phase()
    (sigma_fig,) = [f for f in rendered(view.phase_plot) if "phase-sigma-reverse_kl" in plots.sources(f)]
    data = figure_data(sigma_fig)
    for name in ("reverse_kl", "hellinger"):
        np.testing.assert_array_equal(data[f"phase-sigma-{name}"]["sigma"], view.phase_curves[name].broken("sigma")[1])
    spans = [r for r in sigma_fig.renderers if isinstance(r, Span)]
    assert [s.location for s in spans] == [2.0]  # the target's spread
    view.refresh_distillation()
    for name, pane in view.distill_plots.items():
        (fig,) = rendered(pane)
        np.testing.assert_array_equal(figure_data(fig)[f"distillation-{name}-mu"]["mu"],
                                      view.distill_curves[name].broken("mu")[1])
        view.distill_sliders[name].value = view.distill_sliders[name].start
        assert view.distill_marks[name][-1].location == view.distill_sliders[name].start


def test_a_preview_grid_without_minima_leaves_no_float_colours(page):
    """The landscape's quick preview has no minima; its empty marker columns must not be float colours (BokehJS
    refuses them: 'invalid color array')."""
    section = page[0].dynamics
    full = section.model.landscape.grid
    section.model.landscape.grid = landscape_grid(section.model.target, full.divergence, full.params, n_mu=27,
                                                  n_sigma=16, with_minima=False)
    minima = plots.sources(section.landscape_figure)["landscape-minima"]
    assert len(minima.data["mu"]) == 0
    assert not any(isinstance(minima.data[c], np.ndarray) and minima.data[c].dtype.kind == "f"  # a typed array
                   for c in ("color", "fill_color", "line_color") if c in minima.data)
    section.model.landscape.grid = full
    assert len(plots.sources(section.landscape_figure)["landscape-minima"].data["mu"]) == len(full.minima)


def test_every_figure_of_the_page_draws_on_a_canvas():
    """HoloViews renders for WebGL, which a browser without a GPU (most phones' browsers in power saving, every
    headless one) emulates in software: the 2-D picture alone cost ~0.4 s of a page load's script time."""
    app = KLExplorer(explorer=Explorer())
    doc = Document()
    doc.add_root(pn.panel(app).get_root(doc))
    for pane in (app.spectrum.alpha_plot, app.spectrum.phase_plot, *app.spectrum.distill_plots.values()):
        doc.add_root(pane.get_root(doc))
    figures = {m.name or m.id: m.output_backend for m in doc.models if hasattr(m, "output_backend")}
    assert "klpanel-twod-plot" in figures and len(figures) >= 10, figures
    assert {name for name, backend in figures.items() if backend != "canvas"} == set(), figures


def test_every_rendered_figure_leaves_its_derived_glyphs_to_bokehjs():
    """HoloViews sends a selection, non-selection and muted glyph model with every renderer; the page's figures leave
    them to BokehJS ("auto", which derives them from the main glyph as HoloViews' own defaults do), a third fewer
    models for each new visitor's session to create and send."""
    app = KLExplorer(explorer=Explorer())
    doc = Document()
    doc.add_root(pn.panel(app).get_root(doc))
    for pane in (app.spectrum.alpha_plot, *app.spectrum.distill_plots.values()):
        doc.add_root(pane.get_root(doc))
    renderers = [m for m in doc.models if isinstance(m, GlyphRenderer) and (m.name or "").startswith("klpanel-")]
    named = {r.name for r in renderers}
    assert {"klpanel-p", "klpanel-q", "klpanel-optimum-forward_kl", "klpanel-minima-reverse_kl"} <= named, named
    derived = {r.name: [getattr(r, g) for g in ("selection_glyph", "nonselection_glyph", "muted_glyph")]
               for r in renderers if not r.name.endswith("-handles")}  # the drag handles' own selection looks
    assert {name: kinds for name, kinds in derived.items() if kinds != ["auto"] * 3} == {}


def test_a_figures_renderers_share_the_models_that_hold_no_state():
    """One filter and one selection policy per figure (each renderer brought its own two); each renderer keeps its own
    view (a shared view made every renderer of a source redraw once per renderer when the source changed)."""
    app = KLExplorer(explorer=Explorer(), sections=["optimal", "explore"])
    doc = Document()
    doc.add_root(pn.panel(app).get_root(doc))
    figures = [m for m in doc.models if getattr(m, "name", None) in ("klpanel-optimal-plot", "klpanel-explore-plot")]
    assert len(figures) == 2
    for fig in figures:
        renderers = [r for r in fig.renderers if isinstance(r, GlyphRenderer)]
        assert len({id(r.view.filter) for r in renderers}) == 1, fig.name
        assert len({id(r.data_source.selection_policy) for r in renderers}) == 1, fig.name
        assert len({id(r.view) for r in renderers}) == len(renderers), fig.name

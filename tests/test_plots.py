"""klpanel.plots: the HoloViews pictures carry the models' numbers, named dimensions and the app's look; they
render, save, take ``.opts`` overrides and compose; a view finds their Bokeh sources by name."""

from __future__ import annotations

import ast
import json
import math
import pathlib
import re
import subprocess
import sys

import holoviews as hv
import numpy as np
import pytest
from bokeh.models import GlyphRenderer, Line

from klpanel import Approximation, Target, optimal_q
from klpanel import divergences as dv
from klpanel import plots
from klpanel.models import spectrum as sp
from klpanel.models.runs import Run
from klpanel.plots import style

PLOTS_DIR = pathlib.Path(plots.__file__).parent
NAMES = ["forward_kl", "reverse_kl", "jsd", "renyi"]


@pytest.fixture(scope="module")
def p():
    return Target()


@pytest.fixture(scope="module")
def runs(p):
    return [Run(target=p, divergence="reverse_kl", mu0=0.5, sigma0=1.0).step(40),
            Run(target=p, divergence="forward_kl", mu0=-2.0, sigma0=0.5).step(25)]


@pytest.fixture(scope="module")
def pictures(p, runs):
    """One of each picture, small grids (the module's time budget is seconds)."""
    return {
        "optima": plots.optima(p, NAMES),
        "explore": plots.explore(p, Approximation(mu=0.0, sigma=0.8), NAMES),
        "landscape": plots.landscape(p, "reverse_kl", n=31),
        "trajectories": plots.trajectories(runs),
        "composed": plots.landscape(p, "reverse_kl", n=31) * plots.trajectories(runs),
        "spectrum": plots.spectrum(p, points=7, alpha=0.5),
        "phase": plots.phase(p, points=5),
        "distillation": plots.distillation(p, points=5),
    }


def elements(obj, kind):
    return [e for e in obj.traverse(lambda e: e) if type(e).__name__ == kind]


def by_label(obj, kind, label):
    return next(e for e in elements(obj, kind) if e.label == label)


# -- the wall ---------------------------------------------------------------------------------------------------
def test_plots_import_no_panel_views_or_server():
    for path in PLOTS_DIR.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                mods = [("." * node.level) + (node.module or "")]
            else:
                continue
            for mod in mods:
                assert not (mod == "panel" or mod.startswith("panel.")), f"{path.name} imports {mod}"
                assert not any(part in ("views", "server") for part in mod.lstrip(".").split(".")), \
                    f"{path.name} imports {mod}"


def test_import_klpanel_does_not_import_holoviews():
    code = ("import sys, klpanel; assert 'holoviews' not in sys.modules; import klpanel.plots; "
            "assert not [m for m in sys.modules if m.startswith(('klpanel.views', 'klpanel.server'))]")
    subprocess.run([sys.executable, "-c", code], check=True)


# -- the models' numbers ----------------------------------------------------------------------------------------
def test_optima_curves_peak_at_optimal_q(p, pictures):
    for name in NAMES:
        best = optimal_q(p, name, **dv.validate_params([name])[name])
        curve = by_label(pictures["optima"], "Curve", style.label(name))
        x, q = curve.dimension_values("x"), curve.dimension_values(name)
        assert abs(x[np.argmax(q)] - best.mu) <= x[1] - x[0]
        assert q.max() == pytest.approx(1 / (best.sigma * math.sqrt(2 * math.pi)), rel=2e-3)
        points = by_label(pictures["optima"], "Points", style.label(name))
        assert list(points.dimension_values("kind")) == ["global minimum"] + ["local minimum"] * (
            len(best.local_minima) - 1)
        np.testing.assert_allclose(points.dimension_values("mu"), [m.mu for m in best.local_minima])
        np.testing.assert_allclose(points.dimension_values("height"),
                                   [1 / (m.sigma * math.sqrt(2 * math.pi)) for m in best.local_minima])
        np.testing.assert_allclose(points.dimension_values("value"), [m.value for m in best.local_minima])


def test_explore_shows_p_q_and_values(p, pictures):
    q = Approximation(mu=0.0, sigma=0.8)
    fig = hv.render(pictures["explore"])
    values = dv.evaluate(p, q, NAMES)
    assert fig.title.text == plots.values_title(values)
    assert f"{style.label('reverse_kl')} = {values['reverse_kl']:.3f}" in fig.title.text
    src = plots.sources(fig)
    x = src["q"].data["x"]
    np.testing.assert_allclose(src["q"].data["q"], q.pdf(x))
    np.testing.assert_allclose(src["p"].data["p"], p.pdf(x))
    lo = np.minimum(p.pdf(x), q.pdf(x))  # the documented fast path writes exactly this
    for key, top in (("forward-cost", p.pdf(x)), ("reverse-cost", q.pdf(x))):
        for col, want in plots.area_columns(x, lo, top).items():
            np.testing.assert_allclose(src[key].data[col], want)


def test_landscape_smallest_cell_is_next_to_the_global_optimum(p, pictures):
    image = elements(pictures["landscape"], "Image")[0]
    mu, sigma, d = (image.dimension_values(k) for k in ("mu", "sigma", "reverse_kl"))
    best = optimal_q(p, "reverse_kl")
    i = np.nanargmin(np.where(np.isfinite(d), d, np.nan))
    step_mu, step_sigma = 10 / 30, 2.85 / 30
    assert abs(mu[i] - best.mu) <= step_mu and abs(sigma[i] - best.sigma) <= step_sigma
    assert d[i] == pytest.approx(dv.evaluate(p, Approximation(mu=mu[i], sigma=sigma[i]), ["reverse_kl"])["reverse_kl"],
                                 rel=1e-9)
    minima = elements(pictures["landscape"], "Points")[0]
    np.testing.assert_allclose(minima.dimension_values("mu"), [m.mu for m in best.local_minima])


def test_landscape_keeps_infinite_values_infinite_and_draws_them_blank(p):
    obj = plots.landscape(p, "alpha", n=21, alpha=1.8)
    d = elements(obj, "Image")[0].dimension_values("alpha")
    assert np.isinf(d).any() and not np.isnan(d).any()
    fig = hv.render(obj)
    image = plots.sources(fig)["landscape"].data["image"][0]
    assert np.isinf(image).any() and not np.isnan(image).any()
    mapper = next(r for r in fig.renderers if r.name == "klpanel-landscape").glyph.color_mapper
    assert mapper.high_color == "rgba(0, 0, 0, 0)" and "blank: infinite" in fig.title.text


@pytest.mark.parametrize("divergence, log_sigma, params, minima", [
    ("reverse_kl", False, {}, True), ("forward_kl", True, {}, True), ("alpha", False, {"alpha": 2.0}, True),
    ("reverse_kl", False, {}, False)])
def test_landscape_data_is_what_the_rendered_picture_holds(p, divergence, log_sigma, params, minima):
    """``plots.landscape_data`` (what the dynamics section writes on a new grid instead of a HoloViews update) equals
    the sources, colour range, title and ranges HoloViews renders from ``plots.landscape`` of the same grid."""
    from bokeh.models import LogColorMapper

    from klpanel.models.landscape import landscape_grid
    n = 81 if minima else 27
    grid = landscape_grid(p, divergence, params, (-5, 5), (0.15, 3), n_mu=n, n_sigma=n, log_sigma=log_sigma,
                          with_minima=minima)
    fig = hv.render(plots.landscape(p, divergence, grid=grid), backend="bokeh")
    rendered, data = plots.sources(fig), plots.landscape_data(grid)
    for name in ("landscape", "landscape-minima"):
        for column, want in rendered[name].data.items():
            got = data[name][column]
            if column == "image":
                np.testing.assert_array_equal(got[0], want[0])
            elif len(want) and isinstance(want[0], str):
                assert list(got) == list(want)
            else:
                np.testing.assert_allclose(np.asarray(got, dtype=float), np.asarray(want, dtype=float))
    assert len(data["landscape-minima"]["mu"]) == len(grid.minima)
    mapper = fig.select_one(LogColorMapper)
    assert (mapper.low, mapper.high) == data["clim"] and fig.title.text == data["title"]
    assert (fig.x_range.start, fig.x_range.end) == data["xlim"] and (fig.y_range.start, fig.y_range.end) == data["ylim"]


def test_landscape_log_sigma_axis(p):
    obj = plots.landscape(p, "reverse_kl", n=11, log_sigma=True)
    image = elements(obj, "Image")[0]
    assert [d.name for d in image.kdims] == ["mu", "log_sigma"]
    np.testing.assert_allclose(sorted(set(image.dimension_values("log_sigma"))),
                               np.linspace(np.log(0.15), np.log(3), 11))


def test_trajectories_are_the_runs(runs, pictures):
    paths = elements(pictures["trajectories"], "Path")
    assert len(paths) == len(runs)
    for path, run in zip(paths, runs):
        np.testing.assert_array_equal(path.dimension_values("mu"), run.trajectory["mu"])
        np.testing.assert_array_equal(path.dimension_values("sigma"), run.trajectory["sigma"])
        np.testing.assert_array_equal(path.dimension_values("loss"), run.trajectory["loss"])
    start, end = elements(pictures["trajectories"], "Points")
    np.testing.assert_array_equal(start.dimension_values("mu"), [r.trajectory["mu"][0] for r in runs])
    np.testing.assert_array_equal(end.dimension_values("sigma"), [r.sigma for r in runs])
    fig = hv.render(plots.trajectories(runs[:1], restarts=runs[1:]))
    colors = {r.name: r.glyph.line_color for r in fig.select({"type": GlyphRenderer})}
    assert colors["klpanel-path-0"] == style.COLORS["reverse_kl"] and colors["klpanel-path-1"] == style.RESTART_COLOR


def test_spectrum_is_alpha_curve(p, pictures):
    curve = sp.alpha_curve(p, "alpha", 7)
    for column in ("mu", "sigma"):
        element = next(e for e in elements(pictures["spectrum"], "Curve") if e.vdims[0].name == column)
        t, y = curve.broken(column)
        np.testing.assert_array_equal(element.dimension_values("alpha"), t)
        np.testing.assert_array_equal(element.dimension_values(column), y)


def test_phase_and_distillation_are_the_models_curves(p, pictures):
    rkl = sp.spread_curve(p.n_modes, p.decay, "reverse_kl", {}, 5)
    element = by_label(pictures["phase"], "Curve", style.label("reverse_kl"))
    np.testing.assert_array_equal(element.dimension_values("sigma"), rkl.broken("sigma")[1])
    skew = sp.distillation_curve(p, "skew_kl", 5)
    fig = hv.render(pictures["distillation"])
    np.testing.assert_array_equal(plots.sources(fig)["distillation-skew_kl-mu"].data["mu"], skew.broken("mu")[1])


def test_dimensions_are_named(pictures):
    seen = set()
    for obj in pictures.values():
        for e in obj.traverse(lambda e: e, [hv.element.chart.Chart, hv.Points, hv.Path, hv.Image]):
            dims = e.kdims + e.vdims
            assert all(d.name and d.name not in ("x0", "y0", "z") for d in dims[1:]), (type(e), dims)
            seen.add(type(e).__name__)
    assert seen >= {"Curve", "Area", "Points", "Image", "Path", "Scatter"}


# -- rendering, saving, options, composition -----------------------------------------------------------------
@pytest.mark.parametrize("name", ["optima", "explore", "landscape", "trajectories", "composed", "spectrum", "phase",
                                  "distillation"])
def test_renders_and_saves(name, pictures, tmp_path):
    fig = hv.render(pictures[name], backend="bokeh")
    assert plots.sources(fig)
    out = tmp_path / f"{name}.html"
    hv.save(pictures[name], out)
    doc = re.search(r'<script type="application/json"[^>]*>(.*?)</script>', out.read_text(), re.S)
    assert "klpanel-" in json.dumps(json.loads(doc.group(1)))  # Bokeh's document, with our renderers


def test_look_defaults(pictures):
    fig = hv.render(pictures["optima"])
    assert fig.toolbar_location == "above" and fig.sizing_mode == "stretch_width"
    assert (fig.x_range.start, fig.x_range.end) == (-8.0, 8.0)
    lines = {r.name: r.glyph for r in fig.select({"type": GlyphRenderer})}
    assert lines["klpanel-optimum-jsd"].line_color == style.COLORS["jsd"]
    assert lines["klpanel-optimum-jsd"].line_dash == Line(line_dash=style.DASHES["jsd"]).line_dash
    labels = [item.label.value for item in fig.legend[0].items]
    assert labels == ["p (target)"] + [style.label(n) for n in NAMES]
    assert all("^" not in s and "_" not in s for s in labels)


def test_labels_are_the_registry_labels():
    assert [style.label(n) for n in dv.REGISTRY] == [d.label for d in dv.REGISTRY.values()]


def test_opts_override(pictures):
    obj = pictures["optima"].opts(title="mine", height=200).opts(hv.opts.Curve(line_width=7))
    fig = hv.render(obj)
    assert fig.title.text == "mine" and fig.height == 200
    assert plots.sources(fig)  # names survive an element override (hooks kept)
    widths = {r.name: r.glyph.line_width for r in fig.select({"type": GlyphRenderer})}
    assert widths["klpanel-optimum-reverse_kl"] == 7
    image = hv.render(pictures["landscape"].opts(hv.opts.Image(cmap="magma", logz=False)))
    mapper = next(r for r in image.renderers if r.name == "klpanel-landscape").glyph.color_mapper
    assert type(mapper).__name__ == "LinearColorMapper"


def test_landscape_times_trajectories(pictures, runs):
    obj = pictures["composed"]
    assert isinstance(obj, hv.Overlay)
    fig = hv.render(obj)
    assert fig.title.text.startswith("Landscape of KL(q‖p)")  # the landscape's figure options survive `*`
    assert (fig.y_range.start, fig.y_range.end) == (0.15, 3.0)
    src = plots.sources(fig)
    assert {"landscape", "landscape-minima", "path-0", "path-1", "starts", "ends"} <= set(src)
    np.testing.assert_array_equal(src["path-1"].data["xs"][0], runs[1].trajectory["mu"])

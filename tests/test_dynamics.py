"""The dynamics model and its view, without a browser: what each frame puts into the plots' sources."""

import numpy as np
import pytest
from bokeh.document import Document
from bokeh.events import Tap

import panel as pn
from klpanel.models.dynamics import MAX_PANELS, Dynamics
from klpanel.models.explorer import Explorer
from klpanel.views.dynamics import Q_SHAPE, DynamicsSection


def test_model_defaults_are_forward_and_reverse_kl_from_the_start_q():
    d = Dynamics(mu0=0.5, sigma0=1.0)
    assert [r.divergence for r in d.runs] == ["forward_kl", "reverse_kl"]
    assert all((r.mu0, r.sigma0) == (0.5, 1.0) for r in d.runs)
    assert d.runs[0].optimizer is d.runs[1].optimizer  # one optimizer: one batched step for all runs


def test_model_advance_reset_and_reasons():
    d = Dynamics()
    d.steps_per_frame = 5
    assert d.advance() and d.runs[0].n_steps == 5
    gen = d.generation
    d.mu0 = -1.0
    assert d.generation == gen + 1 and d.reset_reason == "the start q moved" and d.runs[0].n_steps == 0
    d.target.n_modes = 4
    assert d.reset_reason == "the target changed" and d.runs[0].trajectory_length == 1
    d.optimizer_name = "adam"
    assert d.runs[0].optimizer is d.optimizer and type(d.optimizer).__name__ == "Adam"


def test_model_add_remove_and_limits():
    d = Dynamics()
    d.add_run("jsd")
    assert [r.divergence for r in d.runs] == ["forward_kl", "reverse_kl", "jsd"]
    d.remove_run(0)
    assert [r.divergence for r in d.runs] == ["reverse_kl", "jsd"]
    with pytest.raises(ValueError, match="unknown divergence"):
        d.add_run("nope")
    while len(d.divergences) < MAX_PANELS:
        d.add_run("tv")
    with pytest.raises(ValueError, match="at most"):
        d.add_run("tv")


def test_random_restarts_reach_minima():
    d = Dynamics(landscape_divergence="reverse_kl", n_restarts=6)
    d.optimizer_name = "adam"
    d.optimizer.lr = 0.1
    d.start_restarts()
    for _ in range(40):
        d.advance(100)
    summary = d.restart_summary()
    assert sum(summary.values()) == 6 and d.done
    assert len([k for k in summary if k is not None]) >= 2


def test_original_preset():
    d = Dynamics()
    d.optimizer_name = "adam"
    d.use_original_preset()
    assert (d.optimizer_name, d.estimator, d.sigma_floor, d.fps) == ("gd", "exact", 0.15, 12.5)
    assert (d.optimizer.lr, d.optimizer.clip) == (0.03, 1.5)
    d.advance(200)
    rkl = d.runs[1]
    assert rkl.converged and rkl.mu == pytest.approx(0, abs=1e-3) and rkl.loss == pytest.approx(1.214, abs=1e-3)


def test_landscape_follows_divergence_and_params():
    d = Dynamics()
    d.landscape_divergence = "alpha"
    d.divergence_params = {"alpha": {"alpha": 0.3}}
    assert d.landscape.grid.divergence == "alpha" and d.landscape.grid.params == {"alpha": 0.3}


@pytest.fixture
def section():
    doc = Document()
    with pn.io.server.set_curdoc(doc):
        s = DynamicsSection(explorer=Explorer(), autoplay=False)
        doc.add_root(s.__panel__().get_root(doc))
        yield s


def test_frames_stream_into_the_sources(section):
    from klpanel.views.dynamics import SLOW_EVERY
    n = 2 * SLOW_EVERY  # readouts and loss curves refresh every SLOW_EVERY frames: frame n sends them
    for _ in range(n):
        section.step()
    fkl, rkl = section.panels
    assert fkl.loss_source.data["step"] == list(range(n + 1))
    run = section.model.runs[0]
    path = section.path_source.data
    mine = [k for k, c in enumerate(path["color"]) if c == section.panels[0].density.renderers[-1].glyph.line_color]
    assert 2 <= len(mine) <= 10  # thinned: a segment only once the run has visibly moved
    assert path["x0"][mine[0]] == 0.0 and path["y0"][mine[0]] == 0.8  # from the start q
    assert all(path["x1"][a] == path["x0"][b] for a, b in zip(mine, mine[1:]))  # a connected path
    assert abs(path["x1"][mine[-1]] - run.mu) < 0.03 and abs(path["y1"][mine[-1]] - run.sigma) < 0.01
    assert f"step {n}" in fkl.labels[0].text and f"{run.mu:.3f}" in fkl.labels[1].text
    assert len(section.now_source.data["mu"]) == 2
    # each card draws its q in the browser from its row of the run positions (tests/ui checks the drawing)
    now = section.now_source.data
    assert (now["mu"][0], now["sigma"][0]) == (run.mu, run.sigma)
    for i, panel in enumerate(section.panels):
        glyph = panel.density.select_one({"name": f"run-{i}-q"}).glyph
        for spec in (glyph.x, glyph.y):
            assert spec.transform.args == {"now": section.now_source, "i": i}
    # the shape is the standard normal density: y = phi(z) / sigma integrates to 1 along x = mu + sigma z
    assert np.trapezoid(Q_SHAPE["phi"][1:-1], Q_SHAPE["z"][1:-1]) == pytest.approx(1.0, abs=1e-4)


def test_reverse_kl_panel_says_local_minimum(section):
    for _ in range(40):
        section.step()
    text = section.panels[1].labels[2].text
    assert "converged" in text and "not global" in text


def test_moving_q_resets_runs_and_clears_plots(section):
    for _ in range(5):
        section.step()
    section.explorer.q.mu = -2.0
    assert section.model.mu0 == -2.0 and section.model.runs[0].n_steps == 0
    assert section.path_source.data["x0"] == [] and section.panels[0].loss_source.data["step"] == [0]
    assert "start q moved" in section.status.object
    assert section.start_source.data["mu"] == [-2.0]


def test_target_change_resets_and_redraws_the_landscape(section):
    before = section.image_source.data["image"][0].copy()
    section.explorer.target.n_modes = 5
    assert "target changed" in section.status.object
    assert not np.array_equal(before, section.image_source.data["image"][0])
    assert len(section.minima_source.data["mu"]) == len(section.model.landscape.grid.minima)


def test_tap_on_the_landscape_sets_the_start_q(section):
    section._on_tap(Tap(section.landscape_figure, x=2.04, y=0.53))
    assert (section.explorer.q.mu, section.explorer.q.sigma) == (2.04, 0.53)
    assert section.model.runs[0].mu0 == 2.04
    section._on_tap(Tap(section.landscape_figure, x=9.0, y=-1.0))  # outside: clamped to the sliders' ranges
    assert (section.explorer.q.mu, section.explorer.q.sigma) == (5.0, 0.15)


def test_add_and_remove_panels(section):
    section.add_select.value = "tv"
    section.add_button.clicks += 1
    assert len(section.panels) == 3 and len(section.cards.objects) == 3

    def colors(panel):  # the run's q on its card and its loss curve
        q_line = panel.density.select_one({"name": f"run-{panel.index}-q"})
        return q_line.glyph.line_color, panel.loss.renderers[-1].glyph.line_color

    added, others = colors(section.panels[-1]), [colors(p) for p in section.panels[:-1]]
    assert added[0] == added[1]  # the new run's q and loss are drawn in one colour ...
    assert all(added[0] not in pair for pair in others)  # ... which no other run on screen uses
    section.panels[0].remove.clicks += 1
    assert [r.divergence for r in section.model.runs] == ["reverse_kl", "tv"]
    assert len(section.cards.objects) == 2


def test_optimizer_switch_rebuilds_its_widgets(section):
    section.model.optimizer_name = "adam"
    editor = section.optimizer_params[0]
    assert editor.object is section.model.optimizer and {"lr", "beta1", "beta2", "clip"} <= set(editor.parameters)


def test_restarts_draw_paths_and_summary(section):
    section.model.n_restarts = 4
    section.model.start_restarts()
    for _ in range(5):
        section.step()
    assert len(section.now_source.data["mu"]) == 6
    assert "4 restarts" in section.restart_text.object


def test_log_sigma_axis_switches_fields(section):
    section.model.log_sigma = True
    assert section.path_renderer.glyph.y0 == "ly0" and section.now_renderer.glyph.y == "log_sigma"
    assert section.landscape_figure.yaxis[0].axis_label == "log σ"


def test_the_animation_steps_ahead_and_shows_every_step_in_turn(section):
    from klpanel.views.dynamics import LOOKAHEAD_STEPS, SLOW_EVERY
    run = section.model.runs[0]
    assert section._ahead() == LOOKAHEAD_STEPS  # one step a frame: LOOKAHEAD_STEPS frames computed at once
    n = 2 * SLOW_EVERY
    seen = []
    for _ in range(n):
        section.step(ahead=LOOKAHEAD_STEPS)
        seen.append(section.now_source.data["mu"][0])
        assert run.n_steps >= len(seen)  # never behind what is shown
    assert run.n_steps == -(-n // LOOKAHEAD_STEPS) * LOOKAHEAD_STEPS > n  # stepped in batches, ahead of the page
    assert seen == run.trajectory["mu"][1:n + 1].tolist()  # each frame one step further, none skipped
    fkl = section.panels[0]
    assert fkl.loss_source.data["step"] == list(range(n + 1))  # the curve stops at the step shown
    assert f"step {n}" in fkl.labels[0].text and "running" in fkl.labels[2].text
    path = section.path_source.data
    color = fkl.density.renderers[-1].glyph.line_color
    drawn = [x for x, c in zip(path["x1"], path["color"]) if c == color]
    assert drawn and set(drawn) <= set(seen) and abs(drawn[-1] - seen[-1]) < 0.03  # the path ends where q is shown
    assert not section.caught_up
    section.catch_up()  # what Pause does
    assert section.caught_up and section.now_source.data["mu"][0] == run.mu
    assert f"step {run.n_steps}" in fkl.labels[0].text


def test_a_converged_run_is_shown_converged_only_when_its_last_step_is_on_screen(section):
    from klpanel.views.dynamics import LOOKAHEAD_STEPS
    rkl = section.model.runs[1]
    while rkl.active:
        section.step(ahead=LOOKAHEAD_STEPS)
    label = section.panels[1].labels[2]
    if section._on_screen(rkl) < rkl.trajectory_length:  # converged ahead of the page: not claimed yet
        assert "running" in label.text
    while section._on_screen(rkl) < rkl.trajectory_length:
        section.step(ahead=LOOKAHEAD_STEPS)
    section.step(readouts=True)
    assert "converged" in label.text and "not global" in label.text


def test_a_destroyed_session_pauses_without_pushing_to_its_page(section):
    from klpanel.views.dynamics import LOOKAHEAD_STEPS
    for _ in range(3):
        section.step(ahead=LOOKAHEAD_STEPS)
    assert not section.caught_up
    section._doc = Document()  # served, then destroyed: a document without its session any more
    shown = list(section.now_source.data["mu"])
    section.play.value = True  # what the page showed: playing
    section._on_session_destroyed(None)  # pauses; the page is gone, so no catch-up frame is built for it
    assert not section.play.value and section._callback is None
    assert section.now_source.data["mu"] == shown

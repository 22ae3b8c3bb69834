"""The views follow the model: changing a param changes what the plots' sources and panes hold."""

import json
import math

import numpy as np
import panel as pn
import pytest
from bokeh.document import Document
from panel.io.location import Location

from klpanel import KLExplorer, divergences, plots
from klpanel.models.explorer import PRESETS, Explorer


@pytest.fixture(scope="module")
def page():
    """The app rendered once into a document, as a session would: (app, document)."""
    app, doc = KLExplorer(), Document()
    doc.add_root(pn.panel(app).get_root(doc))
    return app, doc


@pytest.fixture(scope="module")
def app(page):
    return page[0]


def optimal_plot(page):
    """Section 1's figure (drawn by its HoloViews pane) and its data sources by ``plots.sources`` key."""
    fig = page[1].get_model_by_name("klpanel-optimal-plot")
    return fig, plots.sources(fig)


@pytest.fixture(autouse=True)
def reset(app):
    yield
    e = app.explorer
    e.selected = list(divergences.DEFAULT_NAMES)
    e.q.param.update(mu=0.0, sigma=0.8)
    e.apply_preset("Original (3 modes)")


def test_explore_plot_and_readouts_follow_q(app):
    e = app.explorer
    e.q.param.update(mu=-1.5, sigma=1.2)
    sources, q = app.explore.sources, e.q.pdf(e.x)
    np.testing.assert_allclose(sources["q"].data["q"], q, rtol=1e-6, atol=1e-7)
    lo = np.minimum(e.p_density, q)  # both regions run from min(p, q) up to p or q: vareas over N-long columns
    regions = {r.name: r for r in app.explore.figure.renderers if r.name in ("klpanel-forward-cost",
                                                                             "klpanel-reverse-cost")}
    for key, top in (("forward-cost", e.p_density), ("reverse-cost", q)):
        glyph, data = regions[f"klpanel-{key}"].glyph, sources[key].data
        field = lambda spec: getattr(spec, "field", spec)  # noqa: E731  (a column's name, or its Field spec)
        np.testing.assert_allclose(data[field(glyph.y1)], lo, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(data[field(glyph.y2)], top, rtol=1e-6, atol=1e-7)
    for name, value in divergences.evaluate(e.target, e.q, e.selected).items():
        assert f'data-divergence="{name}"' in app.explore.readouts.object
        assert f">{value:.3f}<" in app.explore.readouts.object


def test_readouts_show_infinity_never_nan(app):
    e = app.explorer
    e.selected = ["alpha"]
    e.options.alpha_alpha = 1.5
    e.q.sigma = 0.15
    html = app.explore.readouts.object
    assert ">∞<" in html and "nan" not in html.lower()
    e.options.alpha_alpha = 0.5


def test_selection_shows_lines_cards_and_readouts(app, page):
    e = app.explorer
    e.selected = ["forward_kl", "hellinger"]
    fig, _ = optimal_plot(page)
    visible = {r.name.removeprefix("klpanel-optimum-") for r in fig.renderers
               if r.name and r.name.startswith("klpanel-optimum-") and r.visible}
    assert visible == {"forward_kl", "hellinger"}
    assert {n for n, card in app.cards.cards.items() if card.visible} == {"forward_kl", "hellinger"}
    assert 'data-divergence="hellinger"' in app.explore.readouts.object
    assert 'data-divergence="tv"' not in app.explore.readouts.object
    sliders = app.optimal.chooser.sliders  # made when their divergence is first selected
    assert "alpha_alpha" not in sliders or not sliders["alpha_alpha"].visible


def test_card_line_states_the_library_optimum(app):
    best = app.explorer.optima["reverse_kl"]
    assert f"N({best.mu:.3f}, {best.sigma:.3f}²)" in app.cards.lines["reverse_kl"].object


def test_invalid_components_show_a_message_and_keep_the_plot(app, page):
    e = app.explorer
    p_source = optimal_plot(page)[1]["p"]
    before = np.array(p_source.data["p"])
    controls = app.optimal.controls
    controls.weights.value = "1, 2, oops"
    controls.apply.clicks += 1
    assert controls.message.visible and "numbers" in controls.message.object
    np.testing.assert_array_equal(p_source.data["p"], before)
    controls.weights.value = "1, 1, 1"
    controls.apply.clicks += 1
    assert not controls.message.visible and e.target.mode == "custom"


def test_preset_select(app):
    app.optimal.controls.presets.value = "Two far modes"
    assert app.explorer.target.means.tolist() == PRESETS["Two far modes"]["means"]
    assert "custom" in app.optimal.controls.status.object
    app.explorer.target.spread = 4.0  # moved away from the preset
    assert app.optimal.controls.presets.value == "—"


def test_export_downloads(app):
    csv_text = app.export.csv.callback().getvalue()
    assert csv_text.splitlines()[0].startswith("divergence,label")
    assert len(csv_text.splitlines()) == 1 + len(app.explorer.selected)
    data = json.loads(app.export.json.callback().getvalue())
    assert [row["name"] for row in data["divergences"]] == app.explorer.selected


def test_url_state_round_trip():
    url = ("?modes=5&spread=2.5&mu=-1.25&sigma=0.5&div=%5B%22jsd%22%2C%22renyi%22%5D&renyi_alpha=0.75")
    app = KLExplorer(explorer=Explorer())
    app.sync_url(Location(search=url))
    e = app.explorer
    assert (e.target.n_modes, e.target.spread, e.q.mu, e.q.sigma) == (5, 2.5, -1.25, 0.5)
    assert e.selected == ["jsd", "renyi"] and e.options.renyi_alpha == 0.75
    assert set(e.values) == {"jsd", "renyi"}

    location = Location()
    app.sync_url(location)
    e.param.update(weights_text="1, 1", means_text="-3, 3", sigmas_text="0.4, 0.4")
    e.apply_components()
    shared = KLExplorer(explorer=Explorer())
    shared.sync_url(Location(search=location.search))
    assert shared.explorer.target.to_dict() == e.target.to_dict()
    assert shared.explorer.q.mu == -1.25 and shared.explorer.selected == ["jsd", "renyi"]


def test_every_section_is_placed(app):
    from klpanel.views.app import SECTIONS
    from klpanel.views.dynamics import DynamicsSection
    from klpanel.views.spectrum import SpectrumSection
    # the header and a box per section (the link's message joins when it has something to say)
    assert len(app.__panel__().objects) == 1 + len(SECTIONS)
    assert isinstance(app.dynamics, DynamicsSection) and isinstance(app.spectrum, SpectrumSection)
    assert app.dynamics.explorer is app.explorer and app.spectrum.explorer is app.explorer
    assert all(math.isfinite(v) for v in app.explorer.values.values())


def test_invalid_url_state_keeps_defaults_and_says_so():
    app = KLExplorer(explorer=Explorer(), sections=["explore"])
    app.sync_url(Location(search="?modes=99&sigma=-1&mu=abc&div=%5B%22nope%22%5D&components=1,2%7Cx%7C1"))
    e = app.explorer
    assert (e.target.n_modes, e.q.mu, e.q.sigma) == (3, 0.0, 0.8)
    assert e.selected == list(divergences.DEFAULT_NAMES)
    assert app.url_message.visible
    assert all(s in app.url_message.object for s in ("n_modes=99", "sigma=-1", "nope"))


@pytest.mark.parametrize("kind", ["html", "markdown"])
def test_live_text_panes_send_only_their_text(kind):
    """A new object changes the model's text and nothing else (Panel's panes re-set every property, and their
    first update swaps the stylesheets, which re-lays out the whole page in the browser)."""
    from bokeh.document.events import ModelChangedEvent

    from klpanel.server.speedups.widgets import LiveHTML, LiveMarkdown

    pane = LiveHTML("<b>one</b>") if kind == "html" else LiveMarkdown("**one**")
    doc = Document()
    model = pane.get_root(doc)
    doc.add_root(model)
    stylesheets = list(model.stylesheets)
    changes = []
    doc.on_change(lambda event: changes.append(event))

    def recomputed(*args, **kwargs):  # Panel's pane update recomputes every property, stylesheets included
        raise AssertionError("the design's properties were recomputed")

    pane._get_properties = recomputed
    pane.object = "<b>two &amp; three</b>" if kind == "html" else "**two & three**"
    del pane._get_properties
    assert [(type(c), c.attr) for c in changes] == [(ModelChangedEvent, "text")]
    assert "two &amp;amp; three" in model.text or "two &amp; three" in model.text
    assert "one" not in model.text
    assert list(model.stylesheets) == stylesheets
    # the same text a plain Panel pane of that kind renders
    plain = (pn.pane.HTML if kind == "html" else pn.pane.Markdown)(pane.object).get_root(Document())
    assert model.text == plain.text


def test_live_widgets_answer_without_panels_debounce():
    """In a served session a slider step or a button click from the browser is applied after a shorter wait than
    Panel's own widgets schedule (their 50 ms debounce): what a person dragging q feels as lag."""
    from klpanel.server.speedups.widgets import LiveButtons, LiveSlider

    def wait_after_browser_change(widget, attr, new):
        doc = Document()
        model = widget.get_root(doc)
        session = object()
        doc._session_context = lambda: session  # as served: Panel schedules the change instead of applying it
        waits = []
        doc.add_timeout_callback = lambda callback, ms: waits.append(ms)
        widget._server_change(doc, model.ref["id"], None, attr, getattr(model, attr), new)
        assert len(waits) == 1
        return waits[0]

    slider = wait_after_browser_change(LiveSlider(start=0, end=5), "value", 1.5)
    assert slider == 0 and wait_after_browser_change(pn.widgets.FloatSlider(start=0, end=5), "value", 1.5) >= 50
    buttons = wait_after_browser_change(LiveButtons(options=["a", "b"]), "active", 1)
    assert buttons <= 5 < wait_after_browser_change(pn.widgets.RadioButtonGroup(options=["a", "b"]), "active", 1)


def test_live_widgets_send_what_panels_widgets_send():
    """A value set on the server reaches the model as with Panel's own widgets (without the design's properties)."""
    from klpanel.server.speedups.widgets import LiveButtons, LiveSlider

    def state(model):  # stylesheet models compared by what they load (each document has its own instances)
        props = model.properties_with_values()
        props["stylesheets"] = [getattr(x, "url", x) for x in props["stylesheets"]]
        return props

    cases = ((LiveSlider(start=0, end=1, value=0.2), pn.widgets.FloatSlider(start=0, end=1, value=0.2), 0.7),
             (LiveButtons(options=[1, 2, 3], value=1), pn.widgets.RadioButtonGroup(options=[1, 2, 3], value=1), 3))
    for live, plain, value in cases:
        models = [w.get_root(Document()) for w in (live, plain)]
        live.value = plain.value = value
        assert state(models[0]) == state(models[1])
    assert models[0].active == 2


def test_live_slider_takes_browser_values_as_panels_slider_does():
    """A value from the browser updates the widget, its watchers and the linked parameter as Panel's slider does,
    and leaves the widget's read-only/constant flags as they were (LiveSlider makes only those two writable)."""
    from klpanel import Approximation
    from klpanel.server.speedups.widgets import LiveSlider

    results = []
    for cls in (LiveSlider, pn.widgets.FloatSlider):
        q = Approximation(mu=0.0, sigma=1.0)
        w = cls.from_param(q.param.mu, start=-5, end=5)
        flags = {name: (p.readonly, p.constant) for name, p in w.param.objects().items()}
        seen = []
        w.param.watch(lambda *es: seen.extend((e.name, e.new) for e in es), ["value", "value_throttled"])
        w._process_events({"value": 1.5, "value_throttled": 1.5})
        w._process_events({"value": -2.25})
        assert {name: (p.readonly, p.constant) for name, p in w.param.objects().items()} == flags
        results.append((q.mu, w.value, w.value_throttled, sorted(seen)))
    assert results[0] == results[1]
    assert results[0][:3] == (-2.25, -2.25, 1.5)


def test_hidden_controls_join_the_page_when_first_needed():
    """A session's first screen holds no Bokeh model for a control nobody sees yet: a divergence's parameter slider
    joins when the divergence is selected (and leaves with it), the component editor's fields when it is opened."""
    app, doc = KLExplorer(sections=["optimal"]), Document()
    doc.add_root(pn.panel(app).get_root(doc))
    titles = lambda: {m.title for m in doc.models if isinstance(getattr(m, "title", None), str)}  # noqa: E731
    chooser, controls = app.optimal.chooser, app.optimal.controls
    assert chooser.sliders == {}  # no divergence with a parameter is on show
    alpha = chooser.slider("alpha_alpha")
    assert alpha.name not in titles() and controls.weights.name not in titles()
    app.explorer.selected = [*app.explorer.selected, "alpha"]
    assert alpha.name in titles() and alpha.visible
    app.explorer.selected = ["forward_kl"]
    assert alpha.name not in titles()
    controls.editor.collapsed = False
    assert {controls.weights.name, controls.means.name, controls.sigmas.name} <= titles()


def test_a_hidden_component_joins_its_column_at_its_place_when_first_shown():
    """``styles.column`` leaves a hidden component out of the page (a new session does not pay for it) until it is
    first shown; it then appears where it was declared, and stays (hidden again when it has nothing to say)."""
    from klpanel.views import styles
    a, b, c = pn.pane.Markdown("a"), pn.pane.Alert("b", visible=False), pn.pane.Markdown("c")
    d = pn.pane.Alert("d", visible=False)
    col = styles.column(d, a, b, c)
    ids = lambda: [id(o) for o in col.objects]  # noqa: E731
    assert ids() == [id(a), id(c)]
    b.visible = True
    assert ids() == [id(a), id(b), id(c)]
    d.visible = True
    assert ids() == [id(d), id(a), id(b), id(c)]
    b.visible = False
    b.visible = True
    assert ids() == [id(d), id(a), id(b), id(c)] and b.visible

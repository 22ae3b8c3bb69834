"""Sections built when first shown (klpanel.views.lazy): in a server session a section below the first screen is a
placeholder until the browser reports it in view; in Jupyter and scripts every section is built at once."""

from __future__ import annotations

import panel as pn
from bokeh.document import Document
from panel.io.state import set_curdoc

from klpanel.models.explorer import Explorer
from klpanel.views.app import LAZY, SECTIONS, KLExplorer
from klpanel.views.lazy import Placeholder


class FakeSessionContext:  # what makes a document a server session's for ``served_doc()``
    server_context = None
    id = "test"


def served_document() -> Document:
    doc = Document()
    doc._session_context = lambda: FakeSessionContext()  # Bokeh keeps a weak reference: call it to get the context
    return doc


def shown(app) -> dict:
    """Section name -> what its box on the page shows now: a Placeholder, or the heading of the section shown (a
    section not on the page yet is absent). A run of deferred sections sits in nested slots (columns without a
    section's classes)."""
    out = {}

    def visit(objects):
        for box in objects:
            name = next((c[len("kl-section-"):] for c in box.css_classes if c.startswith("kl-section-")), None)
            if name is None and type(box) is pn.Column:  # a slot of deferred sections
                visit(box.objects)
            elif name is not None:  # (else the header, a message)
                heading = None if isinstance(box, Placeholder) else box.select(pn.pane.Markdown)[0].object
                out[name] = box if heading is None else heading.splitlines()[0]

    visit(app.__panel__().objects)
    return out


HEADINGS = {"optimal": "## 1. Optimal approximations", "explore": "## 3. Explore", **{n: f"## {t}" for n, t in LAZY.items()}}


def test_outside_a_server_every_section_is_built_at_once():
    """A notebook's app shows every section (nothing waits for a browser's scroll report)."""
    on_page = shown(KLExplorer(explorer=Explorer()))
    assert list(on_page) == list(SECTIONS)
    for name, heading in on_page.items():
        assert isinstance(heading, str) and heading.startswith(HEADINGS[name]), (name, heading)


def test_served_sections_below_the_first_screen_wait_for_the_browser():
    """Served, each run of sections below the first screen is one placeholder, its next section's: shown, the
    section takes its place and the next one's placeholder follows it."""
    with set_curdoc(served_document()):
        app = KLExplorer(explorer=Explorer())
        assert set(app._built) == set(SECTIONS) - set(LAZY)  # the first screen: optimal and explore
        on_page = shown(app)
        assert list(on_page) == ["optimal", "cards", "explore", "dynamics"]
        assert {n for n, obj in on_page.items() if isinstance(obj, Placeholder)} == {"cards", "dynamics"}
        placeholder = on_page["dynamics"]
        assert placeholder.title == LAZY["dynamics"]
        placeholder.shown = True  # what the browser sends once the placeholder nears the viewport
        on_page = shown(app)
        assert on_page["dynamics"].startswith(HEADINGS["dynamics"]) and "dynamics" in app._built
        assert list(on_page) == ["optimal", "cards", "explore", "dynamics", "spectrum"]
        assert "spectrum" not in app._built
        assert app.spectrum is app.section("spectrum")  # code may reach a section before it is shown: built then
        assert isinstance(shown(app)["spectrum"], Placeholder)
        placeholder.shown = False
        placeholder.shown = True  # a repeated report of a placeholder already replaced changes nothing
        assert list(shown(app)) == ["optimal", "cards", "explore", "dynamics", "spectrum"]
        shown(app)["spectrum"].shown = True
        assert shown(app)["spectrum"].startswith(HEADINGS["spectrum"])
        for name in ("twod", "export"):
            shown(app)[name].shown = True
        assert list(shown(app)) == ["optimal", "cards", "explore", "dynamics", "spectrum", "twod", "export"]
        shown(app)["cards"].shown = True
        on_page = shown(app)
        assert list(on_page) == list(SECTIONS)
        for name, heading in on_page.items():
            assert isinstance(heading, str) and heading.startswith(HEADINGS[name]), (name, heading)


def test_a_page_of_one_section_shows_it_at_once():
    with set_curdoc(served_document()):
        app = KLExplorer(explorer=Explorer(), sections=["dynamics"])
        assert shown(app)["dynamics"].startswith(HEADINGS["dynamics"])
        assert KLExplorer(explorer=Explorer(), sections=["explore"]).cards is None

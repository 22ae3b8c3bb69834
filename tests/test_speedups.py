"""The server speedups (klpanel.server.speedups): importing klpanel and building its page change no function of
Bokeh, Panel or tornado; every speedup installs and uninstalls back to the stock libraries; one written for other
library versions stands down with one warning; ``KLPANEL_SPEEDUPS`` chooses them."""

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from klpanel.server import speedups
from klpanel.server.admin import loopback

ROOT = Path(__file__).resolve().parents[1]

#: the modules whose functions and classes' methods are fingerprinted (every class they hold, wherever defined)
FINGERPRINT = """
import importlib, inspect, json, pkgutil, sys

MODULES = ["bokeh.document", "bokeh.document.document", "bokeh.document.callbacks", "bokeh.document.models",
           "bokeh.core.serialization", "bokeh.server.session", "bokeh.protocol.messages.patch_doc",
           "bokeh.server.views.ws", "bokeh.server.callbacks", "panel.reactive", "panel.widgets", "panel.pane",
           "panel.io", "panel.io.document", "panel.io.state", "panel.io.callbacks", "panel.param",
           "tornado.websocket", "tornado.iostream", "tornado.web"]
for name in MODULES:
    importlib.import_module(name)


def _code(value):
    for kind in (classmethod, staticmethod):
        if isinstance(value, kind):
            value = value.__func__
    if isinstance(value, property):
        return [id(value)] + [id(getattr(f, "__code__", f)) for f in (value.fget, value.fset) if f is not None]
    return [id(value), id(getattr(value, "__code__", None))]


def fingerprint():
    seen, out = set(), {}
    for name in MODULES:
        module = sys.modules[name]
        for attr, value in sorted(vars(module).items()):
            key = f"{name}.{attr}"
            if inspect.isfunction(value):
                out[key] = _code(value)
            elif inspect.isclass(value):
                out[key] = [id(value)]
                if id(value) in seen:
                    continue
                seen.add(id(value))
                for cls_attr, member in vars(value).items():
                    if inspect.isfunction(member) or isinstance(member, (classmethod, staticmethod, property)):
                        out[f"{value.__module__}.{value.__qualname__}.{cls_attr}"] = _code(member)
    return out


def changed(before, after):
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
"""

BUILD_PAGE = FINGERPRINT + """
before = fingerprint()
import klpanel
from klpanel.views import components
root = klpanel.KLExplorer().__panel__().get_root()
after = fingerprint()
stock = all(components.current(n) is components.STOCK[n] for n in components.STOCK) and not components.FIGURE_HOOKS
print(json.dumps({"changed": changed(before, after), "stock": stock, "server": "klpanel.server" in sys.modules,
                  "models": len(root.references())}))
"""

INSTALL_UNINSTALL = FINGERPRINT + """
import klpanel
from klpanel.server import speedups
from klpanel.views import components
stock = fingerprint()
result = {}
for name in speedups.NAMES:
    assert speedups.module(name).install() is not False
    installed = fingerprint()
    active = speedups.active()
    speedups.module(name).uninstall()
    result[name] = {"installed_changes": len(changed(stock, installed)), "active": active,
                    "left": changed(stock, fingerprint()), "still_active": speedups.active()}
names = speedups.install_all("1")
all_changed = changed(stock, fingerprint())
speedups.uninstall_all()
result["all"] = {"names": names, "changed": len(all_changed), "left": changed(stock, fingerprint()),
                 "still_active": speedups.active(),
                 "stock_components": all(components.current(n) is components.STOCK[n] for n in components.STOCK)
                 and not components.FIGURE_HOOKS}
print(json.dumps(result))
"""


def _run(script: str, **env) -> dict:
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=600,
                         env={**os.environ, "PYTHONPATH": str(ROOT), **env})
    assert out.returncode == 0, out.stderr[-5000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_importing_klpanel_and_building_its_page_changes_no_library_function():
    result = _run(BUILD_PAGE, KLPANEL_SPEEDUPS="1")  # the switch only matters to install_all: nothing calls it
    assert result["changed"] == []
    assert result["stock"] and not result["server"]  # stock components; the views never import the server
    assert result["models"] > 100  # the page was built, Bokeh models and all


def test_every_speedup_installs_and_uninstalls_back_to_the_stock_libraries():
    result = _run(INSTALL_UNINSTALL)
    for name in speedups.NAMES:
        r = result[name]
        assert r["active"] == [name] and r["still_active"] == [] and r["left"] == [], (name, r)
    # the ones that patch library code change library functions; the others swap classes in klpanel's components
    assert all(result[n]["installed_changes"] > 0 for n in ("serialization", "onloop", "nodelay"))
    done = result["all"]
    assert done["names"] == list(speedups.NAMES) and done["changed"] > 0
    assert done["left"] == [] and done["still_active"] == [] and done["stock_components"]


@pytest.fixture
def other_versions(monkeypatch):
    monkeypatch.setattr(speedups, "installed_version", lambda package: "0.0.1")
    monkeypatch.setattr(speedups, "_warned", set())
    yield
    speedups.uninstall_all()


@pytest.mark.parametrize("name", [n for n in speedups.NAMES if speedups.module(n).WRITTEN_FOR])
def test_a_speedup_stands_down_with_one_warning_under_other_library_versions(name, other_versions, caplog):
    mod = speedups.module(name)
    with caplog.at_level(logging.WARNING, logger=speedups.__name__):
        assert mod.install() is False
        assert mod.install() is False
    assert not mod.installed() and name not in speedups.active()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and name in warnings[0].getMessage() and "0.0.1" in warnings[0].getMessage()
    assert speedups.report()[name]["stood_down"]


def test_the_installed_libraries_are_the_ones_the_speedups_were_written_for():
    """A library upgrade makes a speedup stand down: this test says so, so that it is re-measured or retired."""
    assert {n: speedups.mismatches(speedups.module(n).WRITTEN_FOR) for n in speedups.NAMES} == {
        n: {} for n in speedups.NAMES}


@pytest.mark.parametrize("setting, names", [
    ("1", list(speedups.NAMES)), ("", list(speedups.NAMES)), ("0", []),
    ("-ticker,-widgets", [n for n in speedups.NAMES if n not in ("ticker", "widgets")]),
    ("heap, onloop", ["onloop", "heap"]), ("onloop,-onloop", [])])
def test_klpanel_speedups_chooses(setting, names):
    assert speedups.chosen(setting) == names


def test_an_unknown_speedup_name_is_an_error():
    with pytest.raises(ValueError, match="frames"):
        speedups.chosen("-frames")


def test_status_is_for_the_loopback():
    assert loopback("127.0.0.1") and loopback("::1")
    assert not loopback("10.0.0.5") and not loopback("203.0.113.9") and not loopback("")


def test_novalidate_turns_bokehs_error_diagnostics_off_unless_the_environment_chooses(monkeypatch):
    from bokeh.settings import settings
    novalidate = speedups.module("novalidate")
    try:
        monkeypatch.setenv("BOKEH_PERFORM_ERROR_DIAGNOSTICS", "1")
        novalidate.install()
        assert settings.perform_error_diagnostics() is True and settings.perform_document_validation() is False
        novalidate.uninstall()
        monkeypatch.delenv("BOKEH_PERFORM_ERROR_DIAGNOSTICS")
        novalidate.install()
        assert settings.perform_error_diagnostics() is False
    finally:
        novalidate.uninstall()
    assert settings.perform_error_diagnostics() is True and settings.perform_document_validation() is True


def test_defaults_reads_a_models_theme_values_as_bokeh_does():
    from bokeh.core.has_props import HasProps
    from bokeh.models import Range1d
    defaults = speedups.module("defaults")
    plain, themed, cleared = Range1d(), Range1d(), Range1d()
    themed.apply_theme({"start": 2.0})
    cleared.apply_theme({"start": 2.0})
    cleared.apply_theme({})  # Bokeh deletes the values it kept
    stock = [m.themed_values() for m in (plain, themed, cleared)]
    assert stock == [None, {"start": 2.0}, None]
    try:
        assert defaults.install() and HasProps.themed_values is defaults.themed_values
        assert [m.themed_values() for m in (plain, themed, cleared)] == stock
        assert (plain.start, themed.start, cleared.start) == (0, 2.0, 0)
        themed.apply_theme({"start": 3.0})
        assert themed.themed_values() == {"start": 3.0} and themed.start == 3.0
    finally:
        defaults.uninstall()
    assert HasProps.themed_values is not defaults.themed_values


def test_nomathjax_leaves_the_mathjax_bundle_off_a_page_with_nothing_for_it_to_typeset():
    import panel as pn
    from bokeh.document import Document
    from bokeh.resources import Resources
    from panel.io.resources import bundle_resources

    from klpanel.views.app import KLExplorer

    nomathjax = speedups.module("nomathjax")
    page = Document()
    page.add_root(pn.panel(KLExplorer()).get_root(page))  # every section (outside a server nothing is deferred)
    tex = Document()
    tex.add_root(pn.pane.Markdown("Inline $x^2$ math").get_root(tex))

    def loads_mathjax(doc) -> bool:  # asked of every model: Panel asks of a page's roots, whichever a template makes
        return any("bokeh-mathjax" in str(f) for f in bundle_resources(list(doc.models),
                                                                       Resources(mode="server")).js_files)

    assert loads_mathjax(page) and loads_mathjax(tex)  # stock Panel: any Panel HTML model brings MathJax's 1.8 MB
    try:
        assert nomathjax.install()
        assert not any(nomathjax.typesets_math(m) for m in page.models)  # klpanel's panes never ask for MathJax
        assert not loads_mathjax(page) and loads_mathjax(tex)
    finally:
        nomathjax.uninstall()
    assert loads_mathjax(page)


def test_panelayout_makes_a_panes_row_on_first_use_as_panel_makes_it():
    import panel as pn
    import param

    panelayout = speedups.module("panelayout")

    def rows():
        pane = pn.pane.Markdown("x", width=100, margin=(5, 10), sizing_mode="fixed")
        pane.width = 150  # before the row is made: the row is made in step
        early = (pane.layout.width, pane.layout.margin, pane.layout.sizing_mode, list(pane.layout))
        pane.margin = 20  # after: the row follows
        return early, pane.layout.width, type(pn.panel("text")).__name__

    class P(param.Parameterized):
        x = param.Number(1)

    stock = rows()
    try:
        assert panelayout.install()
        pane = pn.pane.HTML("x")
        assert "_klpanel_layout_args" in pane.__dict__  # no row yet
        lazy = rows()
        assert type(pn.Param(P()).layout) is pn.Column  # a pane that makes its own layout keeps it
    finally:
        panelayout.uninstall()
    assert lazy[0][:3] == stock[0][:3] and lazy[1:] == stock[1:] and len(lazy[0][3]) == 1


def test_offload_builds_klpanels_page_files_in_bokehs_worker_and_no_other_file(tmp_path):
    """Bokeh keeps a served file's build on the event loop; with ``offload`` klpanel's page files (the package's and
    the repository's ``apps/kl_explorer.py``) go to its worker, as a function app's do, and any other file stays."""
    from bokeh.application import Application
    from bokeh.application.handlers.script import ScriptHandler
    from bokeh.server.contexts import ApplicationContext

    offload = speedups.module("offload")
    other = tmp_path / "other.py"
    other.write_text("x = 1\n")
    contexts = {path: ApplicationContext(Application(ScriptHandler(filename=str(path))))
                for path in (*offload.PAGE_FILES, other)}
    assert all(path.exists() for path in offload.PAGE_FILES)
    try:
        assert not any(c._can_initialize_document_in_worker() for c in contexts.values())  # Bokeh's own rule
        assert offload.install()
        assert {p: c._can_initialize_document_in_worker() for p, c in contexts.items()} == {
            **{p: True for p in offload.PAGE_FILES}, other: False}
    finally:
        offload.uninstall()
    assert not any(c._can_initialize_document_in_worker() for c in contexts.values())

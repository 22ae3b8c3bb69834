"""klpanel.server.speedups.serialization builds the same PATCH-DOC messages as Bokeh's own code, for changes that refer to
models the browser has (sent by reference) and to new ones (sent whole), and leaves the document's record of
what was sent the same."""

import json

import numpy as np
import pytest
from bokeh.document import Document
from bokeh.models import ColumnDataSource, Div, InlineStyleSheet, Range1d
from bokeh.plotting import figure
from bokeh.protocol import Protocol

from klpanel.server.speedups import serialization


def _page():
    doc = Document()
    source = ColumnDataSource({"x": np.arange(5.0), "y": np.arange(5.0) ** 2})
    fig = figure(x_range=Range1d(0, 1))
    fig.line("x", "y", source=source)
    div = Div(text="a")
    doc.add_root(fig)
    doc.add_root(div)
    doc.models.flush_synced()  # as after the page was sent
    return doc, fig, source, div


def _changes(doc, fig, source, div):
    events = []
    doc.on_change(lambda event: events.append(event))
    source.data = {"x": np.arange(3.0), "y": np.ones(3)}
    source.stream({"x": [9.0], "y": [1.0]})
    fig.x_range.end = 4.0
    div.stylesheets = [InlineStyleSheet(css="p {color: red}")]  # a new model: sent whole
    fig.renderers[0].glyph.line_color = "red"
    # plain values the encoder takes a short cut for: non-finite floats, big and negative ints, unicode text
    source.stream({"x": [float("nan"), float("inf"), -float("inf"), 2.0 ** 60], "y": [1, -3, 2 ** 62, 0.5]})
    div.text = "μ σ ‖ √"
    return events


def _message(events):
    """The message's content (binary buffers named by their order: their ids are fresh per message) and buffers."""
    msg = Protocol().create("PATCH-DOC", events)
    text = msg.content_json
    for k, buffer in enumerate(msg.buffers):
        text = text.replace(f'"{buffer.id}"', f'"buffer-{k}"')
    return json.loads(text), [b.to_bytes() for b in msg.buffers]


@pytest.fixture(autouse=True)
def back_to_stock():
    """Each test installs the speedup where it wants it; the process goes on with Bokeh's own code."""
    yield
    serialization.uninstall()


@pytest.fixture
def stock():
    serialization.uninstall()


def test_messages_match_bokeh(stock):
    doc, fig, source, div = _page()
    events = _changes(doc, fig, source, div)
    new_before = set(doc.models._new_models)
    assert new_before  # the stylesheet is new
    expected = _message(events)
    new_after_stock = set(doc.models._new_models)

    doc.models._new_models = new_before  # the same document state again, now with klpanel's serializer
    assert serialization.install()
    got = _message(events)
    assert json.dumps(got[0], sort_keys=True) == json.dumps(expected[0], sort_keys=True)
    assert got[1] == expected[1]
    assert doc.models._new_models == new_after_stock == set()  # the new stylesheet now counts as sent


def test_a_known_model_is_a_reference_and_a_new_one_whole():
    assert serialization.install()
    doc, fig, source, div = _page()
    sheet = InlineStyleSheet(css="p {}")
    events = []
    doc.on_change(lambda event: events.append(event))
    div.stylesheets = [sheet]
    fig.x_range = Range1d(0, 2)  # a new range; the figure itself is known
    content, _ = _message(events)
    text = json.dumps(content)
    assert f'"id": "{sheet.id}"' in text and '"p {}"' in text  # defined in full
    first = content["events"][0]
    assert first["model"] == {"id": div.id}  # the changed model: by reference only
    assert len(text) < 2000  # nothing else of the page travels


def test_install_is_idempotent_and_reports_support():
    assert serialization.supported()
    assert serialization.install() and serialization.install()


def test_incoming_patches_apply_as_bokehs_own_code_applies_them(stock):
    """A browser's patch (values, a stream with binary buffers, a new model defined in it) leaves a document
    exactly as Bokeh's ``apply_json_patch`` does, and the change events fire the same way."""
    from bokeh.document import Document

    before_doc = _page()[0]
    before = before_doc.to_json()
    untouched = None
    doc, fig, source, div = _page()
    for model, twin in zip(sorted(doc.models, key=lambda m: m.id), sorted(before_doc.models, key=lambda m: m.id)):
        model._id = twin.id  # the same ids as the copies below, so the patch names their models
    msg = Protocol().create("PATCH-DOC", _changes(doc, fig, source, div))

    results = []
    for install in (False, True):
        if install:
            assert serialization.install()
        target = Document.from_json(before)
        seen = []
        target.on_change(lambda event: seen.append(type(event).__name__))
        untouched = _state(target)
        msg.apply_to_document(target)
        results.append((_state(target), seen))
    assert results[0][0] != untouched  # the patch did something
    assert results[1][0] == results[0][0]
    assert results[1][1] == results[0][1] and results[0][1]


def _state(doc):
    """Every model's property values, models by id and arrays as lists (comparable across documents)."""
    from bokeh.model import Model

    def plain(v):
        if isinstance(v, Model):
            return ("model", v.id)
        if isinstance(v, np.ndarray):
            return ("array", repr(v.tolist()))
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        return repr(v) if isinstance(v, float) else v
    return {m.id: plain(m.properties_with_values(include_defaults=False)) for m in doc.models}


def test_a_patch_naming_a_model_never_seen_is_an_error():
    from bokeh.core.serialization import UnknownReferenceError
    from bokeh.document import Document

    assert serialization.install()
    doc = Document()
    doc.add_root(Div(text="a"))
    patch = {"events": [{"kind": "ModelChanged", "model": {"id": "p-nowhere"}, "attr": "text", "new": "b"}]}
    with pytest.raises(UnknownReferenceError):
        doc.apply_json_patch(patch)

"""PATCH-DOC messages whose cost follows the patch, not the size of the page.

Bokeh serializes every outgoing patch with a reference set of *every* synced model of the document, and
deserializes every incoming one with a fresh ``{id: model}`` map of the whole page; :class:`SyncedReferences` and
:class:`DocumentDeserializer` look models up lazily instead. The messages are Bokeh's own
(``tests/test_serialization.py``).
"""

from __future__ import annotations

import logging
from collections import ChainMap
from typing import Any

from bokeh.core.serialization import Deserializer, Serializer, UnknownReferenceError
from bokeh.document import Document
from bokeh.document.events import DocumentPatchedEvent
from bokeh.model import Model
from bokeh.protocol.messages.patch_doc import PatchJson, patch_doc as PatchDoc

from . import fits

log = logging.getLogger(__name__)

WRITTEN_FOR = {"bokeh": "3.10"}

_STOCK_CREATE = PatchDoc.__dict__["create"]  # the classmethod itself
_STOCK_APPLY = Document.__dict__["apply_json_patch"]


class SyncedReferences(Serializer):
    """A serializer that treats a document's synced models as known references, looked up on demand."""

    def __init__(self, document: Document, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._manager = document.models

    def _synced(self, obj: Any) -> bool:
        manager = self._manager
        return (isinstance(obj, Model) and manager._models.get(obj.id) is obj
                and obj not in manager._new_models)

    def encode(self, obj: Any):
        # plain numbers and strings (most of a frame's values) are never references nor circular: Bokeh's
        # reference lookup and circularity bookkeeping per value are skipped, the encoding is Bokeh's own
        kind = type(obj)
        if kind is float:
            return self._encode_float(obj)
        if kind is str:
            return self._encode_str(obj)
        if kind is int:
            return self._encode_int(obj)
        return super().encode(obj)

    def has_ref(self, obj: Any) -> bool:
        return super().has_ref(obj) or self._synced(obj)

    def get_ref(self, obj: Any):
        ref = super().get_ref(obj)
        if ref is None and self._synced(obj):
            ref = self._references[id(obj)] = obj.ref
        return ref


def _create(cls, events, **metadata):
    """``patch_doc.create`` of Bokeh 3.10 with :class:`SyncedReferences` in place of the up-front reference set."""
    header = cls.create_header()
    if not events:
        raise ValueError("PATCH-DOC message requires at least one event")
    docs = {event.document for event in events}
    if len(docs) != 1:
        raise ValueError("PATCH-DOC message configured with events for more than one document")
    [doc] = docs
    serializer = SyncedReferences(doc)
    patch_json = PatchJson(events=serializer.encode(events))
    doc.models.flush_synced(lambda model: not serializer.has_ref(model))
    msg = cls(header, metadata, patch_json)
    msg.add_buffers(*serializer.buffers)
    return msg


class DocumentDeserializer(Deserializer):
    """Bokeh's deserializer with the document's own ``{id: model}`` map as its references, read when a reference is
    met, instead of a copy of it built per incoming message (models the patch defines go in a map of their own)."""

    def __init__(self, document: Document, *, setter=None) -> None:
        super().__init__(None, setter=setter)
        self._references = ChainMap({}, document.models._models)


def _apply_json_patch(self, patch_json, *, setter=None) -> None:
    """``Document.apply_json_patch`` of Bokeh 3.10 with :class:`DocumentDeserializer` (Bokeh's builds its
    deserializer from ``list(self.models)``: a pass over every model of the page per slider step)."""
    deserializer = DocumentDeserializer(self, setter=setter)
    try:
        patch = deserializer.deserialize(patch_json)
    except UnknownReferenceError as error:
        if self.models.seen(error.id):
            log.debug("Dropping a patch because it contains a previously known reference (id=%r).", error.id)
            return
        raise
    events = patch["events"]
    assert isinstance(events, list)
    for event in events:
        DocumentPatchedEvent.handle_event(self, event, setter)


def supported() -> bool:
    """Whether this Bokeh has what :class:`SyncedReferences` reads (checked on a fresh document)."""
    models = Document().models
    return (isinstance(getattr(models, "_models", None), dict) and isinstance(getattr(models, "_new_models", None), set)
            and callable(getattr(DocumentPatchedEvent, "handle_event", None)) and callable(models.seen)
            and "_references" in Deserializer.__annotations__
            and hasattr(models, "synced_references")
            and callable(getattr(Serializer, "get_ref", None)) and "_references" in Serializer.__annotations__)


def installed() -> bool:
    return PatchDoc.__dict__["create"].__func__ is _create


def install() -> bool:
    """Use :class:`SyncedReferences` for every PATCH-DOC message this process sends and
    :class:`DocumentDeserializer` for every one it applies (idempotent); False (stock behaviour kept) outside
    ``WRITTEN_FOR``."""
    if installed():
        return True
    if not fits("serialization", WRITTEN_FOR) or not supported():
        return False
    PatchDoc.create = classmethod(_create)
    Document.apply_json_patch = _apply_json_patch
    return True


def uninstall() -> None:
    """Back to Bokeh's own ``patch_doc.create`` and ``Document.apply_json_patch``."""
    PatchDoc.create = _STOCK_CREATE
    Document.apply_json_patch = _STOCK_APPLY

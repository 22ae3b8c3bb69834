"""No integrity check of each new session's whole document, and no signature check of each callback it registers.

After the app has built a session's page, Bokeh validates the document (``Document.validate``: every model's
``check_*`` rules, which only log warnings such as an empty layout), a walk over all of the page's models on every
new session. The page is the same for every session, and the served tests run it with the check on as well
(``KLPANEL_SPEEDUPS=0``); this turns Bokeh's own setting ``validate_doc`` (``BOKEH_VALIDATE_DOC``) off in the
served process.

Bokeh's "expensive error diagnostics" (``perform_error_diagnostics``, ``BOKEH_PERFORM_ERROR_DIAGNOSTICS``) check the
signature of every callback registered with ``on_change`` (``inspect.signature``; Panel registers ~250 for a new
page, ~13 ms of each session's build) and suggest names in attribute errors; they are off too, unless the
environment chooses them.
"""

from __future__ import annotations

import os

from bokeh.settings import settings

WRITTEN_FOR: dict[str, str] = {}  # a public Bokeh setting: no library internals

_installed = False


def installed() -> bool:
    return _installed


def install() -> bool:
    """Stop validating each new session's document and its callbacks' signatures (idempotent)."""
    global _installed
    settings.perform_document_validation.set_value(False)
    if "BOKEH_PERFORM_ERROR_DIAGNOSTICS" not in os.environ:
        settings.perform_error_diagnostics.set_value(False)
    _installed = True
    return True


def uninstall() -> None:
    global _installed
    if _installed:
        settings.perform_document_validation.unset_value()
        settings.perform_error_diagnostics.unset_value()
        _installed = False

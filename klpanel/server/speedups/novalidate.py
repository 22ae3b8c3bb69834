"""No integrity check of each new session's whole document.

After the app has built a session's page, Bokeh validates the document (``Document.validate``: every model's
``check_*`` rules, which only log warnings such as an empty layout), a walk over all of the page's models on every
new session. The page is the same for every session, and the served tests run it with the check on as well
(``KLPANEL_SPEEDUPS=0``); this turns Bokeh's own setting ``validate_doc`` (``BOKEH_VALIDATE_DOC``) off in the
served process.
"""

from __future__ import annotations

from bokeh.settings import settings

WRITTEN_FOR: dict[str, str] = {}  # a public Bokeh setting: no library internals

_installed = False


def installed() -> bool:
    return _installed


def install() -> bool:
    """Stop validating each new session's document (idempotent)."""
    global _installed
    settings.perform_document_validation.set_value(False)
    _installed = True
    return True


def uninstall() -> None:
    global _installed
    if _installed:
        settings.perform_document_validation.unset_value()
        _installed = False

"""The page ``panel serve`` runs (``klpanel serve`` passes this file; ``apps/kl_explorer.py`` runs :func:`serve_page`).

It lives inside the package so that an installed klpanel (wheel, non-editable) can serve itself; the file's name
is the page's URL path, ``/kl_explorer``.
"""

import panel as pn

from klpanel import KLExplorer
from klpanel.server import reuse


def serve_page():
    """Load Panel's extensions for this session and mark a fresh explorer servable, its styles from this server."""
    doc = pn.state.curdoc
    reuse.local_styles(doc)
    with doc.models.freeze():  # the document's models collected once, not again at each root the template adds
        pn.extension("katex")
        return KLExplorer().servable()


# Bokeh runs a served file as a fresh module (named ``bokeh_app_...``) per session; an import builds nothing.
if __name__ != "klpanel.server.kl_explorer":
    serve_page()

"""The explorer app: ``panel serve apps/kl_explorer.py`` (or ``klpanel serve``, which adds the API)."""

import panel as pn

from klpanel import KLExplorer

pn.extension("katex", notifications=True)

KLExplorer().servable()

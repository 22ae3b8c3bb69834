"""The explorer with only its dynamics section (the one with a periodic callback): a light page, so that the
CI run of ``test_session_leak.py`` opens its tabs in seconds on a loaded 2-core machine. The full run serves
``apps/kl_explorer.py`` (``KLPANEL_LEAK_APP=full``)."""

import panel as pn

from klpanel import KLExplorer

pn.extension("katex", notifications=True)

KLExplorer(sections=["dynamics"]).servable()

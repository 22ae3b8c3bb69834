"""The explorer app: ``panel serve apps/kl_explorer.py`` (or ``klpanel serve``, which adds the API); the page itself
is :mod:`klpanel.server.kl_explorer`, inside the package so that an installed klpanel serves it too."""

from klpanel.server.kl_explorer import serve_page

serve_page()

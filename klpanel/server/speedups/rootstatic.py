"""The compressed scripts for an app that is also the server's index (``--index kl_explorer``, as ``klpanel serve``).

Panel serves the index app at ``/`` too, and Bokeh then gives that app a static route of its own,
``/static/(?!extensions/)(.*)`` with Bokeh's ``StaticHandler``, ahead of every plugin's routes: BokehJS (2 MB of a
new visitor's 3.6) went out uncompressed past :mod:`klpanel.server.assets`. This makes Bokeh's per-app static
routes (Panel's ``create_static_handler``, which Bokeh calls while it builds its routes) use the compressed handler,
which answers as Bokeh's does for anything it does not compress. Bokeh builds the routes before a ``--num-procs``
server forks and runs the setup in each process, so :mod:`klpanel.server.assets` installs this when it is imported
(a plugin is imported first), as the switch chooses.
"""

from __future__ import annotations

import bokeh.server.tornado as bokeh_tornado
from bokeh.server.views.static_handler import StaticHandler

from . import Patches

WRITTEN_FOR = {"bokeh": "3.10", "panel": "1.10"}

_stock = bokeh_tornado.create_static_handler


def create_static_handler(prefix, key, app):
    from ..assets import CompressedStaticHandler
    route, handler, kwargs = _stock(prefix, key, app)
    return route, CompressedStaticHandler if handler is StaticHandler else handler, kwargs


_patches = Patches("rootstatic", WRITTEN_FOR, [(bokeh_tornado, "create_static_handler", create_static_handler)])
install, uninstall, installed = _patches.install, _patches.uninstall, _patches.installed

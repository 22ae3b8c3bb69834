"""The page's scripts and styles sent gzip-compressed from memory: mount with ``panel serve ... --plugins
klpanel.server.assets`` (``klpanel serve`` does).

Bokeh's ``/static/`` files (BokehJS) and its extensions' (``/static/extensions/``: Panel's bundles, KaTeX, FAST)
are ~3.6 MB a new visitor fetches. Bokeh's handlers send them uncompressed and read each file again for every visitor,
with a thread hop per 64 KB. Here a file is compressed once per process, on its first request, and a browser that
accepts gzip gets it from that one buffer: ~1 MB on the wire, and about a tenth of a real browser's load of the
server's CPU. Other requests (no gzip, a byte range, an image or font) go to Bokeh's handlers unchanged. The routes
take precedence over Bokeh's own because Bokeh adds a plugin's routes before its top-level ones; the static route
Bokeh gives an app that is also the index (``--index``) comes before them, and the speedup ``rootstatic``, installed
when this module is imported, gives that route the compressed handler too.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime

from bokeh.embed.bundle import extension_dirs
from bokeh.server.views.multi_root_static_handler import MultiRootStaticHandler
from bokeh.server.views.static_handler import StaticHandler
from tornado.ioloop import IOLoop

#: the files worth compressing (text); images and fonts are compressed already
TEXT_SUFFIXES = (".js", ".mjs", ".css", ".json", ".map", ".svg", ".html", ".txt")
MAX_BYTES = 16 * 2**20  # a larger file is sent by Bokeh's handler (it is not kept in memory)
LEVEL = 6  # zlib's default: level 9 takes half as long again for 0.3 % fewer bytes


@dataclass(frozen=True)
class Compressed:
    """A file's gzip body, its entity tag (of the raw content, marked as the gzip form) and modification time."""

    body: bytes
    etag: str
    modified: datetime


#: absolute path -> its compressed form (the files of an installed package do not change while it runs)
_compressed: dict[str, Compressed] = {}


def compress(path: str) -> Compressed | None:
    """``path`` read and compressed (None when it is too large to keep)."""
    stat = os.stat(path)
    if stat.st_size > MAX_BYTES:
        return None
    with open(path, "rb") as file:
        raw = file.read()
    return Compressed(gzip.compress(raw, LEVEL, mtime=0), f'"{hashlib.sha1(raw).hexdigest()}-gzip"',
                      datetime.fromtimestamp(int(stat.st_mtime), UTC))


def accepts_gzip(header: str) -> bool:
    """Whether an ``Accept-Encoding`` header accepts gzip (``gzip``, ``gzip;q=0.5``, ``*``; not ``gzip;q=0``)."""
    for item in header.split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip().lower() in ("gzip", "*"):
            q = params.strip().lower().removeprefix("q=")
            try:
                return not params.strip() or float(q) > 0
            except ValueError:
                return False
    return False


class _Gzip:
    """Serve a text file gzip-compressed from memory when the request accepts gzip and asks for the whole file."""

    _entry: Compressed | None = None

    async def get(self, path: str, include_body: bool = True) -> None:
        if (not path.endswith(TEXT_SUFFIXES) or "Range" in self.request.headers
                or not accepts_gzip(self.request.headers.get("Accept-Encoding", ""))):
            return await super().get(path, include_body)
        self.path = self.parse_url_path(path)
        absolute = self.get_absolute_path(self.root, self.path)
        entry = _compressed.get(absolute)  # a cached path was validated on its first request
        if entry is None:
            absolute = self.validate_absolute_path(self.root, absolute)  # 403/404 outside the root or missing
            if absolute is None:
                return
            entry = await IOLoop.current().run_in_executor(None, compress, absolute)
            if entry is None:
                return await super().get(path, include_body)
            _compressed[absolute] = entry
        self.absolute_path, self.modified, self._entry = absolute, entry.modified, entry
        self.set_headers()  # type, entity tag, caching (a versioned URL is cached for years), as Bokeh's handler
        self.clear_header("Accept-Ranges")
        self.set_header("Vary", "Accept-Encoding")
        if self.should_return_304():
            self.set_status(304)
            return
        self.set_header("Content-Encoding", "gzip")
        self.set_header("Content-Length", len(entry.body))
        if include_body:
            self.write(entry.body)

    def compute_etag(self) -> str | None:
        return self._entry.etag if self._entry is not None else super().compute_etag()


class CompressedStaticHandler(_Gzip, StaticHandler):
    """BokehJS's files (``/static/``)."""


class CompressedExtensionsHandler(_Gzip, MultiRootStaticHandler):
    """The Bokeh extensions' files (``/static/extensions/``: Panel's, and the bundles Panel ships)."""


ROUTES = [(r"/static/extensions/(.*)", CompressedExtensionsHandler, {"root": extension_dirs}),
          (r"/static/(.*)", CompressedStaticHandler)]


def _install_rootstatic() -> None:
    """The speedup ``rootstatic`` (if ``KLPANEL_SPEEDUPS`` chooses it), now: Bokeh builds its routes before a
    ``--num-procs`` server runs the setup."""
    from . import speedups
    if "rootstatic" in speedups.chosen():
        speedups.module("rootstatic").install()


_install_rootstatic()

"""The page's scripts and styles are sent gzip-compressed (klpanel.server.assets): the same bytes as Bokeh's own
handler sends, a 304 for a cached copy, Bokeh's caching of versioned URLs, and nothing outside the static roots."""

from __future__ import annotations

import gzip
import http.client
import re
from urllib.parse import quote, urljoin, urlsplit

import pytest
import requests

from klpanel.server import speedups
from klpanel.server.assets import TEXT_SUFFIXES, accepts_gzip
from pagetools import AppServer

GZIP = {"Accept-Encoding": "gzip, deflate, br, zstd"}  # what Chromium sends


def raw_get(server, path: str, headers: dict):
    """``GET path`` as sent (no client-side normalisation of ``..``), the body as it came (not decoded)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def page_assets(server) -> list[str]:
    """The scripts and styles the served page names in its HTML (BokehJS, Panel's bundles, their extensions'; not
    its icon)."""
    html = requests.get(server.app_url, timeout=30).text
    urls = {urlsplit(urljoin(server.app_url, ref)) for ref in re.findall(r'(?:src|href)="([^"]*static/[^"]+)"', html)}
    return sorted(quote(url.path) + (f"?{url.query}" if url.query else "") for url in urls
                  if url.path.endswith(TEXT_SUFFIXES))


def test_the_pages_scripts_and_styles_arrive_compressed_and_unchanged(app_server):
    assets = page_assets(app_server)
    assert any("bokeh.min.js" in a for a in assets) and any("panel.min.js" in a for a in assets), assets
    sent = plain = 0
    for path in assets:
        status, headers, body = raw_get(app_server, path, GZIP)
        assert status == 200, path
        assert headers.get("Content-Encoding") == "gzip" and headers.get("Vary") == "Accept-Encoding", (path, headers)
        assert int(headers["Content-Length"]) == len(body)
        status, identity_headers, identity = raw_get(app_server, path, {"Accept-Encoding": "identity"})
        assert status == 200 and "Content-Encoding" not in identity_headers
        assert gzip.decompress(body) == identity, path  # the same file, byte for byte
        assert headers["Content-Type"] == identity_headers["Content-Type"]
        if "?v=" in path:  # a versioned URL is cached by the browser, as Bokeh's handler has it
            assert "max-age=" in headers.get("Cache-Control", ""), (path, headers)
        # a browser's cached copy is confirmed, not sent again
        status, _, body_again = raw_get(app_server, path, {**GZIP, "If-None-Match": headers["Etag"]})
        assert status == 304 and body_again == b""
        sent, plain = sent + len(body), plain + len(identity)
    assert sent < plain / 3, (sent, plain)  # ~3.6 MB of scripts and styles as ~1 MB


@pytest.mark.parametrize("path", ["/static/extensions/panel/../../../../../../etc/passwd",
                                  "/static/extensions/panel/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
                                  "/static/js/../../../../../../../etc/passwd", "/static/extensions/nothere/x.js",
                                  "/static/js/nothere.js"])
def test_nothing_outside_the_static_roots_is_served(app_server, path):
    status, _, body = raw_get(app_server, path, GZIP)
    assert status in (403, 404), (path, status)
    assert b"root:" not in body


def test_a_client_without_gzip_or_asking_for_a_range_gets_bokehs_own_answer(app_server):
    path = next(a for a in page_assets(app_server) if "bokeh.min.js" in a)
    status, headers, body = raw_get(app_server, path, {"Accept-Encoding": "gzip;q=0"})
    assert status == 200 and "Content-Encoding" not in headers and len(body) == int(headers["Content-Length"]) > 10**6
    status, headers, body = raw_get(app_server, path, {**GZIP, "Range": "bytes=0-9"})
    assert status == 206 and len(body) == 10 and "Content-Encoding" not in headers


@pytest.mark.parametrize("header, accepted", [
    ("gzip", True), ("gzip, deflate, br, zstd", True), ("br;q=1, gzip;q=0.5", True), ("*", True), ("GZIP", True),
    ("gzip;q=0", False), ("gzip;q=0.0", False), ("identity", False), ("", False), ("deflate, br", False),
    ("gzip;q=x", False)])
def test_accept_encoding_is_read_as_http_says(header, accepted):
    assert accepts_gzip(header) is accepted


def test_with_the_app_as_the_index_in_forked_processes_bokehjs_arrives_compressed_too(tmp_path):
    """``klpanel serve`` passes ``--index kl_explorer``: Bokeh's static route for the index app comes before the
    plugin's (the speedup ``rootstatic`` mends it), and with ``--num-procs`` the routes exist before the setup runs."""
    server = AppServer(tmp_path / "server.log", extra_args=["--index", "kl_explorer", "--num-procs", "2"])
    try:
        assets = page_assets(server)
        assert any("bokeh.min.js" in a for a in assets), assets
        rootstatic = "rootstatic" in speedups.chosen()  # the CI's second pass runs with the speedups off
        for path in assets:
            status, headers, _ = raw_get(server, path, GZIP)
            # without the speedup, Bokeh's route for the index app sends BokehJS (``/static/js/``) as it is
            compressed = rootstatic or path.startswith("/static/extensions/")
            assert status == 200 and (headers.get("Content-Encoding") == "gzip") is compressed, (path, headers)
        assert requests.get(server.url + "/", timeout=30).status_code == 200  # the index still serves the app
    finally:
        server.stop()
    assert not server.errors(), server.errors()

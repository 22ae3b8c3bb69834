"""Pages served from kept sessions (:mod:`klpanel.server.reuse`), against a real server with Bokeh's Python client:
the kept sessions are the server's own (one per theme, made before health says ready), a link cannot make the
server keep more, a visitor's own session follows its link's state, and its page links its styles from this
server (Panel pointed them at its CDN for a session built from a kept page's token)."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
import requests
from pagetools import AppServer
from support import Visitor

from klpanel.server import reuse, speedups


@pytest.mark.parametrize("query, key", [
    ({}, ("/kl_explorer", "dark")), ({"theme": [b"dark"]}, ("/kl_explorer", "dark")),
    ({"theme": [b"light"]}, ("/kl_explorer", "default")), ({"theme": [b"'Default'"]}, ("/kl_explorer", "default")),
    ({"theme": [b"x" * 500]}, ("/kl_explorer", "dark")), ({"theme": [b"\xff\xfe"]}, ("/kl_explorer", "dark")),
])
def test_a_pages_key_is_its_path_and_one_of_two_themes(query, key):
    assert reuse.page_key(SimpleNamespace(path="/kl_explorer/", arguments=query)) == key


@pytest.mark.parametrize("argv, port", [
    (["panel", "serve", "app.py"], 5006), (["panel", "serve", "app.py", "--port", "5077"], 5077),
    (["panel", "serve", "--port=6000", "app.py"], 6000), (["panel", "serve", "--port"], 5006),
    (["panel", "serve", "--port", "abc"], 5006),
])
def test_the_kept_pages_are_requested_on_the_servers_own_port(argv, port):
    assert reuse.port_of(argv) == port


@pytest.mark.parametrize("argv, paths", [
    (["/x/panel/__main__.py", "serve", "/a/klpanel/server/kl_explorer.py", "--setup", "/a/startup.py"],
     ["/kl_explorer"]),
    (["panel", "serve", "apps/dynamics_page.py", "--port", "1", "--setup", "apps/server_setup.py"], ["/dynamics_page"]),
    (["panel", "serve", "a.py", "b.py", "--index", "a.py"], ["/a", "/b"]),
])
def test_the_kept_pages_are_the_served_apps(argv, paths):
    assert reuse.app_paths(argv) == paths


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = AppServer(tmp_path_factory.mktemp("reuse") / "server.log", extra_args=["--plugins", "klpanel.server.admin"])
    yield server
    server.stop()


def status(server) -> dict:
    return requests.get(f"{server.url}/status/sessions", timeout=60).json()


def test_the_kept_pages_are_the_servers_own_one_per_theme(server):
    first = status(server)  # health said ready (AppServer waited for it): both pages kept, no visitor yet
    assert first["kept_sessions"] == 2 and first["sessions"] == 0 and first["connections"] == 0, first
    for value in ("light", "default", "dark", "nonsense", "x" * 200, "LIGHT"):
        requests.get(f"{server.app_url}?theme={value}", timeout=120).raise_for_status()
    assert status(server)["kept_sessions"] == 2


def test_a_visitors_session_follows_its_link_and_links_this_servers_styles(server):
    visitor = Visitor(f"{server.app_url}?spread=2.5&mu=-1.25")
    try:
        assert visitor.slider("Spread") == 2.5 and visitor.slider("μ (mean of q)") == -1.25
        assert "static/extensions/panel" in visitor.doc
        assert re.findall(r"https?://cdn[^\"]*", visitor.doc) == []
    finally:
        visitor.close()
    assert not server.errors(), server.errors()


def test_each_page_is_the_kept_page_with_its_own_token(server):
    """Speedup ``pages``: the kept page is rendered once; each GET gets its own token (its link's state) in it."""
    pages = [requests.get(f"{server.app_url}?mu={mu}", timeout=120).text for mu in (-1.25, 1.5)]
    tokens = [re.search(r'"token":\s*"([^"]+)"', page).group(1) for page in pages]
    assert tokens[0] != tokens[1]
    if "pages" in speedups.chosen():
        assert pages[0].replace(tokens[0], "") == pages[1].replace(tokens[1], "")
    for mu in (1.5, -0.5):  # each visitor's session is its own link's
        visitor = Visitor(f"{server.app_url}?mu={mu}")
        try:
            assert visitor.slider("μ (mean of q)") == mu
        finally:
            visitor.close()


def test_the_page_loads_no_mathjax_bundle_with_nothing_for_it_to_typeset(server):
    """Speedup ``nomathjax``: the served page leaves out Bokeh's MathJax bundle (1.8 MB; its formulas are KaTeX's),
    which stock Panel adds to any page with an HTML pane."""
    page = requests.get(server.app_url, timeout=120).text
    assert "static/js/bokeh.min.js" in page and "katex" in page
    assert ("bokeh-mathjax" in page) == ("nomathjax" not in speedups.chosen()), "bokeh-mathjax" in page

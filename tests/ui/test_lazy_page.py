"""Sections below the first screen arrive when scrolled to (klpanel.views.lazy), in Chromium against the served app:
the first screen answers before anything else has loaded, a section further down is its heading and a "loading"
line until the reader gets near it, then the section itself, working."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from klpanel import Approximation, Target, divergences

from pagetools import (LOAD_TIMEOUT_MS, js, placeholders, set_slider, show_every_section, wait_first_screen,
                       wait_until, watch_console)

pytestmark = pytest.mark.ui

MU = "μ (mean of q)"


def readout(page, name: str) -> str:
    return page.locator(f"td.kl-readout[data-divergence='{name}']").inner_text()


@pytest.mark.parametrize("width, height", [(1400, 1000), (390, 844)])
def test_sections_below_the_first_screen_arrive_when_scrolled_to(browser, app_server, width, height):
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        page = context.new_page()
        errors = watch_console(page)
        page.goto(app_server.app_url, timeout=LOAD_TIMEOUT_MS)
        wait_first_screen(page)

        # the first screen answers while the sections below it are placeholders: μ moves the readouts
        dynamics = page.locator(".kl-lazy-placeholder", has_text="4. Optimization dynamics")
        expect(dynamics).to_contain_text("Loading")
        assert js(page, "() => klNamed('dynamics-now') === undefined")
        first_screen = js(page, "() => klModels().length")
        set_slider(page, MU, -1.5)
        exact = divergences.evaluate(Target(), Approximation(mu=-1.5, sigma=0.8), ["reverse_kl"])["reverse_kl"]
        wait_until(lambda: readout(page, "reverse_kl") == f"{exact:.3f}", what="the readout of the moved q")

        # scrolled to, the dynamics section replaces its placeholder, under the same heading, and works
        dynamics.scroll_into_view_if_needed()
        wait_until(lambda: js(page, "() => klNamed('dynamics-now') !== undefined"), what="the dynamics section")
        expect(dynamics).to_have_count(0)
        expect(page.locator("h2", has_text=re.compile(r"^4\. Optimization dynamics"))).to_have_count(1)
        page.locator("button", has_text=re.compile("^Step$")).click()
        wait_until(lambda: "step 1" in js(page, "() => klNamed('run-0-line-0').text"), what="Step to advance run 0")

        # the rest arrive as the page is scrolled through; the page then holds what it held before (all of it)
        show_every_section(page)
        assert placeholders(page) == 0
        assert js(page, "() => klModels().length") > first_screen
        assert not errors, errors
    finally:
        context.close()


def test_once_the_reader_scrolls_the_section_ahead_starts_before_it_is_reached(browser, app_server):
    """A visitor who does not scroll costs the first screen alone; one who scrolls is reading on, and the next
    section (within one and a half screens) starts before it is reached, the ones further down do not."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.goto(app_server.app_url, timeout=LOAD_TIMEOUT_MS)
        wait_first_screen(page)
        dynamics = page.locator(".kl-lazy-placeholder", has_text="4. Optimization dynamics")
        expect(dynamics).to_contain_text("Loading")
        page.wait_for_timeout(1000)  # unscrolled, it stays a placeholder (a fixed wait: nothing should happen)
        assert js(page, "() => klNamed('dynamics-now') === undefined")
        # a small scroll (the page's or its main area's): the dynamics section is still more than a screen below
        js(page, "() => { for (const el of [document.scrollingElement, document.querySelector('#main')]) "
                 "if (el) el.scrollBy(0, 40) }")
        wait_until(lambda: js(page, "() => klNamed('dynamics-now') !== undefined"), what="the section ahead")
        # the section after it waits, in the placeholder that follows it
        expect(page.locator(".kl-lazy-placeholder", has_text="5. The α spectrum")).to_contain_text("Loading")
    finally:
        context.close()

"""The fixed-σ family in Chromium against the served app: section 1's toggle holds q's σ at σ₀ (the Explore σ
slider follows it and snaps back), the readouts stay exact, the dynamics landscape becomes the curves over μ with
the runs on them, and the state survives in the URL."""

from __future__ import annotations

import math

import pytest

from klpanel import Approximation, Target, divergences

from pagetools import ARTIFACTS, columns, js, set_slider, slider_value, wait_until

pytestmark = pytest.mark.ui

SIGMA = "σ (std of q)"
SIGMA0 = "σ₀"


def readout(page, name: str) -> str:
    return page.locator(f"td.kl-readout[data-divergence='{name}']").inner_text()


def landscape_title(page) -> str:
    return js(page, "() => { const f = klNamed('dynamics-landscape'); return f ? f.title.text : ''; }")


def test_fixed_sigma_family_in_the_page(open_app):
    page = open_app()
    errors = page.console_errors
    assert "over (μ, σ)" in landscape_title(page)

    page.locator(".kl-section-optimal button", has_text="fixed σ").click()
    wait_until(lambda: js(page, "(t) => { const s = klTitled('Slider', t); return s !== undefined && s.visible; }",
                          SIGMA0), what="the σ₀ slider to show")
    wait_until(lambda: "σ₀ = 0.8" in landscape_title(page), what="the dynamics landscape to become the μ curves")
    assert js(page, "() => klNamed('klpanel-curve-reverse_kl') !== undefined")

    # σ₀ moves q's σ with it; the readouts are the exact divergences at (μ, σ₀)
    set_slider(page, SIGMA0, 1.2)
    wait_until(lambda: slider_value(page, SIGMA) == 1.2, what="the Explore σ slider to follow σ₀")
    exact = divergences.evaluate(Target(), Approximation(mu=0.0, sigma=1.2), ["reverse_kl", "jsd"])
    for name in ("reverse_kl", "jsd"):
        wait_until(lambda: readout(page, name) == f"{exact[name]:.3f}", what=f"the {name} readout at σ₀")
    wait_until(lambda: "σ₀ = 1.2" in landscape_title(page), what="the landscape at the new σ₀")

    # the Explore σ slider is held at σ₀: a drag snaps back
    set_slider(page, SIGMA, 2.0)
    wait_until(lambda: slider_value(page, SIGMA) == 1.2, what="the Explore σ slider to snap back to σ₀")

    # the runs move μ only and are drawn on their curves
    page.locator(".kl-section-dynamics button", has_text="Step").first.click()
    wait_until(lambda: columns(page, "dynamics-now", ["sigma"])["sigma"] == [1.2, 1.2], what="runs held at σ₀")
    wait_until(lambda: js(page, "() => klNamed('klpanel-curve-now') !== undefined"), what="the runs' markers")
    readouts = [readout(page, n) for n in ("forward_kl", "reverse_kl", "jsd", "tv")]
    assert all(math.isfinite(float(r)) for r in readouts), readouts

    # the state is in the URL: a page opened there starts in the fixed family at σ₀ = 1.2
    wait_until(lambda: "sigma0=1.2" in page.url and "family=" in page.url, what="family and σ₀ in the URL")
    page.locator(".kl-section-dynamics").first.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "fixed_sigma_page.png"), full_page=False)
    query = page.url.split("?", 1)[1]

    # back to the free family: the heat map over (μ, σ) again, σ free to move; and once more to the curves
    page.locator(".kl-section-optimal button", has_text="free").click()
    wait_until(lambda: "over (μ, σ)" in landscape_title(page), what="the heat map back")
    set_slider(page, SIGMA, 2.0)
    wait_until(lambda: columns(page, "dynamics-now", ["sigma"])["sigma"] == [2.0, 2.0], what="runs restarted at σ 2")
    page.locator(".kl-section-optimal button", has_text="fixed σ").click()
    wait_until(lambda: "σ₀ = 1.2" in landscape_title(page), what="the μ curves again")
    wait_until(lambda: slider_value(page, SIGMA) == 1.2, what="σ held at σ₀ again")
    assert not errors, errors

    again = open_app(query)
    wait_until(lambda: slider_value(again, SIGMA) == 1.2, what="σ from the URL's σ₀")
    wait_until(lambda: "σ₀ = 1.2" in landscape_title(again), what="the μ curves from the URL")
    assert not again.console_errors, again.console_errors

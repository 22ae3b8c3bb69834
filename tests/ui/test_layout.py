"""The page fits every screen (issue 19): at a phone's (390 px), a tablet's (820 px, light theme) and a desktop's
(1400 px) width, one page each: no sideways scroll, every plot wide enough to read, no control over another,
touch-sized controls on the phone, plain-Unicode divergence names, toolbars above their plots and legends outside
them, every control reachable and operable from the keyboard, and axe-core's scan without a serious or critical
violation. A screenshot per width and section goes to ``tests/artifacts/layout-<width>-<section>.png``.

Geometry is read in the page with one walk through Panel's shadow roots (``DEEP_JS``), not element by element.
"""

from __future__ import annotations

import re

import pytest

from klpanel.views.app import SECTIONS
from pagetools import js, slider_value, wait_until

pytestmark = pytest.mark.ui

#: width -> (viewport, query): the tablet page is the light theme, so both themes are scanned and photographed
PAGES = {390: ({"width": 390, "height": 844}, ""),
         820: ({"width": 820, "height": 1180}, "theme=default"),  # Panel calls the light theme "default"
         1400: ({"width": 1400, "height": 900}, "")}
PHONE = 390
TOUCH_PX = 40
#: every control a person can operate; a spinner is one control (its input and arrows), a checkbox its label
CONTROLS = ("button, select, input, a.bk-btn, [role='slider'], .bk-tab, #theme-switch, .bk-input-group > label, "
            ".bk-Checkbox, .bk-spin-wrapper, .bk-OnOffButton, .bk-ClickButton, .bk-tool-overflow")

DEEP_JS = """
window.klDeep = (selector, root = document) => {
  const found = [];
  const walk = (node) => {
    for (const el of node.querySelectorAll('*')) {
      if (el.matches(selector)) found.push(el);
      if (el.shadowRoot) walk(el.shadowRoot);
    }
  };
  walk(root.shadowRoot || root);
  return found;
};
window.klIn = (section, selector) => klDeep(selector, klDeep(`.kl-section-${section}`)[0]);
window.klShown = (el) => {
  const r = el.getBoundingClientRect();
  return r.width > 0 && r.height > 0 && el.checkVisibility({checkOpacity: true, visibilityProperty: true});
};
window.klInCanvas = (el) => {
  for (let host = el.getRootNode().host; host; host = host.getRootNode().host) if (host.matches('.bk-Canvas')) return true;
  return false;
};
window.klBox = (el) => { const r = el.getBoundingClientRect(); return {x: r.x, y: r.y, w: r.width, h: r.height}; };
window.klName = (el) => {
  const text = (el.getAttribute('aria-label') || el.getAttribute('title') || el.textContent || el.value || '').trim();
  return `${el.tagName.toLowerCase()}.${String(el.className).split(' ')[0]} "${text.slice(0, 30)}"`;
};
window.klControls = (selector) => klDeep(selector).filter(el => {
  if (el.matches('input') && (el.closest('label') || el.getRootNode().host?.matches('.bk-Checkbox')
                              || el.type === 'hidden')) return false;
  if (!el.matches('.bk-spin-wrapper') && el.closest('.bk-spin-wrapper')) return false;
  if (el.matches('label') && !el.querySelector('input')) return false;  // a widget's title, not a check box
  return klShown(el);
});
"""


def deep(page, expression: str, arg=None):
    page.evaluate(f"() => {{ {DEEP_JS} }}")
    return page.evaluate(expression, arg)


def settled(page) -> None:
    """Wait until every section has drawn: formulas typeset, the plots' canvases painted, the page's height still."""
    page.locator(".katex").first.wait_for()
    page.locator(".kl-section-dynamics canvas").first.wait_for()
    state = lambda: deep(page, "() => [document.querySelector('#main').scrollHeight, klDeep('canvas').length]")  # noqa: E731
    last = [None]

    def still():
        now, last[0] = state(), state()
        return now == last[0] and now[1] > 0
    wait_until(still, timeout=60, interval=0.5, what="the page's layout to settle")


@pytest.fixture(scope="module")
def pages(open_app):
    opened = {}

    def page_at(width: int):
        if width not in opened:
            viewport, query = PAGES[width]
            page = open_app(query, viewport=viewport)
            settled(page)
            opened[width] = page
        return opened[width]
    return page_at


def boxes(page, selector: str = CONTROLS) -> list[dict]:
    return deep(page, "(s) => klControls(s).map(el => ({...klBox(el), name: klName(el)}))", selector)


def overlap(a: dict, b: dict) -> float:
    w = min(a["x"] + a["w"], b["x"] + b["w"]) - max(a["x"], b["x"])
    h = min(a["y"] + a["h"], b["y"] + b["h"]) - max(a["y"], b["y"])
    return w * h if w > 1.5 and h > 1.5 else 0.0  # a button group's shared 1 px border is not an overlap


@pytest.mark.parametrize("width", PAGES)
def test_no_sideways_scroll(pages, width):
    page = pages(width)
    sizes = page.evaluate("""() => { const m = document.querySelector('#main');
        return {page: document.documentElement.scrollWidth, main: m.scrollWidth, main_client: m.clientWidth}; }""")
    assert sizes["page"] <= width and sizes["main"] <= sizes["main_client"], sizes
    # what a figure draws is clipped to its canvas: the canvas must fit, and every control (its tools too)
    beyond = deep(page, """(vw) => klDeep('*').filter(el => klShown(el) && !klInCanvas(el)
                                                         && el.getBoundingClientRect().right > vw + 1)
                                       .map(klName).slice(0, 10)""", width)
    assert not beyond, f"elements reach past the {width} px screen: {beyond}"
    off = [c["name"] for c in boxes(page) if c["x"] < -0.5 or c["x"] + c["w"] > width + 0.5]
    assert not off, f"controls off the {width} px screen: {off}"


@pytest.mark.parametrize("width", PAGES)
def test_every_plot_is_wide_enough(pages, width):
    page = pages(width)
    canvases = deep(page, "() => klDeep('.bk-Canvas').filter(klShown).map(el => ({...klBox(el), name: "
                          "el.getRootNode().host?.getRootNode().host?.className || ''}))")
    assert len(canvases) >= 6, canvases  # optima, explore, two run cards (density + loss), landscape, α tab
    least = min(300, 0.8 * width)
    narrow = [c for c in canvases if c["w"] < least - 0.5]
    assert not narrow, f"plots narrower than {least:.0f} px at {width} px: {narrow}"


@pytest.mark.parametrize("width", PAGES)
def test_no_control_overlaps_another(pages, width):
    controls = boxes(pages(width))
    assert len(controls) > 40, len(controls)
    clashes = [(a["name"], b["name"], round(overlap(a, b)))
               for i, a in enumerate(controls) for b in controls[i + 1:] if overlap(a, b)]
    assert not clashes, f"overlapping controls at {width} px: {clashes[:10]}"


def test_controls_are_touch_sized_on_a_phone(pages):
    small = [c for c in boxes(pages(PHONE)) if min(c["w"], c["h"]) < TOUCH_PX - 0.5]
    assert not small, f"controls smaller than {TOUCH_PX} px on a {PHONE} px phone: {small[:10]}"


def test_header_title_fits_a_phone(pages):
    page = pages(PHONE)
    title = page.locator("#header .title").first
    box, switch = title.bounding_box(), page.locator("#theme-switch").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= switch["x"], (box, switch)
    assert title.evaluate("el => el.scrollWidth <= el.clientWidth + 1"), "the title is cut off"


@pytest.mark.parametrize("width", [PHONE, 1400])
def test_controls_go_above_their_plot_on_a_phone(pages, width):
    """Phone: each section's controls span the width above its plot; desktop: they sit left of it."""
    page = pages(width)
    pairs = deep(page, """() => klDeep('.kl-controls').filter(klShown).map(c => {
        const main = c.parentNode.querySelector('.kl-main'); return [klBox(c), main ? klBox(main) : null]; })""")
    assert len(pairs) >= 3
    for controls, main in pairs:
        if width == PHONE:
            assert main["y"] >= controls["y"] + controls["h"] - 1 and controls["w"] >= 0.8 * width, (controls, main)
        else:
            assert main["x"] >= controls["x"] + controls["w"] - 1 and abs(main["y"] - controls["y"]) < 2, (controls, main)


@pytest.mark.parametrize("width", [PHONE, 1400])
def test_run_cards_fill_the_width(pages, width):
    """The run cards fill their area: one a row on a phone, side by side on a desktop; the landscape below them
    spans the section."""
    page = pages(width)
    found = deep(page, """() => {
        const main = klIn('dynamics', '.kl-main')[0];
        const grid = [...main.shadowRoot.children].find(c => c.tagName === 'DIV');
        const cards = [...grid.shadowRoot.children].filter(c => c.tagName === 'DIV' && klShown(c));
        const landscape = klIn('dynamics', '.bk-Canvas').filter(klShown).map(klBox).sort((a, b) => b.w - a.w)[0];
        return {area: klBox(main), cards: cards.map(klBox), landscape, section: klBox(klDeep('.kl-section-dynamics')[0])};
    }""")
    area, cards = found["area"], found["cards"]
    assert len(cards) >= 2
    assert max(c["x"] + c["w"] for c in cards) >= area["x"] + area["w"] - 2, "the cards leave their area's right empty"
    rows = {round(c["y"]) for c in cards}
    assert len(rows) == (len(cards) if width == PHONE else 1), cards
    assert found["landscape"]["w"] >= 0.9 * found["section"]["w"], found


@pytest.mark.parametrize("width", PAGES)
def test_divergence_names_are_plain_unicode(pages, width):
    """Check boxes, selects, legends, readouts, cards and the run cards' canvas labels show no TeX markup."""
    page = pages(width)
    texts = deep(page, """() => [
        ...klDeep('.bk-input-group > label, option, td, h3, .bk-slider-title').map(el => el.textContent),
        ...[...Bokeh.documents[0]._all_models.values()].flatMap(m =>
            m.type === 'LegendItem' ? [m.label?.value ?? ''] : m.type === 'Label' || m.type === 'Title' ? [m.text] : [])]""")
    marked = sorted({t for t in texts if re.search(r"[\^\\]|_[α-ωA-Za-z{]", t or "")})
    assert not marked, marked
    labels = deep(page, "() => klIn('optimal', '.bk-input-group > label').map(el => el.textContent.trim())")
    assert "Rényi Dα(p‖q)" in labels and "JSDβ(p‖q)" in labels, labels


@pytest.mark.parametrize("width", PAGES)
def test_toolbars_above_and_legends_outside_the_data(pages, width):
    found = js(pages(width), """() => klModels().filter(m => m.toolbar_location !== undefined && m.toolbar).map(f => ({
        name: f.name || (f.title && f.title.text) || f.id, toolbar: f.toolbar_location, autohide: f.toolbar.autohide,
        inside: f.center.filter(a => a.type === 'Legend' && a.visible && a.items.some(i => i.visible)).length}))""")
    assert len(found) >= 5
    misplaced = [f for f in found if f["toolbar"] not in ("above", None) and not f["autohide"]]
    assert not misplaced, f"toolbars not above their plot: {misplaced}"
    covering = [f["name"] for f in found if f["inside"]]
    assert not covering, f"legends drawn over the data: {covering}"


@pytest.mark.parametrize("width", PAGES)
def test_legends_sit_above_or_below_their_plot(pages, width):
    """Beside the frame a legend takes the plot's width from its data (the α spectrum's once left its μ*, σ* frame
    86 px tall, and a legend fitted to the width beside it kept resizing the frame)."""
    beside = js(pages(width), """() => klModels().filter(m => m.toolbar_location !== undefined && m.toolbar)
        .filter(f => [...f.left, ...f.right].some(a => a.type === 'Legend' && a.visible))
        .map(f => f.name || (f.title && f.title.text) || f.id)""")
    assert not beside, f"legends beside their plot: {beside}"


#: BokehJS: count each plot's layouts from now on (a plot lays itself out again when a panel beside its frame
#: - an axis, a legend, the title - changed size)
COUNT_LAYOUTS_JS = """() => {
  window.klLayouts = {};
  const seen = new Set();
  const walk = (v) => {
    if (!v || seen.has(v)) return;
    seen.add(v);
    if (v._invalidate_layout_if_needed && v.compute_layout) {
      const layout = v.compute_layout.bind(v), name = v.model.name || v.model.id;
      v.compute_layout = () => { window.klLayouts[name] = (window.klLayouts[name] || 0) + 1; return layout(); };
    }
    for (const child of v.child_views ?? []) walk(child);
  };
  for (const id in Bokeh.index) walk(Bokeh.index[id]);
  return seen.size;
}"""


@pytest.mark.parametrize("width", [PHONE, 1400])
def test_a_still_page_does_not_lay_itself_out_again(pages, width):
    """Nothing is moved for two seconds, so no plot should need a new layout: a plot that keeps laying itself out
    (a legend and the frame's width changing each other) costs the browser tens of ms a time, and made every μ
    slider step wait behind it."""
    page = pages(width)  # the runs are not animating (the test server's KLPANEL_AUTOPLAY=0)
    assert js(page, COUNT_LAYOUTS_JS) > 0
    page.wait_for_timeout(2000)  # an observation window: what happens in it is counted, nothing is waited for
    layouts = js(page, "() => window.klLayouts")
    assert sum(layouts.values()) <= 2, f"plots laid out again on a still page: {layouts}"


@pytest.mark.parametrize("width", PAGES)
def test_axe_finds_no_serious_violation(pages, width):
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(pages(width)).response
    serious = [(v["id"], v["impact"], v["help"], [(n["target"][-1], n.get("failureSummary", "")[-160:])
                                                  for n in v["nodes"][:4]])
               for v in results["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, serious


FOCUSABLE = "button, select, input, a[href], [tabindex]:not([tabindex='-1'])"


def focused(page) -> str:
    """The key (``data-kl-key``) of what has the keyboard focus, through the shadow roots."""
    return deep(page, """() => { let el = document.activeElement;
        while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
        return el && el.dataset ? el.dataset.klKey || '' : ''; }""")


def test_every_control_is_reachable_and_operable_from_the_keyboard(pages):
    page = pages(1400)
    wanted = deep(page, """(s) => klDeep(s).filter(el => klShown(el) && !el.disabled && el.type !== 'hidden')
                               .map((el, i) => { el.dataset.klKey = `${i}: ${klName(el)}`; return el.dataset.klKey; })""",
                  FOCUSABLE)
    assert len(wanted) > 60
    page.locator("#theme-switch").focus()
    reached = set()
    for _ in range(2 * len(wanted)):
        page.keyboard.press("Tab")
        reached.add(focused(page))
        if set(wanted) <= reached:
            break
    missing = sorted(set(wanted) - reached)
    assert not missing, f"not reachable with Tab: {missing[:10]}"
    # operable: an arrow key moves μ, Space ticks a divergence
    before = slider_value(page, "μ (mean of q)")
    page.locator(".kl-section-explore [role='slider']").first.focus()
    page.keyboard.press("ArrowRight")
    wait_until(lambda: slider_value(page, "μ (mean of q)") > before, timeout=30, what="μ to move with the arrow key")
    page.locator(".kl-section-optimal label", has_text="H²(p, q)").locator("input").focus()
    page.keyboard.press("Space")
    page.locator("td.kl-readout[data-divergence='hellinger']").wait_for()  # its readout appears


@pytest.mark.parametrize("width", PAGES)
def test_screenshots(pages, artifacts, width):
    """A picture of every section at this width (the page made tall enough to hold all of it), to look at."""
    page = pages(width)
    height = page.evaluate("() => document.querySelector('#main').scrollHeight + 100")
    page.set_viewport_size({"width": width, "height": height})
    settled(page)
    page.locator("#header").screenshot(path=artifacts / f"layout-{width}-header.png")
    for name in SECTIONS:
        page.locator(f".kl-section-{name}").screenshot(path=artifacts / f"layout-{width}-{name}.png")
    page.set_viewport_size(PAGES[width][0])

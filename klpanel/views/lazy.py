"""Sections built when they are first shown: a served page sends its first screen (header, section 1, Explore) at
once, and in place of each run of sections below it a short placeholder, the run's next section's, that is swapped for
the section when it comes near the viewport.

A new visitor's session used to build, lay out and serialise every section (~700 Bokeh models, ~1 s of the
server's CPU) before the page could answer; a visitor who never scrolls now costs the first screen alone.
:class:`Lazy` shows a :class:`Placeholder` (the section's heading and a "loading" line) whose browser side watches
the page's scrolling (an ``IntersectionObserver``) and sets ``shown`` once it comes within :data:`AHEAD` of the
viewport (:data:`AHEAD_SCROLLING` once the reader has scrolled); the section is built then, on the session's thread,
and replaces it, followed by the next section's placeholder. Outside a server session (Jupyter, tests, exports)
there is nothing to defer: the page builds every section at once.
"""

from __future__ import annotations

from typing import Callable

import panel as pn
import param
from panel.custom import JSComponent

from .deferred import served_doc

AHEAD = 400  # px: a placeholder this far below (or above) the visible part of the page starts its section
#: the same, once the reader has scrolled, for the topmost section still waiting (a CSS length: 150 % is one and a
#: half of the visible height): a reader who scrolls is reading on, and the next section is then under way before it
#: is reached, one at a time; a visitor who never scrolls still costs the server the first screen alone (issue 21)
AHEAD_SCROLLING = "150%"
PLACEHOLDER_HEIGHT = 800  # px, about a section's height: what follows it stays out of reach until it is replaced
PLACEHOLDER_CLASS = "kl-lazy-placeholder"  # the placeholder's box in the page


class Placeholder(JSComponent):
    """A section's stand-in: its heading and a "loading" line; ``shown`` turns True (once) when it nears the
    visible part of the page. The observer's root is the element the page scrolls in (the template's main area),
    so that the margin applies there and not only to the window."""

    title = param.String(default="", doc="The section's heading (the start of it)")
    shown = param.Boolean(default=False, doc="Set by the browser when the placeholder first nears the viewport")

    _esm = f"""
function scroller(node) {{
  for (let n = node.parentNode || node.host; n; n = n.parentNode || n.host) {{
    if (n instanceof Element && /(auto|scroll)/.test(getComputedStyle(n).overflowY) && n.scrollHeight > n.clientHeight)
      return n
  }}
  return null
}}

// the page's placeholders still waiting; once the reader scrolls (the page or the template's main area: caught on
// the way down), the topmost of them is likely read next and starts further off; one at a time, so that it is not
// slowed by the sections after it
const waiting = window.__klLazyWaiting = window.__klLazyWaiting || new Set()
function listen() {{
  if (window.__klLazyListening) return
  window.__klLazyListening = true
  let pending = false
  document.addEventListener("scroll", () => {{
    if (pending) return
    pending = true
    requestAnimationFrame(() => {{
      pending = false
      let next = null, top = Infinity
      for (const w of waiting) {{
        const t = w.box.getBoundingClientRect().top
        if (t < top) {{ top = t; next = w }}
      }}
      if (next) next.ahead()
    }})
  }}, {{ capture: true, passive: true }})
}}

// placeholders that came into reach in the same frame start top first: the server builds them in that order, and
// the section nearest the reader arrives first
const dueNow = new Set()
function due(entry) {{
  waiting.delete(entry)
  dueNow.add(entry)
  if (dueNow.size > 1) return
  requestAnimationFrame(() => {{
    const order = [...dueNow].sort((a, b) => a.box.getBoundingClientRect().top - b.box.getBoundingClientRect().top)
    dueNow.clear()
    for (const e of order) e.show()
  }})
}}

export function render({{ model }}) {{
  const box = document.createElement("div")
  box.className = "{PLACEHOLDER_CLASS}"
  box.style.minHeight = "{PLACEHOLDER_HEIGHT}px"
  const heading = document.createElement("h2")
  heading.textContent = model.title
  const note = document.createElement("p")
  note.innerHTML = "<em>Loading this section…</em>"
  box.append(heading, note)
  let observers = [], removed = false, ahead = false
  const stop = () => {{ for (const o of observers) o.disconnect(); observers = [] }}
  const observe = (root, margin) => {{
    const observer = new IntersectionObserver((entries) => {{
      if (entries.some((entry) => entry.isIntersecting)) {{
        stop()
        due(entry)
      }}
    }}, {{ root, rootMargin: `${{margin}} 0px ${{margin}} 0px` }})
    observer.observe(box)
    observers.push(observer)
  }}
  // the section read next starts further off (AHEAD_SCROLLING)
  const entry = {{ box, show: () => {{ model.shown = true }}, ahead: () => {{
    if (!ahead && !removed) {{
      ahead = true
      observe(scroller(box), "{AHEAD_SCROLLING}")
    }}
  }} }}
  const watch = () => {{
    if (removed) return
    if (!box.isConnected) {{ requestAnimationFrame(watch); return }}
    observe(scroller(box), "{AHEAD}px")
    waiting.add(entry)
    listen()
  }}
  watch()
  model.on("remove", () => {{
    removed = true
    stop()
    waiting.delete(entry)
  }})
  return box
}}
"""


class Lazy:
    """``Lazy([(build, title, css_classes), ...], layout)``: a run of sections that follow each other on a served
    page, built as they come into view. The run's slot in ``layout`` (a column) holds one placeholder, the next
    section's, titled ``title`` and with the section's ``css_classes`` (its box on the page); once the browser shows
    it, the slot holds ``build()`` and a new slot with the placeholder of the section after it.

    One placeholder per run rather than one per section: each costs a new session ~2.5 ms, and the ones after the
    first were out of reach anyway (:data:`PLACEHOLDER_HEIGHT`). Each change is to a slot of its own, not to the
    page's column: Panel re-applies its design to every model under a layout whose objects change (~40 ms for a
    page read to its end)."""

    def __init__(self, sections: list[tuple[Callable[[], object], str, list[str]]], layout: pn.Column):
        self._pending = list(sections)
        self.slot = self._slot()  # the run's slot still waiting (None once every section is shown)
        layout.append(self.slot)

    def _slot(self) -> pn.Column:
        _build, title, css_classes = self._pending[0]
        placeholder = Placeholder(title=title, sizing_mode="stretch_width", css_classes=list(css_classes))
        slot = pn.Column(placeholder, sizing_mode="stretch_width")
        placeholder.param.watch(lambda event: self.load(slot), "shown")
        return slot

    def load(self, slot: pn.Column) -> None:
        """Show the section waiting in ``slot`` (the run's current one), and the next one's slot after it."""
        if slot is not self.slot:
            return
        build = self._pending.pop(0)[0]
        shown = [build()]
        self.slot = self._slot() if self._pending else None
        if self.slot is not None:
            shown.append(self.slot)
        slot.objects = shown

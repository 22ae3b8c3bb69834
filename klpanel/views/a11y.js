// Accessible names for the controls Bokeh and the template render without one (slider handles, a spinner's arrows,
// a lone checkbox, the theme switch), a main landmark and a level-one heading. Run once the served document is ready
// (klpanel.views.styles.accessible), then again, debounced, inside any shadow root whose content changes (a tab
// opened, a run card added).
const NAME = "aria-label";

function fix(root) {
  for (const handle of root.querySelectorAll('[role="slider"]:not([aria-label])')) {
    const title = handle.closest(".bk-input-group")?.querySelector(".bk-slider-title");
    const text = title ? (title.firstChild ?? title).textContent : "";
    handle.setAttribute(NAME, text.replace(/[:\s]+$/, "").trim() || "slider");
  }
  for (const button of root.querySelectorAll("button.bk-spin-btn:not([aria-label])")) {
    button.setAttribute(NAME, button.classList.contains("bk-spin-btn-up") ? "Increase" : "Decrease");
  }
  for (const box of root.querySelectorAll('input[type="checkbox"]:not([aria-label])')) {
    const label = box.closest("label") ? null : box.parentNode.querySelector(".bk-label");
    if (label) box.setAttribute(NAME, label.textContent.trim());
  }
}

const observed = new WeakSet();
let queued = new Set();
let timer = null;

function flush() {
  timer = null;
  const roots = queued;
  queued = new Set();
  for (const root of roots) visit(root);
}

function watch(root) {
  if (observed.has(root)) return;
  observed.add(root);
  new MutationObserver(() => {
    queued.add(root);
    if (timer === null) timer = setTimeout(flush, 250);
  }).observe(root, {childList: true, subtree: true});
}

function visit(root) {
  fix(root);
  for (const el of root.querySelectorAll("*")) {
    if (el.shadowRoot) {
      watch(el.shadowRoot);
      visit(el.shadowRoot);
    }
  }
}

const toggle = document.getElementById("theme-switch");
if (toggle && !toggle.hasAttribute(NAME)) toggle.setAttribute(NAME, "Light theme");
document.getElementById("main")?.setAttribute("role", "main");
const title = document.querySelector("#header .title");
if (title) {
  title.removeAttribute("href");
  title.setAttribute("role", "heading");
  title.setAttribute("aria-level", "1");
}
visit(document);

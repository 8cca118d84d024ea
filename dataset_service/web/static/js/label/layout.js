// The labeling page's columns: the side panel folds away (remembered in this browser), and the
// canvas follows its stage's size, whatever changed it (the window, the panel, full screen).

const PANEL_KEY = "labeling.panel";

export function initLayout(stage, resized) {
  const layout = document.querySelector(".label-layout");
  const toggle = document.getElementById("panel-toggle");
  const show = (open) => {
    layout.classList.toggle("panel-collapsed", !open);
    toggle.setAttribute("aria-expanded", String(open));
    toggle.title = open ? "Hide the side panel" : "Show the side panel";
    localStorage.setItem(PANEL_KEY, open ? "open" : "collapsed");
  };
  show(localStorage.getItem(PANEL_KEY) !== "collapsed");
  toggle.addEventListener("click", () => show(layout.classList.contains("panel-collapsed")));
  new ResizeObserver(resized).observe(stage);
}

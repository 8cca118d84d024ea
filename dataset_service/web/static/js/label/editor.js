// The labeling page: one image, its objects, the tools, and saving through the REST API.
import { api, ApiError, pageData } from "../api.js";
import { LabelChooser } from "./chooser.js";
import * as geo from "./geometry.js";
import { History } from "./history.js";
import { render } from "./render.js";
import { SHORTCUTS, actionFor, titleFor } from "./shortcuts.js";
import { Viewport } from "./viewport.js";

const TOOL_KEY = "labeling.tool";
const TOOLS = ["select", "polygon", "extreme"];
const HIT_PX = 8; // how near (in screen pixels) a click must land on a vertex or an edge
const ZOOM_STEP = 1.25;

const page = pageData();
const $ = (id) => document.getElementById(id);
const canvas = $("canvas");
const view = new Viewport();
const history = new History();

const state = {
  image: null,
  width: 0,
  height: 0,
  labels: page.labels,
  objects: [], // {id, label, points, source}
  selected: -1,
  hidden: false,
  tool: TOOLS.includes(localStorage.getItem(TOOL_KEY)) ? localStorage.getItem(TOOL_KEY) : "polygon",
  draft: [], // the polygon's points, or the extreme points, clicked so far
  pending: null, // a finished shape waiting for its label
  pointer: null,
  revision: 0,
  savedJson: "[]",
  savedBy: null,
  savedAt: null,
  conflict: null,
  inference: null, // the AbortController of a running inference
  lastLabel: localStorage.getItem(`labeling.label.${page.datasetId}`),
};

const chooser = new LabelChooser($("label-chooser"), addLabel);

// --- the objects, as the API wants them ---

const fromApi = (o) => ({ id: o.id, label: o.label, points: geo.openPolygon(o.points), source: o.source });
const toApi = (o) => ({ id: o.id ?? null, label: o.label, points: o.points.map(geo.roundPoint), source: o.source });
const snapshot = () => JSON.stringify(state.objects.map(toApi));
const isDirty = () => snapshot() !== state.savedJson;

// Apply a change to the objects as one undoable step.
function change(mutate) {
  const before = structuredClone(state.objects);
  mutate();
  if (JSON.stringify(before) !== JSON.stringify(state.objects)) history.record(before);
  refresh();
}

function restore(objects) {
  if (objects === null) return;
  state.objects = objects;
  if (state.selected >= state.objects.length) state.selected = -1;
  refresh();
}

// --- drawing and the side panel ---

let frame = 0;
function redraw() {
  if (frame) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    render(canvas, view, state);
    Object.assign(canvas.dataset, { scale: view.scale, offsetX: view.offsetX, offsetY: view.offsetY });
  });
}

function refresh() {
  renderObjectList();
  renderStatus();
  renderToolbar();
  redraw();
}

function colorOf(name) {
  return state.labels.find((l) => l.name === name)?.color ?? "#9aa4b1";
}

function renderObjectList() {
  const list = $("objects");
  list.replaceChildren(
    ...state.objects.map((o, i) => {
      const item = document.createElement("li");
      item.dataset.index = i;
      item.className = i === state.selected ? "selected" : "";
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.setProperty("--c", colorOf(o.label));
      const name = document.createElement("span");
      name.className = "object-name";
      name.textContent = `${i + 1}. ${o.label}`;
      const meta = document.createElement("span");
      meta.className = "muted small";
      meta.textContent = `${o.points.length} pts${o.source === "extreme_points" ? " · extreme points" : ""}`;
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "link remove-object";
      remove.title = "Delete this object";
      remove.textContent = "✕";
      item.append(swatch, name, meta, remove);
      return item;
    }),
  );
  $("object-count").textContent = `(${state.objects.length})`;
  const selected = state.objects[state.selected];
  $("object-editor").hidden = !selected;
  if (selected) {
    const select = $("relabel");
    select.replaceChildren(...state.labels.map((l) => new Option(l.name, l.name, false, l.name === selected.label)));
  }
}

function renderStatus() {
  const status = $("save-status");
  const dirty = isDirty();
  status.dataset.state = saveState === "saving" ? "saving" : dirty ? "dirty" : "clean";
  if (saveState === "saving") status.textContent = "Saving…";
  else if (dirty) status.textContent = saveState === "failed" ? "Not saved" : "Unsaved changes";
  else status.textContent = savedText();
  $("sample-meta").textContent = `${page.key} · ${state.width}×${state.height} · revision ${state.revision}`;
}

function savedText() {
  if (state.savedBy) return `Saved by ${state.savedBy}, ${formatTime(state.savedAt)}`;
  return state.objects.length ? "No changes" : "Nothing saved yet";
}

function formatTime(iso) {
  return iso ? new Date(iso).toLocaleString() : "earlier";
}

function renderToolbar() {
  for (const button of document.querySelectorAll("[data-action^='tool-']")) {
    const active = button.dataset.action === `tool-${state.tool}`;
    button.classList.toggle("active", active);
    button.setAttribute("aria-pressed", String(active));
  }
  const enable = { undo: history.canUndo, redo: history.canRedo, "delete-selected": state.selected >= 0,
    "delete-all": state.objects.length > 0, prev: Boolean(page.prevUrl), next: Boolean(page.nextUrl) };
  for (const [action, on] of Object.entries(enable)) document.querySelector(`[data-action='${action}']`).disabled = !on;
  const toggle = document.querySelector("[data-action='toggle-objects']");
  toggle.setAttribute("aria-pressed", String(state.hidden));
  toggle.querySelector("span").textContent = state.hidden ? "Show objects" : "Hide objects";
  $("hint").textContent = hint();
}

function hint() {
  if (state.inference) return "Inferring the outline from the four points…";
  if (state.tool === "polygon") {
    return state.draft.length
      ? `Polygon: ${state.draft.length} point(s). Click the first point or press Enter to close; Esc cancels.`
      : "Polygon: click points along the outline.";
  }
  if (state.tool === "extreme") {
    return `Extreme points: click the top, bottom, leftmost and rightmost points of the object (${state.draft.length} of 4).`;
  }
  return "Select: click an object to select it; drag it or its vertices; drag empty space to pan.";
}

function showMessage(text) {
  $("message").textContent = text;
  $("message").hidden = !text;
}

// --- canvas size and zoom ---

function resizeCanvas() {
  const box = $("stage").getBoundingClientRect();
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(box.width * dpr);
  canvas.height = Math.round(box.height * dpr);
  canvas.style.width = `${box.width}px`;
  canvas.style.height = `${box.height}px`;
  redraw();
}

function fit() {
  const box = canvas.getBoundingClientRect();
  if (state.width) view.fit(box.width, box.height, state.width, state.height);
  redraw();
}

function zoom(factor, at) {
  const box = canvas.getBoundingClientRect();
  const [sx, sy] = at ?? [box.width / 2, box.height / 2];
  view.zoomAt(factor, sx, sy);
  redraw();
}

// --- tools ---

function setTool(tool) {
  cancelDraft();
  state.tool = tool;
  localStorage.setItem(TOOL_KEY, tool);
  refresh();
}

function cancelDraft() {
  state.draft = [];
  state.inference?.abort();
}

function screenPoint(event) {
  const box = canvas.getBoundingClientRect();
  return [event.clientX - box.left, event.clientY - box.top];
}

function imagePoint(event) {
  return geo.clampPoint(view.toImage(...screenPoint(event)), state.width, state.height);
}

const tolerance = () => HIT_PX / view.scale;

// What is under the pointer: a vertex or an edge of the selected object, or an object's inside.
function hitTest(p) {
  const selected = state.objects[state.selected];
  if (selected && !state.hidden) {
    const vertex = geo.nearestVertex(selected.points, p, tolerance());
    if (vertex >= 0) return { kind: "vertex", index: state.selected, vertex };
    const edge = geo.nearestEdge(selected.points, p, tolerance());
    if (edge) return { kind: "edge", index: state.selected, edge };
  }
  if (state.hidden) return null;
  for (let i = state.objects.length - 1; i >= 0; i--) {
    if (geo.containsPoint(state.objects[i].points, p)) return { kind: "inside", index: i };
  }
  return null;
}

function addDraftPoint(p) {
  if (state.tool === "polygon") {
    const first = state.draft[0];
    if (state.draft.length >= 3 && geo.distance(p, first) <= tolerance()) return finishPolygon();
    const last = state.draft.at(-1);
    if (!last || geo.distance(p, last) > 0.5) state.draft.push(p);
  } else {
    state.draft.push(p);
    if (state.draft.length === 4) inferOutline();
  }
  refresh();
}

function finishPolygon() {
  const points = geo.withoutRepeats(state.draft);
  state.draft = [];
  if (points.length < 3) return refresh();
  askLabel(points, "manual");
}

// A finished shape waits for its label; a cancelled chooser drops it.
async function askLabel(points, source) {
  state.pending = { points, source };
  refresh();
  const [x, y] = view.toScreen(...points[0]);
  const label = await chooser.open(state.labels, state.lastLabel, [x, y]);
  state.pending = null;
  if (label) {
    rememberLabel(label);
    change(() => {
      state.objects.push({ id: null, label, points, source });
      state.selected = state.objects.length - 1;
    });
  }
  refresh();
  canvas.focus();
}

function rememberLabel(name) {
  state.lastLabel = name;
  localStorage.setItem(`labeling.label.${page.datasetId}`, name);
}

async function addLabel(name) {
  const label = await api("POST", `/datasets/${page.datasetId}/labels`, { name });
  state.labels.push({ id: label.id, name: label.name, color: label.color });
  return label;
}

async function inferOutline() {
  const points = state.draft.map(geo.roundPoint);
  const controller = new AbortController();
  state.inference = controller;
  $("spinner").hidden = false;
  showMessage("");
  refresh();
  try {
    const result = await api("POST", `/samples/${page.sampleId}/infer`, { points }, { signal: controller.signal });
    const polygon = largest(result.polygons || []);
    if (!polygon) throw new ApiError(200, { message: "the model found no outline around these points; try again or draw a polygon." });
    state.draft = [];
    askLabel(polygon.map((p) => geo.clampPoint(p, state.width, state.height)), "extreme_points");
  } catch (err) {
    if (err.name !== "AbortError") showMessage(`Extreme points failed: ${err.message}`);
    state.draft = [];
  } finally {
    state.inference = null;
    $("spinner").hidden = true;
    refresh();
  }
}

function largest(polygons) {
  const usable = polygons.map(geo.openPolygon).filter((p) => p.length >= 3);
  return usable.sort((a, b) => geo.area(b) - geo.area(a))[0] ?? null;
}

// --- pointer: draw, select, drag vertices and shapes, pan ---

let drag = null;

canvas.addEventListener("pointerdown", (event) => {
  if (chooser.isOpen || state.inference) return;
  canvas.focus();
  const screen = screenPoint(event);
  if (event.button === 1 || event.button === 2 || spaceHeld) {
    drag = { kind: "pan", last: screen };
  } else if (event.button === 0) {
    drag = startDrag(imagePoint(event), screen);
  }
  if (drag) canvas.setPointerCapture(event.pointerId);
});

function startDrag(p, screen) {
  const hit = hitTest(p);
  const drawing = state.tool !== "select";
  if (hit?.kind === "vertex" && !(drawing && state.draft.length)) {
    return { kind: "vertex", index: hit.index, vertex: hit.vertex, before: structuredClone(state.objects) };
  }
  if (drawing) {
    if (!(hit?.kind === "edge" && !state.draft.length)) addDraftPoint(p);
    return null;
  }
  if (hit) {
    state.selected = hit.index;
    refresh();
    return { kind: "shape", index: hit.index, start: p, origin: state.objects[hit.index].points, before: structuredClone(state.objects) };
  }
  state.selected = -1;
  refresh();
  return { kind: "pan", last: screen };
}

canvas.addEventListener("pointermove", (event) => {
  const p = imagePoint(event);
  state.pointer = state.draft.length && state.tool === "polygon" ? p : null;
  if (!drag) {
    canvas.style.cursor = cursorFor(p);
    if (state.pointer) redraw();
    return;
  }
  if (drag.kind === "pan") {
    const screen = screenPoint(event);
    view.pan(screen[0] - drag.last[0], screen[1] - drag.last[1]);
    drag.last = screen;
  } else if (drag.kind === "vertex") {
    state.objects[drag.index].points[drag.vertex] = p;
  } else if (drag.kind === "shape") {
    const [dx, dy] = [p[0] - drag.start[0], p[1] - drag.start[1]];
    state.objects[drag.index].points = geo.translateInside(drag.origin, dx, dy, state.width, state.height);
  }
  redraw();
});

function cursorFor(p) {
  if (state.tool !== "select" && !(state.draft.length === 0 && hitTest(p)?.kind === "vertex")) return "crosshair";
  const hit = hitTest(p);
  return { vertex: "pointer", edge: "copy", inside: "move" }[hit?.kind] ?? "grab";
}

function endDrag() {
  if (drag && drag.before && JSON.stringify(drag.before) !== JSON.stringify(state.objects)) history.record(drag.before);
  drag = null;
  refresh();
}

canvas.addEventListener("pointerup", endDrag);
canvas.addEventListener("pointercancel", endDrag);
canvas.addEventListener("contextmenu", (event) => event.preventDefault());

canvas.addEventListener("dblclick", (event) => {
  if (chooser.isOpen) return;
  if (state.tool === "polygon" && state.draft.length) return finishPolygon();
  const hit = hitTest(imagePoint(event));
  if (hit?.kind === "vertex") {
    const points = state.objects[hit.index].points;
    if (points.length <= 3) return showMessage("A polygon needs at least 3 points; delete the object instead.");
    change(() => points.splice(hit.vertex, 1));
  } else if (hit?.kind === "edge") {
    change(() => state.objects[hit.index].points.splice(hit.edge.index + 1, 0, hit.edge.point));
  }
});

canvas.addEventListener("wheel", (event) => {
  event.preventDefault();
  zoom(event.deltaY < 0 ? ZOOM_STEP : 1 / ZOOM_STEP, screenPoint(event));
}, { passive: false });

let spaceHeld = false;
document.addEventListener("keyup", (event) => {
  if (event.key === " ") spaceHeld = false;
});

// --- the side panel ---

$("objects").addEventListener("click", (event) => {
  const item = event.target.closest("li[data-index]");
  if (!item) return;
  const index = Number(item.dataset.index);
  if (event.target.closest(".remove-object")) {
    change(() => {
      state.objects.splice(index, 1);
      state.selected = -1;
    });
  } else {
    state.selected = index;
    refresh();
  }
});

$("relabel").addEventListener("change", (event) => {
  const object = state.objects[state.selected];
  if (!object) return;
  rememberLabel(event.target.value);
  change(() => (object.label = event.target.value));
});

// --- load, save, conflicts, leaving ---

function adopt(annotation) {
  state.objects = annotation.objects.map(fromApi);
  state.revision = annotation.revision;
  state.savedBy = annotation.saved_by;
  state.savedAt = annotation.saved_at;
  state.savedJson = snapshot();
  if (state.selected >= state.objects.length) state.selected = -1;
}

async function load() {
  const image = new Image();
  image.src = page.imageUrl;
  const [annotation] = await Promise.all([api("GET", `/samples/${page.sampleId}/annotation`), image.decode()]);
  state.image = image;
  state.width = annotation.width || image.naturalWidth;
  state.height = annotation.height || image.naturalHeight;
  adopt(annotation);
  Object.assign(canvas.dataset, { imageWidth: state.width, imageHeight: state.height });
  resizeCanvas();
  fit();
  refresh();
  canvas.dataset.ready = "true";
}

let saving = null;
let saveState = "idle"; // idle, saving, or failed (the last save did not go through)

// Save the objects; true when the server has them. One save at a time.
function save(overwrite = false) {
  if (!saving) saving = doSave(overwrite).finally(() => (saving = null));
  return saving;
}

async function doSave(overwrite) {
  if (!isDirty() && !overwrite) return true;
  const revision = overwrite && state.conflict ? state.conflict.revision : state.revision;
  saveState = "saving";
  renderStatus();
  try {
    const saved = await api("PUT", `/samples/${page.sampleId}/annotation`, { revision, objects: state.objects.map(toApi) });
    const selected = state.selected;
    adopt(saved);
    state.selected = selected < state.objects.length ? selected : -1;
    saveState = "idle";
    hideConflict();
    showMessage("");
    return true;
  } catch (err) {
    saveState = "failed";
    if (err instanceof ApiError && err.status === 409) await showConflict(err.body);
    else showMessage(`Saving failed: ${err.message}`);
    return false;
  } finally {
    refresh();
  }
}

async function showConflict(body) {
  const current = body.current ?? (await api("GET", `/samples/${page.sampleId}/annotation`));
  state.conflict = current;
  const who = current.saved_by ?? "someone";
  $("conflict-text").textContent =
    `${who} saved this image at ${formatTime(current.saved_at)} (revision ${current.revision}) while you were editing. ` +
    "Your changes are not saved.";
  $("conflict").hidden = false;
}

function hideConflict() {
  state.conflict = null;
  $("conflict").hidden = true;
}

$("conflict-reload").addEventListener("click", () => {
  const theirs = state.conflict;
  if (!theirs) return;
  history.record(state.objects); // Undo brings your version back, to save over theirs on purpose
  adopt(theirs);
  state.selected = -1;
  hideConflict();
  saveState = "idle";
  refresh();
});

$("conflict-overwrite").addEventListener("click", () => save(true));

async function leave(url) {
  if (!url) return;
  cancelDraft();
  if (await save()) {
    leaving = true;
    location.href = url;
  }
}

let leaving = false;
window.addEventListener("beforeunload", (event) => {
  if (!leaving && isDirty()) event.preventDefault();
});

$("back-link").addEventListener("click", (event) => {
  event.preventDefault();
  leave(event.currentTarget.href);
});

// --- actions: buttons and keys share them ---

const actions = {
  "tool-select": () => setTool("select"),
  "tool-polygon": () => setTool("polygon"),
  "tool-extreme": () => setTool("extreme"),
  finish: () => state.tool === "polygon" && finishPolygon(),
  cancel: () => {
    if (state.draft.length || state.inference) cancelDraft();
    else state.selected = -1;
    refresh();
  },
  undo: () => {
    if (state.draft.length && state.tool === "polygon") {
      state.draft.pop();
      return refresh();
    }
    restore(history.undo(state.objects));
  },
  redo: () => restore(history.redo(state.objects)),
  "zoom-in": () => zoom(ZOOM_STEP),
  "zoom-out": () => zoom(1 / ZOOM_STEP),
  fit,
  "toggle-objects": () => {
    state.hidden = !state.hidden;
    refresh();
  },
  "delete-selected": () => {
    if (state.selected < 0) return;
    change(() => {
      state.objects.splice(state.selected, 1);
      state.selected = -1;
    });
  },
  "delete-all": () => {
    change(() => {
      state.objects = [];
      state.selected = -1;
    });
  },
  prev: () => leave(page.prevUrl),
  next: () => leave(page.nextUrl),
  save: () => save(),
  help: () => $("help-dialog").showModal(),
};

for (const button of document.querySelectorAll("[data-action]")) {
  button.title = titleFor(button.dataset.action) ?? button.textContent.trim();
  button.addEventListener("click", () => actions[button.dataset.action]());
}

document.addEventListener("keydown", (event) => {
  if (chooser.isOpen) {
    if (chooser.handleKey(event)) event.preventDefault();
    return;
  }
  if ($("help-dialog").open) return;
  if (event.target.closest?.("input, select, textarea")) return;
  if (event.key === " ") {
    spaceHeld = true;
    event.preventDefault();
    return;
  }
  const action = actionFor(event);
  if (!action) return;
  event.preventDefault();
  actions[action]();
});

function fillShortcutTable() {
  $("shortcut-table").replaceChildren(
    ...SHORTCUTS.map(({ name, keys }) => {
      const row = document.createElement("tr");
      const keyCell = document.createElement("td");
      keyCell.append(...keys.flatMap((k, i) => [i ? " or " : "", Object.assign(document.createElement("kbd"), { textContent: k })]));
      const nameCell = document.createElement("td");
      nameCell.textContent = name;
      row.append(keyCell, nameCell);
      return row;
    }),
  );
}

window.addEventListener("resize", () => {
  resizeCanvas();
  fit();
});

fillShortcutTable();
refresh();
load().catch((err) => showMessage(`The image could not be loaded: ${err.message}`));

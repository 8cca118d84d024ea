// The labeling page: one image, its objects, the tools, and saving through the REST API.
import { api, ApiError, pageData } from "../api.js";
import { LabelManager } from "../labels.js";
import { LabelChooser } from "./chooser.js";
import { Filmstrip } from "./filmstrip.js";
import * as geo from "./geometry.js";
import { History } from "./history.js";
import { initLayout } from "./layout.js";
import { render } from "./render.js";
import { fillShortcutTable, formatTime, renderObjectList, renderStatus, renderToolbar, showMessage } from "./panel.js";
import { isTyping, PointerInput, ZOOM_STEP } from "./pointer.js";
import { dropLabel, renameLabel } from "./relabel.js";
import { actionFor, titleFor } from "./shortcuts.js";
import { Viewport } from "./viewport.js";

const TOOL_KEY = "labeling.tool";
const TOOLS = ["select", "polygon", "extreme"];
const CLOSE_PX = 8; // how near (in screen pixels) to the first point a click closes the polygon

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
  hidden: false, // every object hidden (H)
  hiddenObjects: new WeakSet(), // objects hidden one by one from the list (a view setting, never saved)
  tool: TOOLS.includes(localStorage.getItem(TOOL_KEY)) ? localStorage.getItem(TOOL_KEY) : "polygon",
  modifier: false, // Shift held: a drawing tool edits as the Select tool does
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
const filmstrip = new Filmstrip(page, { go: leave, showMessage });
const labelManager = new LabelManager(page.datasetId, { onChange: labelsChanged });

// --- the objects, as the API wants them ---

// The objects as the server last sent them, by id: one left as it came goes back as it came, with
// every field (the server may know fields this page does not).
let received = new Map();

const fromApi = (o) => ({
  id: o.id, label: o.label, points: geo.openPolygon(structuredClone(o.points)), source: o.source,
  createdBy: o.created_by, createdAt: o.created_at, updatedBy: o.updated_by, updatedAt: o.updated_at,
});
const unchanged = (o, raw) =>
  raw.label === o.label && raw.source === o.source && JSON.stringify(geo.openPolygon(raw.points)) === JSON.stringify(o.points);
const toApi = (o) => {
  const raw = o.id == null ? undefined : received.get(o.id);
  return raw && unchanged(o, raw) ? raw : { id: o.id ?? null, label: o.label, points: o.points.map(geo.roundPoint), source: o.source };
};
const snapshot = () => JSON.stringify(state.objects.map(toApi));
// The selected object as last saved (null for one drawn since), for "Reset shape".
const savedShape = (object) => {
  const saved = object?.id == null ? null : JSON.parse(state.savedJson).find((o) => o.id === object.id);
  return saved ? { ...saved, points: geo.openPolygon(saved.points) } : null;
};
const canReset = (object) => {
  const saved = savedShape(object);
  return saved !== null && JSON.stringify(saved.points) !== JSON.stringify(geo.openPolygon(toApi(object).points));
};
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
  frame = requestAnimationFrame(drawNow);
}

function drawNow() {
  cancelAnimationFrame(frame);
  frame = 0;
  render(canvas, view, state);
  Object.assign(canvas.dataset, { scale: view.scale, offsetX: view.offsetX, offsetY: view.offsetY });
}

function refresh() {
  renderObjectList(state);
  renderStatus(state, { dirty: isDirty(), saveState, key: page.key });
  renderToolbar(state, {
    undo: history.canUndo, redo: history.canRedo, "delete-selected": state.selected >= 0,
    "reset-shape": canReset(state.objects[state.selected]),
    "delete-all": state.objects.length > 0, prev: Boolean(filmstrip.prevUrl), next: Boolean(filmstrip.nextUrl),
  });
  redraw();
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

function addDraftPoint(p) {
  if (state.tool === "polygon") {
    const first = state.draft[0];
    if (state.draft.length >= 3 && geo.distance(p, first) <= CLOSE_PX / view.scale) return finishPolygon();
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

// A finished shape waits for its label (the chooser opens beside it); a cancelled chooser drops it.
async function askLabel(points, source) {
  state.pending = { points, source };
  refresh();
  const label = await chooser.open(state.labels, state.lastLabel, screenBox(points));
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

function screenBox(points) {
  const screen = points.map((p) => view.toScreen(...p));
  const xs = screen.map((p) => p[0]);
  const ys = screen.map((p) => p[1]);
  return { left: Math.min(...xs), top: Math.min(...ys), right: Math.max(...xs), bottom: Math.max(...ys) };
}

function rememberLabel(name) {
  state.lastLabel = name;
  localStorage.setItem(`labeling.label.${page.datasetId}`, name);
}

async function addLabel(name) {
  const label = await api("POST", `/datasets/${page.datasetId}/labels`, { name });
  state.labels.push({ id: label.id, name: label.name, color: label.color, samples: 0 });
  labelManager.render(state.labels);
  return label;
}

// A label renamed or deleted from the label list: the server changed its objects, so the page
// changes them everywhere it holds them (the objects, as saved, as received, in the undo history).
function labelsChanged({ updated, before, deleted }) {
  const mapping = updated && updated.name !== before.name ? renameLabel(before.name, updated.name) : deleted ? dropLabel(deleted.name) : null;
  if (mapping) {
    const selected = state.objects[state.selected];
    state.objects = mapping(state.objects);
    state.selected = state.objects.indexOf(selected);
    state.savedJson = JSON.stringify(mapping(JSON.parse(state.savedJson)));
    received = new Map(mapping([...received.values()]).map((raw) => [raw.id, raw]));
    history.map(mapping);
    if (state.conflict) state.conflict.objects = mapping(state.conflict.objects);
    if (state.lastLabel === before?.name) rememberLabel(updated.name);
  }
  refresh();
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
  } else if (event.target.closest(".toggle-object")) {
    const object = state.objects[index];
    if (state.hiddenObjects.has(object)) state.hiddenObjects.delete(object);
    else state.hiddenObjects.add(object);
    if (state.selected === index) state.selected = -1; // a hidden object cannot be edited
    refresh();
  } else {
    state.hiddenObjects.delete(state.objects[index]); // choosing a hidden object shows it again
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
  received = new Map(annotation.objects.map((o) => [o.id, o]));
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
  refresh();
  try {
    const saved = await api("PUT", `/samples/${page.sampleId}/annotation`, { revision, objects: state.objects.map(toApi) });
    const selected = state.selected;
    adopt(saved);
    state.selected = selected < state.objects.length ? selected : -1;
    filmstrip.markLabeled(state.objects.length > 0);
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
  "reset-shape": () => {
    const object = state.objects[state.selected];
    if (!canReset(object)) return;
    change(() => (object.points = savedShape(object).points.map((p) => [...p])));
  },
  fullscreen: () => {
    if (document.fullscreenElement) document.exitFullscreen();
    else document.documentElement.requestFullscreen().catch((err) => showMessage(`Full screen is not available: ${err.message}`));
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
  prev: () => leave(filmstrip.prevUrl),
  next: () => leave(filmstrip.nextUrl),
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
  if (document.querySelector("dialog[open]")) return;
  if (isTyping(event.target)) return;
  const action = actionFor(event);
  if (!action) return;
  event.preventDefault();
  actions[action]();
});

new PointerInput(canvas, {
  state, view, history, change, refresh, redraw, addDraftPoint, finishPolygon, zoom, showMessage,
  busy: () => chooser.isOpen || state.inference !== null,
});

initLayout($("stage"), () => {
  resizeCanvas();
  fit();
  drawNow(); // a resized canvas is blank until drawn: draw it in this frame
});

document.addEventListener("fullscreenchange", () => {
  document.querySelector("[data-action='fullscreen']").setAttribute("aria-pressed", String(Boolean(document.fullscreenElement)));
});

fillShortcutTable();
labelManager.render(state.labels);
refresh();
load().catch((err) => showMessage(`The image could not be loaded: ${err.message}`));

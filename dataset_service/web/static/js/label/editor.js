// The labeling page: one image, its objects, the tools, and saving through the REST API.
import { api, ApiError, pageData } from "../api.js";
import { LabelManager } from "../labels.js";
import { Attributes, ATTRIBUTES } from "./attributes.js";
import { Autosave } from "./autosave.js";
import { LabelChooser } from "./chooser.js";
import { Correction } from "./correction.js";
import { Filmstrip } from "./filmstrip.js";
import * as geo from "./geometry.js";
import { History } from "./history.js";
import { initLayout } from "./layout.js";
import { render } from "./render.js";
import { Review } from "./review.js";
import { Revisions } from "./revisions.js";
import { fillShortcutTable, formatTime, renderObjectList, renderStatus, renderToolbar, showMessage } from "./panel.js";
import { isTyping, PointerInput, ZOOM_STEP } from "./pointer.js";
import { dropLabel, renameLabel } from "./relabel.js";
import { fromApiGeometry, geometryKey, outline } from "./shapes.js";
import { actionFor, titleFor } from "./shortcuts.js";
import { Viewport } from "./viewport.js";

const TOOL_KEY = "labeling.tool";
const TOOLS = ["select", "polygon", "box", "extreme", "aibox"];
// What changes the objects: none of it while the image is read-only (locked, or a revision shown).
const EDITS = new Set(["tool-polygon", "tool-box", "tool-extreme", "tool-aibox", "finish", "undo", "redo", "reset-shape", "delete-selected",
  "delete-all", "relabel", "save"]);
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
  objects: [], // {id, label, shape, points, radius (a circle's), source, and the ATTRIBUTES}
  selected: -1,
  hidden: false, // every object hidden (H)
  hiddenObjects: new WeakSet(), // objects hidden one by one from the list (a view setting, never saved)
  tool: page.locked ? "select" : TOOLS.includes(localStorage.getItem(TOOL_KEY)) ? localStorage.getItem(TOOL_KEY) : "polygon",
  locked: page.locked, // why this viewer may not change the image (the server's word), or null
  preview: null, // a revision of the History panel shown instead of the objects: {revision, objects}
  modifier: false, // Shift held: a drawing tool edits as the Select tool does
  draft: [], // the polygon's points, or the extreme points, clicked so far
  pending: null, // a finished shape waiting for its label
  pointer: null,
  revision: 0,
  savedJson: "[]",
  savedBy: null,
  savedAt: null,
  conflict: null,
  correction: null, // an outline from the model waiting for correction clicks (correction.js)
  lastLabel: localStorage.getItem(`labeling.label.${page.datasetId}`),
};

const chooser = new LabelChooser($("label-chooser"), addLabel);
const attributes = new Attributes({ change, say: showMessage });
let autosave = null; // made below, once saving is defined
const filmstrip = new Filmstrip(page, { go: leave, showMessage });
const labelManager = new LabelManager(page.datasetId, { onChange: labelsChanged });
const review = new Review(page.review, page.locked, {
  labeled: () => state.objects.length > 0, save: () => save(), done: moveOn, say: showMessage,
});
const revisions = new Revisions(page.sampleId, {
  show: showRevision, restored: adoptRestored, save: () => save(), current: () => state.revision, say: showMessage,
});

// --- the objects, as the API wants them ---

// The objects as the server last sent them, by id: one left as it came goes back as it came, with
// every field (the server may know fields this page does not).
let received = new Map();

const attributesOf = (o) => Object.fromEntries(ATTRIBUTES.map((name) => [name, structuredClone(o[name])]));
const fromApi = (o) => ({
  id: o.id, label: o.label, ...fromApiGeometry(o), source: o.source, ...attributesOf(o), parts: o.parts ?? [],
  createdBy: o.created_by, createdAt: o.created_at, updatedBy: o.updated_by, updatedAt: o.updated_at,
});
const unchanged = (o, raw) =>
  raw.label === o.label && raw.source === o.source && geometryKey(raw) === geometryKey(o) &&
  JSON.stringify(attributesOf(raw)) === JSON.stringify(attributesOf(o));
// An object left as it came goes back exactly as it came; a changed one with its shape and every attribute.
const toApi = (o) => {
  const raw = o.id == null ? undefined : received.get(o.id);
  if (raw && unchanged(o, raw)) return raw;
  const radius = o.shape === "circle" ? { radius: Math.round(o.radius * 100) / 100 } : {};
  return { id: o.id ?? null, label: o.label, shape: o.shape, points: o.points.map(geo.roundPoint), ...radius, source: o.source, ...attributesOf(o) };
};
const snapshot = () => JSON.stringify(state.objects.map(toApi));
// The selected object's geometry as last saved (null for one drawn since), for "Reset shape".
const savedShape = (object) => {
  const saved = object?.id == null ? null : JSON.parse(state.savedJson).find((o) => o.id === object.id);
  return saved ? fromApiGeometry(saved) : null;
};
const canReset = (object) => {
  const saved = savedShape(object);
  return saved !== null && geometryKey(saved) !== geometryKey(object);
};
const isDirty = () => snapshot() !== state.savedJson;

const readOnly = () => Boolean(state.locked || state.preview);

// Apply a change to the objects as one undoable step (none while read-only).
function change(mutate) {
  if (readOnly()) return;
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
  correction.place();
  Object.assign(canvas.dataset, { scale: view.scale, offsetX: view.offsetX, offsetY: view.offsetY });
  canvas.dataset.shown = state.preview ? `revision ${state.preview.revision}` : "current";
}

function refresh() {
  renderObjectList(state);
  attributes.show(state.objects[state.selected] ?? null);
  renderStatus(state, { dirty: isDirty(), saveState, key: page.key });
  const edit = !readOnly();
  renderToolbar(state, {
    undo: edit && history.canUndo, redo: edit && history.canRedo, "delete-selected": edit && state.selected >= 0,
    "reset-shape": edit && canReset(state.objects[state.selected]),
    "delete-all": edit && state.objects.length > 0, prev: Boolean(filmstrip.prevUrl), next: Boolean(filmstrip.nextUrl),
    "tool-polygon": edit, "tool-box": edit, "tool-extreme": edit, "tool-aibox": edit, save: edit,
  });
  for (const field of document.querySelectorAll("#object-editor select, #attributes input, #attributes button")) field.disabled = !edit;
  document.body.classList.toggle("read-only", !edit);
  review.render();
  redraw();
  autosave?.changed();
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
  if (readOnly() && tool !== "select") return;
  cancelDraft();
  state.tool = tool;
  localStorage.setItem(TOOL_KEY, tool);
  refresh();
}

function cancelDraft() {
  state.draft = [];
  correction.drop();
}

function addDraftPoint(p) {
  if (state.tool === "polygon") {
    const first = state.draft[0];
    if (state.draft.length >= 3 && geo.distance(p, first) <= CLOSE_PX / view.scale) return finishPolygon();
    const last = state.draft.at(-1);
    if (!last || geo.distance(p, last) > 0.5) state.draft.push(p);
  } else {
    state.draft.push(p);
    if (state.draft.length === 4) correction.start({ points: state.draft.splice(0) });
  }
  refresh();
}

function finishPolygon() {
  const points = geo.withoutRepeats(state.draft);
  state.draft = [];
  if (points.length < 3) return refresh();
  askLabel({ shape: "polygon", points }, "manual");
}

// A box dragged with the Box tool; one smaller than a pixel either way is dropped.
function finishBox() {
  const [[x0, y0], [x1, y1]] = state.draft.length === 2 ? state.draft : [[0, 0], [0, 0]];
  state.draft = [];
  if (Math.abs(x1 - x0) < 1 || Math.abs(y1 - y0) < 1) return refresh();
  askLabel({ shape: "bndbox", points: [[Math.min(x0, x1), Math.min(y0, y1)], [Math.max(x0, x1), Math.max(y0, y1)]] }, "manual");
}

const NEW_ATTRIBUTES = { pose: "Unspecified", truncated: false, occluded: false, difficult: false, confidence: null, properties: {} };

// A finished shape waits for its label (the chooser opens beside it); a cancelled chooser drops it.
// `more`: other shapes (the other parts of a model's outline) that take the same label, in the same
// undo step; the first shape is selected.
async function askLabel(geometry, source, more = []) {
  state.pending = { ...geometry, source, more };
  refresh();
  const label = await chooser.open(state.labels, state.lastLabel, screenBox([geometry, ...more].flatMap(outline)));
  state.pending = null;
  if (label) {
    rememberLabel(label);
    change(() => {
      state.selected = state.objects.length;
      for (const shape of [geometry, ...more]) state.objects.push({ id: null, label, ...shape, source, ...structuredClone(NEW_ATTRIBUTES), parts: [] });
    });
  }
  refresh();
  canvas.focus();
}

// L: choose another label for the selected object with the chooser, beside it.
async function chooseLabel() {
  const object = state.objects[state.selected];
  if (!object || chooser.isOpen) return;
  const label = await chooser.open(state.labels, object.label, screenBox(outline(object)));
  if (label && label !== object.label) {
    rememberLabel(label);
    change(() => (object.label = label));
  }
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
    select(index); // choosing a hidden object shows it again
  }
});

// A focused row of the list: Enter selects it (Delete and the other keys work as anywhere).
$("objects").addEventListener("keydown", (event) => {
  const item = event.target.closest("li[data-index]");
  if (item && event.target === item && event.key === "Enter") {
    event.preventDefault();
    select(Number(item.dataset.index));
  }
});

// Select an object (a hidden one is shown again) and bring it into the list's view.
function select(index) {
  state.hiddenObjects.delete(state.objects[index]);
  state.selected = index;
  refresh();
  $("objects").querySelector(`li[data-index="${index}"]`)?.scrollIntoView({ block: "nearest" });
}

// Tab, Shift+Tab, ] and [: the next or previous object; from the last (first) one Tab leaves the
// canvas as usual, so the keys never trap the focus. True when an object was selected.
function cycleObjects(step, wrap = true) {
  const count = state.objects.length;
  if (!count || state.draft.length || state.pending || state.correction) return false;
  let next = state.selected < 0 ? (step > 0 ? 0 : count - 1) : state.selected + step;
  if (next < 0 || next >= count) {
    if (!wrap) return false;
    next = (next + count) % count;
  }
  select(next);
  const inList = document.activeElement?.closest?.("#objects");
  if (inList) $("objects").querySelector(`li[data-index="${next}"]`)?.focus();
  return true;
}

canvas.addEventListener("keydown", (event) => {
  if (event.key !== "Tab" || event.ctrlKey || event.altKey || event.metaKey || chooser.isOpen) return;
  if (cycleObjects(event.shiftKey ? -1 : 1, false)) event.preventDefault();
  else {
    state.selected = -1;
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
    revisions.changed();
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
    "Your changes are not saved. Either way nothing is lost: their version stays in History (below), where it can be restored.";
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

// A revision of the History panel shown on the image (null: the objects again); read-only meanwhile.
function showRevision(rev) {
  cancelDraft();
  state.preview = rev ? { revision: rev.revision, objects: rev.objects.map(fromApi) } : null;
  if (rev) state.selected = -1;
  refresh();
}

// A restored revision is the current one now: its objects are the page's, as saved.
function adoptRestored(annotation) {
  history.record(state.objects);
  adopt(annotation);
  state.selected = -1;
  filmstrip.markLabeled(state.objects.length > 0);
  refresh();
}

// After a submit or a review: on to the next image of the list, or this one again, as it is now.
function moveOn() {
  leaving = true;
  const next = filmstrip.nextUrl;
  if (next) location.href = next;
  else location.reload();
}

async function leave(url) {
  if (!url) return;
  cancelDraft();
  if (await save()) {
    leaving = true;
    location.href = url;
  }
}

let leaving = false;
autosave = new Autosave($("autosave"), {
  dirty: () => !leaving && isDirty() && !saving,
  idle: () => !pointer.drag && !state.draft.length && !state.pending && !state.correction && !chooser.isOpen,
  blocked: () => Boolean(state.conflict) || saveState === "failed" || Boolean(state.locked), // the labeler decides first
  save: () => save(),
  body: () => ({ revision: state.revision, objects: state.objects.map(toApi) }),
  path: `/samples/${page.sampleId}/annotation`,
});

$("back-link").addEventListener("click", (event) => {
  event.preventDefault();
  leave(event.currentTarget.href);
});

// --- actions: buttons and keys share them ---

const actions = {
  "tool-select": () => setTool("select"),
  "tool-polygon": () => setTool("polygon"),
  "tool-box": () => setTool("box"),
  "tool-extreme": () => setTool("extreme"),
  "tool-aibox": () => setTool("aibox"),
  finish: () => correction.accept() || (state.tool === "polygon" && finishPolygon()),
  cancel: () => {
    if (state.draft.length || state.correction) cancelDraft();
    else state.selected = -1;
    refresh();
  },
  undo: () => {
    if (correction.undoClick()) return;
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
    change(() => Object.assign(object, savedShape(object)));
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
  "next-object": () => cycleObjects(1),
  "prev-object": () => cycleObjects(-1),
  relabel: () => chooseLabel(),
  prev: () => leave(filmstrip.prevUrl),
  next: () => leave(filmstrip.nextUrl),
  save: () => save(),
  help: () => $("help-dialog").showModal(),
};

for (const button of document.querySelectorAll("[data-action]")) {
  button.title = titleFor(button.dataset.action) ?? button.textContent.trim();
  button.addEventListener("click", () => act(button.dataset.action));
}

function act(action) {
  if (readOnly() && EDITS.has(action)) return;
  actions[action]();
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
  act(action);
});

const correction = new Correction(canvas, $("infer-status"), {
  state, view, refresh, redraw, say: showMessage, readOnly, busy: () => chooser.isOpen, panning: () => pointer.spaceHeld,
  infer: (body, signal) => api("POST", `/samples/${page.sampleId}/infer`, body, { signal }),
  accept: askLabel,
});

const pointer = new PointerInput(canvas, {
  state, view, history, change, refresh, redraw, addDraftPoint, finishPolygon, finishBox, zoom, showMessage,
  busy: () => chooser.isOpen, readOnly,
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

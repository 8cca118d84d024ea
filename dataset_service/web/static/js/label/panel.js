// The parts of the page around the canvas, drawn from the editor's state: the object list, the
// save status, the toolbar's state, the hint line, messages and the shortcut list.
import { describe } from "./shapes.js";
import { SHORTCUTS } from "./shortcuts.js";

const $ = (id) => document.getElementById(id);
const FALLBACK_COLOR = "#9aa4b1";
const MADE_BY = { extreme_points: " · extreme points", box_prompt: " · AI box" }; // the model's outlines, by prompt

export const colorOf = (labels, name) => labels.find((l) => l.name === name)?.color ?? FALLBACK_COLOR;

// The rows are made anew each time: a row (or a button in it) that had the focus gets it back.
export function renderObjectList(state) {
  const focused = document.activeElement?.closest?.("#objects li[data-index]");
  const focusedClass = focused && document.activeElement !== focused ? document.activeElement.className : null;
  $("objects").replaceChildren(...state.objects.map((object, i) => objectItem(state, object, i)));
  if (focused) {
    const row = $("objects").querySelector(`li[data-index="${focused.dataset.index}"]`) ?? $("objects").lastElementChild;
    (focusedClass && row?.querySelector(`[class="${focusedClass}"]`) || row)?.focus();
  }
  $("object-count").textContent = `(${state.objects.length})`;
  const selected = state.objects[state.selected];
  $("object-editor").hidden = !selected;
  if (selected) {
    $("relabel").replaceChildren(...state.labels.map((l) => new Option(l.name, l.name, false, l.name === selected.label)));
  }
}

function objectItem(state, object, index) {
  const item = document.createElement("li");
  item.dataset.index = index;
  item.tabIndex = 0; // reachable with Tab; Enter selects it
  if (index === state.selected) item.setAttribute("aria-current", "true");
  const hidden = state.hiddenObjects.has(object);
  item.className = [index === state.selected ? "selected" : "", hidden ? "is-hidden" : ""].join(" ").trim();
  const swatch = document.createElement("span");
  swatch.className = "swatch";
  swatch.style.setProperty("--c", colorOf(state.labels, object.label));
  const name = document.createElement("span");
  name.className = "object-name";
  name.textContent = `${index + 1}. ${object.label}`;
  name.title = object.label; // a long label is cut short with an ellipsis: the row keeps one line
  const meta = document.createElement("span");
  meta.className = "muted small";
  meta.textContent = `${describe(object)}${MADE_BY[object.source] ?? ""}`;
  item.title = authorship(object);
  item.setAttribute("aria-label", `Object ${index + 1}: ${object.label}, ${describe(object)}`);
  const toggle = document.createElement("button");
  toggle.type = "button";
  toggle.className = "link toggle-object";
  toggle.title = hidden ? "Show this object" : "Hide this object";
  toggle.setAttribute("aria-label", `${hidden ? "Show" : "Hide"} object ${index + 1}`);
  toggle.setAttribute("aria-pressed", String(hidden));
  toggle.textContent = hidden ? "◌" : "◉";
  const remove = document.createElement("button");
  remove.type = "button";
  remove.className = "link remove-object";
  remove.title = "Delete this object";
  remove.setAttribute("aria-label", `Delete object ${index + 1}`);
  remove.textContent = "✕";
  item.append(swatch, name, meta, toggle, remove);
  if (object.id != null) item.append(Object.assign(document.createElement("span"), { className: "object-author", textContent: authors(object) }));
  return item;
}

// Who made the object, and who changed it last when someone else did: "alice", "alice · bob".
function authors({ createdBy, updatedBy }) {
  const made = createdBy ?? "import";
  return updatedBy && updatedBy !== made ? `${made} · changed by ${updatedBy}` : made;
}

function authorship({ id, createdBy, createdAt, updatedBy, updatedAt }) {
  if (id == null) return "Not saved yet";
  const made = `Made by ${createdBy ?? "an import"}, ${formatTime(createdAt)}`;
  return updatedAt && updatedAt !== createdAt ? `${made}; last changed by ${updatedBy ?? "an import"}, ${formatTime(updatedAt)}` : made;
}

// `saveState` is idle, saving, or failed (the last save did not go through).
export function renderStatus(state, { dirty, saveState, key }) {
  const status = $("save-status");
  status.dataset.state = saveState === "saving" ? "saving" : dirty ? "dirty" : "clean";
  if (saveState === "saving") status.textContent = "Saving…";
  else if (dirty) status.textContent = saveState === "failed" ? "Not saved" : "Unsaved changes";
  else status.textContent = savedText(state);
  $("sample-meta").textContent = `${key} · ${state.width}×${state.height} · revision ${state.revision}`;
}

function savedText(state) {
  if (state.savedBy) return `Saved by ${state.savedBy}, ${formatTime(state.savedAt)}`;
  return state.objects.length ? "No changes" : "Nothing saved yet";
}

export const formatTime = (iso) => (iso ? new Date(iso).toLocaleString() : "earlier");

// `enabled` maps actions to whether their buttons can be used now.
export function renderToolbar(state, enabled) {
  for (const button of document.querySelectorAll("[data-action^='tool-']")) {
    const active = button.dataset.action === `tool-${state.tool}`;
    button.classList.toggle("active", active);
    button.setAttribute("aria-pressed", String(active));
  }
  for (const [action, on] of Object.entries(enabled)) document.querySelector(`[data-action='${action}']`).disabled = !on;
  const toggle = document.querySelector("[data-action='toggle-objects']");
  toggle.setAttribute("aria-pressed", String(state.hidden));
  toggle.querySelector(".name").textContent = state.hidden ? "Show objects" : "Hide objects";
  $("hint").textContent = hint(state);
}

function hint(state) {
  if (state.preview) return "A revision from History, read-only: “Back to current” shows the objects again; drag to pan, the wheel zooms.";
  if (state.locked) return "Read-only: click an object to see it; drag to pan, the wheel zooms.";
  if (state.correction) return correctionHint(state.correction);
  if (state.tool === "polygon") {
    return state.draft.length
      ? `Polygon: ${state.draft.length} point(s). Click the first point or press Enter to close; Esc cancels.`
      : `Polygon: click points along the outline.${editHint(state)}`;
  }
  if (state.tool === "box") return `Box: drag from one corner to the opposite one.${editHint(state)}`;
  if (state.tool === "aibox") return `AI box: drag a box around the object; the model outlines it.${editHint(state)}`;
  if (state.tool === "extreme") {
    return `Extreme points: click the top, bottom, leftmost and rightmost points of the object (${state.draft.length} of 4).${editHint(state)}`;
  }
  return "Select: click an object (or Tab, [ ]) to select it; drag it, its corners, edges or vertices; drag empty space to pan.";
}

// The model's outline waiting in place (correction.js): what the clicks and keys do with it.
// Parts: every part that holds a positive click is kept besides the largest, each an object of its own.
function correctionHint({ prompt, outline, more, parts, clicks, score, waiting, accepting }) {
  if (!outline) return prompt.box ? "AI box: outlining the object in the box…" : "Inferring the outline from the four points…";
  const kept = 1 + more.length;
  const split = kept > 1 ? `${kept} parts: each becomes an object` : parts > 1 ? `${parts} parts, the largest kept` : "";
  const notes = [score == null ? "" : `score ${score.toFixed(2)}`, split].filter(Boolean);
  const busy = waiting ? (accepting ? " Updating, then accepting…" : " Updating…") : "";
  return `AI outline${notes.length ? ` (${notes.join("; ")})` : ""}, ${clicks.length} click(s): Left click adds, right click or Shift+click removes, Enter accepts, Esc drops; Ctrl+Z takes the last click back.${busy}`;
}

// With a drawing tool, how to edit an existing object instead (the tool places points everywhere).
function editHint(state) {
  return state.objects.length && !state.draft.length ? " Hold Shift to edit objects." : "";
}

export function showMessage(text) {
  $("message").textContent = text;
  $("message").hidden = !text;
}

export function fillShortcutTable() {
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

// The mouse on the canvas: the drawing tools place a point wherever they click (the Box tool
// drags a box); the Select tool (or Shift held with a drawing tool, before its first point)
// selects, drags a handle (a vertex, a box's corner or edge, a circle's centre or rim) or a whole
// shape, double-clicks a vertex (delete) or an edge (add); pan with a drag, zoom with the wheel.
import * as geo from "./geometry.js";
import { cannotRemoveVertex, contains, dragHandle, handles, insertableEdge, outline, translated } from "./shapes.js";

const HIT_PX = 8; // how near (in screen pixels) a click must land on a vertex or an edge
export const ZOOM_STEP = 1.25;

// Where a key press types text: Space and the shortcuts leave it alone.
const TEXT_FIELDS = "input:not([type=checkbox], [type=radio], [type=button], [type=submit], [type=color]), select, textarea, [contenteditable]";
export const isTyping = (target) => Boolean(target?.closest?.(TEXT_FIELDS));
// Where Space keeps its own meaning: text fields, check boxes, and the dialogs and the label chooser.
const keepsSpace = (target) => isTyping(target) || Boolean(target?.closest?.("dialog, .label-chooser, input[type=checkbox], input[type=radio]"));

export class PointerInput {
  // `editor` gives: state, view, history, busy(), readOnly(), refresh(), redraw(), change(fn), addDraftPoint(p),
  // finishPolygon(), finishBox(), zoom(factor, at), showMessage(text).
  constructor(canvas, editor) {
    this.canvas = canvas;
    this.editor = editor;
    this.drag = null;
    this.spaceHeld = false;
    canvas.addEventListener("pointerdown", (event) => this.down(event));
    canvas.addEventListener("pointermove", (event) => this.move(event));
    canvas.addEventListener("pointerup", () => this.up());
    canvas.addEventListener("pointercancel", () => this.up());
    canvas.addEventListener("pointerenter", () => this.takeFocus());
    canvas.addEventListener("dblclick", (event) => this.doubleClick(event));
    canvas.addEventListener("wheel", (event) => this.wheel(event), { passive: false });
    canvas.addEventListener("contextmenu", (event) => event.preventDefault());
    document.addEventListener("keydown", (event) => this.key(event, true));
    document.addEventListener("keyup", (event) => this.key(event, false));
    window.addEventListener("blur", () => {
      // keys released in another window never come back up here
      this.spaceHeld = false;
      this.setModifier(false);
    });
  }

  get state() {
    return this.editor.state;
  }

  // Space held pans, whatever has focus (a toolbar button keeps it after a click): its default,
  // scrolling or "clicking" the focused button, is cancelled on both key events.
  key(event, down) {
    if (event.key === "Shift") this.setModifier(down);
    if (event.key !== " " || keepsSpace(event.target)) return;
    if (down || this.spaceHeld) event.preventDefault();
    this.spaceHeld = down;
  }

  // Shift held with a drawing tool edits as the Select tool does; the selected object shows its handles.
  setModifier(held) {
    if (this.state.modifier === held) return;
    this.state.modifier = held;
    this.editor.redraw();
  }

  // The canvas takes the keys when the pointer comes over it, unless text is being typed elsewhere.
  takeFocus() {
    if (this.editor.busy() || isTyping(document.activeElement) || document.querySelector("dialog[open]")) return;
    this.canvas.focus({ preventScroll: true });
  }

  // True when a left click edits (select, drag) rather than draws.
  editing(event) {
    const { state } = this;
    return state.tool === "select" || (event.shiftKey && !state.draft.length);
  }

  screenPoint(event) {
    const box = this.canvas.getBoundingClientRect();
    return [event.clientX - box.left, event.clientY - box.top];
  }

  imagePoint(event) {
    return geo.clampPoint(this.editor.view.toImage(...this.screenPoint(event)), this.state.width, this.state.height);
  }

  // What is under p: a handle or an edge of the selected object, or an object.
  hitTest(p) {
    const { objects, selected, hidden, hiddenObjects } = this.state;
    if (hidden) return null;
    const tolerance = HIT_PX / this.editor.view.scale;
    const current = objects[selected];
    if (current && !hiddenObjects.has(current)) {
      const vertex = geo.nearestVertex(handles(current), p, tolerance);
      if (vertex >= 0) return { kind: "vertex", index: selected, vertex };
      const side = current.shape === "bndbox" ? geo.nearestEdge(outline(current), p, tolerance) : null;
      if (side) return { kind: "vertex", index: selected, vertex: 4 + side.index }; // a box's edge drags as its middle handle
      const edge = insertableEdge(current, p, tolerance);
      if (edge) return { kind: "edge", index: selected, edge };
      if (contains(current, p, tolerance)) return { kind: "inside", index: selected };
    }
    for (let i = objects.length - 1; i >= 0; i--) {
      if (!hiddenObjects.has(objects[i]) && contains(objects[i], p, tolerance)) return { kind: "inside", index: i };
    }
    return null;
  }

  down(event) {
    if (this.editor.busy()) return;
    this.canvas.focus({ preventScroll: true });
    const screen = this.screenPoint(event);
    if (event.button === 1 || event.button === 2 || this.spaceHeld) {
      this.drag = { kind: "pan", last: screen };
    } else if (event.button === 0 && this.editor.readOnly()) {
      this.drag = this.look(this.imagePoint(event), screen);
    } else if (event.button === 0 && this.editing(event)) {
      this.drag = this.select(this.imagePoint(event), screen);
    } else if (event.button === 0 && this.state.tool === "box") {
      const start = this.imagePoint(event); // whatever lies under it
      this.state.draft = [start, start];
      this.drag = { kind: "box" };
    } else if (event.button === 0) {
      this.editor.addDraftPoint(this.imagePoint(event)); // whatever lies under it
    }
    if (this.drag) this.canvas.setPointerCapture(event.pointerId);
  }

  // Select what lies under p; return the drag the press starts: a vertex, the shape, or a pan.
  select(p, screen) {
    const { state } = this;
    const hit = this.hitTest(p);
    const before = structuredClone(state.objects);
    if (hit?.kind === "vertex") return { kind: "vertex", index: hit.index, vertex: hit.vertex, before };
    state.selected = hit ? hit.index : -1;
    this.editor.refresh();
    if (hit) return { kind: "shape", index: hit.index, start: p, origin: structuredClone(state.objects[hit.index]), before };
    return { kind: "pan", last: screen };
  }

  // Read-only: a click selects the object under it (its details show), a drag pans; nothing moves.
  look(p, screen) {
    const hit = this.state.preview ? null : this.hitTest(p);
    this.state.selected = hit ? hit.index : -1;
    this.editor.refresh();
    return { kind: "pan", last: screen };
  }

  move(event) {
    const { state, drag } = this;
    const p = this.imagePoint(event);
    state.pointer = state.draft.length && state.tool === "polygon" ? p : null;
    if (!drag) {
      this.canvas.style.cursor = this.cursorFor(p, event);
      if (state.pointer) this.editor.redraw();
      return;
    }
    if (drag.kind === "pan") {
      const screen = this.screenPoint(event);
      this.editor.view.pan(screen[0] - drag.last[0], screen[1] - drag.last[1]);
      drag.last = screen;
    } else if (drag.kind === "box") {
      state.draft = [state.draft[0], p];
    } else if (drag.kind === "vertex") {
      dragHandle(state.objects[drag.index], drag.vertex, p, state.width, state.height);
    } else {
      const [dx, dy] = [p[0] - drag.start[0], p[1] - drag.start[1]];
      translated(state.objects[drag.index], drag.origin, dx, dy, state.width, state.height);
    }
    this.editor.redraw();
  }

  cursorFor(p, event) {
    if (this.spaceHeld || this.editor.readOnly()) return "grab";
    if (!this.editing(event)) return "crosshair";
    return { vertex: "pointer", edge: "copy", inside: "move" }[this.hitTest(p)?.kind] ?? "grab";
  }

  // A drag that moved something is one undoable step.
  up() {
    const { drag } = this;
    if (drag?.kind === "box") {
      this.drag = null;
      return this.editor.finishBox();
    }
    if (drag?.before && JSON.stringify(drag.before) !== JSON.stringify(this.state.objects)) this.editor.history.record(drag.before);
    this.drag = null;
    this.editor.refresh();
  }

  doubleClick(event) {
    const { state, editor } = this;
    if (editor.busy() || editor.readOnly()) return;
    if (state.tool === "polygon" && state.draft.length) return editor.finishPolygon();
    if (!this.editing(event)) return;
    const hit = this.hitTest(this.imagePoint(event));
    if (hit?.kind === "vertex") {
      const object = state.objects[hit.index];
      const problem = cannotRemoveVertex(object);
      if (problem) return editor.showMessage(problem);
      editor.change(() => object.points.splice(hit.vertex, 1));
    } else if (hit?.kind === "edge") {
      editor.change(() => state.objects[hit.index].points.splice(hit.edge.index + 1, 0, hit.edge.point));
    }
  }

  wheel(event) {
    event.preventDefault();
    this.editor.zoom(event.deltaY < 0 ? ZOOM_STEP : 1 / ZOOM_STEP, this.screenPoint(event));
  }
}

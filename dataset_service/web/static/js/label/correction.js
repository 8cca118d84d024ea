// The correction state: an outline the model drew from four extreme points or an AI box waits in
// place; each click (left: this is the object; right or Shift: it is not) asks again with the
// prompt and every click so far, and the newer request aborts the older one. Enter accepts the
// outline (the label chooser opens), Esc drops it, Ctrl+Z takes the last click back. The canvas
// keeps panning and zooming while a request runs; a small tag beside the outline says so.
// The answer may come in parts: the largest is kept, and so is every other part that holds a
// positive click (the person asked for it); each kept part becomes an object of its own.
import * as geo from "./geometry.js";

const MIN_BOX_PX = 3; // the worker refuses a thinner box (inference_worker/schemas.py, MIN_BOX_SIDE_PX)
const TAG_GAP_PX = 8; // between the outline and the "Updating…" tag
const CLICK_EDGE_PX = 1; // a positive click this near a part's edge is in it (the worker fills edge pixels too)
// The model's outlines are saved with the source of their prompt (storage/annotations SOURCES).
const sourceOf = (prompt) => (prompt.box ? "box_prompt" : "extreme_points");
export const LOW_CONFIDENCE = "Low confidence: the model sees no clear object here — add clicks or draw by hand.";

// The answer's polygons with three points or more, open (the editor keeps polygons open), largest first.
function usable(polygons) {
  const parts = polygons.map(geo.openPolygon).filter((p) => p.length >= 3);
  return parts.sort((a, b) => geo.area(b) - geo.area(a));
}

// Whether a part holds one of the positive clicks ([x, y, 1|0], image pixels), inside or on its edge.
const holdsPositive = (part, clicks) =>
  clicks.some(([x, y, positive]) => positive && (geo.containsPoint(part, [x, y]) || geo.nearestEdge(part, [x, y], CLICK_EDGE_PX)));

export class Correction {
  // `editor` gives: state, view, infer(body, signal), accept(geometry, source, more), refresh(), redraw(),
  // say(text), readOnly(), busy() (the chooser is open), panning() (Space held).
  constructor(canvas, tag, editor) {
    this.canvas = canvas;
    this.tag = tag;
    this.editor = editor;
    this.controller = null; // the running request's
    this.boxPointer = null; // the pointer dragging an AI box
    // Capture: these run before the other tools' listeners on the canvas, and keep the clicks
    // they take from them (a right button would pan, a double click would edit a vertex).
    const capture = { capture: true };
    canvas.addEventListener("pointerdown", (event) => this.down(event), capture);
    canvas.addEventListener("pointermove", (event) => this.move(event), capture);
    canvas.addEventListener("pointerup", (event) => this.up(event, true), capture);
    canvas.addEventListener("pointercancel", (event) => this.up(event, false), capture);
    canvas.addEventListener("dblclick", (event) => this.active && event.stopImmediatePropagation(), capture);
  }

  get state() {
    return this.editor.state;
  }

  get active() {
    return this.state.correction !== null;
  }

  // Ask the model for the outline of a prompt: {points: four [x, y]} or {box: [xmin, ymin, xmax, ymax]}.
  start(prompt) {
    this.cancel();
    if (prompt.points) prompt = { points: prompt.points.map((p) => geo.roundPoint(this.insidePixels(p))) };
    // `answered`: the clicks the outline shown answers; `accepting`: Enter was pressed while a request ran.
    this.state.correction = {
      prompt, clicks: [], answered: [], outline: null, more: [], parts: 0, score: null, low: false, waiting: false, accepting: false,
    };
    this.editor.say("");
    this.ask();
  }

  click(point, positive) {
    const c = this.state.correction;
    c.clicks.push([...geo.roundPoint(this.insidePixels(point)), positive ? 1 : 0]);
    c.accepting = false;
    this.ask();
  }

  // Ctrl+Z while correcting: the last click goes (none left: the prompt's own outline); true when correcting.
  undoClick() {
    const c = this.state.correction;
    if (!c) return false;
    if (c.clicks.length) {
      c.clicks.pop();
      c.accepting = false;
      this.ask();
    }
    return true;
  }

  // Enter: the outline (and each other part kept) goes to the label chooser, at once or when the
  // running request answers; every part becomes an object with the label chosen, in one undo step.
  accept() {
    const c = this.state.correction;
    if (!c) return false;
    if (c.waiting) {
      c.accepting = true;
      this.changed();
    } else if (c.outline) {
      this.cancel();
      this.changed();
      const polygon = (points) => ({ shape: "polygon", points });
      this.editor.accept(polygon(c.outline), sourceOf(c.prompt), c.more.map(polygon));
    }
    return true;
  }

  // Esc, another tool, another image: the outline and its clicks are dropped.
  drop() {
    const c = this.state.correction;
    if (!c) return;
    this.cancel();
    if (c.low) this.editor.say("");
    this.changed();
  }

  cancel() {
    this.controller?.abort();
    this.controller = null;
    this.state.correction = null;
  }

  async ask() {
    const c = this.state.correction;
    this.controller?.abort();
    const controller = (this.controller = new AbortController());
    const clicks = c.clicks.map((click) => [...click]);
    c.waiting = true;
    this.changed();
    try {
      const answer = await this.editor.infer({ ...c.prompt, ...(clicks.length ? { clicks } : {}) }, controller.signal);
      if (this.controller === controller) this.answered(c, answer, clicks);
    } catch (err) {
      if (err.name !== "AbortError" && this.controller === controller) this.failed(c, err.message);
    } finally {
      if (this.controller === controller) {
        this.controller = null;
        c.waiting = false;
        this.changed();
      }
    }
  }

  answered(c, answer, clicks) {
    const inImage = (part) => part.map((p) => geo.clampPoint(p, this.state.width, this.state.height));
    const [outline, ...others] = usable(answer.polygons ?? []).map(inImage);
    if (!outline) return this.failed(c, "the model found no outline here; try again or draw a polygon.");
    c.outline = outline;
    // One object is one polygon: the largest part, and each other one a positive click asked for
    // (a click the network disagrees with is a small part of its own); the rest is noise, dropped.
    c.more = others.filter((part) => holdsPositive(part, clicks));
    c.answered = clicks;
    c.parts = 1 + others.length;
    c.score = answer.score ?? null;
    c.low = Boolean(answer.low_confidence);
    this.editor.say(c.low ? LOW_CONFIDENCE : "");
    if (c.accepting) {
      c.waiting = false;
      this.accept();
    }
  }

  // The first outline failed: nothing to correct. A click's failed: the outline shown stays, with its clicks.
  failed(c, message) {
    if (!c.outline) {
      this.drop();
      this.editor.say(`${c.prompt.box ? "AI box" : "Extreme points"} failed: ${message}`);
      return;
    }
    c.clicks = c.answered.map((click) => [...click]);
    c.accepting = false;
    this.editor.say(`Correcting the outline failed: ${message} The outline shown stays, with the clicks it answers.`);
  }

  // --- the canvas: correction clicks, and the AI box dragged ---

  down(event) {
    const { editor } = this;
    if (editor.busy() || editor.readOnly() || editor.panning() || event.button === 1) return;
    if (this.active && (event.button === 0 || event.button === 2)) {
      this.take(event);
      this.click(this.imagePoint(event), event.button === 0 && !event.shiftKey);
    } else if (!this.active && this.state.tool === "aibox" && event.button === 0 && !event.shiftKey) {
      this.take(event);
      const start = this.imagePoint(event);
      this.state.draft = [start, start];
      this.boxPointer = event.pointerId;
      this.canvas.setPointerCapture(event.pointerId);
    }
  }

  take(event) {
    event.stopImmediatePropagation();
    this.canvas.focus({ preventScroll: true });
  }

  move(event) {
    if (event.pointerId !== this.boxPointer) return;
    event.stopImmediatePropagation();
    this.state.draft = [this.state.draft[0], this.imagePoint(event)];
    this.editor.redraw();
  }

  // A box dragged at least MIN_BOX_PX each way asks for the object in it; a smaller one is dropped.
  up(event, done) {
    if (event.pointerId !== this.boxPointer) return;
    event.stopImmediatePropagation();
    this.boxPointer = null;
    const [[x0, y0], [x1, y1]] = this.state.draft;
    this.state.draft = [];
    if (!done || Math.abs(x1 - x0) < MIN_BOX_PX || Math.abs(y1 - y0) < MIN_BOX_PX) return this.editor.refresh();
    this.start({ box: [...geo.roundPoint([Math.min(x0, x1), Math.min(y0, y1)]), ...geo.roundPoint([Math.max(x0, x1), Math.max(y0, y1)])] });
  }

  imagePoint(event) {
    const box = this.canvas.getBoundingClientRect();
    return geo.clampPoint(this.editor.view.toImage(event.clientX - box.left, event.clientY - box.top), this.state.width, this.state.height);
  }

  // The worker takes a click (or an extreme point) on a pixel of the image: x < width, y < height.
  insidePixels([x, y]) {
    return [Math.min(x, this.state.width - 1), Math.min(y, this.state.height - 1)];
  }

  // --- what the page shows ---

  changed() {
    const c = this.state.correction;
    const { dataset } = this.canvas;
    if (c) {
      dataset.correction = c.waiting ? "waiting" : "ready";
      dataset.outline = JSON.stringify(c.outline);
      dataset.parts = JSON.stringify(c.outline ? [c.outline, ...c.more] : []);
      dataset.confidence = c.low ? "low" : "ok";
    } else {
      for (const key of ["correction", "outline", "parts", "confidence"]) delete dataset[key];
    }
    this.tag.hidden = !c?.waiting;
    this.tag.lastElementChild.textContent = c?.outline ? (c.accepting ? "Updating, then accepting…" : "Updating…") : "Outlining…";
    this.editor.refresh();
  }

  // Keep the tag beside the outline (or the prompt) as the view pans and zooms; called on each frame drawn.
  place() {
    const c = this.state.correction;
    if (!c?.waiting) return;
    const points = c.outline ?? c.prompt.points ?? [c.prompt.box.slice(0, 2), c.prompt.box.slice(2)];
    const screen = points.map((p) => this.editor.view.toScreen(...p));
    const right = Math.max(...screen.map((p) => p[0]));
    const top = Math.min(...screen.map((p) => p[1]));
    const stage = this.tag.parentElement.getBoundingClientRect();
    this.tag.style.left = `${geo.clamp(right + TAG_GAP_PX, 4, stage.width - this.tag.offsetWidth - 4)}px`;
    this.tag.style.top = `${geo.clamp(top, 4, stage.height - this.tag.offsetHeight - 4)}px`;
  }
}

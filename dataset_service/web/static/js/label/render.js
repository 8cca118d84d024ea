// Drawing the image, the objects (each as its own shape) and the shape being drawn onto the canvas.
import { handles, isFilled, isOpen, outline } from "./shapes.js";

const HANDLE = 4;
const FALLBACK_COLOR = "#9aa4b1";
const PENDING_COLOR = "#0a84ff"; // a finished shape waiting for its label
const WARNING_COLOR = "#ff9f0a"; // an outline the model is not sure of
const PROMPT_COLOR = "#ff3b6b"; // the extreme points and the AI box
const CLICK_COLORS = { 1: "#30d158", 0: "#ff453a" }; // a correction click: the object, not the object
const CLICK_PX = 6;

function hexToRgba(hex, alpha) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

function tracePath(ctx, view, points, close) {
  ctx.beginPath();
  points.forEach(([x, y], i) => {
    const [sx, sy] = view.toScreen(x, y);
    if (i === 0) ctx.moveTo(sx, sy);
    else ctx.lineTo(sx, sy);
  });
  if (close) ctx.closePath();
}

function drawHandles(ctx, view, points, color, first = -1) {
  for (const [i, [x, y]] of points.entries()) {
    const [sx, sy] = view.toScreen(x, y);
    const r = i === first ? HANDLE + 2 : HANDLE;
    ctx.fillStyle = "#fff";
    ctx.strokeStyle = color;
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.rect(sx - r, sy - r, 2 * r, 2 * r);
    ctx.fill();
    ctx.stroke();
  }
}

const POINT_PX = 5; // a point object's radius on the screen

// Trace an object's outline as its shape: a closed polygon or box, an open line, a circle, a point.
function traceObject(ctx, view, object) {
  if (object.shape === "circle" || object.shape === "point") {
    const [sx, sy] = view.toScreen(...object.points[0]);
    ctx.beginPath();
    ctx.arc(sx, sy, object.shape === "point" ? POINT_PX : object.radius * view.scale, 0, 2 * Math.PI);
    return;
  }
  tracePath(ctx, view, outline(object), !isOpen(object));
}

// `editable`: the selected object while it can be edited (the Select tool, or Shift held).
function drawObject(ctx, view, object, color, selected, editable) {
  traceObject(ctx, view, object);
  if (isFilled(object) || object.shape === "point") {
    ctx.fillStyle = object.shape === "point" ? color : hexToRgba(color, selected ? 0.4 : 0.25);
    ctx.fill();
  }
  if (object.shape === "point" || isOpen(object)) { // a dark edge keeps thin shapes visible on any image
    ctx.strokeStyle = "rgba(0, 0, 0, 0.6)";
    ctx.lineWidth = selected ? 6 : 5;
    ctx.stroke();
  }
  ctx.strokeStyle = color;
  ctx.lineWidth = selected ? 3 : 2;
  if (object.shape === "dashed") ctx.setLineDash([10, 6]);
  ctx.stroke();
  ctx.setLineDash([]);
  if (editable) drawHandles(ctx, view, handles(object), color);
}

// A shape waiting for its label: a thin outline and its fill, nothing on the vertices, so the
// result can be judged before it is accepted.
function drawPending(ctx, view, object) {
  traceObject(ctx, view, object);
  ctx.fillStyle = hexToRgba(PENDING_COLOR, 0.2);
  ctx.fill();
  ctx.strokeStyle = PENDING_COLOR;
  ctx.lineWidth = 1.5;
  ctx.stroke();
}

// The model's outline waiting for correction clicks: drawn as a pending shape (dashed, in a warning
// colour, when the model is not sure) with every other part kept (`more`: each holds a positive
// click), its prompt, and the clicks as green (+) and red (-) dots.
function drawCorrection(ctx, view, { prompt, outline, more, clicks, low }) {
  const color = low ? WARNING_COLOR : PENDING_COLOR;
  for (const part of outline ? [outline, ...more] : []) {
    tracePath(ctx, view, part, true);
    ctx.fillStyle = hexToRgba(color, low ? 0.15 : 0.2);
    ctx.fill();
    ctx.strokeStyle = color;
    ctx.lineWidth = low ? 2.5 : 1.5;
    if (low) ctx.setLineDash([8, 5]);
    ctx.stroke();
    ctx.setLineDash([]);
  }
  if (prompt.box) drawPromptBox(ctx, view, [prompt.box.slice(0, 2), prompt.box.slice(2)]);
  for (const p of prompt.points ?? []) drawCross(ctx, view, p, PROMPT_COLOR);
  for (const click of clicks) drawClick(ctx, view, click);
}

function drawClick(ctx, view, [x, y, positive]) {
  const [sx, sy] = view.toScreen(x, y);
  ctx.beginPath();
  ctx.arc(sx, sy, CLICK_PX, 0, 2 * Math.PI);
  ctx.fillStyle = CLICK_COLORS[positive];
  ctx.fill();
  ctx.strokeStyle = "#fff";
  ctx.lineWidth = 1.5;
  ctx.stroke();
  ctx.beginPath(); // the sign, for those who do not tell green from red
  ctx.moveTo(sx - 3, sy);
  ctx.lineTo(sx + 3, sy);
  if (positive) {
    ctx.moveTo(sx, sy - 3);
    ctx.lineTo(sx, sy + 3);
  }
  ctx.stroke();
}

// The AI box's prompt: a dashed frame over a dark edge, never taken for a Box object.
function drawPromptBox(ctx, view, [[x0, y0], [x1, y1]]) {
  tracePath(ctx, view, [[x0, y0], [x1, y0], [x1, y1], [x0, y1]], true);
  strokeDashedOnEdge(ctx, "rgba(0, 0, 0, 0.6)", 3, PROMPT_COLOR, 1.5);
}

// Stroke the traced path twice: a solid dark edge, then a dashed line of the colour over it.
function strokeDashedOnEdge(ctx, edge, edgeWidth, color, width) {
  ctx.strokeStyle = edge;
  ctx.lineWidth = edgeWidth;
  ctx.stroke();
  ctx.strokeStyle = color;
  ctx.lineWidth = width;
  ctx.setLineDash([6, 4]);
  ctx.stroke();
  ctx.setLineDash([]);
}

// An object of a revision shown from the History panel: a dashed outline over a dark edge, a
// light fill, so it never passes for an object that can be edited.
function drawRevisionObject(ctx, view, object, color) {
  traceObject(ctx, view, object);
  if (isFilled(object) || object.shape === "point") {
    ctx.fillStyle = hexToRgba(color, 0.15);
    ctx.fill();
  }
  strokeDashedOnEdge(ctx, "rgba(0, 0, 0, 0.7)", 4, color, 2);
}

function drawCross(ctx, view, [x, y], color) {
  const [sx, sy] = view.toScreen(x, y);
  ctx.strokeStyle = "#000";
  ctx.lineWidth = 4;
  ctx.beginPath();
  ctx.arc(sx, sy, 6, 0, 2 * Math.PI);
  ctx.stroke();
  ctx.strokeStyle = color;
  ctx.lineWidth = 2;
  ctx.stroke();
  ctx.fillStyle = color;
  ctx.beginPath();
  ctx.arc(sx, sy, 2, 0, 2 * Math.PI);
  ctx.fill();
}

function drawDraft(ctx, view, state) {
  const { draft, tool, pointer } = state;
  if (!draft.length) return;
  if (tool === "extreme") {
    for (const p of draft) drawCross(ctx, view, p, PROMPT_COLOR);
    return;
  }
  if (tool === "aibox") {
    if (draft.length === 2) drawPromptBox(ctx, view, draft);
    return;
  }
  if (tool === "box") {
    if (draft.length < 2) return;
    drawPending(ctx, view, { shape: "bndbox", points: draft });
    return;
  }
  const points = pointer ? [...draft, pointer] : draft;
  tracePath(ctx, view, points, false);
  ctx.strokeStyle = "#fff";
  ctx.lineWidth = 3;
  ctx.stroke();
  ctx.strokeStyle = "#0a84ff";
  ctx.lineWidth = 1.5;
  ctx.setLineDash([6, 4]);
  ctx.stroke();
  ctx.setLineDash([]);
  drawHandles(ctx, view, draft, "#0a84ff", 0);
}

// Redraw everything: image, objects (unless hidden, all or one by one), the selected object's
// vertices when it can be edited, the shape waiting for its label, the model's outline being
// corrected, the draft; or, with a revision
// shown (`state.preview`), the image and that revision's objects only.
export function render(canvas, view, state) {
  const ctx = canvas.getContext("2d");
  const dpr = window.devicePixelRatio || 1;
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.fillStyle = "#2b2f36";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  if (!state.image) return;
  ctx.setTransform(dpr * view.scale, 0, 0, dpr * view.scale, dpr * view.offsetX, dpr * view.offsetY);
  ctx.imageSmoothingEnabled = view.scale < 2;
  ctx.drawImage(state.image, 0, 0, state.width, state.height);
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  const colors = new Map(state.labels.map((l) => [l.name, l.color]));
  const editable = !state.locked && (state.tool === "select" || (state.modifier && !state.draft.length && !state.correction));
  if (state.preview) {
    for (const o of state.preview.objects) drawRevisionObject(ctx, view, o, colors.get(o.label) ?? FALLBACK_COLOR);
    return;
  }
  if (!state.hidden) {
    state.objects.forEach((o, i) => {
      const selected = i === state.selected;
      if (!state.hiddenObjects.has(o)) drawObject(ctx, view, o, colors.get(o.label) ?? FALLBACK_COLOR, selected, selected && editable);
    });
  }
  if (state.pending) for (const shape of [state.pending, ...(state.pending.more ?? [])]) drawPending(ctx, view, shape);
  if (state.correction) drawCorrection(ctx, view, state.correction);
  drawDraft(ctx, view, state);
}

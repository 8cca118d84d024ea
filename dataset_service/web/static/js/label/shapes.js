// What each VOC shape is on the page: how it is traced, where its handles are and what dragging
// one does, what lies "on" it, how it moves, and which vertices may be added or removed. Pure
// functions over the editor's objects ({shape, points, radius}) in image pixels; no DOM.
import * as geo from "./geometry.js";

export const SHAPE_NAMES = {
  polygon: "polygon", bndbox: "box", point: "point", line: "line", polyline: "polyline", dashed: "dashed line", circle: "circle",
};
const OPEN = new Set(["line", "polyline", "dashed"]); // drawn as lines, without a fill
// The fewest vertices a shape that takes a vertex away may keep; shapes missing here take none away or add none.
const MIN_VERTICES = { polygon: 3, polyline: 2, dashed: 2 };

export const isOpen = (object) => OPEN.has(object.shape);
export const isFilled = (object) => !OPEN.has(object.shape) && object.shape !== "point";

// A box as its two corners [[xmin, ymin], [xmax, ymax]] (GET gives the four corners clockwise).
export function boxCorners(points) {
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  return [[Math.min(...xs), Math.min(...ys)], [Math.max(...xs), Math.max(...ys)]];
}

// The geometry the editor holds for an object as the API gave it.
export function fromApiGeometry(raw) {
  const shape = raw.shape ?? "polygon";
  const points = structuredClone(raw.points);
  if (shape === "bndbox") return { shape, points: boxCorners(points) };
  if (shape === "circle") return { shape, points, radius: raw.radius };
  return { shape, points: shape === "polygon" ? geo.openPolygon(points) : points };
}

// The geometry of an object in one comparable form (a box by its corners, a polygon open).
export const geometryKey = (o) => JSON.stringify([o.shape ?? "polygon", fromApiGeometry(o).points, o.shape === "circle" ? o.radius : null]);

// The points the outline passes through, for drawing the box's and the circle's outlines and for
// placing the label chooser beside an object.
export function outline(object) {
  const { shape, points, radius } = object;
  if (shape === "bndbox") {
    const [[x0, y0], [x1, y1]] = points;
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]];
  }
  if (shape === "circle") {
    const [cx, cy] = points[0];
    return [[cx - radius, cy - radius], [cx + radius, cy + radius]];
  }
  return points;
}

// The handles of an object while it is edited: a box's 4 corners and 4 edge middles, a circle's
// centre and a point on its rim, every vertex of the others.
export function handles(object) {
  const { shape, points, radius } = object;
  if (shape === "bndbox") {
    const [[x0, y0], [x1, y1]] = points;
    const [mx, my] = [(x0 + x1) / 2, (y0 + y1) / 2];
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [mx, y0], [x1, my], [mx, y1], [x0, my]];
  }
  if (shape === "circle") return [points[0], [points[0][0] + radius, points[0][1]]];
  return points;
}

// Move handle `index` of the object to p (inside an image of width x height).
export function dragHandle(object, index, p, width, height) {
  const [x, y] = geo.clampPoint(p, width, height);
  if (object.shape === "bndbox") {
    let [[x0, y0], [x1, y1]] = object.points;
    const corner = [[true, true], [false, true], [false, false], [true, false]][index]; // [moves xmin, moves ymin]
    if (corner) {
      if (corner[0]) x0 = x; else x1 = x;
      if (corner[1]) y0 = y; else y1 = y;
    } else if (index === 4) y0 = y;
    else if (index === 5) x1 = x;
    else if (index === 6) y1 = y;
    else x0 = x;
    object.points = boxCorners([[x0, y0], [x1, y1]]); // a corner dragged past its opposite flips the box
  } else if (object.shape === "circle") {
    if (index === 0) object.points = [[x, y]];
    else object.radius = Math.max(geo.distance(object.points[0], [x, y]), 1);
  } else {
    object.points[index] = [x, y];
  }
}

// Tell whether p lies on the object: inside a filled shape, or within `tolerance` of a line or a point.
export function contains(object, p, tolerance) {
  const { shape, points, radius } = object;
  if (shape === "bndbox") {
    const [[x0, y0], [x1, y1]] = points;
    return p[0] >= x0 && p[0] <= x1 && p[1] >= y0 && p[1] <= y1;
  }
  if (shape === "circle") return geo.distance(points[0], p) <= radius;
  if (shape === "point") return geo.distance(points[0], p) <= tolerance;
  if (OPEN.has(shape)) return points.slice(1).some((b, i) => geo.segmentDistance(p, points[i], b).distance <= tolerance);
  return geo.containsPoint(points, p);
}

// Move the object by (dx, dy) as far as the image allows (it keeps its form).
export function translated(object, origin, dx, dy, width, height) {
  if (object.shape === "circle") {
    object.points = [geo.clampPoint([origin.points[0][0] + dx, origin.points[0][1] + dy], width, height)];
  } else {
    object.points = geo.translateInside(origin.points, dx, dy, width, height);
  }
}

// Where a double-click may add a vertex: the edge within `tolerance` of p (polygon: closed; polyline, dashed: open).
export function insertableEdge(object, p, tolerance) {
  if (!(object.shape in MIN_VERTICES)) return null;
  const points = object.shape === "polygon" ? object.points : object.points.slice(0, -1);
  const edge = geo.nearestEdge(object.points, p, tolerance);
  return edge && edge.index < points.length ? edge : null;
}

// Why a vertex cannot be removed, or null when it can.
export function cannotRemoveVertex(object) {
  const least = MIN_VERTICES[object.shape];
  if (least === undefined) return `A ${SHAPE_NAMES[object.shape]} keeps its points; delete the object instead.`;
  return object.points.length <= least ? `A ${SHAPE_NAMES[object.shape]} needs at least ${least} points; delete the object instead.` : null;
}

// What the object's row in the list says about its shape.
export function describe(object) {
  if (!(object.shape in MIN_VERTICES)) return SHAPE_NAMES[object.shape]; // a shape of a fixed number of points
  return `${SHAPE_NAMES[object.shape]} · ${object.points.length} pts`;
}

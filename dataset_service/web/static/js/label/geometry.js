// Plane geometry on image coordinates: pure functions, no DOM.

export const clamp = (value, low, high) => Math.min(Math.max(value, low), high);

export const distance = (a, b) => Math.hypot(a[0] - b[0], a[1] - b[1]);

// Keep a point inside the image: the service refuses points outside it.
export const clampPoint = ([x, y], width, height) => [clamp(x, 0, width), clamp(y, 0, height)];

// Distance from p to the segment a-b, and where along it (0..1) the nearest point lies.
export function segmentDistance(p, a, b) {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const length2 = dx * dx + dy * dy;
  const t = length2 === 0 ? 0 : clamp(((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / length2, 0, 1);
  return { distance: distance(p, [a[0] + t * dx, a[1] + t * dy]), t };
}

// Index of the vertex within `tolerance` of p (the nearest one), or -1.
export function nearestVertex(points, p, tolerance) {
  let best = -1;
  let bestDistance = tolerance;
  points.forEach((q, i) => {
    const d = distance(p, q);
    if (d <= bestDistance) [best, bestDistance] = [i, d];
  });
  return best;
}

// Index i of the closed polygon's edge (i -> i+1) within `tolerance` of p, and the point on it; or null.
export function nearestEdge(points, p, tolerance) {
  let best = null;
  points.forEach((a, i) => {
    const b = points[(i + 1) % points.length];
    const { distance: d, t } = segmentDistance(p, a, b);
    if (d <= tolerance && (best === null || d < best.distance)) {
      best = { index: i, distance: d, point: [a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])] };
    }
  });
  return best;
}

// Even-odd rule: tell whether p lies inside the polygon.
export function containsPoint(points, [x, y]) {
  let inside = false;
  for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
    const [xi, yi] = points[i];
    const [xj, yj] = points[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

export function area(points) {
  let sum = 0;
  points.forEach(([x1, y1], i) => {
    const [x2, y2] = points[(i + 1) % points.length];
    sum += x1 * y2 - x2 * y1;
  });
  return Math.abs(sum) / 2;
}

// Move a polygon by (dx, dy), as far as the image allows: the shape keeps its form.
export function translateInside(points, dx, dy, width, height) {
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const mx = clamp(dx, -Math.min(...xs), width - Math.max(...xs));
  const my = clamp(dy, -Math.min(...ys), height - Math.max(...ys));
  return points.map(([x, y]) => [x + mx, y + my]);
}

// Drop a point that repeats the one before it (a double click lands twice on one spot).
export function withoutRepeats(points, tolerance = 0.5) {
  return points.filter((p, i) => i === 0 || distance(p, points[i - 1]) > tolerance);
}

// ModelArts' files may repeat the first point at the end; the editor keeps polygons open.
export function openPolygon(points) {
  const n = points.length;
  return n > 3 && distance(points[0], points[n - 1]) < 1e-6 ? points.slice(0, -1) : points;
}

export const roundPoint = ([x, y]) => [Math.round(x * 100) / 100, Math.round(y * 100) / 100];

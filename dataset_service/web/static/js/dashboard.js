// The Dashboard tab: the figures of `GET /datasets/{id}/stats` as CSS bars and one SVG column chart.
import { api, pageData } from "./api.js";

const { datasetId } = pageData();
const SVG = "http://www.w3.org/2000/svg";
const number = (n) => Number(n ?? 0).toLocaleString("en");

// Horizontal bars: one row per item, its bar as long as its share of the largest value.
function bars(sectionId, rows) {
  const box = document.querySelector(`#${sectionId} .bars`);
  const top = Math.max(1, ...rows.map((r) => r.value));
  if (!rows.length) {
    box.replaceChildren(Object.assign(document.createElement("p"), { className: "muted", textContent: "Nothing yet." }));
    return;
  }
  box.replaceChildren(...rows.map(({ name, value, color, note }) => {
    const row = document.createElement("div");
    row.className = "bar-row";
    row.dataset.name = name;
    row.dataset.value = value;
    const label = Object.assign(document.createElement("span"), { className: "name", textContent: name, title: name });
    const track = Object.assign(document.createElement("span"), { className: "track" });
    const bar = Object.assign(document.createElement("span"), { className: "bar" });
    bar.style.display = "block";
    bar.style.width = `${(100 * value) / top}%`;
    if (color) bar.style.setProperty("--c", color);
    track.append(bar);
    const figure = Object.assign(document.createElement("span"), { className: "value", textContent: number(value) + (note ?? "") });
    row.append(label, track, figure);
    return row;
  }));
}

// Columns over days, drawn as an inline SVG (its own coordinates, scaled to the card's width).
function columns(sectionId, days) {
  const box = document.querySelector(`#${sectionId} .columns`);
  if (!days.length) {
    box.replaceChildren(Object.assign(document.createElement("p"), { className: "muted", textContent: "No image labeled yet." }));
    return;
  }
  const width = 1000, height = 180, bottom = 20, top = Math.max(1, ...days.map((d) => d.images));
  const step = width / Math.max(days.length, 30); // a few days stay narrow columns, from the left
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", days.map((d) => `${d.day}: ${d.images}`).join(", "));
  days.forEach((d, i) => {
    const h = ((height - bottom - 4) * d.images) / top;
    const rect = document.createElementNS(SVG, "rect");
    Object.entries({ x: i * step + step * 0.1, y: height - bottom - h, width: step * 0.8, height: h }).forEach(([k, v]) => rect.setAttribute(k, v));
    rect.dataset.day = d.day;
    rect.dataset.images = d.images;
    const title = document.createElementNS(SVG, "title");
    title.textContent = `${d.day}: ${number(d.images)} images`;
    rect.append(title);
    svg.append(rect);
  });
  for (const i of new Set([0, days.length - 1])) {
    const text = document.createElementNS(SVG, "text");
    text.setAttribute("x", i === 0 ? 2 : Math.min(width - 2, days.length * step));
    text.setAttribute("y", height - 5);
    text.setAttribute("text-anchor", i === 0 ? "start" : "end");
    text.textContent = days[i].day;
    svg.append(text);
  }
  box.replaceChildren(svg);
}

function render(stats) {
  for (const [name, value] of Object.entries({ ...stats.samples, objects: stats.objects })) {
    const node = document.querySelector(`[data-figure="${name}"]`);
    if (node) node.textContent = number(value);
  }
  bars("chart-labels", stats.labels.map((l) => ({ name: l.name, value: l.objects, color: l.color })));
  bars("chart-label-images", stats.labels.map((l) => ({ name: l.name, value: l.images, color: l.color })));
  bars("chart-objects-per-image", stats.objects_per_image.map((b) => ({ name: b.bucket, value: b.images })));
  bars("chart-sizes", stats.image_sizes.map((b) => ({ name: b.bucket, value: b.images })));
  columns("chart-days", stats.labeled_per_day);
  const created = stats.labelers.reduce((sum, l) => sum + l.objects, 0) || 1;
  bars("chart-labelers", stats.labelers.map((l) => ({
    name: l.name ?? "unknown", value: l.objects, note: ` (${Math.round((100 * l.objects) / created)}%)`,
  })));
  document.body.dataset.dashboard = "ready";
}

api("GET", `/datasets/${datasetId}/stats`).then(render).catch((err) => {
  const box = document.getElementById("dashboard-error");
  box.textContent = `Cannot read the figures: ${err.message}`;
  box.hidden = false;
});

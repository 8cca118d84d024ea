// The list being labeled: the dataset page's list around this image, as thumbnails under the
// canvas (the current one marked, a click opens one), previous and next, and a "go to image" box.
// The list is kept in this tab's session and merged with each page's fresh window of it, so an
// image that left the filter (labeled from the Unlabeled tab) stays in it: Previous goes back to it.
import { api } from "../api.js";

const KEEP = 400; // images kept in the session's list around the current one

// Compare keys as the database orders them: by code point (UTF-8 byte order).
export function compareKeys(a, b) {
  const [x, y] = [[...a], [...b]];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i].codePointAt(0) - y[i].codePointAt(0);
  }
  return x.length - y.length;
}

// The kept list with a fresh window of it (fresh entries win), in key order, trimmed around the current image.
export function mergeLists(kept, fresh, currentId) {
  const byId = new Map(kept.map((entry) => [entry.id, entry]));
  for (const entry of fresh) byId.set(entry.id, entry);
  const list = [...byId.values()].sort((a, b) => compareKeys(a.key, b.key) || a.id - b.id);
  const at = list.findIndex((entry) => entry.id === currentId);
  return list.slice(Math.max(0, at - KEEP / 2), Math.max(0, at) + KEEP / 2 + 1);
}

export class Filmstrip {
  // `page` is the page data (datasetId, sampleId, filterQuery, strip); `go(url)` leaves for another image.
  constructor(page, { go, showMessage }) {
    this.page = page;
    this.go = go;
    this.showMessage = showMessage;
    this.storageKey = `labeling.list.${page.datasetId}.${page.filterQuery}`;
    this.list = mergeLists(this.kept(), page.strip, page.sampleId);
    this.at = this.list.findIndex((entry) => entry.id === page.sampleId);
    this.keep();
    this.root = document.getElementById("filmstrip");
    this.render();
    this.root.addEventListener("click", (event) => {
      const link = event.target.closest("a[href]");
      if (!link) return;
      event.preventDefault();
      if (link.getAttribute("aria-current") !== "page") go(link.href);
    });
    document.getElementById("goto-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.goTo(event.target.elements.image.value.trim());
    });
  }

  kept() {
    try {
      return JSON.parse(sessionStorage.getItem(this.storageKey)) ?? [];
    } catch {
      return [];
    }
  }

  keep() {
    try {
      sessionStorage.setItem(this.storageKey, JSON.stringify(this.list));
    } catch {
      // a full session store only costs the memory of the list
    }
  }

  urlOf(entry) {
    const query = this.page.filterQuery ? `?${this.page.filterQuery}` : "";
    return entry ? `/datasets/${this.page.datasetId}/samples/${entry.id}${query}` : null;
  }

  get prevUrl() {
    return this.urlOf(this.list[this.at - 1]);
  }

  get nextUrl() {
    return this.urlOf(this.list[this.at + 1]);
  }

  // Show the current image as labeled or not once it is saved.
  markLabeled(labeled) {
    const entry = this.list[this.at];
    if (!entry || entry.labeled === labeled) return;
    entry.labeled = labeled;
    this.keep();
    this.root.querySelector("[aria-current=page]")?.closest("li").classList.toggle("labeled", labeled);
  }

  render() {
    this.root.replaceChildren(...this.list.map((entry, i) => this.item(entry, i === this.at)));
    const current = this.root.children[this.at];
    if (current) this.root.scrollLeft = current.offsetLeft - (this.root.clientWidth - current.offsetWidth) / 2;
  }

  item(entry, current) {
    const item = document.createElement("li");
    item.className = entry.labeled ? "labeled" : "";
    const link = document.createElement("a");
    link.href = this.urlOf(entry);
    link.title = entry.key;
    if (current) link.setAttribute("aria-current", "page");
    const image = Object.assign(document.createElement("img"), { src: entry.thumb, alt: entry.key.split("/").pop(), loading: "lazy" });
    link.append(image);
    item.append(link);
    return item;
  }

  // Open the image whose key ends with the text (a name, a path, or a pasted s3:// URI), else the
  // first whose key holds it, in the whole dataset.
  async goTo(text) {
    const wanted = text.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*\//i, "");
    if (!wanted) return;
    try {
      const found = await api("GET", `/datasets/${this.page.datasetId}/samples?path=${encodeURIComponent(wanted)}&limit=50`);
      const exact = found.items.find((s) => s.key === wanted || s.key.endsWith(`/${wanted}`));
      const target = exact ?? found.items[0];
      if (!target) return this.showMessage(`No image of this dataset has “${wanted}” in its name or path.`);
      if (target.id !== this.page.sampleId) this.go(this.urlOf(target));
    } catch (err) {
      this.showMessage(`Cannot look for “${wanted}”: ${err.message}`);
    }
  }
}

// The History panel: every saved revision of the image (who, when, from which tool, whose
// revision a save replaced). Choosing one draws its objects on the image, read-only and dashed,
// instead of the current ones; "Restore this revision" makes it current again as a new revision,
// so nothing is ever lost ("Overwrite with mine" after a conflict included).
import { api, ApiError } from "../api.js";
import { formatTime } from "./panel.js";

const $ = (id) => document.getElementById(id);
const PAGE = 50;

// One line about where a revision came from, or "" for a plain save.
export function origin(rev) {
  if (rev.restored_from != null) return `restored from revision ${rev.restored_from}`;
  if (rev.tool === "import") return "the objects before the first kept save (imported)";
  if (rev.replaced_by && rev.replaced_by !== rev.saved_by) return `replaced ${rev.replaced_by}'s revision ${rev.replaced_revision}`;
  return "";
}

export class Revisions {
  // `show(rev)` draws a revision (null: the current objects again); `restored(annotation)` takes
  // the objects a restore made current; `save()` saves unsaved changes first (true when done);
  // `current()` is the revision the page holds; `say(text)` shows a message.
  constructor(sampleId, { show, restored, save, current, say }) {
    Object.assign(this, { sampleId, show, restored, save, current, say });
    this.items = [];
    this.total = 0;
    this.chosen = null;
    $("history-section").addEventListener("toggle", () => {
      if ($("history-section").open) this.reload();
      else this.choose(null);
    });
    $("revisions").addEventListener("click", (event) => this.clicked(event));
    $("revisions").addEventListener("keydown", (event) => event.key === "Enter" && this.clicked(event));
    $("history-more").addEventListener("click", () => this.more());
    $("restore-revision")?.addEventListener("click", () => this.restore());
    $("preview-close").addEventListener("click", () => this.choose(null));
  }

  get open() {
    return $("history-section").open;
  }

  // The objects were saved (or reloaded): an open list shows the new revision.
  changed() {
    if (this.open) this.reload();
  }

  async reload() {
    try {
      const { total, items } = await api("GET", `/samples/${this.sampleId}/history?limit=${PAGE}`);
      Object.assign(this, { total, items });
      this.render();
    } catch (err) {
      this.say(`The history cannot be read: ${err.message}`);
    }
  }

  async more() {
    const { items } = await api("GET", `/samples/${this.sampleId}/history?limit=${PAGE}&offset=${this.items.length}`);
    this.items.push(...items);
    this.render();
  }

  clicked(event) {
    const row = event.target.closest("li[data-revision]");
    if (!row) return;
    const rev = this.items.find((r) => r.revision === Number(row.dataset.revision));
    this.choose(rev === this.chosen ? null : rev);
  }

  choose(rev) {
    this.chosen = rev ?? null;
    this.show(this.chosen);
    const banner = $("preview-banner");
    banner.hidden = !this.chosen;
    if (this.chosen) {
      $("preview-text").textContent = `Revision ${rev.revision} by ${rev.saved_by ?? "an import"}, ${formatTime(rev.saved_at)}: ` +
        `${rev.objects.length} object(s), read-only`;
    }
    this.render();
  }

  render() {
    $("history-count").textContent = this.total ? `(${this.total})` : "";
    $("revisions").replaceChildren(...this.items.map((rev) => this.row(rev)));
    $("history-more").hidden = this.items.length >= this.total;
    const restore = $("restore-revision");
    if (restore) {
      restore.hidden = !this.chosen;
      restore.disabled = !this.chosen || this.chosen.revision === this.current();
      restore.title = restore.disabled ? "This revision is the current one" : "Make these objects current again, as a new revision";
    }
  }

  row(rev) {
    const item = document.createElement("li");
    item.dataset.revision = rev.revision;
    item.tabIndex = 0;
    if (rev === this.chosen) item.setAttribute("aria-current", "true");
    const head = document.createElement("span");
    const now = rev.revision === this.current() ? " (current)" : "";
    head.textContent = `${rev.revision}${now} · ${rev.saved_by ?? "import"} · ${formatTime(rev.saved_at)} · ${rev.tool} · ${rev.objects.length} obj.`;
    item.append(head);
    const note = origin(rev);
    if (note) item.append(Object.assign(document.createElement("span"), { className: "revision-note", textContent: note }));
    return item;
  }

  async restore() {
    const rev = this.chosen;
    if (!rev || !(await this.save())) return;
    try {
      const annotation = await api("POST", `/samples/${this.sampleId}/history/${rev.revision}/restore`, { revision: this.current() });
      this.choose(null);
      this.restored(annotation);
      this.say("");
      await this.reload();
    } catch (err) {
      const stale = err instanceof ApiError && err.status === 409;
      this.say(stale ? "Someone saved this image meanwhile: reload the page to see their revision, then restore again." : `Restoring failed: ${err.message}`);
    }
  }
}

// The label chooser that opens after each new shape, beside it: pick a label (click, 1-9, Enter) or add one.

const GAP = 12; // between the shape and the chooser
const MARGIN = 8; // between the chooser and the stage's edges

const overlap = (a, b) =>
  Math.max(0, Math.min(a.right, b.right) - Math.max(a.left, b.left)) * Math.max(0, Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top));

// Where a box of `width` x `height` goes beside `shape` (a box in stage pixels) inside a stage of
// `stageWidth` x `stageHeight`: right of it, else left, below, above; where none fits, the place
// that covers the least of the shape.
export function placeBeside(shape, width, height, stageWidth, stageHeight) {
  const clampX = (x) => Math.max(MARGIN, Math.min(x, stageWidth - width - MARGIN));
  const clampY = (y) => Math.max(MARGIN, Math.min(y, stageHeight - height - MARGIN));
  const middleY = clampY((shape.top + shape.bottom - height) / 2);
  const middleX = clampX((shape.left + shape.right - width) / 2);
  const candidates = [
    { left: clampX(shape.right + GAP), top: middleY },
    { left: clampX(shape.left - GAP - width), top: middleY },
    { left: middleX, top: clampY(shape.bottom + GAP) },
    { left: middleX, top: clampY(shape.top - GAP - height) },
    { left: MARGIN, top: MARGIN },
    { left: clampX(stageWidth), top: MARGIN },
    { left: MARGIN, top: clampY(stageHeight) },
    { left: clampX(stageWidth), top: clampY(stageHeight) },
  ];
  const covered = (c) => overlap(shape, { left: c.left, top: c.top, right: c.left + width, bottom: c.top + height });
  return candidates.reduce((best, c) => (covered(c) < covered(best) ? c : best));
}

export class LabelChooser {
  constructor(root, addLabel) {
    this.root = root;
    this.addLabel = addLabel;
    this.list = root.querySelector("#chooser-list");
    this.input = root.querySelector("#chooser-input");
    this.error = root.querySelector("#chooser-error");
    this.resolve = null;
    root.querySelector("#chooser-new").addEventListener("submit", (event) => {
      event.preventDefault();
      this.create(this.input.value.trim());
    });
    root.querySelector("#chooser-cancel").addEventListener("click", () => this.close(null));
    this.list.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-label]");
      if (button) this.close(button.dataset.label);
    });
  }

  get isOpen() {
    return this.resolve !== null;
  }

  // Show the chooser beside a shape (its box in stage pixels); resolve with a label name, or null when cancelled.
  open(labels, preferred, shape) {
    this.labels = labels;
    this.preferred = labels.some((l) => l.name === preferred) ? preferred : labels[0]?.name ?? null;
    this.render();
    this.input.value = "";
    this.error.hidden = true;
    this.root.hidden = false;
    const stage = this.root.parentElement.getBoundingClientRect();
    const { left, top } = placeBeside(shape, this.root.offsetWidth, this.root.offsetHeight, stage.width, stage.height);
    Object.assign(this.root.style, { left: `${left}px`, top: `${top}px` });
    (this.list.querySelector(".preferred") ?? this.input).focus();
    return new Promise((resolve) => (this.resolve = resolve));
  }

  render() {
    this.list.replaceChildren(
      ...this.labels.map((label, i) => {
        const button = document.createElement("button");
        button.type = "button";
        button.dataset.label = label.name;
        button.className = label.name === this.preferred ? "preferred" : "";
        button.title = i < 9 ? `${label.name} (${i + 1})` : label.name;
        const swatch = document.createElement("span");
        swatch.className = "swatch";
        swatch.style.setProperty("--c", label.color);
        button.append(swatch, `${i < 9 ? i + 1 + " " : ""}${label.name}`);
        return button;
      }),
    );
  }

  async create(name) {
    if (!name) return;
    const existing = this.labels.find((l) => l.name === name);
    if (existing) return this.close(existing.name);
    try {
      const label = await this.addLabel(name);
      this.close(label.name);
    } catch (err) {
      this.error.textContent = err.message;
      this.error.hidden = false;
    }
  }

  // Keys while open: digits pick, Enter takes the preferred label, Esc cancels. True when handled.
  handleKey(event) {
    if (event.key === "Escape") {
      this.close(null);
      return true;
    }
    if (event.target === this.input) return false;
    if (/^[1-9]$/.test(event.key) && this.labels[Number(event.key) - 1]) {
      this.close(this.labels[Number(event.key) - 1].name);
      return true;
    }
    if (event.key === "Enter" && this.preferred && !event.target.closest?.("button")) {
      this.close(this.preferred);
      return true;
    }
    return false;
  }

  close(name) {
    const resolve = this.resolve;
    this.resolve = null;
    this.root.hidden = true;
    if (resolve) resolve(name);
  }
}

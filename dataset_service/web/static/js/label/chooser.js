// The label chooser that opens after each new shape: pick a label (click, 1-9, Enter) or add one.

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

  // Show the chooser near a point of the stage; resolve with a label name, or null when cancelled.
  open(labels, preferred, [x, y]) {
    this.labels = labels;
    this.preferred = labels.some((l) => l.name === preferred) ? preferred : labels[0]?.name ?? null;
    this.render();
    this.input.value = "";
    this.error.hidden = true;
    this.root.hidden = false;
    const stage = this.root.parentElement.getBoundingClientRect();
    this.root.style.left = `${Math.max(8, Math.min(x + 12, stage.width - this.root.offsetWidth - 8))}px`;
    this.root.style.top = `${Math.max(8, Math.min(y + 12, stage.height - this.root.offsetHeight - 8))}px`;
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

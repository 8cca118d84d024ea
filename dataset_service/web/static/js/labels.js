// A dataset's labels, managed on a page (`_label_manager.html`): rename, recolour, add, and delete
// after a confirmation that says what else goes. The dataset page and the labeling page share it.
import { api } from "./api.js";

const $ = (id) => document.getElementById(id);
const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

export class LabelManager {
  // Labels are {id, name, color, samples}: `samples` carry the label (as last counted). `onChange`
  // hears {added}, {updated, before} or {deleted} once the server has it; `usage(label)` words a
  // row's count.
  constructor(datasetId, { onChange, usage = (label) => plural(label.samples ?? 0, "image") }) {
    Object.assign(this, { datasetId, onChange, usage, labels: [], deleting: null });
    this.list = $("label-list");
    // Renaming, recolouring and deleting are the owner's (access.RULES); others see the list and add.
    this.manage = this.list.closest("[data-manage]")?.dataset.manage === "true";
    this.error = $("label-error");
    this.dialog = $("label-delete-dialog");
    this.list.addEventListener("change", (event) => this.edited(event.target));
    this.list.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && event.target.matches(".label-name")) event.target.blur(); // blurring commits
    });
    this.list.addEventListener("click", (event) => {
      const button = event.target.closest(".delete-label");
      if (button) this.askDelete(this.labelOf(button));
    });
    $("label-add").addEventListener("submit", (event) => {
      event.preventDefault();
      this.add(event.target.elements.name);
    });
    $("label-delete-confirm").addEventListener("click", () => this.delete());
  }

  // Show these labels; the array is kept and changed in place (the page may share it).
  render(labels = this.labels) {
    this.labels = labels;
    this.list.replaceChildren(...labels.map((label) => this.row(label)));
  }

  row(label) {
    const item = document.createElement("li");
    item.dataset.labelId = label.id;
    const color = Object.assign(document.createElement("input"), { type: "color", value: label.color, className: "label-color" });
    color.setAttribute("aria-label", `Colour of ${label.name}`);
    const name = Object.assign(document.createElement("input"), { value: label.name, className: "label-name", maxLength: 64, title: label.name });
    name.setAttribute("aria-label", `Name of ${label.name}`);
    const usage = Object.assign(document.createElement("span"), { className: "muted small label-usage", textContent: this.usage(label) });
    if (!this.manage) {
      color.disabled = true;
      name.readOnly = true;
      item.append(color, name, usage);
      return item;
    }
    const remove = Object.assign(document.createElement("button"), { type: "button", className: "link delete-label", textContent: "Delete" });
    remove.setAttribute("aria-label", `Delete the label ${label.name}`);
    item.append(color, name, usage, remove);
    return item;
  }

  labelOf(element) {
    const id = Number(element.closest("li[data-label-id]")?.dataset.labelId);
    return this.labels.find((label) => label.id === id);
  }

  showError(text) {
    this.error.textContent = text;
    this.error.hidden = !text;
  }

  // A name or a colour changed in a row: send it; on refusal, put the row back and say why.
  async edited(input) {
    const label = this.labelOf(input);
    if (!label) return;
    const change = input.matches(".label-color") ? { color: input.value.toLowerCase() } : { name: input.value.trim() };
    if (Object.entries(change).every(([field, value]) => label[field] === value)) return;
    const before = { ...label };
    this.showError("");
    try {
      const saved = await api("PATCH", `/datasets/${this.datasetId}/labels/${label.id}`, change);
      Object.assign(label, { name: saved.name, color: saved.color });
      this.render();
      this.onChange({ updated: label, before });
    } catch (err) {
      input.value = input.matches(".label-color") ? label.color : label.name;
      this.showError(`${label.name}: ${err.message}`);
    }
  }

  async add(input) {
    const name = input.value.trim();
    if (!name) return;
    this.showError("");
    try {
      const saved = await api("POST", `/datasets/${this.datasetId}/labels`, { name });
      const label = { id: saved.id, name: saved.name, color: saved.color, samples: 0 };
      this.labels.push(label);
      this.render();
      input.value = "";
      this.onChange({ added: label });
    } catch (err) {
      this.showError(err.message);
    }
  }

  askDelete(label) {
    this.deleting = label;
    $("label-delete-name").textContent = `“${label.name}”`;
    $("label-delete-error").hidden = true;
    this.describeDeletion(label.samples ?? 0);
    this.dialog.showModal();
  }

  describeDeletion(samples, objects = null) {
    const what = objects === null ? "" : `${plural(objects, "object")} on `;
    $("label-delete-text").textContent = samples
      ? `It is used on ${what}${plural(samples, "image")}: deleting it deletes those objects too, and their XML files are rewritten. This cannot be undone.`
      : "No image uses it.";
    $("label-delete-confirm").textContent = samples ? "Delete the label and its objects" : "Delete the label";
  }

  // Delete; a label in use goes with its objects once the dialog has said so. One the count did not
  // know in use is refused by the server with its count, which the dialog then shows.
  async delete() {
    const label = this.deleting;
    const force = (label.samples ?? 0) > 0;
    try {
      await api("DELETE", `/datasets/${this.datasetId}/labels/${label.id}${force ? "?force=true" : ""}`);
    } catch (err) {
      if (err.status === 409 && err.body.samples) {
        label.samples = err.body.samples;
        return this.describeDeletion(err.body.samples, err.body.objects ?? null);
      }
      $("label-delete-error").textContent = err.message;
      $("label-delete-error").hidden = false;
      return;
    }
    this.dialog.close();
    this.labels.splice(this.labels.indexOf(label), 1);
    this.render();
    this.onChange({ deleted: label });
  }
}

// The attributes panel of the selected object, as in CVAT's: pose, truncated, occluded, difficult,
// confidence and free properties (key -> value, any language) are edited; VOC parts are shown.
// Each edit is one undoable change, applied when a field is left or Enter pressed.

// The attributes an object carries besides its label and shape (the API's names).
export const ATTRIBUTES = ["pose", "truncated", "occluded", "difficult", "confidence", "properties"];
const FLAGS = ["truncated", "occluded", "difficult"];

const $ = (id) => document.getElementById(id);

export class Attributes {
  // `change(fn)` applies fn as one undoable step; `say(text)` shows a message.
  constructor({ change, say }) {
    this.change = change;
    this.say = say;
    this.object = null;
    $("attr-pose").addEventListener("change", (event) => this.set("pose", event.target.value.trim() || "Unspecified"));
    for (const flag of FLAGS) $(`attr-${flag}`).addEventListener("change", (event) => this.set(flag, event.target.checked));
    $("attr-confidence").addEventListener("change", (event) => this.setConfidence(event.target));
    $("attr-properties").addEventListener("change", (event) => this.editProperty(event.target));
    $("attr-properties").addEventListener("click", (event) => {
      const button = event.target.closest("button[data-remove]");
      if (button) this.removeProperty(button.dataset.remove);
    });
    $("attr-add-property").addEventListener("submit", (event) => {
      event.preventDefault();
      this.addProperty(event.target);
    });
  }

  // Show the panel for an object (null hides it). The page refreshes it after every change and
  // save: a field being typed into keeps what is typed, and the property rows are made anew only
  // when the properties changed, so neither loses the focus or the text.
  show(object) {
    const same = object === this.object;
    this.object = object;
    $("attributes").hidden = !object;
    if (!object) return;
    const set = (id, value) => {
      const field = $(id);
      if (!(same && document.activeElement === field)) field.value = value;
    };
    set("attr-pose", object.pose ?? "Unspecified");
    for (const flag of FLAGS) $(`attr-${flag}`).checked = Boolean(object[flag]);
    set("attr-confidence", object.confidence ?? "");
    const shown = JSON.stringify([object.properties ?? {}, object.parts ?? []]);
    if (same && shown === this.shown) return;
    this.shown = shown;
    this.showProperties(object.properties ?? {});
    this.showParts(object.parts ?? []);
  }

  set(name, value) {
    const object = this.object;
    if (object && object[name] !== value) this.change(() => (object[name] = value));
  }

  setConfidence(input) {
    const text = input.value.trim();
    const value = text === "" ? null : Number(text);
    if (value !== null && !(value >= 0 && value <= 1)) {
      this.say("Confidence: give a number from 0 to 1, or leave it empty.");
      input.value = this.object?.confidence ?? "";
      return;
    }
    this.set("confidence", value);
  }

  showProperties(properties) {
    $("attr-properties").replaceChildren(...Object.entries(properties).map(([key, value]) => {
      const row = document.createElement("li");
      const name = document.createElement("span");
      name.className = "property-key";
      name.textContent = key;
      name.title = key;
      const input = document.createElement("input");
      input.value = value;
      input.dataset.key = key;
      input.setAttribute("aria-label", `Value of ${key}`);
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "link";
      remove.dataset.remove = key;
      remove.setAttribute("aria-label", `Remove property ${key}`);
      remove.title = `Remove property ${key}`;
      remove.textContent = "✕";
      row.append(name, input, remove);
      return row;
    }));
  }

  showParts(parts) {
    $("attr-parts-section").hidden = parts.length === 0;
    $("attr-parts").replaceChildren(...parts.map((part) => {
      const row = document.createElement("li");
      row.textContent = `${part.name}: ${part.xmin},${part.ymin} – ${part.xmax},${part.ymax}`;
      return row;
    }));
  }

  editProperty(input) {
    const object = this.object;
    if (!object || !input.dataset.key || object.properties[input.dataset.key] === input.value) return;
    this.change(() => (object.properties = { ...object.properties, [input.dataset.key]: input.value }));
  }

  removeProperty(key) {
    const object = this.object;
    if (!object) return;
    this.change(() => {
      const { [key]: _gone, ...rest } = object.properties;
      object.properties = rest;
    });
  }

  addProperty(form) {
    const object = this.object;
    const key = form.elements.key.value.trim();
    if (!object || !key) return;
    if (key in (object.properties ?? {})) return this.say(`Property "${key}" is there already: change its value in the list.`);
    this.change(() => (object.properties = { ...object.properties, [key]: form.elements.value.value }));
    form.reset();
    form.elements.key.focus();
  }
}

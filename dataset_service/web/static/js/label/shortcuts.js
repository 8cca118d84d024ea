// Every keyboard shortcut of the labeling page, in one table: the keys, the titles of the
// buttons and the '?' list all come from here.

export const SHORTCUTS = [
  { action: "tool-select", name: "Select and edit", keys: ["V"] },
  { action: "tool-polygon", name: "Polygon", keys: ["P"] },
  { action: "tool-box", name: "Box", keys: ["B"] },
  { action: "tool-extreme", name: "Extreme points", keys: ["E"] },
  { action: "tool-aibox", name: "AI box (the model outlines the object in a box)", keys: ["A"] },
  { action: "finish", name: "Close the polygon, or accept the AI outline", keys: ["Enter"] },
  { action: "cancel", name: "Cancel the shape being drawn, drop the AI outline, or deselect", keys: ["Esc"] },
  { action: "undo", name: "Undo", keys: ["Ctrl+Z"] },
  { action: "redo", name: "Redo", keys: ["Ctrl+Y", "Ctrl+Shift+Z"] },
  { action: "zoom-in", name: "Zoom in", keys: ["+", "="] },
  { action: "zoom-out", name: "Zoom out", keys: ["-"] },
  { action: "fit", name: "Fit the image", keys: ["0"] },
  { action: "fullscreen", name: "Full screen on or off", keys: ["Shift+F"] },
  { action: "toggle-objects", name: "Show or hide objects", keys: ["H"] },
  { action: "reset-shape", name: "Reset the selected shape to its saved outline", keys: ["R"] },
  { action: "next-object", name: "Select the next object (Tab on the canvas too)", keys: ["]"] },
  { action: "prev-object", name: "Select the previous object (Shift+Tab on the canvas too)", keys: ["["] },
  { action: "relabel", name: "Choose the selected object's label", keys: ["L"] },
  { action: "delete-selected", name: "Delete the selected object", keys: ["Delete", "Backspace"] },
  { action: "delete-all", name: "Delete all objects", keys: ["Shift+Delete"] },
  { action: "prev", name: "Previous image (saves first)", keys: ["D", "S"] }, // D and F as in CVAT; S as before
  { action: "next", name: "Next image (saves first)", keys: ["F"] },
  { action: "save", name: "Save", keys: ["Ctrl+S"] },
  { action: "help", name: "Show the shortcuts", keys: ["?"] },
];

const BY_KEY = new Map(SHORTCUTS.flatMap((s) => s.keys.map((key) => [key, s.action])));
const KEY_NAMES = { Escape: "Esc", " ": "Space", Del: "Delete" };

// Name a key press the way the table does: "Ctrl+Shift+Z", "Shift+Delete", "?", "F".
export function keyName(event) {
  const parts = [];
  if (event.ctrlKey || event.metaKey) parts.push("Ctrl");
  if (event.altKey) parts.push("Alt");
  const key = KEY_NAMES[event.key] ?? event.key;
  const printable = key.length === 1;
  const letter = printable && /[a-z]/i.test(key);
  if (event.shiftKey && (letter || !printable)) parts.push("Shift");
  parts.push(letter ? key.toUpperCase() : key);
  return parts.join("+");
}

export const actionFor = (event) => BY_KEY.get(keyName(event)) ?? null;

export const titleFor = (action) => {
  const entry = SHORTCUTS.find((s) => s.action === action);
  return entry ? `${entry.name} (${entry.keys.join(" or ")})` : null;
};

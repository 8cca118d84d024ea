// Small DOM helpers for the pages' scripts.

// Make an element: properties, `dataset` entries, and children (null, undefined and false are left out).
export function el(tag, { dataset, ...props } = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  Object.assign(node.dataset, dataset ?? {});
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

// Show a message in an element (hidden when empty).
export function say(node, text) {
  node.textContent = text ?? "";
  node.hidden = !text;
}

export const number = (n) => Number(n ?? 0).toLocaleString("en");
export const plural = (n, word) => `${number(n)} ${word}${n === 1 ? "" : "s"}`;

// The pages' words for the API's field names (the table is `web/wording.py`'s, left in the page by
// base.html): an API error names a field as the page labels it.

const NAMES = JSON.parse(document.getElementById("field-names")?.textContent || "{}");
const RAW = new RegExp(`\\b(${Object.keys(NAMES).filter((n) => n.replace(/^_+|_+$/g, "").includes("_")).join("|")})\\b`, "g");

// "objects.2.points" -> "Object 3, Points"; "created_from" -> "Created from".
export function fieldName(name) {
  const item = /^(\w+)\.(\d+)\.(\w+)$/.exec(name);
  if (item) return `${fieldName(item[1]).replace(/s$/, "")} ${Number(item[2]) + 1}, ${fieldName(item[3])}`;
  return NAMES[name] ?? name.replaceAll("_", " ").replace(/^./, (c) => c.toUpperCase());
}

// Replace the raw field names a message quotes with the page's names.
export const human = (text) => (RAW.source === "\\b()\\b" ? text : text.replace(RAW, (raw) => NAMES[raw]));

// Word an API error: the schema's "invalid fields" answer by its fields, any other by its message.
export function errorMessage(status, body) {
  const fields = Object.entries(body?.fields ?? {});
  if (fields.length && (!body.message || body.message.startsWith("The request has invalid fields"))) {
    const line = ([name, messages]) => `${name === "_schema" ? "" : `${fieldName(name)}: `}${human([messages].flat().join("; "))}`;
    return fields.map(line).join(" ");
  }
  return body?.message ? human(body.message) : `The server answered HTTP ${status}.`;
}

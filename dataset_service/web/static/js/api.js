// Calls to the REST API with the page's session cookie and its CSRF token.
import { errorMessage } from "./wording.js";

const csrfToken = () => document.querySelector('meta[name="csrf-token"]')?.content ?? "";

export class ApiError extends Error {
  constructor(status, body) {
    super(errorMessage(status, body));
    this.status = status;
    this.body = body || {};
  }
}

// Send a request to /api/v1 and return the parsed JSON body; throw ApiError on any failure.
// `keepalive`: the request outlives the page (a save sent as the tab closes; bodies up to 64 KiB).
export async function api(method, path, body, { signal, keepalive = false } = {}) {
  const headers = { Accept: "application/json", "X-CSRFToken": csrfToken() };
  const init = { method, headers, credentials: "same-origin", signal, keepalive };
  if (body instanceof FormData) {
    init.body = body;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(`/api/v1${path}`, init);
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, { error: "network", message: "The server cannot be reached; check the connection and try again." });
  }
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// Read the JSON a template left for the page's script.
export function pageData() {
  return JSON.parse(document.getElementById("page-data").textContent);
}

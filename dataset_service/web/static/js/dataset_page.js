// The dataset page: Synchronize Data Source with live progress, upload, select and delete.
import { api, ApiError, pageData } from "./api.js";

const { datasetId, maxImageBytes } = pageData();
const IMAGE_TYPES = /\.(jpe?g|png|bmp)$/i;
const $ = (id) => document.getElementById(id);
const POLL_MS = 700;
const MAX_ERRORS_SHOWN = 10;
const DONE = new Set(["completed", "succeeded", "failed", "error", "cancelled", "canceled"]);

// --- refreshing the counts and the grid after a change, without losing this page's messages ---

async function refreshListing() {
  const response = await fetch(location.href, { credentials: "same-origin" });
  if (!response.ok) return;
  const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
  for (const id of ["counts", "tabs", "listing"]) {
    const next = fresh.getElementById(id);
    if (next) $(id).replaceWith(next);
  }
  updateSelection();
}

// --- Synchronize Data Source ---

const isDone = (job) => DONE.has(String(job.status).toLowerCase());

function describeProgress(job) {
  const entries = Object.entries(job.progress || {}).filter(([, v]) => typeof v === "number");
  return entries.map(([k, v]) => `${k.replaceAll("_", " ")} ${v}`).join(" · ");
}

function progressFraction(progress = {}) {
  const total = progress.total ?? progress.total_objects ?? progress.listed;
  const done = progress.done ?? progress.processed ?? progress.compared;
  return typeof total === "number" && total > 0 && typeof done === "number" ? Math.min(done / total, 1) : null;
}

const COUNT_ORDER = ["added", "updated", "deleted", "unchanged"];
const countRank = (name) => (COUNT_ORDER.includes(name) ? COUNT_ORDER.indexOf(name) : COUNT_ORDER.length);

function showJob(job) {
  $("sync-status").hidden = false;
  const status = String(job.status).toLowerCase();
  const stage = job.stage ? ` — ${job.stage.replaceAll("_", " ")}` : "";
  const details = describeProgress(job);
  $("sync-status").dataset.status = status;
  $("sync-text").textContent = isDone(job)
    ? (status === "failed" || status === "error" ? `Synchronization failed: ${job.error || "see the job's errors"}` : "Synchronization finished.")
    : `Synchronizing (${status}${stage})${details ? ": " + details : "…"}`;
  const bar = $("sync-progress");
  const fraction = isDone(job) ? 1 : progressFraction(job.progress);
  if (fraction === null) bar.removeAttribute("value");
  else bar.value = fraction;
  const counts = Object.entries(job.counts || {})
    .sort(([a], [b]) => countRank(a) - countRank(b))
    .map(([k, v]) => `${k.replaceAll("_", " ")}: ${v}`);
  if (job.duration_s != null && isDone(job)) counts.push(`took ${job.duration_s.toFixed(1)} s`);
  $("sync-counts").textContent = counts.join(" · ");
  showJobErrors(job.errors || []);
}

// The first problems the job met (an XML that does not parse, an image that does not decode).
function showJobErrors(errors) {
  const list = $("sync-errors");
  list.hidden = errors.length === 0;
  list.replaceChildren(...errors.slice(0, MAX_ERRORS_SHOWN).map(({ key, reason }) => {
    const item = document.createElement("li");
    item.className = "error";
    item.textContent = `${key}: ${reason}`;
    return item;
  }));
  if (errors.length > MAX_ERRORS_SHOWN) list.append(`… and ${errors.length - MAX_ERRORS_SHOWN} more`);
}

const syncButton = $("sync-button"); // admins only

async function follow(job) {
  if (syncButton) syncButton.disabled = true;
  try {
    while (!isDone(job)) {
      showJob(job);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      job = await api("GET", `/jobs/${job.id}`);
    }
    showJob(job);
    await refreshListing();
  } catch (err) {
    $("sync-status").hidden = false;
    $("sync-text").textContent = `Cannot follow the synchronization: ${err.message}`;
  } finally {
    if (syncButton) syncButton.disabled = false;
  }
}

syncButton?.addEventListener("click", async () => {
  syncButton.disabled = true;
  $("sync-status").hidden = false;
  delete $("sync-status").dataset.status;
  $("sync-text").textContent = "Starting the synchronization…";
  $("sync-progress").removeAttribute("value");
  $("sync-counts").textContent = "";
  showJobErrors([]);
  try {
    const { job } = await api("POST", `/datasets/${datasetId}/sync`);
    await follow(job);
  } catch (err) {
    $("sync-status").hidden = false;
    $("sync-text").textContent = `Synchronization could not start: ${err.message}`;
    syncButton.disabled = false;
  }
});

async function resumeRunningSync() {
  try {
    const { items } = await api("GET", `/datasets/${datasetId}/jobs?limit=1`);
    const job = items?.[0];
    if (job && job.kind === "sync" && !isDone(job)) await follow(job);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
  }
}

// --- upload, one request per file so each file gets its own answer ---

$("upload-input").addEventListener("change", async (event) => {
  const files = [...event.target.files];
  event.target.value = "";
  if (!files.length) return;
  const list = $("upload-results");
  list.replaceChildren();
  $("upload-status").hidden = false;
  let added = 0;
  for (const file of files) {
    const item = document.createElement("li");
    item.textContent = `${file.name}: uploading…`;
    list.append(item);
    const problem = precheck(file);
    if (problem) {
      item.textContent = `${file.name}: ${problem}`;
      item.className = "error";
      continue;
    }
    const form = new FormData();
    form.append("files", file, file.name);
    try {
      const { items } = await api("POST", `/datasets/${datasetId}/images`, form);
      item.textContent = `${file.name}: added as ${items[0].key}`;
      item.className = "ok";
      added += 1;
    } catch (err) {
      const message = err.message.startsWith(`${file.name}: `) ? err.message.slice(file.name.length + 2) : err.message;
      item.textContent = `${file.name}: ${err.status === 413 ? `too large: ${message}` : message}`;
      item.className = "error";
    }
  }
  if (added) await refreshListing();
});

// Refuse at once what the server would refuse, without sending megabytes for nothing.
function precheck(file) {
  if (!IMAGE_TYPES.test(file.name)) return "not a JPG, PNG or BMP file";
  if (file.size > maxImageBytes) return `too large: at most ${Math.floor(maxImageBytes / 1048576)} MB per image`;
  return null;
}

// --- selection and deletion ---

const selected = () => [...document.querySelectorAll(".select-sample:checked")].map((box) => Number(box.value));

function updateSelection() {
  const boxes = [...document.querySelectorAll(".select-sample")];
  const ids = selected();
  if ($("selected-count")) $("selected-count").textContent = `${ids.length} selected`;
  if ($("delete-button")) $("delete-button").disabled = ids.length === 0;
  const all = $("select-page");
  if (all) {
    all.checked = boxes.length > 0 && ids.length === boxes.length;
    all.indeterminate = ids.length > 0 && ids.length < boxes.length;
  }
  for (const box of boxes) box.closest(".tile").classList.toggle("selected", box.checked);
}

document.addEventListener("change", (event) => {
  if (event.target.id === "select-page") {
    for (const box of document.querySelectorAll(".select-sample")) box.checked = event.target.checked;
  }
  if (event.target.matches(".select-sample, #select-page")) updateSelection();
});

document.addEventListener("click", (event) => {
  if (event.target.id !== "delete-button") return;
  $("delete-count").textContent = selected().length;
  $("delete-source").checked = false;
  $("delete-source-warning").hidden = true;
  $("delete-error").hidden = true;
  $("delete-dialog").showModal();
});

$("delete-source").addEventListener("change", (event) => {
  $("delete-source-warning").hidden = !event.target.checked;
});

$("delete-confirm").addEventListener("click", async () => {
  const button = $("delete-confirm");
  button.disabled = true;
  try {
    const ids = selected();
    const { deleted } = await api("POST", `/datasets/${datasetId}/samples/delete`, { ids, delete_source: $("delete-source").checked });
    $("delete-dialog").close();
    await refreshListing();
    $("selected-count").textContent = `${deleted} deleted`;
  } catch (err) {
    $("delete-error").textContent = err.message;
    $("delete-error").hidden = false;
  } finally {
    button.disabled = false;
  }
});

// --- filter bar: the custom range shows only when chosen ---

$("created-select").addEventListener("change", (event) => {
  $("created-range").hidden = event.target.value !== "range";
});

updateSelection();
resumeRunningSync();

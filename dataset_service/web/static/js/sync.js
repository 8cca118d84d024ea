// Synchronize Data Source on the dataset page: start it, follow its job, say which step it is in.
// The job's progress has one shape for every kind (`stage`, `done`, `total`, and each of its
// `stages`); the bar shows the running step's fraction where its total is known, and runs without
// a value where it is not (a listing's length is known only when it ends).
import { api, ApiError } from "./api.js";

const $ = (id) => document.getElementById(id);
const POLL_MS = 700;
const MAX_ERRORS_SHOWN = 10;
const DONE = new Set(["completed", "succeeded", "failed", "error", "cancelled", "canceled"]);
const COUNT_ORDER = ["added", "updated", "deleted", "unchanged"];

const isDone = (job) => DONE.has(String(job.status).toLowerCase());
const words = (name) => name.replaceAll("_", " ");
const number = (n) => n.toLocaleString("en");
const countRank = (name) => (COUNT_ORDER.includes(name) ? COUNT_ORDER.indexOf(name) : COUNT_ORDER.length);

// The running step's fraction done, or null while its total is not known.
export function progressFraction(progress = {}) {
  const { done, total } = progress;
  return typeof done === "number" && typeof total === "number" && total > 0 ? Math.min(done / total, 1) : null;
}

// "step 2 of 3 · 120 of 4,000" for the running step; "4,000 so far" while its total is unknown.
function describeProgress(progress = {}) {
  const stages = progress.stages ?? [];
  const index = stages.findIndex((s) => s.name === progress.stage);
  if (index < 0 || typeof progress.done !== "number") return "";
  const step = stages.length > 1 ? `step ${index + 1} of ${stages.length} · ` : "";
  return step + (typeof progress.total === "number" ? `${number(progress.done)} of ${number(progress.total)}` : `${number(progress.done)} so far`);
}

// Full once completed; a failed job's bar stays where its failed step stopped.
function barFraction(job) {
  if (String(job.status).toLowerCase() === "completed") return 1;
  return progressFraction(job.progress?.stages?.find((s) => s.state === "failed") ?? job.progress);
}

function statusLine(job) {
  const status = String(job.status).toLowerCase();
  if (status === "failed" || status === "error") return `Synchronization failed: ${job.error || "see the job's errors"}`;
  if (isDone(job)) return "Synchronization finished.";
  if (status === "queued") return "Synchronization waiting for a worker…";
  return `Synchronizing: ${job.stage ? words(job.stage) : "starting"}…`;
}

function showJob(job) {
  $("sync-status").hidden = false;
  $("sync-status").dataset.status = String(job.status).toLowerCase();
  $("sync-status").dataset.stage = job.stage ?? "";
  $("sync-text").textContent = statusLine(job);
  $("sync-stage").textContent = isDone(job) ? "" : describeProgress(job.progress);
  const bar = $("sync-progress");
  const fraction = barFraction(job);
  if (fraction === null) bar.removeAttribute("value");
  else bar.value = fraction;
  const counts = Object.entries(job.counts || {})
    .sort(([a], [b]) => countRank(a) - countRank(b))
    .map(([k, v]) => `${words(k)}: ${v}`);
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

function starting() {
  $("sync-status").hidden = false;
  delete $("sync-status").dataset.status;
  $("sync-text").textContent = "Starting the synchronization…";
  $("sync-stage").textContent = "";
  $("sync-progress").removeAttribute("value");
  $("sync-counts").textContent = "";
  showJobErrors([]);
}

// `refreshListing()` brings the counts and the grid up to date once the job is done.
export function initSync(datasetId, refreshListing) {
  const button = $("sync-button"); // admins only

  async function follow(job) {
    if (button) button.disabled = true;
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
      if (button) button.disabled = false;
    }
  }

  button?.addEventListener("click", async () => {
    button.disabled = true;
    starting();
    try {
      const job = await api("POST", `/datasets/${datasetId}/sync`);
      await follow(job);
    } catch (err) {
      $("sync-status").hidden = false;
      $("sync-text").textContent = `Synchronization could not start: ${err.message}`;
      button.disabled = false;
    }
  });

  (async () => {
    try {
      const { items } = await api("GET", `/datasets/${datasetId}/jobs?limit=1`);
      const job = items?.[0];
      if (job && job.kind === "sync" && !isDone(job)) await follow(job);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
    }
  })();
}

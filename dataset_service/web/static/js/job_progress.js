// A job's progress as a page shows it, read defensively: `done`/`total` when the job gives them
// (its current step's figures), else the counters of older job shapes (`progressFraction`), else
// only the stage, with an indeterminate bar.
import { api } from "./api.js";
import { progressFraction } from "./sync.js";

const POLL_MS = 700;
const ENDED = new Set(["completed", "failed"]);

export const jobEnded = (job) => ENDED.has(String(job?.status).toLowerCase());
const words = (name) => String(name).replaceAll("_", " ");

// The fraction of the job done (1 once it ended), or null when it cannot say.
export function jobFraction(job) {
  if (jobEnded(job)) return 1;
  const p = job?.progress ?? {};
  if (typeof p.done === "number" && typeof p.total === "number" && p.total > 0) return Math.min(p.done / p.total, 1);
  if (typeof p.total === "number" && p.done === undefined) return progressFraction(p);
  return null;
}

// One line: what the job is doing now, or how it ended.
export function jobText(job) {
  const status = String(job?.status).toLowerCase();
  if (status === "failed") return `failed: ${job.error || "see its errors"}`;
  if (status === "completed") return job.duration_s != null ? `done in ${job.duration_s.toFixed(1)} s` : "done";
  if (status === "queued") return "waiting for a worker…";
  const stage = job?.progress?.stage ?? job?.stage;
  const p = job?.progress ?? {};
  const figures = typeof p.done === "number" && typeof p.total === "number" ? ` (${p.done.toLocaleString("en")} of ${p.total.toLocaleString("en")})` : "";
  return `${stage ? words(stage) : "starting"}${figures}…`;
}

// Show a job's fraction on a <progress>: a value when known, indeterminate otherwise.
export function showFraction(bar, job) {
  const fraction = jobFraction(job);
  if (fraction === null) bar.removeAttribute("value");
  else bar.value = fraction;
}

// The job's counts as "name: n" parts, zeros left out.
export const jobCounts = (job) => Object.entries(job?.counts ?? {}).filter(([, v]) => v).map(([k, v]) => `${words(k)}: ${v}`);

// Poll a job until it ends, calling `onUpdate(job)` each time; return the ended job.
export async function followJob(job, onUpdate) {
  onUpdate(job);
  while (!jobEnded(job)) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    job = await api("GET", `/jobs/${job.id}`);
    onUpdate(job);
  }
  return job;
}

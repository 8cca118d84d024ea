// The Versions tab: publish (dialog), the version list with state, counts, current badge and the
// progress of its jobs, set as current (with a confirmation saying what will change), compare two
// versions or one with the working state, exports with progress and download links, and importing
// a ModelArts manifest. Everything goes through the REST API.
import { api, pageData } from "./api.js";
import { followJob, jobCounts, jobEnded, jobText, showFraction } from "./job_progress.js";

const { datasetId, can } = pageData();
const base = `/datasets/${datasetId}/versions`;
const $ = (id) => document.getElementById(id);
const MAX_ERRORS_SHOWN = 10;
const DIFF_PAGE = 50;

let versions = [];
let exportsOf = null; // the version whose exports are shown
const jobs = new Map(); // version id -> the job followed for it (publish, set current, delete)

function el(tag, { dataset, ...props } = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  Object.assign(node.dataset, dataset ?? {});
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

const number = (n) => Number(n ?? 0).toLocaleString("en");
const when = (iso) => (iso ? new Date(iso).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" }) : "");
const plural = (n, word) => `${number(n)} ${word}${n === 1 ? "" : "s"}`;
// Any finished version, the current one too: setting it again takes the working state back to it.
const restorable = (v) => v.state === "normal";

// --- the list ---------------------------------------------------------------------------------

async function loadVersions() {
  const { total, items } = await api("GET", `${base}?limit=100`);
  versions = items;
  $("versions-total").textContent = total > items.length ? `the newest ${items.length} of ${total} versions` : plural(total, "version");
  renderVersions();
  renderCompareChoices();
  for (const v of items) {
    if ((v.state === "creating" || v.state === "deleting") && v.job_id && !jobs.has(v.id)) track(v, { id: v.job_id }, `Publishing ${v.name}`);
  }
}

function renderVersions() {
  $("versions-empty").hidden = versions.length > 0;
  $("versions-body").replaceChildren(...versions.map(versionRow));
}

function versionRow(v) {
  const job = jobs.get(v.id);
  const state = el("td", { className: `state-${v.state}` }, v.state);
  if (job && !jobEnded(job)) {
    const bar = el("progress", { max: 1 });
    showFraction(bar, job);
    state.append(bar, el("div", { className: "small muted" }, jobText(job)));
  } else if (v.error) {
    state.title = v.error;
  }
  const c = v.counts;
  return el("tr", { dataset: { version: v.name } },
    el("td", {}, el("b", {}, v.name), v.is_current && el("span", { className: "badge current", title: "The working state was last made equal to this version" }, "current"),
      v.autosave && el("span", { className: "badge autosave", title: "Kept by a set as current: setting it current undoes that" }, "autosave"),
      v.description && el("div", { className: "small muted" }, v.description)),
    state,
    el("td", {}, number(c.samples)), el("td", {}, number(c.labeled)), el("td", {}, number(c.objects)),
    el("td", { className: "small" }, `+${number(c.added)} ~${number(c.modified)} −${number(c.deleted)}`),
    el("td", { className: "small" }, when(v.created_at), el("div", { className: "muted" }, v.created_by ?? "")),
    el("td", {}, el("div", { className: "actions" }, ...rowActions(v))),
  );
}

function rowActions(v) {
  const actions = [];
  if (v.state === "normal") {
    actions.push(button("Exports", () => showExports(v), "exports"));
    actions.push(button("Compare with working", () => compare(v.id, "working"), "compare"));
  }
  if (can.manage && restorable(v)) actions.push(button("Set as current", () => askSetCurrent(v), "set-current"));
  return actions;
}

function button(text, onClick, action) {
  const b = el("button", { type: "button", textContent: text });
  b.dataset.action = action;
  b.addEventListener("click", onClick);
  return b;
}

// --- following jobs: the status panel, and the version's row ---------------------------------

function showJob(title, job) {
  const panel = $("job-status");
  panel.hidden = false;
  panel.dataset.status = String(job.status ?? "queued").toLowerCase();
  panel.dataset.kind = job.kind ?? "";
  $("job-title").textContent = title;
  $("job-text").textContent = job.status ? jobText(job) : "starting…";
  showFraction($("job-progress"), job);
  $("job-counts").textContent = jobCounts(job).join(" · ");
  const errors = job.errors ?? [];
  $("job-errors").hidden = errors.length === 0;
  $("job-errors").replaceChildren(...errors.slice(0, MAX_ERRORS_SHOWN).map(({ key, reason }) => el("li", { className: "error" }, `${key}: ${reason}`)));
  if (errors.length > MAX_ERRORS_SHOWN) $("job-errors").append(`… and ${errors.length - MAX_ERRORS_SHOWN} more`);
}

// Follow a job started for a version; the list is read again once it ends.
async function track(version, job, title) {
  jobs.set(version.id, job);
  try {
    await followJob(job, (j) => {
      jobs.set(version.id, j);
      showJob(title, j);
      if (!jobEnded(j)) renderVersions();
    });
  } finally {
    jobs.delete(version.id);
    await loadVersions();
  }
}

// --- publish ----------------------------------------------------------------------------------

$("publish-button")?.addEventListener("click", () => {
  $("publish-error").hidden = true;
  $("publish-dialog").showModal();
});
$("publish-split")?.addEventListener("change", (event) => {
  $("publish-ratio-row").hidden = !event.target.checked;
});
$("publish-confirm")?.addEventListener("click", async () => {
  const body = { description: $("publish-description").value };
  if ($("publish-name").value.trim()) body.name = $("publish-name").value.trim();
  if ($("publish-split").checked) body.train_ratio = Number($("publish-ratio").value);
  await whileBusy($("publish-confirm"), $("publish-error"), async () => {
    const { version, job } = await api("POST", base, body);
    $("publish-dialog").close();
    $("publish-form").reset();
    $("publish-ratio-row").hidden = true;
    await loadVersions();
    track(version, job, `Publishing ${version.name}`);
  });
});

async function whileBusy(buttonNode, errorNode, work) {
  buttonNode.disabled = true;
  errorNode.hidden = true;
  try {
    await work();
  } catch (err) {
    errorNode.textContent = err.message;
    errorNode.hidden = false;
  } finally {
    buttonNode.disabled = false;
  }
}

// --- set as current: first say what will change ----------------------------------------------

let pendingCurrent = null;

async function askSetCurrent(v) {
  pendingCurrent = v;
  $("current-name").textContent = v.name;
  $("current-error").hidden = true;
  $("current-confirm").disabled = true;
  $("current-changes").replaceChildren(el("p", { className: "muted" }, "Comparing with the working state…"));
  $("current-dialog").showModal();
  try {
    const diff = await api("GET", `${base}/${v.id}/diff?to=working&limit=1`);
    $("current-changes").replaceChildren(...currentChanges(v, diff.counts));
    $("current-confirm").disabled = false;
  } catch (err) {
    $("current-error").textContent = `Cannot compare with the working state: ${err.message}`;
    $("current-error").hidden = false;
  }
}

// The diff is from the version to the working state: what the working state has that the version
// has not is what setting it current takes back.
function currentChanges(v, counts) {
  const lines = [];
  if (counts.changed) lines.push(`${plural(counts.changed, "image")} whose labels differ get ${v.name}'s labels back.`);
  if (counts.added) lines.push(`${plural(counts.added, "image")} added since ${v.name} stay, without labels.`);
  if (counts.deleted) lines.push(`${plural(counts.deleted, "image")} of ${v.name} no longer in the input path are not brought back.`);
  if (!lines.length) lines.push(`The working state already holds what ${v.name} holds: nothing changes but the current version.`);
  lines.push(`The label list becomes ${v.name}'s, and the images' XML files are rewritten.`);
  lines.push("Changes that no version holds are first published as an autosave version: setting that one current undoes this.");
  return [el("ul", {}, ...lines.map((line) => el("li", {}, line)))];
}

$("current-confirm")?.addEventListener("click", async () => {
  const v = pendingCurrent;
  await whileBusy($("current-confirm"), $("current-error"), async () => {
    const { job } = await api("PUT", `${base}/${v.id}/current`);
    $("current-dialog").close();
    track(v, job, `Setting ${v.name} as current`);
  });
});

// --- compare ----------------------------------------------------------------------------------

function renderCompareChoices() {
  const comparable = versions.filter((v) => v.state === "normal");
  const keep = [$("compare-from").value, $("compare-to").value];
  const options = (withWorking) => [
    ...(withWorking ? [el("option", { value: "working" }, "Working state")] : []),
    ...comparable.map((v) => el("option", { value: String(v.id) }, v.name)),
  ];
  $("compare-from").replaceChildren(...options(false));
  $("compare-to").replaceChildren(...options(true));
  if (keep[0]) $("compare-from").value = keep[0];
  if (keep[1]) $("compare-to").value = keep[1];
}

$("compare-form").addEventListener("submit", (event) => {
  event.preventDefault();
  if ($("compare-from").value) compare($("compare-from").value, $("compare-to").value);
});

async function compare(from, to) {
  $("compare-from").value = String(from);
  $("compare-to").value = String(to);
  const out = $("diff");
  out.replaceChildren(el("p", { className: "muted" }, "Comparing…"));
  try {
    const diff = await api("GET", `${base}/${from}/diff?to=${to}&limit=${DIFF_PAGE}`);
    out.replaceChildren(...diffView(diff));
    $("compare").scrollIntoView({ block: "nearest" });
  } catch (err) {
    out.replaceChildren(el("p", { className: "error" }, err.message));
  }
}

function diffView(diff) {
  const name = (id) => (id === "working" ? "the working state" : versions.find((v) => String(v.id) === String(id))?.name ?? `version ${id}`);
  const { added, deleted, changed } = diff.counts;
  const counts = el("div", { className: "diff-counts", dataset: { testid: "diff-counts" } },
    el("span", {}, el("b", { dataset: { diff: "added" } }, number(added)), " added"),
    el("span", {}, el("b", { dataset: { diff: "deleted" } }, number(deleted)), " deleted"),
    el("span", {}, el("b", { dataset: { diff: "changed" } }, number(changed)), " changed"));
  const title = el("p", { className: "small muted" }, `From ${name(diff.from)} to ${name(diff.to)}`,
    diff.total > diff.items.length ? ` (the first ${diff.items.length} of ${number(diff.total)} images)` : "");
  const list = el("ul", { className: "diff-list" }, ...diff.items.map(diffItem));
  return [counts, title, diff.items.length ? list : el("p", { className: "muted" }, "No difference.")];
}

function diffItem(item) {
  const objects = [];
  const who = (o) => (o.updated_by || o.created_by ? ` by ${o.updated_by || o.created_by}` : "");
  for (const o of item.objects?.added ?? []) objects.push(`+ ${o.label ?? "?"} (${o.shape})${who(o)}`);
  for (const o of item.objects?.removed ?? []) objects.push(`− ${o.label ?? "?"} (${o.shape})${who(o)}`);
  for (const o of item.objects?.changed ?? []) {
    const label = o.before_label && o.before_label !== o.label ? `${o.before_label} → ${o.label}` : o.label;
    objects.push(`~ ${label}: ${(o.fields ?? []).join(", ")}${who(o)}`);
  }
  return el("li", {}, el("span", { className: `change ${item.change}` }, item.change), el("code", {}, item.key),
    objects.length ? el("div", { className: "small muted" }, objects.join(" · ")) : null);
}

// --- exports ----------------------------------------------------------------------------------

async function showExports(v) {
  exportsOf = v;
  $("exports").hidden = false;
  $("exports-version").textContent = v.name;
  await loadExports();
  $("exports").scrollIntoView({ block: "nearest" });
}

async function loadExports() {
  const v = exportsOf;
  const { items } = await api("GET", `${base}/${v.id}/exports?limit=100`);
  $("exports-list").replaceChildren(...items.map((e) => exportItem(v, e)));
  if (!items.length) $("exports-list").append(el("li", { className: "muted" }, "No export yet."));
}

function exportItem(v, e) {
  const item = el("li", { dataset: { export: e.format, status: e.status ?? "" } }, el("b", {}, e.format.toUpperCase()), ` ${when(e.created_at)}: `);
  if (e.status === "completed") {
    item.append(el("a", { href: `/api/v1${base}/${v.id}/exports/${e.id}/download`, className: "download", download: "" }, `Download ${v.name}-${e.format}.zip`));
  } else {
    item.append(e.status === "failed" ? el("span", { className: "error" }, "failed") : el("span", { className: "muted" }, e.status ?? "…"));
  }
  return item;
}

for (const b of document.querySelectorAll("[data-export]")) {
  b.addEventListener("click", async () => {
    const v = exportsOf;
    b.disabled = true;
    try {
      const { job } = await api("POST", `${base}/${v.id}/exports`, { format: b.dataset.export });
      await loadExports();
      await followJob(job, (j) => showJob(`Exporting ${v.name} as ${b.dataset.export.toUpperCase()}`, j));
      await loadExports();
    } catch (err) {
      showJob(`Exporting ${v.name}`, { status: "failed", error: err.message });
    } finally {
      b.disabled = false;
    }
  });
}

// --- import a manifest ------------------------------------------------------------------------

$("import-button")?.addEventListener("click", () => {
  $("import-error").hidden = true;
  $("import-dialog").showModal();
});
$("import-confirm")?.addEventListener("click", async () => {
  await whileBusy($("import-confirm"), $("import-error"), async () => {
    const { job } = await api("POST", `/datasets/${datasetId}/import`, { manifest: $("import-manifest").value.trim() });
    $("import-dialog").close();
    followJob(job, (j) => showJob("Importing the manifest", j));
  });
});

loadVersions().catch((err) => {
  $("versions-body").replaceChildren(el("tr", {}, el("td", { colSpan: 8, className: "error" }, `Cannot read the versions: ${err.message}`)));
});

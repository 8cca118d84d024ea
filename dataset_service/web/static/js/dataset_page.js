// The dataset page: Synchronize Data Source (sync.js), its labels (labels.js), upload, select and
// delete (each only where the viewer's role may: the template leaves the others out), and the work
// queues (queues.js).
import { api, pageData } from "./api.js";
import { rememberFilter } from "./images_filter.js";
import { LabelManager } from "./labels.js";
import { initQueueButtons } from "./queues.js";
import { initSync } from "./sync.js";

const { datasetId, maxImageBytes, labels, me, filter } = pageData();
const IMAGE_TYPES = /\.(jpe?g|png|bmp)$/i;
const $ = (id) => document.getElementById(id);

// --- refreshing the counts and the grid after a change, without losing this page's messages ---

// Return the fresh page, or null when it could not be read.
async function refreshListing() {
  const response = await fetch(location.href, { credentials: "same-origin" });
  if (!response.ok) return null;
  const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
  for (const id of ["counts", "tabs", "listing", "filter-labels"]) {
    const next = fresh.getElementById(id);
    if (next) $(id).replaceWith(next);
  }
  updateSelection();
  return fresh;
}

// --- labels: renamed, recoloured, deleted or added in the label list ---

const labelManager = $("label-list") ? new LabelManager(datasetId, { onChange: labelsChanged }) : null; // owners only
labelManager?.render(labels);

async function labelsChanged({ updated, before, deleted }) {
  const gone = deleted?.name ?? (updated && updated.name !== before.name ? before.name : null);
  if (gone) keepLabelFilter(gone, updated?.name ?? null);
  const fresh = await refreshListing();
  if (fresh) labelManager?.render(JSON.parse(fresh.getElementById("page-data").textContent).labels);
}

// A label filtered on in the URL follows its new name, or leaves the filter with the label.
function keepLabelFilter(name, renamed) {
  const url = new URL(location.href);
  const names = url.searchParams.getAll("label");
  if (!names.includes(name)) return;
  url.searchParams.delete("label");
  for (const n of names) if (n !== name || renamed) url.searchParams.append("label", n === name ? renamed : n);
  history.replaceState(null, "", url);
}

// --- upload, one request per file so each file gets its own answer ---

$("upload-input")?.addEventListener("change", async (event) => {
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
      added += 1;
      const undecodable = await decodingProblem(items[0]);
      item.textContent = undecodable
        ? `${file.name}: stored as ${items[0].key}, but the image cannot be decoded (${undecodable}): the file may be truncated or damaged.`
        : `${file.name}: added as ${items[0].key}`;
      item.className = undecodable ? "error" : "ok";
    } catch (err) {
      const message = err.message.startsWith(`${file.name}: `) ? err.message.slice(file.name.length + 2) : err.message;
      item.textContent = `${file.name}: ${err.status === 413 ? `too large: ${message}` : message}`;
      item.className = "error";
    }
  }
  if (added) await refreshListing();
});

// The upload reads an image's header; its thumbnail decodes it all, and says why it could not
// (a truncated or damaged file): the same image would show as "cannot read image" in the grid.
async function decodingProblem(sample) {
  try {
    const response = await fetch(`/samples/${sample.id}/thumbnail`, { credentials: "same-origin" });
    return response.headers.get("X-Image-Error");
  } catch {
    return null; // not known now: the grid's thumbnail will tell
  }
}

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

$("delete-source")?.addEventListener("change", (event) => {
  $("delete-source-warning").hidden = !event.target.checked;
});

$("delete-confirm")?.addEventListener("click", async () => {
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

// --- the work queues, and the filter remembered for the Team tab's Assign form ---

const queueMessage = $("queue-message");
initQueueButtons(datasetId, me, (text) => {
  queueMessage.textContent = text;
  queueMessage.hidden = false;
});
rememberFilter(datasetId, filter);

updateSelection();
initSync(datasetId, refreshListing);

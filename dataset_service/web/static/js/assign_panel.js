// The Team tab's Assign form (owners): give images to chosen members evenly or in shares, either
// the unlabeled ones given to no one or the Images tab's current filter; and take images back.
// One request each (`POST .../assignments`, `POST .../assignments/clear`): the server does it in
// one statement whatever the count.
import { api } from "./api.js";
import { el, number, plural } from "./dom.js";
import { rememberedFilter } from "./images_filter.js";

const $ = (id) => document.getElementById(id);

// `onChange()` reloads the team's figures; `subscribe(listener)` hears the members after each load.
export function initAssign(datasetId, { onChange, subscribe }) {
  const base = `/datasets/${datasetId}`;
  const remembered = rememberedFilter(datasetId);
  const result = $("assign-result");
  const tell = (text, error = false) => {
    result.textContent = text;
    result.className = error ? "small error" : "small";
  };

  if (remembered) {
    $("which-filter").disabled = false;
    const query = remembered.query ? `: ${decodeURIComponent(remembered.query.replaceAll("+", " ")).replaceAll("&", ", ")}` : ": all images";
    $("filter-summary").textContent = `(${remembered.total === null ? "" : `${plural(remembered.total, "image")}`}${query}; images given to someone else are reassigned)`;
  }

  subscribe((people) => {
    const members = people.filter((p) => p.role !== null);
    const before = new Map([...document.querySelectorAll("#assign-labelers [data-labeler]")].map((row) => [
      row.dataset.labeler, { checked: row.querySelector("input[type=checkbox]").checked, share: row.querySelector("input[type=number]").value }]));
    $("assign-labelers").replaceChildren(...members.map((m) => {
      const kept = before.get(m.username);
      return el("label", { className: "check assign-labeler", dataset: { labeler: m.username } },
        el("input", { type: "checkbox", value: m.username, checked: kept ? kept.checked : m.role === "labeler" }),
        ` ${m.username} `, el("span", { className: "muted small" }, m.role),
        el("input", { type: "number", min: 1, step: 1, value: kept?.share ?? 1, className: "share", ariaLabel: `Share of ${m.username}` }));
    }));
    const which = $("unassign-which");
    const chosen = which.value;
    which.replaceChildren(
      el("option", { value: "" }, "everyone's open images"),
      ...members.map((m) => el("option", { value: `member:${m.username}` }, `${m.username}'s open images`)),
      remembered && el("option", { value: "filter" }, "the Images tab's current filter"),
    );
    if ([...which.options].some((o) => o.value === chosen)) which.value = chosen;
  });

  $("assign-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const rows = [...document.querySelectorAll("#assign-labelers [data-labeler]")].filter((row) => row.querySelector("input[type=checkbox]").checked);
    if (!rows.length) return tell("Choose at least one member to give the images to.", true);
    const body = { labelers: rows.map((row) => row.dataset.labeler) };
    if (event.target.elements.split.value === "shares") body.shares = rows.map((row) => Number(row.querySelector("input[type=number]").value));
    if (event.target.elements.which.value === "filter") body.filter = remembered.api;
    await run($("assign-button"), async () => {
      const { matched, per_labeler: each } = await api("POST", `${base}/assignments`, body);
      tell(matched
        ? `Assigned ${plural(matched, "image")}: ${Object.entries(each).map(([name, n]) => `${name} ${number(n)}`).join(", ")}.`
        : "No image matched: nothing was assigned.");
    });
  });

  $("unassign-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = $("unassign-which").value;
    const filter = value === "filter" ? remembered.api
      : { review: "open", ...(value.startsWith("member:") ? { assigned_to: value.slice("member:".length) } : {}) };
    await run($("unassign-button"), async () => {
      const { unassigned } = await api("POST", `${base}/assignments/clear`, { filter });
      tell(`${plural(unassigned, "image")} went back to the pool.`);
    });
  });

  async function run(button, work) {
    button.disabled = true;
    try {
      await work();
      await onChange();
    } catch (err) {
      tell(err.message, true);
    } finally {
      button.disabled = false;
    }
  }
}


// The Team tab: the members with their roles and figures (`GET .../members`, `GET .../team`), a
// chart of saves per day, and for owners adding a member, changing a role and removing one (after a
// confirmation that says their open images go back to the pool). Assignment (assign_panel.js) and
// acceptance (acceptance_panel.js) are shown to those who manage the dataset.
import { api, pageData } from "./api.js";
import { initAcceptance } from "./acceptance_panel.js";
import { initAssign } from "./assign_panel.js";
import { el, number, plural, say } from "./dom.js";

const { datasetId, can, roles, acceptanceId } = pageData();
const base = `/datasets/${datasetId}`;
const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const FIGURES = ["images", "objects", "assigned", "open", "submitted", "accepted", "rejected"];

let people = []; // members (with user_id) and former members who did work, each with their figures
const listeners = []; // called with `people` after each load (the Assign form's list of labelers)

// A colour per person, stable within the page.
const color = (i) => `hsl(${(i * 137.5) % 360} 62% 45%)`;

async function load() {
  try {
    const [{ items }, stats] = await Promise.all([api("GET", `${base}/members`), api("GET", `${base}/team`)]);
    const figures = new Map(stats.members.map((m) => [m.username, m]));
    people = items.map((m) => ({ ...m, ...(figures.get(m.username) ?? {}), role: m.role }));
    const names = new Set(people.map((p) => p.username));
    people.push(...stats.members.filter((m) => !names.has(m.username)).map((m) => ({ ...m, role: null })));
    renderMembers();
    renderSaves(stats.per_day);
    listeners.forEach((listener) => listener(people));
    document.body.dataset.team = "ready";
  } catch (err) {
    say($("team-error"), `Cannot read the team: ${err.message}`);
  }
}

// --- members ----------------------------------------------------------------------------------

function renderMembers() {
  $("members-body").replaceChildren(...people.map(memberRow));
  if (!people.length) $("members-body").append(el("tr", {}, el("td", { colSpan: 10, className: "muted" }, "No member yet.")));
}

function memberRow(person) {
  const role = person.role === null
    ? el("span", { className: "muted", title: "No longer a member; their work stays" }, "former member")
    : can.members && person.user_id ? roleSelect(person) : el("span", { className: `role-badge role-${person.role}` }, person.role);
  return el("tr", { dataset: { member: person.username } },
    el("td", {}, el("b", {}, person.username)),
    el("td", {}, role),
    ...FIGURES.map((name) => el("td", { className: "num", dataset: { figure: name } }, number(person[name]))),
    can.members && el("td", {}, person.user_id && el("button", {
      type: "button", className: "link danger-link", textContent: "Remove", dataset: { action: "remove" }, onclick: () => askRemove(person),
    })),
  );
}

function roleSelect(person) {
  const select = el("select", { ariaLabel: `Role of ${person.username}`, dataset: { action: "role" } },
    ...roles.map((role) => el("option", { value: role, selected: role === person.role }, role)));
  select.addEventListener("change", async () => {
    say($("member-error"), "");
    try {
      await api("PATCH", `${base}/members/${person.user_id}`, { role: select.value });
      await load();
    } catch (err) {
      select.value = person.role;
      say($("member-error"), `${person.username}: ${err.message}`);
    }
  });
  return select;
}

$("add-member-form")?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  say($("member-error"), "");
  try {
    await api("POST", `${base}/members`, { username: form.elements.username.value.trim(), role: form.elements.role.value });
    form.elements.username.value = "";
    await load();
  } catch (err) {
    say($("member-error"), err.message);
  }
});

let removing = null;

function askRemove(person) {
  removing = person;
  $("remove-name").textContent = person.username;
  $("remove-text").textContent = person.open
    ? `The ${plural(person.open, "image")} given to ${person.username} that are still open go back to the pool (given to no one). Their saved work stays.`
    : `No open image is given to ${person.username}. Their saved work stays.`;
  say($("remove-error"), "");
  $("remove-dialog").showModal();
}

$("remove-confirm")?.addEventListener("click", async () => {
  try {
    const { returned_to_pool: returned } = await api("DELETE", `${base}/members/${removing.user_id}`);
    $("remove-dialog").close();
    say($("member-error"), "");
    $("assign-result")?.replaceChildren(`${removing.username} left the team; ${plural(returned, "image")} went back to the pool.`);
    await load();
  } catch (err) {
    say($("remove-error"), err.message);
  }
});

// --- saves per day: stacked columns, one colour per person --------------------------------------

function renderSaves(perDay) {
  const box = document.querySelector("#chart-saves .columns");
  const legend = $("saves-legend");
  if (!perDay.length) {
    box.replaceChildren(el("p", { className: "muted", textContent: "No save in the last 30 days." }));
    legend.replaceChildren();
    return;
  }
  const days = [...new Set(perDay.map((d) => d.day))].sort();
  const names = [...new Set(perDay.map((d) => d.username))].sort();
  const totals = days.map((day) => perDay.filter((d) => d.day === day).reduce((sum, d) => sum + d.saves, 0));
  const width = 1000, height = 180, bottom = 20, top = Math.max(1, ...totals);
  const step = width / Math.max(days.length, 30);
  const svg = document.createElementNS(SVG, "svg");
  Object.entries({ viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: "none", role: "img",
    "aria-label": days.map((day, i) => `${day}: ${totals[i]} saves`).join(", ") }).forEach(([k, v]) => svg.setAttribute(k, v));
  days.forEach((day, i) => {
    let y = height - bottom;
    for (const d of perDay.filter((row) => row.day === day)) {
      const h = ((height - bottom - 4) * d.saves) / top;
      y -= h;
      const rect = document.createElementNS(SVG, "rect");
      Object.entries({ x: i * step + step * 0.1, y, width: step * 0.8, height: h }).forEach(([k, v]) => rect.setAttribute(k, v));
      rect.style.fill = color(names.indexOf(d.username));
      Object.assign(rect.dataset, { day, username: d.username, saves: d.saves });
      const title = document.createElementNS(SVG, "title");
      title.textContent = `${day}: ${d.username}, ${plural(d.saves, "save")}`;
      rect.append(title);
      svg.append(rect);
    }
  });
  for (const i of new Set([0, days.length - 1])) {
    const text = document.createElementNS(SVG, "text");
    Object.entries({ x: i === 0 ? 2 : Math.min(width - 2, days.length * step), y: height - 5, "text-anchor": i === 0 ? "start" : "end" })
      .forEach(([k, v]) => text.setAttribute(k, v));
    text.textContent = days[i];
    svg.append(text);
  }
  box.replaceChildren(svg);
  legend.replaceChildren(...names.map((name, i) => el("span", { className: "legend-item" },
    Object.assign(el("span", { className: "swatch" }), { style: `--c: ${color(i)}` }), name)));
}

if (can.manage) {
  initAssign(datasetId, { onChange: load, subscribe: (listener) => listeners.push(listener) });
  initAcceptance(datasetId, acceptanceId, { onChange: load });
}
load();

// The Team tab's Acceptance panel (owners): draw a seeded share of the handed-in images, pass or
// reject each drawn one (a reason is required to reject), finish with pass all / reject all / pass
// the rest, and read the report per labeler. The newest check is shown when the page opens.
import { api } from "./api.js";
import { el, number, plural, say } from "./dom.js";

const $ = (id) => document.getElementById(id);
const OUTCOMES = { pass_all: "passed all", reject_all: "rejected all", pass_rest: "passed the rest" };
const LETTERS = ["D", "C", "B", "A"]; // an average rating of 1 ... 4
const when = (iso) => (iso ? new Date(iso).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" }) : "");

// `onChange()` reloads the team's figures once a check's outcome changed the images' states.
export function initAcceptance(datasetId, acceptanceId, { onChange }) {
  const base = `/datasets/${datasetId}/acceptances`;
  const error = $("acceptance-error");
  let current = null;

  function render(check) {
    current = check;
    const open = check.state === "open";
    $("acceptance-start").hidden = open;
    $("acceptance-view").hidden = false;
    $("acceptance-finish").hidden = !open;
    const checked = check.samples.filter((s) => s.verdict).length;
    $("acceptance-summary").textContent = open
      ? `Check ${check.id}: ${plural(check.drawn, "image")} drawn of ${number(check.pool)} handed in (seed ${check.seed}); ${number(checked)} checked.`
      : `Check ${check.id} finished ${when(check.finished_at)}: ${OUTCOMES[check.outcome] ?? check.outcome}. ${plural(check.drawn, "image")} drawn of ${number(check.pool)}, ${number(checked)} checked.`;
    $("acceptance-view").dataset.state = check.state;
    $("acceptance-samples").replaceChildren(...check.samples.map((s) => tile(s, open)));
    $("acceptance-report").replaceChildren(...check.report.map(reportRow));
  }

  function tile(drawn, open) {
    const reason = el("input", { className: "reason", placeholder: "reason to reject", maxLength: 2000, value: drawn.reason ?? "",
      ariaLabel: `Why image ${drawn.sample_id} fails` });
    const verdict = drawn.verdict
      ? el("span", { className: `review-badge review-${drawn.verdict === "pass" ? "accepted" : "rejected"}`, title: drawn.reason ?? "" },
        drawn.verdict === "pass" ? "passed" : "rejected")
      : el("span", { className: "muted" }, "not checked");
    return el("li", { className: "tile", dataset: { sampleId: drawn.sample_id, verdict: drawn.verdict ?? "" } },
      el("a", { href: `/datasets/${datasetId}/samples/${drawn.sample_id}`, className: "thumb-link", title: "Open in the labeling page" },
        el("img", { src: `/samples/${drawn.sample_id}/thumbnail`, alt: `Image ${drawn.sample_id}`, loading: "lazy", width: 256, height: 192 })),
      el("div", { className: "tile-work small" }, verdict, ` ${drawn.labeler ?? "unknown"}`, drawn.rating && ` · rating ${drawn.rating}`,
        !open && drawn.reason && el("div", { className: "muted" }, drawn.reason)),
      open && el("div", { className: "verdict-actions" }, reason,
        el("button", { type: "button", textContent: "Pass", dataset: { verdict: "pass" }, onclick: () => judge(drawn.sample_id, "pass", null) }),
        el("button", { type: "button", className: "danger", textContent: "Reject", dataset: { verdict: "reject" },
          onclick: () => judge(drawn.sample_id, "reject", reason.value.trim()) })),
    );
  }

  function reportRow(row) {
    const rating = row.average_rating === null ? "–" : `${row.average_rating.toFixed(1)} (${LETTERS[Math.round(row.average_rating) - 1] ?? "?"})`;
    return el("tr", { dataset: { labeler: row.labeler ?? "" } },
      el("td", {}, row.labeler ?? "unknown"),
      ...["drawn", "checked", "passed", "rejected"].map((name) => el("td", { className: "num", dataset: { figure: name } }, number(row[name]))),
      el("td", { className: "num", dataset: { figure: "pass_rate" } }, row.pass_rate === null ? "–" : `${Math.round(100 * row.pass_rate)}%`),
      el("td", { className: "num" }, rating));
  }

  async function send(work) {
    say(error, "");
    try {
      render(await work());
    } catch (err) {
      say(error, err.message);
    }
  }

  const judge = (sampleId, verdict, reason) => send(() => api("POST", `${base}/${current.id}/samples/${sampleId}`, { verdict, ...(reason ? { reason } : {}) }));

  $("acceptance-start").addEventListener("submit", (event) => {
    event.preventDefault();
    const amount = Number($("acceptance-amount").value);
    const body = $("acceptance-unit").value === "rate" ? { rate: amount / 100 } : { count: amount };
    if ($("acceptance-seed").value !== "") body.seed = Number($("acceptance-seed").value);
    send(() => api("POST", base, body));
  });

  $("acceptance-finish").addEventListener("submit", async (event) => {
    event.preventDefault();
    await send(() => api("POST", `${base}/${current.id}/finish`, { outcome: $("acceptance-outcome").value }));
    await onChange();
  });

  if (acceptanceId) send(() => api("GET", `${base}/${acceptanceId}`));
}

// The image's review on the labeling page: a badge with its state and who reviewed it, the
// rejection's reason over the canvas until the image is handed in again, "Submit for review" for
// whoever labels, Accept (with a rating) and Reject (with a reason) for reviewers. The server puts
// in the buttons the viewer's role may use (the page's `can`); the image's state picks which apply.
import { api } from "../api.js";

const $ = (id) => document.getElementById(id);
const STATE_WORDS = { unlabeled: "Unlabeled", labeled: "Labeled", submitted: "Submitted", accepted: "Accepted", rejected: "Rejected" };
const DOING = { submitted: "Submitting", accepted: "Accepting", rejected: "Rejecting" };
const SUBMITTABLE = [null, "rejected"];
const NOTICE_KEY = "labeling.notice"; // a word for the next page this tab opens (after an action moved on)

// `sample` is the page's review data (state, review, review_reason, review_rating, reviewed_by,
// assigned_to); `locked` says why this viewer may not change the image (null: they may).
export class Review {
  // `labeled()`: the image has objects (saved or about to be); `save()`: save the objects first
  // (true when the server has them); `done(what)`: the action went through, move on.
  constructor(sample, locked, { labeled, save, done, say }) {
    Object.assign(this, { sample, locked, labeled, save, done, say });
    $("submit-review")?.addEventListener("click", () => this.submit());
    $("review-accept")?.addEventListener("click", () => this.accept());
    $("review-reject")?.addEventListener("click", () => this.askReason());
    $("reject-cancel")?.addEventListener("click", () => $("reject-dialog").close());
    $("reject-form")?.addEventListener("submit", (event) => {
      event.preventDefault();
      this.reject();
    });
    const notice = sessionStorage.getItem(NOTICE_KEY);
    sessionStorage.removeItem(NOTICE_KEY);
    $("review-notice").textContent = notice ?? "";
    $("review-notice").hidden = !notice;
  }

  // The state the badge shows: the review's, else whether the image has objects.
  get state() {
    return this.sample.review ?? (this.labeled() ? "labeled" : "unlabeled");
  }

  render() {
    const { review, review_reason: reason, review_rating: rating, reviewed_by: reviewer, assigned_to: assignee } = this.sample;
    const state = this.state;
    const badge = $("review-badge");
    badge.dataset.state = state;
    badge.className = `review-badge review-${state}`;
    badge.textContent = STATE_WORDS[state] + (state === "accepted" && rating ? ` · ${rating}` : "");
    const who = [];
    if (reviewer && (review === "accepted" || review === "rejected")) who.push(`by ${reviewer}`);
    if (assignee) who.push(`given to ${assignee}`);
    $("review-who").textContent = who.join(" · ");
    const banner = $("review-banner");
    banner.hidden = review !== "rejected";
    banner.textContent = review === "rejected" ? `Rejected${reviewer ? ` by ${reviewer}` : ""}: ${reason ?? ""}` : "";
    $("locked-banner").hidden = !this.locked;
    $("locked-banner").textContent = this.locked ? `Read-only for you: ${this.locked}` : "";
    const submit = $("submit-review");
    if (submit) {
      submit.hidden = Boolean(this.locked) || !SUBMITTABLE.includes(review);
      submit.disabled = this.busy || !this.labeled();
      submit.title = this.labeled() ? "Hand this image in for review (saves first)" : "Label the image first";
    }
    if ($("accept-group")) $("accept-group").hidden = review !== "submitted";
    if ($("review-reject")) $("review-reject").hidden = !["submitted", "accepted"].includes(review);
    for (const id of ["review-accept", "review-reject"]) if ($(id)) $(id).disabled = Boolean(this.busy);
  }

  async submit() {
    await this.act("submitted", () => api("POST", `/samples/${this.sample.id}/submit`), "Submitted for review.");
  }

  async accept() {
    const rating = $("review-rating").value;
    if (!rating) {
      this.say("Choose a rating first, A (best) to D, then Accept.");
      $("review-rating").focus();
      return;
    }
    await this.act("accepted", () => api("POST", `/samples/${this.sample.id}/review`, { decision: "accept", rating }), `Accepted with rating ${rating}.`);
  }

  askReason() {
    $("reject-error").hidden = true;
    $("reject-dialog").showModal();
    $("reject-reason").focus();
  }

  async reject() {
    const reason = $("reject-reason").value.trim();
    const error = $("reject-error");
    if (!reason) {
      error.textContent = "Write a reason: the labeler needs to know what to fix.";
      error.hidden = false;
      $("reject-reason").focus();
      return;
    }
    const sent = await this.act("rejected", () => api("POST", `/samples/${this.sample.id}/review`, { decision: "reject", reason }),
      "Rejected; the image went back to its labeler.", (message) => {
        error.textContent = message;
        error.hidden = false;
      });
    if (sent) $("reject-dialog").close();
  }

  // Save first, then the action; on success keep the new state and move on. True when it went through.
  async act(what, call, notice, fail = (message) => this.say(message)) {
    if (this.busy) return false;
    this.busy = true;
    this.render();
    try {
      if (!(await this.save())) return false;
      if (what === "submitted" && !this.labeled()) {
        fail("Label the image before submitting it.");
        return false;
      }
      this.sample = { ...this.sample, ...(await call()) };
      sessionStorage.setItem(NOTICE_KEY, notice);
      this.done(what);
      return true;
    } catch (err) {
      fail(`${DOING[what]} failed: ${err.message}`);
      return false;
    } finally {
      this.busy = false;
      this.render();
    }
  }
}

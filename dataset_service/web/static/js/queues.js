// The work queues of a dataset: "My work" opens the caller's next open image (given to them, never
// submitted or sent back by review), "Review queue" the first image waiting for review. Each opens
// the labeling page with its queue's filter in the URL, so Next and Previous walk that queue.
import { api } from "./api.js";

const labelingUrl = (datasetId, sampleId, query) => `/datasets/${datasetId}/samples/${sampleId}?${query}`;

// The sample-list filter of each queue (the query parameters the labeling page reads).
export const myWorkQuery = (me) => new URLSearchParams({ assigned_to: me, review: "open" }).toString();
export const REVIEW_QUERY = "review=submitted";

// The caller's next open image after `after` (its page's URL, or null when nothing is left) and how many are open.
export async function nextOfMine(datasetId, me, after = null) {
  const { sample_id: sampleId, remaining } = await api("GET", `/datasets/${datasetId}/next${after ? `?after=${after}` : ""}`);
  return { url: sampleId ? labelingUrl(datasetId, sampleId, myWorkQuery(me)) : null, remaining };
}

// The first image waiting for review (its page's URL, or null) and how many wait.
export async function firstToReview(datasetId) {
  const { items, total } = await api("GET", `/datasets/${datasetId}/samples?${REVIEW_QUERY}&limit=1`);
  return { url: items.length ? labelingUrl(datasetId, items[0].id, REVIEW_QUERY) : null, remaining: total };
}

// Wire the page's #my-work-button and #review-queue-button (each shown only to the roles that may
// use it); `say(text)` tells the user when a queue is empty or cannot be read.
export function initQueueButtons(datasetId, me, say) {
  const mine = document.getElementById("my-work-button");
  const count = document.getElementById("my-work-count");
  const open = async (button, find, empty) => {
    button.disabled = true;
    try {
      const { url } = await find();
      if (url) location.assign(url);
      else say(empty);
    } catch (err) {
      say(err.message);
    } finally {
      button.disabled = false;
    }
  };
  if (mine) {
    mine.addEventListener("click", () => open(mine, () => nextOfMine(datasetId, me), "Nothing left: no image given to you is waiting to be labeled."));
    nextOfMine(datasetId, me).then(({ remaining }) => { if (count) count.textContent = `(${remaining})`; }).catch(() => {});
  }
  const review = document.getElementById("review-queue-button");
  review?.addEventListener("click", () => open(review, () => firstToReview(datasetId), "Nothing to review: no image is waiting for review."));
}

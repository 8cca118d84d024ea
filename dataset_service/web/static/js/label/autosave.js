// Autosave (a setting of this browser, on unless turned off): unsaved changes are saved after a
// pause, and when the page is left or its tab closed they are sent in a request that outlives the
// page (fetch keepalive). Without it, leaving with unsaved changes asks first, as before. The
// setting: the side panel's check box, kept in this browser's localStorage.
import { api } from "../api.js";

const SETTING_KEY = "labeling.autosave";
export const PAUSE_MS = 2000;
const KEEPALIVE_MAX_BYTES = 60000; // browsers refuse keepalive bodies over 64 KiB

export class Autosave {
  // `dirty()`: unsaved changes exist; `idle()`: nothing is being drawn, dragged or chosen;
  // `blocked()`: a conflict or a failed save waits for the labeler; `save()`: save now;
  // `body()`: the PUT body of the objects now; `path`: where it goes in the API.
  constructor(checkbox, { dirty, idle, blocked, save, body, path }) {
    Object.assign(this, { checkbox, dirty, idle, blocked, save, body, path });
    this.timer = 0;
    this.sent = null; // the body last sent as the page went away
    checkbox.checked = localStorage.getItem(SETTING_KEY) !== "off";
    checkbox.addEventListener("change", () => {
      localStorage.setItem(SETTING_KEY, checkbox.checked ? "on" : "off");
      this.changed();
    });
    window.addEventListener("beforeunload", (event) => {
      if (!this.dirty()) return;
      if (!this.sendOnLeaving()) event.preventDefault(); // not sent: ask first
    });
    window.addEventListener("pagehide", () => this.dirty() && this.sendOnLeaving());
  }

  get on() {
    return this.checkbox.checked;
  }

  // Something changed: save after a pause without changes.
  changed() {
    clearTimeout(this.timer);
    if (this.on && this.dirty()) this.timer = setTimeout(() => this.fire(), PAUSE_MS);
  }

  fire() {
    if (!this.on || !this.dirty() || this.blocked()) return;
    if (!this.idle()) return this.changed(); // a drag or a shape in the making: wait for its end
    this.save();
  }

  // Send the objects in a request that survives the page; true when sent (or nothing to send).
  // Not after a conflict or a failed save: the page asks first, as without autosave.
  sendOnLeaving() {
    if (!this.on || this.blocked()) return false;
    const body = JSON.stringify(this.body());
    if (body === this.sent) return true;
    if (new Blob([body]).size > KEEPALIVE_MAX_BYTES) return false;
    api("PUT", this.path, JSON.parse(body), { keepalive: true }).catch(() => {}); // the page is going: nobody to tell
    this.sent = body;
    return true;
  }
}

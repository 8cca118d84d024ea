// Undo and redo over snapshots of the objects on the image.

const copy = (value) => structuredClone(value);

export class History {
  constructor(limit = 200) {
    this.limit = limit;
    this.past = [];
    this.future = [];
  }

  // Remember the state before a change; a new change forgets what was undone.
  record(before) {
    this.past.push(copy(before));
    if (this.past.length > this.limit) this.past.shift();
    this.future = [];
  }

  undo(current) {
    if (!this.past.length) return null;
    this.future.push(copy(current));
    return this.past.pop();
  }

  redo(current) {
    if (!this.future.length) return null;
    this.past.push(copy(current));
    return this.future.pop();
  }

  // Change every remembered state alike (a label renamed or deleted on the server).
  map(change) {
    this.past = this.past.map(change);
    this.future = this.future.map(change);
  }

  get canUndo() {
    return this.past.length > 0;
  }

  get canRedo() {
    return this.future.length > 0;
  }
}

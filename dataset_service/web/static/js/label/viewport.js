// Zoom and pan: screen = image * scale + offset, in CSS pixels of the canvas.

const MIN_SCALE = 0.02;
const MAX_SCALE = 40;
const FIT_MARGIN = 16;

export class Viewport {
  constructor() {
    this.scale = 1;
    this.offsetX = 0;
    this.offsetY = 0;
  }

  fit(canvasWidth, canvasHeight, imageWidth, imageHeight) {
    const scale = Math.min((canvasWidth - 2 * FIT_MARGIN) / imageWidth, (canvasHeight - 2 * FIT_MARGIN) / imageHeight);
    this.scale = Math.min(Math.max(scale, MIN_SCALE), MAX_SCALE);
    this.offsetX = (canvasWidth - imageWidth * this.scale) / 2;
    this.offsetY = (canvasHeight - imageHeight * this.scale) / 2;
  }

  // Zoom by a factor keeping the image point under (sx, sy) in place.
  zoomAt(factor, sx, sy) {
    const scale = Math.min(Math.max(this.scale * factor, MIN_SCALE), MAX_SCALE);
    const [ix, iy] = this.toImage(sx, sy);
    this.scale = scale;
    this.offsetX = sx - ix * scale;
    this.offsetY = sy - iy * scale;
  }

  pan(dx, dy) {
    this.offsetX += dx;
    this.offsetY += dy;
  }

  toImage(sx, sy) {
    return [(sx - this.offsetX) / this.scale, (sy - this.offsetY) / this.scale];
  }

  toScreen(x, y) {
    return [x * this.scale + this.offsetX, y * this.scale + this.offsetY];
  }
}

/**
 * Decoding a QR code from pixels with jsQR (pure JavaScript, no camera or DOM needed), so the same function serves
 * camera frames, uploaded photos and tests that render PNGs in Node.
 */
import jsQR from 'jsqr';

/** The shape of DOM ImageData: RGBA bytes, row by row. */
export interface Pixels {
  data: Uint8ClampedArray | Uint8Array;
  width: number;
  height: number;
}

export interface ScanOptions {
  /**
   * Also look for light-on-dark codes. Twice the work per frame, so the camera loop leaves it off and a
   * one-off photo turns it on.
   */
  tryInverted?: boolean;
}

/** The text of the first QR code found, or null (no code, unreadable code, or malformed pixels). */
export function scanPixels(pixels: Pixels, options: ScanOptions = {}): string | null {
  const { data, width, height } = pixels;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) return null;
  if (data.length !== width * height * 4) return null;
  const rgba = data instanceof Uint8ClampedArray ? data : new Uint8ClampedArray(data.buffer, data.byteOffset, data.byteLength);
  const found = jsQR(rgba, width, height, { inversionAttempts: options.tryInverted ? 'attemptBoth' : 'dontInvert' });
  return found ? found.data : null;
}

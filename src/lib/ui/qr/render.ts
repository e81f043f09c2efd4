/** QR codes as SVG text (the `qrcode` package; works in browsers, workers and Node). Level M survives ~15 % damage. */
import QRCode from 'qrcode';

export const QR_ERROR_CORRECTION = 'M' as const;
/** Quiet zone in modules, as the standard asks: with 2, jsQR missed a version-21 invite on screen (an e2e test). */
export const QR_MARGIN_MODULES = 4;

export interface QrSvgOptions {
  margin?: number;
  /** Dark and light colours as #rrggbb(aa). */
  dark?: string;
  light?: string;
}

/** An SVG document for `text`, sized by its viewBox so CSS decides how large it is. */
export function qrSvg(text: string, options: QrSvgOptions = {}): Promise<string> {
  return QRCode.toString(text, {
    type: 'svg',
    errorCorrectionLevel: QR_ERROR_CORRECTION,
    margin: options.margin ?? QR_MARGIN_MODULES,
    color: { dark: options.dark ?? '#000000ff', light: options.light ?? '#ffffffff' }
  });
}

/** The QR version (1..40) `text` needs at level M: 21 + 4·(version − 1) modules a side. For measurements. */
export function qrVersion(text: string): number {
  return QRCode.create(text, { errorCorrectionLevel: QR_ERROR_CORRECTION }).version;
}

export function qrModulesPerSide(version: number): number {
  return 17 + 4 * version;
}

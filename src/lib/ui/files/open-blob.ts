/**
 * Opening and saving a file read from this device's store. The bytes arrive only after an await, and browsers
 * block a new tab opened then, so `openInNewTab` opens the tab during the click and points it at the file later.
 */
import type { WireError } from '../../client/api.js';

/** Blob URLs live this long: enough for a tab or a download to load them, then the memory goes back. */
const BLOB_URL_LIFETIME_MS = 120_000;

export type ReadOutcome = { ok: true; bytes: Uint8Array; name: string; mediaType: string } | { ok: false; error: WireError };

function blobUrl(bytes: Uint8Array, mediaType: string): string {
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: mediaType || 'application/octet-stream' }));
  setTimeout(() => URL.revokeObjectURL(url), BLOB_URL_LIFETIME_MS);
  return url;
}

/** What a failed read says, for the page to show. */
export function readFailure(err: unknown): WireError {
  return { error: 'internal_error', message: err instanceof Error ? err.message.replace(/^Error: /, '') : String(err) };
}

/**
 * Call from a click handler: opens a tab at once, then shows the file in it (`fragment` such as `page=12` for a PDF).
 * Resolves with the error when the file could not be read (the tab is closed again).
 */
export async function openInNewTab(read: () => Promise<ReadOutcome>, fragment = ''): Promise<WireError | null> {
  const tab = window.open('about:blank', '_blank');
  let outcome: ReadOutcome;
  try {
    outcome = await read();
  } catch (err) {
    outcome = { ok: false, error: readFailure(err) };
  }
  if (!outcome.ok) {
    tab?.close();
    return outcome.error;
  }
  const url = blobUrl(outcome.bytes, outcome.mediaType) + (fragment ? `#${fragment}` : '');
  if (tab) {
    tab.opener = null;
    tab.location.href = url;
  } else {
    // The browser refused the early tab (some block every pop-up); a link click still opens one.
    const link = Object.assign(document.createElement('a'), { href: url, target: '_blank', rel: 'noopener' });
    link.click();
  }
  return null;
}

/** Saves the file through the browser's download (an `<a download>` click). */
export async function saveToDevice(read: () => Promise<ReadOutcome>, fallbackName: string): Promise<WireError | null> {
  let outcome: ReadOutcome;
  try {
    outcome = await read();
  } catch (err) {
    return readFailure(err);
  }
  if (!outcome.ok) return outcome.error;
  const link = Object.assign(document.createElement('a'), { href: blobUrl(outcome.bytes, outcome.mediaType), download: outcome.name || fallbackName });
  document.body.append(link);
  link.click();
  link.remove();
  return null;
}

/**
 * PDF text per page through unpdf (the serverless pdf.js build; runs in Node, browsers and workers). Lines are
 * rebuilt from the text items' positions so paragraph breaks survive: a vertical gap of more than
 * PARAGRAPH_GAP_LINES line heights starts a new paragraph, which the chunker then prefers as a cut point.
 */
import { getDocumentProxy } from 'unpdf';
import { HearthError } from '../core/errors.js';

const PARAGRAPH_GAP_LINES = 1.5;
/** Items whose baselines differ by less than this (in points) sit on one line. */
const SAME_LINE_TOLERANCE_PT = 1;

interface PositionedItem {
  str: string;
  transform: number[];
  height: number;
  hasEOL: boolean;
}

export interface PdfPages {
  /** texts[i] is page i + 1. */
  texts: string[];
}

export async function extractPdfPages(bytes: Uint8Array): Promise<PdfPages> {
  let pdf: Awaited<ReturnType<typeof getDocumentProxy>>;
  try {
    // pdf.js may transfer the buffer it is given; hand it a copy so the caller's bytes stay usable.
    pdf = await getDocumentProxy(bytes.slice(), { verbosity: 0 });
  } catch (cause) {
    throw pdfOpenError(cause);
  }
  try {
    const texts: string[] = [];
    for (let pageNumber = 1; pageNumber <= pdf.numPages; pageNumber++) {
      const page = await pdf.getPage(pageNumber);
      const content = await page.getTextContent();
      texts.push(pageText(content.items.filter((item) => 'str' in item) as PositionedItem[]));
    }
    if (texts.every((text) => text.trim() === '')) {
      throw new HearthError('bad_request', 'the PDF has no text layer (a scan?); text recognition (ocr.*) is not available yet', {
        extra: { reason: 'pdf_no_text' }
      });
    }
    return { texts };
  } finally {
    await pdf.destroy();
  }
}

function pdfOpenError(cause: unknown): HearthError {
  const name = cause instanceof Error ? cause.name : '';
  if (name === 'PasswordException') {
    return new HearthError('bad_request', 'the PDF is encrypted; upload a copy without a password', { extra: { reason: 'pdf_encrypted' } });
  }
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new HearthError('bad_request', `not a readable PDF (${detail})`, { extra: { reason: 'pdf_unreadable' } });
}

function pageText(items: PositionedItem[]): string {
  let out = '';
  let lastY: number | undefined;
  let lastHeight = 0;
  for (const item of items) {
    const y = item.transform[5];
    if (lastY !== undefined && Math.abs(y - lastY) > SAME_LINE_TOLERANCE_PT) {
      const lineHeight = Math.max(item.height, lastHeight, 1);
      const breakText = Math.abs(lastY - y) > PARAGRAPH_GAP_LINES * lineHeight ? '\n\n' : '\n';
      out = out.replace(/\n*$/, '') + breakText;
    }
    if (item.str !== '') {
      out += item.str;
      lastY = y;
      lastHeight = item.height;
    }
    if (item.hasEOL && !out.endsWith('\n')) out += '\n';
  }
  return tidy(out);
}

function tidy(text: string): string {
  return text
    .replace(/[^\S\n]+/g, ' ')
    .replace(/ *\n */g, '\n')
    .replace(/(\p{L})-\n(\p{Ll})/gu, '$1$2') // words hyphenated at a line end
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

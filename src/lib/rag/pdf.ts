/**
 * PDF text per page through unpdf (the serverless pdf.js build; runs in Node, browsers and workers). Lines are
 * rebuilt from the text items' positions so paragraph breaks survive: a vertical gap of more than
 * PARAGRAPH_GAP_LINES line heights starts a new paragraph, which the chunker then prefers as a cut point.
 */
import { getDocumentProxy } from 'unpdf';
import { HearthError } from '../core/errors.js';
import { MAX_DOCUMENT_CHARS, MAX_PDF_PAGES } from './constants.js';

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
    if (pdf.numPages > MAX_PDF_PAGES) {
      throw new HearthError('bad_request', `the PDF has ${pdf.numPages} pages; at most ${MAX_PDF_PAGES} are indexed — split it`, { extra: { reason: 'document_too_large' } });
    }
    const texts: string[] = [];
    let chars = 0;
    for (let pageNumber = 1; pageNumber <= pdf.numPages; pageNumber++) {
      let text: string;
      try {
        const page = await pdf.getPage(pageNumber);
        const content = await page.getTextContent();
        text = pageText(content.items.filter((item) => 'str' in item) as PositionedItem[]);
      } catch (cause) {
        throw new HearthError('bad_request', `page ${pageNumber} of the PDF cannot be read (${cause instanceof Error ? cause.message : String(cause)})`, { extra: { reason: 'pdf_unreadable' } });
      }
      chars += text.length;
      if (chars > MAX_DOCUMENT_CHARS) {
        throw new HearthError('bad_request', `the PDF holds more than ${MAX_DOCUMENT_CHARS} characters of text — split it`, { extra: { reason: 'document_too_large' } });
      }
      texts.push(text);
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
  // Text parts joined once at the end, the line break after them kept aside: a new break replaces it instead of
  // rescanning and copying the whole page text at every line (quadratic in the number of lines).
  const parts: string[] = [];
  let trailingBreak = '';
  let lastY: number | undefined;
  let lastHeight = 0;
  for (const item of items) {
    const y = item.transform[5];
    if (lastY !== undefined && Math.abs(y - lastY) > SAME_LINE_TOLERANCE_PT) {
      const lineHeight = Math.max(item.height, lastHeight, 1);
      trailingBreak = Math.abs(lastY - y) > PARAGRAPH_GAP_LINES * lineHeight ? '\n\n' : '\n';
    }
    if (item.str !== '') {
      parts.push(trailingBreak, item.str);
      trailingBreak = '';
      lastY = y;
      lastHeight = item.height;
    }
    if (item.hasEOL && trailingBreak === '') trailingBreak = '\n';
  }
  return tidy(parts.join('') + trailingBreak);
}

function tidy(text: string): string {
  return text
    .replace(/[^\S\n]+/g, ' ')
    .replace(/ *\n */g, '\n')
    .replace(/(\p{L})-\n(\p{Ll})/gu, '$1$2') // words hyphenated at a line end
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

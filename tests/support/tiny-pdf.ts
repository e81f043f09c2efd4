/**
 * Writes a small, valid PDF by hand: one page per entry, each page's lines set in Helvetica (WinAnsiEncoding, so
 * German umlauts survive), with a correct cross-reference table. Enough for pdf.js to extract text page by page;
 * no compression, no fonts embedded. Lines longer than WRAP_CHARS are wrapped at spaces.
 */

const WRAP_CHARS = 90;
const FONT_SIZE_PT = 11;
const LEADING_PT = 14;
const PAGE_WIDTH_PT = 595;
const PAGE_HEIGHT_PT = 842;
const MARGIN_PT = 56;

export interface TinyPdfOptions {
  /** Adds an /Encrypt entry to the trailer that no reader can satisfy, to exercise the "encrypted" error path. */
  fakeEncryption?: boolean;
}

/** One string per page; blank lines separate paragraphs. */
export function buildTinyPdf(pages: readonly string[], options: TinyPdfOptions = {}): Uint8Array {
  if (pages.length === 0) throw new Error('buildTinyPdf needs at least one page');
  const objects: string[] = []; // objects[i] is object number i + 1
  const pageIds = pages.map((_, i) => 4 + 2 * i);
  objects.push('<< /Type /Catalog /Pages 2 0 R >>');
  objects.push(`<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(' ')}] /Count ${pages.length} >>`);
  objects.push('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>');
  for (const [i, text] of pages.entries()) {
    const contentId = pageIds[i] + 1;
    objects.push(
      `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${PAGE_WIDTH_PT} ${PAGE_HEIGHT_PT}] ` +
        `/Resources << /Font << /F1 3 0 R >> >> /Contents ${contentId} 0 R >>`
    );
    const stream = contentStream(text);
    objects.push(`<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`);
  }
  if (options.fakeEncryption) objects.push('<< /Filter /Standard /V 2 /R 3 /Length 128 /O <00> /U <00> /P -4 >>');

  let out = '%PDF-1.4\n%\xe2\xe3\xcf\xd3\n';
  const offsets: number[] = [];
  for (const [i, body] of objects.entries()) {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  }
  const xrefAt = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) out += `${String(offset).padStart(10, '0')} 00000 n \n`;
  const encrypt = options.fakeEncryption ? ` /Encrypt ${objects.length} 0 R /ID [<0123456789abcdef0123456789abcdef> <0123456789abcdef0123456789abcdef>]` : '';
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R${encrypt} >>\nstartxref\n${xrefAt}\n%%EOF\n`;
  return latin1Bytes(out);
}

function contentStream(text: string): string {
  const lines = text.split('\n').flatMap((line) => wrap(line));
  const body = lines.map((line) => (line === '' ? 'T*' : `(${escapePdfString(line)}) Tj T*`)).join('\n');
  return `BT\n/F1 ${FONT_SIZE_PT} Tf\n${LEADING_PT} TL\n${MARGIN_PT} ${PAGE_HEIGHT_PT - MARGIN_PT} Td\n${body}\nET`;
}

function wrap(line: string): string[] {
  if (line.length <= WRAP_CHARS) return [line];
  const out: string[] = [];
  let current = '';
  for (const word of line.split(' ')) {
    if (current && current.length + 1 + word.length > WRAP_CHARS) {
      out.push(current);
      current = word;
    } else current = current ? `${current} ${word}` : word;
  }
  if (current) out.push(current);
  return out;
}

function escapePdfString(text: string): string {
  return text.replace(/[\\()]/g, (c) => `\\${c}`);
}

/** PDF files here are Latin-1: one character, one byte, so string lengths are byte offsets. */
function latin1Bytes(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    bytes[i] = code <= 0xff ? code : 0x3f; // '?' for anything WinAnsi cannot show
  }
  return bytes;
}

import { describe, expect, it } from 'vitest';
import { HearthError } from '../../../src/lib/core/errors.js';
import { documentText, extractText, markdownSections } from '../../../src/lib/rag/index.js';
import { buildTinyPdf } from '../../support/tiny-pdf.js';
import { bytesOf, PDF_PAGES, rejection } from './fixtures.js';

describe('PDF extraction', () => {
  it('returns the text of each page with its page number, umlauts intact', async () => {
    const extracted = await extractText(buildTinyPdf(PDF_PAGES), 'application/pdf');
    expect(extracted.pages).toBe(3);
    expect(extracted.segments.map((s) => s.page)).toEqual([1, 2, 3]);
    expect(extracted.segments[0].text).toContain('Regenwasser in sauberen Behältern sammeln.');
    expect(extracted.segments[1].text.replace(/\n/g, ' ')).toContain('the exhaust contains carbon monoxide');
    expect(extracted.segments[2].text).toContain('Notruf 112 wählen');
  });

  it('keeps blank-line paragraph breaks, rebuilt from line positions', async () => {
    const [page] = (await extractText(buildTinyPdf([PDF_PAGES[0]]), 'application/pdf')).segments;
    expect(page.text.split('\n\n')).toHaveLength(3);
    expect(page.text.startsWith('Regenwasser reinigen\n\nRegenwasser in sauberen')).toBe(true);
  });

  it('joins wrapped lines of a long paragraph with single newlines', async () => {
    const long = Array.from({ length: 30 }, (_, i) => `Satz ${i} über Wasser.`).join(' ');
    const [page] = (await extractText(buildTinyPdf([long]), 'application/pdf')).segments;
    expect(page.text.replace(/\n/g, ' ')).toBe(long);
    expect(page.text).not.toContain('\n\n');
  });

  it('gives offsets into the document text', async () => {
    const extracted = await extractText(buildTinyPdf(PDF_PAGES), 'application/pdf');
    const whole = documentText(extracted);
    for (const s of extracted.segments) expect(whole.slice(s.offset, s.offset + s.text.length)).toBe(s.text);
  });

  it('refuses an encrypted PDF with bad_request and says so', async () => {
    const error = await rejection(extractText(buildTinyPdf(['geheim'], { fakeEncryption: true }), 'application/pdf'));
    expect(error.code).toBe('bad_request');
    expect(error.extra.reason).toBe('pdf_encrypted');
    expect(error.message).toMatch(/encrypted/);
  });

  it('refuses bytes that are not a PDF', async () => {
    const error = await rejection(extractText(bytesOf('hello, not a pdf'), 'application/pdf'));
    expect([error.code, error.extra.reason]).toEqual(['bad_request', 'pdf_unreadable']);
  });

  it('refuses a PDF without a text layer, with an OCR hint (M05 §4.6)', async () => {
    const error = await rejection(extractText(buildTinyPdf(['', '']), 'application/pdf'));
    expect([error.code, error.extra.reason]).toEqual(['bad_request', 'pdf_no_text']);
    expect(error.message).toMatch(/ocr/i);
  });
});

describe('Markdown extraction', () => {
  const source = [
    '---',
    'title: front matter is skipped',
    '---',
    'Intro with a [link](https://example.org) and `code`.',
    '',
    '# Wasser',
    '',
    'Allgemeines **zum** Wasser.',
    '',
    '## Regenwasser',
    '',
    '- Sammeln in *sauberen* Fässern',
    '- Filtern ![Sandfilter](filter.png)',
    '',
    '```sh',
    'rm -rf /',
    '```',
    '',
    '> Abkochen <b>nicht</b> vergessen.',
    '',
    'Strom',
    '=====',
    '',
    '| Gerät | Watt |',
    '|-------|------|',
    '| Kühlschrank | 150 |',
    '',
    '## Leere Überschrift',
    '### Aggregat ###',
    'snake_case_stays and_this_too'
  ].join('\n');

  it('turns headings into a section path and drops markup and code', () => {
    const sections = markdownSections(source);
    expect(sections.map((s) => s.section)).toEqual([undefined, 'Wasser', 'Wasser > Regenwasser', 'Strom', 'Strom > Leere Überschrift > Aggregat']);
    expect(sections[0].text).toBe('Intro with a link and code.');
    expect(sections[1].text).toBe('Wasser\n\nAllgemeines zum Wasser.');
    expect(sections[2].text).toBe('Regenwasser\n\nSammeln in sauberen Fässern\nFiltern Sandfilter\n\nAbkochen nicht vergessen.');
    expect(sections[3].text).toBe('Strom\n\nGerät · Watt\nKühlschrank · 150');
    expect(sections[4].text).toBe('Aggregat\n\nsnake_case_stays and_this_too');
    expect(sections.map((s) => s.text).join(' ')).not.toMatch(/rm -rf|https|front matter/);
  });

  it('extractText gives the sections with offsets', async () => {
    const extracted = await extractText(bytesOf(source), 'text/markdown; charset=utf-8');
    expect(extracted.segments[2]).toMatchObject({ section: 'Wasser > Regenwasser' });
    const whole = documentText(extracted);
    for (const s of extracted.segments) expect(whole.slice(s.offset, s.offset + s.text.length)).toBe(s.text);
  });
});

describe('plain text and media types', () => {
  it('reads UTF-8 plain text, without BOM and CRLF', async () => {
    const extracted = await extractText(bytesOf('\uFEFFZeile eins\r\nZeile zwei\r\n'), 'text/plain');
    expect(extracted.segments).toEqual([{ text: 'Zeile eins\nZeile zwei', offset: 0 }]);
  });

  it('a hostile Markdown line (200 KB of emphasis markers) cannot stall the node', async () => {
    const started = performance.now();
    const line = '**a '.repeat(50_000);
    expect(markdownSections(line)[0].text.length).toBeGreaterThan(100_000);
    expect(performance.now() - started).toBeLessThan(2_000); // took 30 s before the bound on inline markup
  });

  it('refuses a document past the size bounds with bad_request and a reason', async () => {
    const error = await rejection(extractText(new Uint8Array(64 * 1024 * 1024 + 1), 'text/plain'));
    expect([error.code, error.extra.reason]).toEqual(['bad_request', 'document_too_large']);
  });

  it('refuses an unsupported media type with bad_request (CONTRACT §4.5)', async () => {
    const error = await rejection(extractText(bytesOf('x'), 'image/png'));
    expect([error.code, error.extra.reason]).toEqual(['bad_request', 'unsupported_media_type']);
  });
});

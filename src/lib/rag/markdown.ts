/**
 * Markdown to plain sections: every heading starts a section named by its heading path ("Wasser > Regenwasser"),
 * and the heading's own words open the section text (they are often the best search terms). Markup is reduced to
 * the words a reader sees: link and image text kept, URLs, HTML tags, emphasis markers, list and quote markers,
 * table rules dropped. Fenced code blocks are dropped whole: in neighbourhood documents they are rare, and
 * identifiers make poor retrieval text. Front matter is skipped.
 */
import { MAX_INLINE_MARKUP_CHARS } from './constants.js';

export interface MarkdownSection {
  section?: string;
  text: string;
}

const ATX_HEADING = /^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/;
const FENCE = /^ {0,3}(```+|~~~+)/;
const THEMATIC_BREAK = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const SETEXT_H1 = /^ {0,3}=+[ \t]*$/;
const SETEXT_H2 = /^ {0,3}-+[ \t]*$/;
const TABLE_RULE = /^[ \t]*\|?[ \t]*:?-+:?[ \t]*(\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$/;
const LINK_DEFINITION = /^ {0,3}\[[^\]]+\]:\s+\S+/;

export function markdownSections(source: string): MarkdownSection[] {
  const lines = source.replace(/\r\n?/g, '\n').split('\n');
  const sections: MarkdownSection[] = [];
  const headings: string[] = [];
  let current: { section?: string; lines: string[]; hasBody: boolean } = { lines: [], hasBody: false };
  let fence: string | undefined;
  let start = 0;
  if (lines[0]?.trim() === '---') {
    const close = lines.findIndex((line, i) => i > 0 && (line.trim() === '---' || line.trim() === '...'));
    if (close > 0) start = close + 1;
  }

  const flush = () => {
    if (current.hasBody) sections.push({ section: current.section, text: collapse(current.lines.join('\n')) });
  };
  const openSection = (level: number, title: string) => {
    flush();
    headings.length = level - 1;
    headings[level - 1] = title;
    const path = headings.filter(Boolean).join(' > ');
    current = { section: path, lines: [title, ''], hasBody: false };
  };

  for (let i = start; i < lines.length; i++) {
    const line = lines[i];
    if (fence) {
      if (line.trim().startsWith(fence)) fence = undefined;
      continue;
    }
    const fenceMatch = FENCE.exec(line);
    if (fenceMatch) {
      fence = fenceMatch[1];
      continue;
    }
    const atx = ATX_HEADING.exec(line);
    if (atx) {
      openSection(atx[1].length, inline(atx[2]));
      continue;
    }
    const next = lines[i + 1];
    const previousBlank = i === start || lines[i - 1].trim() === '';
    if (line.trim() !== '' && next !== undefined && previousBlank && (SETEXT_H1.test(next) || (SETEXT_H2.test(next) && !TABLE_RULE.test(line)))) {
      openSection(SETEXT_H1.test(next) ? 1 : 2, inline(line.trim()));
      i++;
      continue;
    }
    if (THEMATIC_BREAK.test(line) || TABLE_RULE.test(line) || LINK_DEFINITION.test(line)) continue;
    const text = inline(blockMarkers(line));
    if (text.trim() !== '') current.hasBody = true;
    current.lines.push(text);
  }
  flush();
  return sections;
}

function blockMarkers(line: string): string {
  return line
    .replace(/^(?:[ \t]*>)+[ \t]?/, '') // block quotes
    .replace(/^[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+(?:\[[ xX]\][ \t]+)?/, '') // list items, task boxes
    .replace(/^[ \t]*\|(.*)\|[ \t]*$/, '$1') // table rows: outer pipes
    .replace(/[ \t]*\|[ \t]*/g, ' · '); // inner pipes keep cells apart
}

function inline(text: string): string {
  if (text.length > MAX_INLINE_MARKUP_CHARS) return text; // a pathological line keeps its markup rather than stall
  return text
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1') // images: alt text
    .replace(/\[([^\]]+)\]\([^)]*\)/g, '$1') // links: link text
    .replace(/\[([^\]]+)\]\[[^\]]*\]/g, '$1') // reference links
    .replace(/<(https?:\/\/[^>]+)>/g, '$1') // autolinks
    .replace(/<\/?[A-Za-z][^>]*>/g, '') // HTML tags
    .replace(/`+([^`]*)`+/g, '$1') // inline code: its text
    .replace(/(\*\*|__)(?=\S)(.+?)(?<=\S)\1/g, '$2')
    .replace(/(^|[^\p{L}\p{N}])[*_](?=\S)(.+?)(?<=\S)[*_](?![\p{L}\p{N}])/gu, '$1$2')
    .replace(/~~(.+?)~~/g, '$1')
    .replace(/\\([\\`*_{}[\]()#+\-.!|>])/g, '$1'); // backslash escapes
}

function collapse(text: string): string {
  return text
    .replace(/[^\S\n]+/g, ' ')
    .replace(/ *\n */g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/**
 * The operator's expected hashes: a `SHA256SUMS` file in a repo folder (or in `libs/`), as `sha256sum` writes it
 * (`<hex>  <path>`, `<hex> *<path>` in binary mode) or as `sha256sum --tag` / `shasum -a 256 --tag` write it
 * (`SHA256 (<path>) = <hex>`). Paths are relative to the folder the file is in. Pure.
 */

export const SUMS_FILE_NAME = 'SHA256SUMS';

export interface ParsedSums {
  /** Normalised relative path (no leading `./`) → lowercase hex. */
  expected: Map<string, string>;
  /** Lines that could not be read, for a warning each; the rest of the file still counts. */
  problems: { line: number; reason: string }[];
}

const GNU_LINE = /^\\?([0-9a-fA-F]{64}) [ *](.+)$/;
const TAG_LINE = /^\\?SHA256 \((.+)\) = ([0-9a-fA-F]{64})$/;

/** `sha256sum` escapes a name containing a backslash or newline and marks the line with a leading backslash. */
function unescapeName(name: string, escaped: boolean): string {
  return escaped ? name.replace(/\\(\\|n|r)/g, (_, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : '\\')) : name;
}

/** `./a/b` → `a/b`; null for anything that could leave the folder or is not a plain relative path. */
export function normaliseSumsPath(raw: string): string | null {
  const path = raw.replace(/^(\.\/)+/, '');
  if (path === '' || path.startsWith('/') || path.includes('\\') || path.includes('\0')) return null;
  if (path.split('/').some((segment) => segment === '' || segment === '.' || segment === '..')) return null;
  return path;
}

export function parseSha256Sums(text: string): ParsedSums {
  const expected = new Map<string, string>();
  const problems: ParsedSums['problems'] = [];
  const lines = text.split('\n');
  lines.forEach((rawLine, i) => {
    const line = rawLine.replace(/\r$/, '');
    if (line.trim() === '' || line.startsWith('#')) return;
    const escaped = line.startsWith('\\');
    const gnu = GNU_LINE.exec(line);
    const tag = gnu ? null : TAG_LINE.exec(line);
    const hex = gnu?.[1] ?? tag?.[2];
    const name = gnu?.[2] ?? tag?.[1];
    if (hex === undefined || name === undefined) return void problems.push({ line: i + 1, reason: 'not "<sha256>  <path>" or "SHA256 (<path>) = <sha256>"' });
    const path = normaliseSumsPath(unescapeName(name, escaped));
    if (path === null) return void problems.push({ line: i + 1, reason: `${JSON.stringify(name)} is not a relative path inside the folder` });
    const previous = expected.get(path);
    if (previous !== undefined && previous !== hex.toLowerCase()) return void problems.push({ line: i + 1, reason: `${path} is listed twice with different hashes; the first is kept` });
    if (previous === undefined) expected.set(path, hex.toLowerCase());
  });
  return { expected, problems };
}

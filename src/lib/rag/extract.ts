/** Bytes plus a media type to text segments (pages or sections) with their offsets in the document's text. */
import { HearthError } from '../core/errors.js';
import { MAX_DOCUMENT_BYTES, MAX_DOCUMENT_CHARS } from './constants.js';
import { markdownSections } from './markdown.js';
import { extractPdfPages } from './pdf.js';
import { MEDIA_TYPES, SEGMENT_SEPARATOR, type ExtractedText, type MediaType, type TextSegment } from './types.js';

const MEDIA_TYPE_ALIASES: Readonly<Record<string, MediaType>> = {
  'text/x-markdown': 'text/markdown',
  'application/x-pdf': 'application/pdf'
};

/** The media type without parameters, lower case, aliases resolved; bad_request (CONTRACT §4.5) if unsupported. */
export function normaliseMediaType(mediaType: string): MediaType {
  const bare = mediaType.split(';')[0].trim().toLowerCase();
  const resolved = MEDIA_TYPE_ALIASES[bare] ?? bare;
  if (!(MEDIA_TYPES as readonly string[]).includes(resolved)) {
    throw new HearthError('bad_request', `unsupported media type "${mediaType}"; supported: ${MEDIA_TYPES.join(', ')}`, {
      extra: { reason: 'unsupported_media_type' }
    });
  }
  return resolved as MediaType;
}

export async function extractText(bytes: Uint8Array, mediaType: string): Promise<ExtractedText> {
  const type = normaliseMediaType(mediaType);
  if (bytes.length > MAX_DOCUMENT_BYTES) {
    throw new HearthError('bad_request', `the document is ${bytes.length} bytes; at most ${MAX_DOCUMENT_BYTES} are indexed — split it`, { extra: { reason: 'document_too_large' } });
  }
  if (type === 'application/pdf') {
    const { texts } = await extractPdfPages(bytes);
    return { segments: withOffsets(texts.map((text, i) => ({ text, page: i + 1 }))), pages: texts.length };
  }
  const source = new TextDecoder('utf-8').decode(bytes).replace(/^\uFEFF/, '');
  if (source.length > MAX_DOCUMENT_CHARS) {
    throw new HearthError('bad_request', `the document holds more than ${MAX_DOCUMENT_CHARS} characters — split it`, { extra: { reason: 'document_too_large' } });
  }
  if (type === 'text/markdown') return { segments: withOffsets(markdownSections(source)) };
  return { segments: withOffsets([{ text: source.replace(/\r\n?/g, '\n').trim() }]) };
}

/** The document's text as offsets refer to it: segments joined by SEGMENT_SEPARATOR. */
export function documentText(extracted: ExtractedText): string {
  return extracted.segments.map((s) => s.text).join(SEGMENT_SEPARATOR);
}

function withOffsets(parts: Omit<TextSegment, 'offset'>[]): TextSegment[] {
  let offset = 0;
  return parts.map((part) => {
    const segment: TextSegment = { ...part, offset };
    offset += part.text.length + SEGMENT_SEPARATOR.length;
    return segment;
  });
}

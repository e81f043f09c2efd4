/** Shapes shared by extraction, chunking and the corpus. */

export const MEDIA_TYPES = ['application/pdf', 'text/markdown', 'text/plain'] as const;
export type MediaType = (typeof MEDIA_TYPES)[number];

/** A stretch of a document's extracted text: one PDF page, one Markdown section, or the whole of a plain text. */
export interface TextSegment {
  text: string;
  /** 1-based page number, for PDFs. */
  page?: number;
  /** Heading path, for Markdown ("Wasser > Regenwasser"). */
  section?: string;
  /** Where `text` starts in the document's extracted text (segments joined by SEGMENT_SEPARATOR). */
  offset: number;
}

export const SEGMENT_SEPARATOR = '\n\n';

export interface ExtractedText {
  segments: TextSegment[];
  /** Number of pages, for PDFs. */
  pages?: number;
}

export interface Chunk {
  /** Stable: the document id and the chunk's position, so re-ingesting the same bytes gives the same ids. */
  id: string;
  documentId: string;
  /** 0-based position of the chunk within its document. */
  index: number;
  text: string;
  page?: number;
  section?: string;
  /** Character offsets into the document's extracted text: text === extracted.slice(start, end). */
  start: number;
  end: number;
}

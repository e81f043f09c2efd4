/**
 * The community's catalogue of shared files and corpora, derived from the log: who announced holding which blob
 * (`file.cid.advertised` / `file.cid.unpinned`, contract §7.2) and which documents were indexed into which corpus
 * (`rag.document.ingested`). Peer data is untrusted, so a malformed event, or one whose author is not an active
 * member at that point of replay, is ignored, never an error; every node holding the same events holds the same view.
 *
 * Rules:
 *  L1 An event counts only when its author is an active member at that point of replay.
 *  L2 advertised: `cid` must be a CID and `size_bytes` a whole number; the author becomes a holder. The first valid
 *     `name` / `media_type` announced for a CID are kept (later announcers cannot rename a file).
 *  L3 unpinned: the author stops being a holder of that CID. The file stays known (someone may still hold it).
 *  L4 ingested: `corpus`, `doc_cid`, `title`, `chunks` valid; one entry per (corpus, doc_cid, author); a later
 *     event of the same author replaces its entry. Only a trusted member's or an anchor's counts, as only they may
 *     call rag.ingest (contract §4.5, "corpus pollution is a real risk"): any member can write the event itself, and
 *     nodes that replicate announced documents (the bridge) would index whatever a plain member named. A plain
 *     member's event counts as a copy (`copy: true`) of a document a trusted member already announced in that
 *     corpus: the bridge announcing the copy it indexed adds nothing that was not vetted.
 *  L5 Holders are read against the standing now: a node revoked (or gone from the roster) since it announced a file
 *     is no longer listed as holding it, so nobody is sent to it for chunks. The stored state keeps it (replay
 *     decides the state; the read filters it), so every node holding the same events still agrees.
 */
import { isCid, parseRfc3339 } from '../core/index.js';
import type { CallerLevel } from '../bus/index.js';
import type { EventEnvelope, EventType, MaterialisedView } from '../events/index.js';

export const LIBRARY_VIEW_NAME = 'library';
const MAX_NAME_CHARS = 255;
const MAX_TITLE_CHARS = 300;
const CORPUS_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

export interface Standing {
  levelOf(nodeId: string): CallerLevel;
}

export interface SharedFile {
  cid: string;
  size_bytes: number;
  name: string;
  media_type: string;
  /** wall_clock of the first announcement, ms. */
  first_seen: number;
  /** NodeIDs announcing they hold it now, in the order they first did. */
  holders: string[];
}

export interface CorpusDocument {
  corpus: string;
  doc_cid: string;
  title: string;
  chunks: number;
  embedding_model: string | null;
  /** The node that indexed it, and answers rag.query for it. */
  holder: string;
  ingested_at: string;
  /** Announced by a plain member: its copy of a document a trusted member announced first (L4). */
  copy: boolean;
}

export interface LibraryState {
  version: 1;
  files: SharedFile[];
  documents: CorpusDocument[];
}

const wholeNumber = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
const text = (value: unknown, max: number): string | null => (typeof value === 'string' && value.length <= max ? value : null);

export class LibraryView implements MaterialisedView<LibraryState> {
  readonly name = LIBRARY_VIEW_NAME;
  readonly eventTypes: readonly EventType[] = ['file.cid.advertised', 'file.cid.unpinned', 'rag.document.ingested'];
  private files = new Map<string, SharedFile>();
  private documents = new Map<string, CorpusDocument>();
  /** (corpus, doc_cid) a trusted member or anchor announced: plain members may announce copies of these (L4). */
  private readonly vetted = new Set<string>();

  constructor(private readonly standing: Standing) {}

  reset(): void {
    this.files.clear();
    this.documents.clear();
    this.vetted.clear();
  }

  apply(event: EventEnvelope): void {
    const level = this.standing.levelOf(event.author);
    if (level === 'none' || level === 'revoked') return; // L1
    const data = event.data;
    if (event.event_type === 'file.cid.advertised') this.advertised(event, data);
    else if (event.event_type === 'file.cid.unpinned') this.unpinned(event, data);
    else if (event.event_type === 'rag.document.ingested') this.ingested(event, data, level !== 'trusted' && level !== 'anchor'); // L4
  }

  private advertised(event: EventEnvelope, data: Record<string, unknown>): void {
    if (typeof data.cid !== 'string' || !isCid(data.cid) || !wholeNumber(data.size_bytes)) return; // L2
    let file = this.files.get(data.cid);
    if (!file) {
      file = {
        cid: data.cid,
        size_bytes: data.size_bytes,
        name: text(data.name, MAX_NAME_CHARS) ?? '',
        media_type: text(data.media_type, 100) ?? '',
        first_seen: parseRfc3339(event.wall_clock) || 0,
        holders: []
      };
      this.files.set(data.cid, file);
    } else {
      if (!file.name) file.name = text(data.name, MAX_NAME_CHARS) ?? '';
      if (!file.media_type) file.media_type = text(data.media_type, 100) ?? '';
    }
    if (!file.holders.includes(event.author)) file.holders.push(event.author);
  }

  private unpinned(event: EventEnvelope, data: Record<string, unknown>): void {
    const file = typeof data.cid === 'string' ? this.files.get(data.cid) : undefined;
    if (file) file.holders = file.holders.filter((holder) => holder !== event.author); // L3
  }

  private ingested(event: EventEnvelope, data: Record<string, unknown>, copy: boolean): void {
    const corpus = typeof data.corpus === 'string' && CORPUS_NAME.test(data.corpus) ? data.corpus : null;
    const title = text(data.title, MAX_TITLE_CHARS);
    if (!corpus || typeof data.doc_cid !== 'string' || !isCid(data.doc_cid) || title === null || !wholeNumber(data.chunks)) return; // L4
    if (copy && !this.vetted.has(`${corpus}\n${data.doc_cid}`)) return; // L4: a plain member may only announce a copy
    if (!copy) this.vetted.add(`${corpus}\n${data.doc_cid}`);
    const model = text(data.embedding_model, 200);
    this.documents.set(`${corpus}\n${data.doc_cid}\n${event.author}`, {
      corpus,
      doc_cid: data.doc_cid,
      title,
      chunks: data.chunks,
      embedding_model: model,
      holder: event.author,
      ingested_at: event.wall_clock,
      copy
    });
  }

  /** Known files, newest first; holders standing now (L5). */
  sharedFiles(): SharedFile[] {
    return this.storedFiles().map((f) => ({ ...f, holders: this.standingHolders(f.holders) }));
  }

  sharedFile(cid: string): SharedFile | undefined {
    const file = this.files.get(cid);
    return file && { ...file, holders: this.standingHolders(file.holders) };
  }

  private storedFiles(): SharedFile[] {
    return [...this.files.values()].map((f) => ({ ...f, holders: [...f.holders] })).sort((a, b) => b.first_seen - a.first_seen || a.cid.localeCompare(b.cid));
  }

  private standingHolders(holders: readonly string[]): string[] {
    return holders.filter((holder) => {
      const level = this.standing.levelOf(holder);
      return level !== 'none' && level !== 'revoked';
    });
  }

  /** Every indexed document, by corpus then title. */
  corpusDocuments(): CorpusDocument[] {
    return [...this.documents.values()].map((d) => ({ ...d })).sort((a, b) => a.corpus.localeCompare(b.corpus) || a.title.localeCompare(b.title) || a.holder.localeCompare(b.holder));
  }

  snapshotState(): LibraryState {
    return { version: 1, files: this.storedFiles(), documents: this.corpusDocuments() };
  }

  restoreState(state: LibraryState): void {
    this.reset();
    for (const file of state.files ?? []) this.files.set(file.cid, { ...file, holders: [...file.holders] });
    for (const doc of state.documents ?? []) {
      this.documents.set(`${doc.corpus}\n${doc.doc_cid}\n${doc.holder}`, { ...doc });
      if (!doc.copy) this.vetted.add(`${doc.corpus}\n${doc.doc_cid}`);
    }
  }
}

/**
 * The bridge's library on disk (DiskLibraryStore + DiskChunkStore beside a community's replica): a file added and a
 * corpus indexed by a community member on the bridge are there again after the member is closed and reopened over
 * the same directory, answering rag.query and reading back byte-identical; the store survives what a crash or a
 * damaged disk leaves behind.
 */
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { generateKeyPair, systemClock } from '../../src/lib/core/index.js';
import { CommunityMember } from '../../relay/community-member.js';
import { DiskLibraryStore } from '../../relay/disk-library-store.js';
import { buildTinyPdf } from '../support/tiny-pdf.js';
import { foundCommunity } from './community-fixtures.js';
import { makeTempDir } from './helpers.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function tempDir(): Promise<string> {
  const temp = await makeTempDir('hearthnet-library-');
  cleanup.push(temp.remove);
  return temp.path;
}

const cid = (n: number) => `blake3:${n.toString(16).padStart(64, '0')}`;

describe('the bridge\'s library across a restart', () => {
  it('a community member\'s file and corpus are there again after it is closed and reopened over the same directory', async () => {
    const dir = await tempDir();
    const founder = await foundCommunity('Lindenstraße');
    const keyPair = await generateKeyPair();
    const open = async () => {
      const member = await CommunityMember.open({ communityId: founder.community.communityId, keyPair, dir, displayName: 'bridge', clock: systemClock, logger: pino({ level: 'silent' }), onChange: () => {} }, null);
      cleanup.push(() => member.close());
      return member;
    };
    const pdf = buildTinyPdf([
      'Trinkwasser im Notfall. Regenwasser durch ein sauberes Tuch filtern und danach mindestens eine Minute sprudelnd abkochen.',
      'Generator sicher betreiben. Einen Generator niemals in geschlossenen Räumen betreiben: Kohlenmonoxid ist tödlich.'
    ]);
    const query = { params: { corpus: 'notfall' }, input: { query: 'Darf der Generator in die Garage?', k: 1 } };

    const first = await open();
    const doc = await first.library!.addFile({ name: 'notfall.pdf', mediaType: 'application/pdf', bytes: pdf });
    await first.node.bus.call('rag.ingest', '1.0', { params: { corpus: 'notfall' }, input: { doc_cid: doc.cid, title: 'Notfall-Handbuch' } }, { node: keyPair.nodeId, timeoutMs: 60_000 });
    const before = (await first.node.bus.call('rag.query', '1.0', query, { node: keyPair.nodeId })) as { output: { chunks: { metadata: Record<string, unknown> }[] } };
    await first.close();

    const second = await open();
    const library = second.library!;
    expect(library.rag.corpusNames).toEqual(['notfall']);
    expect(library.rag.holds('notfall', doc.cid)).toBe(true);
    const after = (await second.node.bus.call('rag.query', '1.0', query, { node: keyPair.nodeId })) as { output: { chunks: { text: string; metadata: Record<string, unknown> }[] } };
    expect(after.output.chunks[0].metadata).toEqual(before.output.chunks[0].metadata);
    expect(after.output.chunks[0].metadata).toMatchObject({ doc_cid: doc.cid, page: 2 });
    expect(after.output.chunks[0].text).toContain('Kohlenmonoxid');
    expect(library.meta(doc.cid)).toMatchObject({ name: 'notfall.pdf', media_type: 'application/pdf', size_bytes: pdf.length });
    expect(Buffer.compare(await library.read(doc.cid), pdf)).toBe(0);
  });

  it('DiskLibraryStore removes temp files a crash left, keeps valid names, and sets an unreadable files.json aside instead of failing to open', async () => {
    const dir = await tempDir();
    const store = await DiskLibraryStore.open(dir);
    await store.put({ cid: cid(1), name: 'a.txt', media_type: 'text/plain', size_bytes: 3, added_at: 1 });
    await store.save('notfall', { version: 1 });
    await writeFile(join(dir, 'files.json.tmp-0123456789ab'), '[{"half": ');
    await writeFile(join(dir, 'corpora', 'notfall.json.tmp-0123456789ab'), '{"half": ');

    const reopened = await DiskLibraryStore.open(dir);
    expect(await reopened.all()).toEqual([{ cid: cid(1), name: 'a.txt', media_type: 'text/plain', size_bytes: 3, added_at: 1 }]);
    expect(await reopened.loadAll()).toEqual({ notfall: { version: 1 } });
    expect((await readdir(dir)).filter((name) => name.includes('.tmp-'))).toEqual([]);
    expect((await readdir(join(dir, 'corpora'))).sort()).toEqual(['notfall.json']);

    // A list with one malformed entry: the good one is kept.
    await writeFile(join(dir, 'files.json'), JSON.stringify([{ cid: cid(2), name: 'b.txt', media_type: '', size_bytes: 1, added_at: 2 }, { cid: 'nope', name: 7 }]));
    expect((await (await DiskLibraryStore.open(dir)).all()).map((m) => m.cid)).toEqual([cid(2)]);

    // Not JSON at all (a disk that lied): the library opens without names; the file is kept for a person to look at.
    await writeFile(join(dir, 'files.json'), '\u0000\u0000garbage');
    const damaged = await DiskLibraryStore.open(dir);
    expect(await damaged.all()).toEqual([]);
    expect((await readdir(dir)).some((name) => name.startsWith('files.json.unreadable-'))).toBe(true);
    await damaged.put({ cid: cid(3), name: 'c.txt', media_type: '', size_bytes: 1, added_at: 3 });
    expect((await (await DiskLibraryStore.open(dir)).all()).map((m) => m.cid)).toEqual([cid(3)]);
  });
});

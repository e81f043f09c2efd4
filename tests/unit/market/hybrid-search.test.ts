/** market.search with an embedder: words and meaning fused (hybrid-search.ts, rules H1–H6), lexical when it fails. */
import { describe, expect, it } from 'vitest';
import type { CallerLevel } from '../../../src/lib/bus/index.js';
import { HashedNgramEmbedder, HASHED_NGRAMS_MODEL } from '../../../src/lib/embed/index.js';
import {
  HybridRanker,
  PostVectorCache,
  postEmbeddingText,
  SEARCH_EMBED_BATCH_TEXTS,
  SEARCH_MAX_POSTS_EMBEDDED,
  type ScoredPost
} from '../../../src/lib/market/index.js';
import type { EmbedFn } from '../../../src/lib/rag/ports.js';
import { makeBus } from '../bus/harness.js';
import { Community } from './fixtures.js';
import { LABELLED_POSTS, LABELLED_QUERIES, UNRELATED_QUERIES } from './labelled-posts.js';
import { marketNode, postInput, type MarketNode } from './service-fixtures.js';

const hashed = new HashedNgramEmbedder();

/** The real zero-download model behind the EmbedFn port; `model` can be renamed to stand for another model. */
function countingEmbed(model = () => hashed.model) {
  const calls: string[][] = [];
  const embed: EmbedFn = async (texts) => {
    calls.push([...texts]);
    return { model: model(), vectors: await hashed.embed(texts, new AbortController().signal) };
  };
  return { embed, calls, texts: () => calls.reduce((sum, c) => sum + c.length, 0) };
}

interface Found {
  output: { posts: (ScoredPost & Record<string, unknown>)[]; max_lamport: number };
  meta: { mode: string; embedding_model?: string; ms: number };
}
const search = (node: MarketNode, query: string, k = 10) => node.call('market.search', { query, k }) as unknown as Promise<Found>;

async function labelledMarket(embed?: EmbedFn) {
  const c = new Community();
  const node = await marketNode(c, 1, 'member', { embed });
  const idOf = new Map<string, string>();
  for (const post of LABELLED_POSTS) {
    const { output } = (await node.call('market.post', { ...post })) as { output: { event_id: string } };
    idOf.set(post.client_id, output.event_id);
  }
  return { c, node, idOf };
}

describe('hybrid market.search on a labelled set (real hashed n-gram embedder)', () => {
  it('finds at least what lexical search finds in the top 3, and more; prints recall@3 of both', async () => {
    const { c, node, idOf } = await labelledMarket(countingEmbed().embed);
    let lexicalHits = 0;
    let hybridHits = 0;
    const rows: string[] = [];
    for (const [query, wanted] of LABELLED_QUERIES) {
      const lexical = node.view.search(query, 3, c.time.now()).map((p) => p.event_id);
      const found = await search(node, query, 3);
      expect(found.meta).toMatchObject({ mode: 'hybrid', embedding_model: HASHED_NGRAMS_MODEL });
      const hybrid = found.output.posts.map((p) => p.event_id);
      const [inLexical, inHybrid] = [lexical.includes(idOf.get(wanted)!), hybrid.includes(idOf.get(wanted)!)];
      if (inLexical) expect(inHybrid, `hybrid lost "${query}"`).toBe(true);
      lexicalHits += Number(inLexical);
      hybridHits += Number(inHybrid);
      rows.push(`  ${query.padEnd(28)} lexical ${inLexical ? 'hit ' : 'miss'}  hybrid ${inHybrid ? 'hit' : 'miss'}`);
    }
    const n = LABELLED_QUERIES.length;
    console.log(`market.search recall@3 on ${n} labelled queries: lexical ${(lexicalHits / n).toFixed(2)}, hybrid ${(hybridHits / n).toFixed(2)}\n${rows.join('\n')}`);
    expect(hybridHits).toBeGreaterThanOrEqual(lexicalHits);
    expect(hybridHits).toBeGreaterThan(lexicalHits);
  });

  it('finds a post by another word form that lexical search misses ("Kanistern" → "Wasserkanister 20 l")', async () => {
    const { c, node, idOf } = await labelledMarket(countingEmbed().embed);
    expect(node.view.search('Kanistern', 3, c.time.now())).toEqual([]);
    const found = await search(node, 'Kanistern', 3);
    expect(found.output.posts[0]).toMatchObject({ event_id: idOf.get('p01'), title: 'Wasserkanister 20 l', score: expect.any(Number) });
  });

  it('H1: finds nothing for queries about nothing on the market, rather than the nearest noise', async () => {
    const { node } = await labelledMarket(countingEmbed().embed);
    for (const query of UNRELATED_QUERIES) expect((await search(node, query)).output.posts, query).toEqual([]);
  });
});

describe('hybrid market.search: fallback, cache and order', () => {
  it('answers lexically with mode "lexical" when the embedder throws, and logs once per run of failures', async () => {
    const c = new Community();
    let failing = true;
    const { embed: working } = countingEmbed();
    const embed: EmbedFn = (texts) => (failing ? Promise.reject(new Error('no embed.text provider reachable')) : working(texts));
    const logged: string[] = [];
    const node = await marketNode(c, 1, 'member', { embed, log: (level, message) => logged.push(`${level}: ${message}`) });
    await node.call('market.post', postInput('a', { title: 'Wasserkanister', tags: ['wasser'] }));
    await node.call('market.post', postInput('b', { title: 'Brot' }));

    const first = await search(node, 'wasser');
    expect(first.meta.mode).toBe('lexical');
    expect(first.meta).not.toHaveProperty('embedding_model');
    expect(first.output.posts).toEqual(node.view.search('wasser', 10, c.time.now()));
    await search(node, 'wasser');
    expect(logged).toEqual(['warn: market.search: embedding failed; searching by words only']);

    failing = false;
    expect((await search(node, 'wasser')).meta).toMatchObject({ mode: 'hybrid', embedding_model: HASHED_NGRAMS_MODEL });
    expect(logged).toHaveLength(2);
  });

  it('H6: an answer with the wrong number of vectors, or vectors of the wrong length, is a failure too', async () => {
    const c = new Community();
    const broken: EmbedFn[] = [
      async (texts) => ({ model: 'm', vectors: texts.slice(1).map(() => new Float32Array([1, 0])) }),
      async (texts) => ({ model: 'm', vectors: texts.map((_, i) => new Float32Array(i === 0 ? 2 : 3).fill(1)) }),
      async (texts) => ({ model: 'm', vectors: texts.map(() => new Float32Array([NaN, 1])) }),
      async (texts) => ({ model: '', vectors: texts.map(() => new Float32Array([1, 0])) })
    ];
    for (const embed of broken) {
      const node = await marketNode(c, 1, 'member', { embed });
      if (node.view.list({}, c.time.now()).length === 0) await node.call('market.post', postInput('a', { title: 'Wasserkanister' }));
      const found = await search(node, 'wasser');
      expect(found.meta.mode).toBe('lexical');
      expect(found.output.posts).toHaveLength(1);
    }
  });

  it('H4: embeds each post once, the query on every search, and a post again only after its text changed', async () => {
    const c = new Community();
    const counter = countingEmbed();
    const node = await marketNode(c, 1, 'member', { embed: counter.embed });
    const posted = [];
    for (const p of LABELLED_POSTS.slice(0, 5)) posted.push(((await node.call('market.post', { ...p })) as { output: { event_id: string } }).output);
    await search(node, 'Leitern');
    expect(counter.calls).toHaveLength(1);
    const [query, ...postTexts] = counter.calls[0];
    expect(query).toBe('Leitern');
    expect(postTexts.sort()).toEqual(LABELLED_POSTS.slice(0, 5).map(postEmbeddingText).sort());
    await search(node, 'Fahrräder');
    expect(counter.calls.at(-1)).toEqual(['Fahrräder']);

    await node.me.log.append('market.post.updated', { client_id: 'u', target_event_id: posted[2].event_id, fields: { title: 'Suche Stehleiter' } });
    expect(node.view.get(posted[2].event_id)?.title).toBe('Suche Stehleiter');
    await search(node, 'Leitern');
    expect(counter.calls.at(-1)).toEqual(['Leitern', 'Suche Stehleiter\nwerkzeug\nBrauche eine lange Leiter für die Dachrinne am Samstag.']);
  });

  it('H3: a new model name empties the cache, every post is embedded again, and the answer names the new model', async () => {
    const c = new Community();
    let model = 'model-a';
    const counter = countingEmbed(() => model);
    const node = await marketNode(c, 1, 'member', { embed: counter.embed });
    for (const p of LABELLED_POSTS) await node.call('market.post', { ...p });
    const posts = LABELLED_POSTS.length;

    expect((await search(node, 'Leitern')).meta.embedding_model).toBe('model-a');
    expect(counter.texts()).toBe(1 + posts);
    await search(node, 'Leitern');
    expect(counter.texts()).toBe(1 + posts + 1);

    model = 'model-b';
    const before = counter.texts();
    const found = await search(node, 'Leitern');
    expect(found.meta).toMatchObject({ mode: 'hybrid', embedding_model: 'model-b' });
    // The query alone (the cache looked full), then every post again under the new model.
    expect(counter.calls.slice(-2).map((call) => call.length)).toEqual([1, posts]);
    expect(counter.texts() - before).toBe(1 + posts);
    await search(node, 'Leitern');
    expect(counter.calls.at(-1)).toEqual(['Leitern']);
  });

  it('H3: a model change in the middle of one search answers lexically; the next search uses the new model only', async () => {
    const c = new Community();
    let calls = 0;
    const embed: EmbedFn = async (texts) => ({ model: calls++ === 0 ? 'model-a' : 'model-b', vectors: await hashed.embed(texts, new AbortController().signal) });
    const node = await marketNode(c, 1, 'member', { embed });
    for (let i = 0; i < SEARCH_EMBED_BATCH_TEXTS + 5; i++) await node.call('market.post', postInput(`p${i}`, { title: `Leiter ${i}` }));
    expect((await search(node, 'Leiter')).meta.mode).toBe('lexical');
    // The next search starts over with the model now answering, and all its vectors are of that model.
    const found = await search(node, 'Leiter');
    expect(found.meta).toMatchObject({ mode: 'hybrid', embedding_model: 'model-b' });
    expect(found.output.posts).toHaveLength(10);
  });

  it('H4: the cache keeps at most its bound, the least recently used leaving first', () => {
    const cache = new PostVectorCache(3);
    cache.use('m', 2);
    const v = new Float32Array([1, 0]);
    for (const id of ['a', 'b', 'c']) cache.set('m', id, 'h', v);
    expect(cache.get('m', 'a', 'h')).toBe(v); // a is now the most recent
    cache.set('m', 'd', 'h', v);
    expect(cache.size).toBe(3);
    expect(['a', 'b', 'c', 'd'].map((id) => cache.get('m', id, 'h') !== undefined)).toEqual([true, false, true, true]);
    expect(cache.get('m', 'a', 'other text')).toBeUndefined();
    expect(cache.get('other model', 'a', 'h')).toBeUndefined();
    cache.set('other model', 'e', 'h', v);
    cache.set('m', 'f', 'h', new Float32Array(3));
    expect(cache.size).toBe(3);
    cache.use('n', 2);
    expect([cache.size, cache.model]).toEqual([0, 'n']);
    expect(() => new PostVectorCache(0)).toThrow(RangeError);
  });

  it('H4: a ranker over more posts than its cache holds still ranks them all, and keeps the cache at its bound', async () => {
    const counter = countingEmbed();
    const ranker = new HybridRanker(counter.embed, new PostVectorCache(4));
    const ranked = LABELLED_POSTS.map((p, i) => scored(`id${String(i).padStart(2, '0')}`, 0, p));
    const answer = await ranker.rank('Leitern', ranked, 3);
    expect(answer.posts.map((p) => p.title)).toEqual(['Suche Leiter']);
    expect(ranker.cache.size).toBe(4);
  });

  it('H5: a cold search embeds a bounded number of posts; the next search embeds the rest', async () => {
    const counter = countingEmbed();
    const ranker = new HybridRanker(counter.embed);
    const ranked = Array.from({ length: SEARCH_MAX_POSTS_EMBEDDED + 44 }, (_, i) => scored(`id${String(i).padStart(4, '0')}`, 0, { title: `Leiter ${i}` }));
    await ranker.rank('Leiter', ranked, 5);
    expect(counter.texts()).toBe(1 + SEARCH_MAX_POSTS_EMBEDDED);
    expect(Math.max(...counter.calls.map((c) => c.length))).toBeLessThanOrEqual(SEARCH_EMBED_BATCH_TEXTS);
    await ranker.rank('Leiter', ranked, 5);
    expect(counter.texts()).toBe(1 + SEARCH_MAX_POSTS_EMBEDDED + 1 + 44);
  });

  it('H2: equal fused scores are ordered by post id, whichever ranking put which first', async () => {
    // Post x is first by words and second by meaning, post y the other way round: 1/61 + 1/62 each.
    const vectors: Record<string, number[]> = { q: [1, 0], x: [0.6, 0.8], y: [0.8, 0.6] };
    const embed: EmbedFn = async (texts) => ({ model: 'm', vectors: texts.map((t) => new Float32Array(vectors[t.split('\n')[0]])) });
    for (const [x, y] of [['b', 'a'], ['a', 'b']]) {
      const ranked = [scored(x, 2, { title: 'x' }), scored(y, 1, { title: 'y' })];
      const answer = await new HybridRanker(embed).rank('q', ranked, 10);
      expect(answer.posts.map((p) => p.event_id)).toEqual(['a', 'b']);
      expect(answer.posts[0].score).toBe(answer.posts[1].score);
    }
  });

  it('serves the contract\'s example through a real bus, its answer fitting the response schema', async () => {
    const c = new Community();
    const node = await marketNode(c, 1, 'member', { embed: countingEmbed().embed });
    const membership = { levelOf: (id: string): CallerLevel => (id === node.me.id ? 'self' : c.standing.levelOf(id)) };
    const { bus } = makeBus({ selfId: node.me.id, clock: c.time, scheduler: c.time, membership });
    for (const registration of Object.values(node.caps)) bus.register(registration);
    const call = (name: string, input: unknown) => bus.call(name, '1.0', { params: {}, input }) as Promise<Found>;
    await call('market.post', { client_id: 'k', category: 'request', title: 'Suche Wasserkanister, 20L', body: 'Brauche bis morgen ...', tags: ['wasser', 'notfall'] });
    await call('market.post', { client_id: 'f', category: 'offer', title: 'Fahrrad zu verschenken' });
    const found = await call('market.search', { query: 'wasser notfall kanister', k: 10 });
    expect(found.output.posts).toMatchObject([{ title: 'Suche Wasserkanister, 20L', score: expect.any(Number) }]);
    expect(found.meta).toMatchObject({ mode: 'hybrid', embedding_model: HASHED_NGRAMS_MODEL });
  });
});

function scored(id: string, score: number, text: { title: string; body?: string; tags?: string[] }): ScoredPost {
  const { title, body = '', tags = [] } = text;
  return { event_id: id, lamport: 1, author: 'a', category: 'offer', title, body, location: null, tags, created_at: '', expires_at: '', score };
}

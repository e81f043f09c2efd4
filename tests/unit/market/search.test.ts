import { describe, expect, it } from 'vitest';
import { MarketView, foldText, lexicalScore, searchableText, tokenise } from '../../../src/lib/market/index.js';
import { Community, postData } from './fixtures.js';

describe('lexical search', () => {
  it('folds case, German umlauts and ß, and other accents; keeps letters of any script', () => {
    expect(foldText('Müll, Straße, Öl, ÄRGER, Café')).toBe('muell, strasse, oel, aerger, cafe');
    expect(tokenise('Suche Müll-Tonne für den Hof! 20L')).toEqual(['suche', 'muell', 'tonne', 'hof', '20l']);
    expect(tokenise('Вода и хлеб')).toEqual(['вода', 'хлеб']);
    expect(tokenise('Muell')).toEqual(tokenise('MÜLL'));
  });

  it('weights the title over tags over the body, and rewards matching more of the query', () => {
    const query = tokenise('wasser notfall');
    const inTitle = lexicalScore(query, searchableText({ title: 'Wasser', body: '', tags: [] }));
    const inTag = lexicalScore(query, searchableText({ title: 'x', body: '', tags: ['wasser'] }));
    const inBody = lexicalScore(query, searchableText({ title: 'x', body: 'wasser', tags: [] }));
    const both = lexicalScore(query, searchableText({ title: 'x', body: 'wasser notfall', tags: [] }));
    const repeated = lexicalScore(query, searchableText({ title: 'x', body: 'wasser wasser wasser', tags: [] }));
    expect(inTitle).toBeGreaterThan(inTag);
    expect(inTag).toBeGreaterThan(inBody);
    expect(both).toBeGreaterThan(repeated);
    expect(lexicalScore(query, searchableText({ title: 'Fahrrad', body: '', tags: [] }))).toBe(0);
    expect(lexicalScore([], searchableText({ title: 'Wasser', body: '', tags: [] }))).toBe(0);
  });

  it('ranks relevant active posts first, finds words inside compounds, and leaves out the rest (M06 §8 search)', async () => {
    const c = new Community();
    const alice = await c.author(1);
    const kanister = await alice.emit('market.post.created', postData('k', { category: 'request', title: 'Suche Wasserkanister, 20L', body: 'Für den Notfall', tags: ['notfall'] }));
    const trinkwasser = await alice.emit('market.post.created', postData('t', { title: 'Trinkwasser abzugeben', body: 'Sechs Flaschen' }));
    await alice.emit('market.post.created', postData('f', { title: 'Fahrrad zu verschenken', body: 'blau' }));
    const muell = await alice.emit('market.post.created', postData('m', { title: 'Muell abholen', body: 'Sperrmüll am Samstag' }));
    const gone = await alice.emit('market.post.created', postData('g', { title: 'Wasser Notfall Notfall Wasser' }));
    await alice.emit('market.post.expired', { client_id: 'x', target_event_id: gone.event_id, reason: 'fulfilled' });
    const view = new MarketView(c.standing);
    for (const event of c.events) view.apply(event);
    const now = c.time.now();

    const water = view.search('Wasser Notfall', 10, now);
    expect(water.map((p) => p.event_id)).toEqual([kanister.event_id, trinkwasser.event_id]);
    expect(water[0].score).toBeGreaterThan(water[1].score);
    expect(view.search('müll', 10, now).map((p) => p.event_id)).toEqual([muell.event_id]);
    expect(view.search('wasser', 1, now)).toHaveLength(1);
    expect(view.search('der die das', 10, now)).toEqual([]);

    // An update changes what a post is found by.
    view.apply(await alice.emit('market.post.updated', { client_id: 'u', target_event_id: trinkwasser.event_id, fields: { title: 'Saft abzugeben' } }));
    expect(view.search('trinkwasser', 10, now)).toEqual([]);
    expect(view.search('saft', 10, now).map((p) => p.event_id)).toEqual([trinkwasser.event_id]);
  });
});

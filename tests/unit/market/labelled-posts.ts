/**
 * A small labelled set for market.search: neighbourhood posts in German and English, and queries that name the post
 * they are after in another word form (plural, inflection, compound, umlaut) or in other words. SEARCH_MIN_COSINE
 * was picked on this set with `hearth-hashed-ngrams-v1` (hybrid-search.ts says how).
 */

export interface LabelledPost {
  client_id: string;
  category: 'offer' | 'request' | 'info';
  title: string;
  body: string;
  tags: string[];
}

export const LABELLED_POSTS: readonly LabelledPost[] = [
  { client_id: 'p01', category: 'offer', title: 'Wasserkanister 20 l', body: 'Zwei Kanister für Trinkwasser, sauber, mit Hahn.', tags: ['wasser', 'notfall'] },
  { client_id: 'p02', category: 'offer', title: 'Fahrrad zu verschenken', body: 'Damenrad, 28 Zoll, die Schaltung muss repariert werden.', tags: ['fahrrad'] },
  { client_id: 'p03', category: 'request', title: 'Suche Leiter', body: 'Brauche eine lange Leiter für die Dachrinne am Samstag.', tags: ['werkzeug'] },
  { client_id: 'p04', category: 'request', title: 'Babysitter gesucht', body: 'Für zwei Kinder, dienstags abends.', tags: ['kinder'] },
  { client_id: 'p05', category: 'offer', title: 'Bohrmaschine zu verleihen', body: 'Akku-Bohrmaschine mit Bohrern für Holz und Beton.', tags: ['werkzeug'] },
  { client_id: 'p06', category: 'offer', title: 'Generator available', body: 'Petrol generator, 2 kW, can power a fridge during outages.', tags: ['strom', 'notfall'] },
  { client_id: 'p07', category: 'offer', title: 'Free firewood', body: 'Dry oak logs, pick up from the garden.', tags: ['holz'] },
  { client_id: 'p08', category: 'offer', title: 'Gemüse aus dem Garten', body: 'Tomaten, Zucchini und Kartoffeln abzugeben.', tags: ['essen'] },
  { client_id: 'p09', category: 'offer', title: 'Sandsäcke für Hochwasser', body: 'Gefüllte Sandsäcke, bei Überschwemmung abholen.', tags: ['notfall', 'hochwasser'] },
  { client_id: 'p10', category: 'offer', title: 'Computer help', body: 'I can fix laptops and set up printers for neighbours.', tags: ['technik'] },
  { client_id: 'p11', category: 'offer', title: 'Winterreifen abzugeben', body: 'Vier Reifen 205/55 R16 auf Stahlfelgen.', tags: ['auto'] },
  { client_id: 'p12', category: 'offer', title: 'Kinderbett und Kinderwagen', body: 'Gut erhalten, Kinderwagen mit Regenschutz.', tags: ['baby'] }
];

/** [query, client_id of the post it looks for]. */
export const LABELLED_QUERIES: readonly (readonly [string, string])[] = [
  ['drinking water containers', 'p01'],
  ['Kanistern', 'p01'],
  ['Fahrräder', 'p02'],
  ['bicycle', 'p02'],
  ['Leitern', 'p03'],
  ['babysitting', 'p04'],
  ['Bohrer', 'p05'],
  ['generators power outage', 'p06'],
  ['Stromerzeuger', 'p06'],
  ['Brennholz', 'p07'],
  ['fire wood', 'p07'],
  ['Kartoffel', 'p08'],
  ['vegetables', 'p08'],
  ['Sandsack Überschwemmungen', 'p09'],
  ['laptop repair', 'p10'],
  ['printer', 'p10'],
  ['Reifen wechseln', 'p11'],
  ['Kinderwägen', 'p12']
];

/** Queries about nothing on this market: a search should find nothing (H1). */
export const UNRELATED_QUERIES: readonly string[] = ['xylophon quantum zebra', 'qwertz asdf', 'Klavierunterricht', 'wedding dress', 'Katze entlaufen', 'Steuererklärung hilfe'];

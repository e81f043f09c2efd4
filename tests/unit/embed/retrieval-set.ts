/**
 * A small labelled retrieval set, German and English, in the neighbourhood-emergency domain HearthNet serves:
 * passages, and queries each naming the one passage that answers it. Some queries carry typos, umlauts written out
 * (ae/oe/ue/ss) or the other way round, or ask in the other register than the passage words it.
 */
export interface Passage {
  id: string;
  text: string;
}

export interface LabelledQuery {
  query: string;
  answer: string;
  /** What the query tests, for the failure message. */
  kind: 'plain' | 'typo' | 'folding' | 'paraphrase';
}

export const PASSAGES: readonly Passage[] = [
  { id: 'boil', text: 'Trinkwasser abkochen: Das Wasser mindestens eine Minute sprudelnd kochen lassen und abgedeckt abkühlen lassen.' },
  { id: 'boil-en', text: 'To make water safe to drink, bring it to a rolling boil for at least one minute, then let it cool covered.' },
  { id: 'rain', text: 'Regenwasser sammeln: Tonnen unter die Fallrohre stellen, das Wasser filtern und vor dem Trinken abkochen.' },
  { id: 'power', text: 'Stromausfall: Kühlschrank geschlossen halten, Kerzen nur unter Aufsicht brennen lassen, Taschenlampen bereitlegen.' },
  { id: 'power-en', text: 'During a power outage keep the fridge closed, use flashlights instead of candles, and unplug sensitive electronics.' },
  { id: 'flood', text: 'Hochwasser am Rhein: Keller räumen, Sandsäcke füllen, Heizöltanks sichern und wichtige Dokumente nach oben bringen.' },
  { id: 'flood-en', text: 'When the river floods, move valuables upstairs, fill sandbags and switch off the electricity in the basement.' },
  { id: 'firstaid', text: 'Erste Hilfe bei Verbrennungen: die Stelle zehn Minuten mit lauwarmem Wasser kühlen, keine Salben, steril abdecken.' },
  { id: 'firstaid-en', text: 'First aid for a bleeding wound: press a clean cloth firmly on it, raise the limb and call the emergency number.' },
  { id: 'meeting', text: 'Treffpunkt der Nachbarschaft ist das Gemeindehaus an der Kirchstraße, jeden Abend um neunzehn Uhr.' },
  { id: 'radio', text: 'Batteriebetriebenes Radio: Auf UKW sendet der WDR Warnmeldungen, auch wenn Handy und Internet ausfallen.' },
  { id: 'heat', text: 'Hitzewelle: Viel trinken, ältere Nachbarn besuchen, tagsüber Fenster schließen und nachts lüften.' },
  { id: 'cold-en', text: 'In freezing weather check on elderly neighbours, keep one room warm, and never heat with a gas barbecue indoors.' },
  { id: 'food', text: 'Lebensmittelvorrat für zehn Tage: Konserven, Nudeln, Reis, Haferflocken und zwei Liter Wasser pro Person und Tag.' },
  { id: 'pets', text: 'Haustiere bei der Evakuierung: Transportbox, Futter für drei Tage, Impfpass und Leine mitnehmen.' },
  { id: 'medicine-en', text: 'Keep a list of your medicines and doses, and a week of supply of anything you take daily, in your grab bag.' },
  { id: 'generator', text: 'Notstromaggregat nie im Haus oder in der Garage betreiben: Kohlenmonoxid ist geruchlos und tödlich.' },
  { id: 'tools', text: 'Werkzeug zu verleihen: Bohrmaschine, Leiter, Schubkarre und eine Motorsäge gegen Pfand bei Familie Müller.' },
  { id: 'charging-en', text: 'Phone charging station with solar panels at the fire brigade, free for everyone, bring your own cable.' },
  { id: 'sewage', text: 'Wenn die Toilettenspülung ausfällt: Eimer mit Müllbeutel und etwas Katzenstreu als Notklo verwenden.' }
];

export const QUERIES: readonly LabelledQuery[] = [
  { query: 'Wasser abkochen', answer: 'boil', kind: 'plain' },
  { query: 'how long to boil drinking water', answer: 'boil-en', kind: 'plain' },
  { query: 'Regenwasser trinkbar machen', answer: 'rain', kind: 'plain' },
  { query: 'Was tun bei Stromausfall?', answer: 'power', kind: 'plain' },
  { query: 'power outage fridge', answer: 'power-en', kind: 'plain' },
  { query: 'Sandsäcke Keller Hochwasser', answer: 'flood', kind: 'plain' },
  { query: 'river flood sandbags', answer: 'flood-en', kind: 'plain' },
  { query: 'Verbrennung kühlen', answer: 'firstaid', kind: 'plain' },
  { query: 'stop bleeding wound', answer: 'firstaid-en', kind: 'plain' },
  { query: 'Wo ist der Treffpunkt?', answer: 'meeting', kind: 'plain' },
  { query: 'Warnmeldungen im Radio', answer: 'radio', kind: 'plain' },
  { query: 'Hitze Fenster lüften', answer: 'heat', kind: 'plain' },
  { query: 'freezing weather heating', answer: 'cold-en', kind: 'plain' },
  { query: 'Vorrat Konserven Reis', answer: 'food', kind: 'plain' },
  { query: 'Evakuierung mit Hund und Katze Haustiere', answer: 'pets', kind: 'plain' },
  { query: 'medicines grab bag', answer: 'medicine-en', kind: 'plain' },
  { query: 'Aggregat Kohlenmonoxid', answer: 'generator', kind: 'plain' },
  { query: 'Leiter ausleihen', answer: 'tools', kind: 'plain' },
  { query: 'charge my phone solar', answer: 'charging-en', kind: 'plain' },
  { query: 'Notklo Toilette', answer: 'sewage', kind: 'plain' },
  // typos: a letter missing, swapped or doubled
  { query: 'Wasser abkohen', answer: 'boil', kind: 'typo' },
  { query: 'Stromausfal Kühlschrank', answer: 'power', kind: 'typo' },
  { query: 'Hochwaser Sandsäke', answer: 'flood', kind: 'typo' },
  { query: 'flashlihgts outage', answer: 'power-en', kind: 'typo' },
  { query: 'Notstromagregat Garage', answer: 'generator', kind: 'typo' },
  { query: 'sandbgas river', answer: 'flood-en', kind: 'typo' },
  { query: 'Stromausfal Kühlschrnk', answer: 'power', kind: 'typo' },
  { query: 'Kohlenmonoxyd', answer: 'generator', kind: 'typo' },
  { query: 'Haustire Evakuirung', answer: 'pets', kind: 'typo' },
  { query: 'Verbrenungen', answer: 'firstaid', kind: 'typo' },
  { query: 'Katzenstrue', answer: 'sewage', kind: 'typo' },
  { query: 'flashlihgts', answer: 'power-en', kind: 'typo' },
  // folding: umlauts written out, ß as ss, or capitals
  { query: 'Sandsaecke fuellen', answer: 'flood', kind: 'folding' },
  { query: 'Gemeindehaus Kirchstrasse', answer: 'meeting', kind: 'folding' },
  { query: 'WERKZEUG BEI FAMILIE MUELLER', answer: 'tools', kind: 'folding' },
  { query: 'aeltere Nachbarn Hitzewelle', answer: 'heat', kind: 'folding' },
  // paraphrase: shares only word parts with the answer (compounds, inflections)
  { query: 'Regen sammeln Tonne', answer: 'rain', kind: 'paraphrase' },
  { query: 'Lebensmittel für zehn Tage', answer: 'food', kind: 'paraphrase' },
  { query: 'Kohlenmonoxid tödlich', answer: 'generator', kind: 'paraphrase' },
  { query: 'Toilettenspülung kaputt', answer: 'sewage', kind: 'paraphrase' },
  { query: 'Säge verleih', answer: 'tools', kind: 'paraphrase' },
  { query: 'Sandsack', answer: 'flood', kind: 'paraphrase' },
  { query: 'Batterien', answer: 'radio', kind: 'paraphrase' },
  { query: 'Handy laden', answer: 'radio', kind: 'paraphrase' },
  { query: 'flooded basement electricity', answer: 'flood-en', kind: 'paraphrase' },
  { query: 'medication list', answer: 'medicine-en', kind: 'paraphrase' }
];

export interface RecallReport {
  recallAt1: number;
  recallAt5: number;
  misses: string[];
}

/** Ranks every passage for every query by a score (higher is closer) and counts where the answer lands. */
export function recall(score: (query: string, passage: Passage) => number, queries = QUERIES, passages = PASSAGES): RecallReport {
  let at1 = 0;
  let at5 = 0;
  const misses: string[] = [];
  for (const q of queries) {
    const ranked = passages.map((p) => ({ id: p.id, score: score(q.query, p) })).sort((a, b) => b.score - a.score || a.id.localeCompare(b.id));
    const rank = ranked.findIndex((r) => r.id === q.answer);
    if (rank === 0) at1++;
    else misses.push(`${q.kind} "${q.query}" → ${ranked[0].id} (answer ranked ${rank + 1})`);
    if (rank < 5) at5++;
  }
  return { recallAt1: at1 / queries.length, recallAt5: at5 / queries.length, misses };
}

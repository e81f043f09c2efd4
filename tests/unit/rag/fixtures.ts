/** Shared test material: a hashing embedder (a stand-in for the real one), PDF pages, passages, a rejection helper. */
import { expect } from 'vitest';
import { HearthError } from '../../../src/lib/core/errors.js';
import { foldText } from '../../../src/lib/market/search.js';
import type { EmbedFn } from '../../../src/lib/rag/index.js';

export const encoder = new TextEncoder();
export const bytesOf = (text: string) => encoder.encode(text);

const HASH_DIMENSIONS = 512;

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * Words and character trigrams of each word (with boundary marks), hashed into HASH_DIMENSIONS with a sign bit.
 * Trigrams let "Blutung" meet "Blutungen" and "Garage" meet "Garagen", which plain BM25 does not.
 */
export function hashingEmbedder(model = 'test-hash-512'): EmbedFn & { calls: number } {
  const embed = Object.assign(
    async (texts: string[]) => {
      embed.calls++;
      const vectors = texts.map((text) => {
        const v = new Float32Array(HASH_DIMENSIONS);
        for (const word of foldText(text).split(/[^\p{L}\p{N}]+/u).filter((w) => w.length >= 2)) {
          const features = [`w:${word}`];
          const marked = `<${word}>`;
          for (let i = 0; i + 3 <= marked.length; i++) features.push(`t:${marked.slice(i, i + 3)}`);
          for (const feature of features) {
            const h = fnv1a(feature);
            v[h % HASH_DIMENSIONS] += (h & 0x80000000 ? -1 : 1) * (feature.startsWith('w:') ? 2 : 1);
          }
        }
        return v;
      });
      return { model, vectors };
    },
    { calls: 0 }
  );
  return embed;
}

export const PDF_PAGES = [
  'Regenwasser reinigen\n\nRegenwasser in sauberen Behältern sammeln. Das Wasser durch ein Tuch und einen Sandfilter laufen lassen.\n\nDanach mindestens drei Minuten sprudelnd abkochen, erst dann ist es Trinkwasser.',
  'Generator safety\n\nNever run a generator indoors, in a garage or in a cellar: the exhaust contains carbon monoxide, which has no smell and can kill.\n\nSwitch the generator off and let it cool before refuelling.',
  'Erste Hilfe\n\nBei starken Blutungen einen Druckverband anlegen und den Notruf 112 wählen. Verbrennungen zehn Minuten mit handwarmem Wasser kühlen.'
];

export interface Passage {
  id: string;
  text: string;
  language: 'de' | 'en';
}

export const PASSAGES: Passage[] = [
  ['p01', 'de', 'Regenwasser sammeln und reinigen: Das Wasser durch ein Tuch und einen Sandfilter laufen lassen, danach mindestens drei Minuten sprudelnd abkochen. Erst dann ist es als Trinkwasser geeignet.'],
  ['p02', 'en', 'Water purification tablets based on chlorine dioxide make stored water safe to drink within thirty minutes. Follow the dose printed on the pack.'],
  ['p03', 'de', 'Ein Notstromaggregat darf niemals in geschlossenen Räumen, Garagen oder Kellern betrieben werden. Die Abgase enthalten Kohlenmonoxid, das geruchlos ist und tödlich wirken kann.'],
  ['p04', 'en', 'Always switch the generator off and let it cool down before refuelling. Store petrol in approved canisters away from the house.'],
  ['p05', 'de', 'Bei starken Blutungen die Wunde mit einem Druckverband versorgen, den verletzten Arm hochlagern und den Notruf 112 wählen.'],
  ['p06', 'en', 'Cardiopulmonary resuscitation: push hard and fast in the centre of the chest, about 100 to 120 compressions per minute, until help arrives.'],
  ['p07', 'de', 'Verbrennungen zehn Minuten mit handwarmem Wasser kühlen, kein Eis verwenden. Brandblasen nicht öffnen.'],
  ['p08', 'en', 'Keep a stock of canned food, rice and dried beans for at least ten days. Rotate supplies so nothing expires.'],
  ['p09', 'de', 'Die Lebensmittelvorräte sollten für zehn Tage reichen: Konserven, Nudeln, Reis, Haferflocken und Trinkwasser, zwei Liter pro Person und Tag.'],
  ['p10', 'en', 'A battery or hand-crank radio keeps you informed during a power cut. Tune to the regional broadcaster for official announcements.'],
  ['p11', 'de', 'Bei einem Stromausfall den Kühlschrank geschlossen halten; so bleiben Lebensmittel etwa vier Stunden kühl.'],
  ['p12', 'en', 'If the heating fails in winter, gather everyone in one room, close the curtains and wear layers. Never use a barbecue grill indoors.'],
  ['p13', 'de', 'Bei Hochwasser Keller und Tiefgaragen meiden, den Strom im Keller abschalten und wichtige Dokumente in höhere Stockwerke bringen.'],
  ['p14', 'en', 'The neighbourhood meeting point is the school gym on Lindenstraße; volunteers hand out water and blankets there.'],
  ['p15', 'de', 'Eine Hausapotheke enthält Verbandsmaterial, Schmerzmittel, Fieberthermometer, Pinzette und die persönlichen Medikamente für mindestens eine Woche.'],
  ['p16', 'en', 'Signs of hypothermia are shivering, confusion and slurred speech. Warm the person slowly with blankets and warm sweet drinks.'],
  ['p17', 'de', 'Im Notfall koordiniert der Funkkreis auf Kanal 9 die Nachbarschaftshilfe; Funkgeräte liegen im Gemeindehaus.'],
  ['p18', 'en', 'Without running water, line the toilet bowl with a bag, add sawdust or cat litter after use and seal the bags.'],
  ['p19', 'de', 'Kerzen nie unbeaufsichtigt brennen lassen; Taschenlampen und Stirnlampen sind bei Stromausfall sicherer.'],
  ['p20', 'en', 'A small solar panel with a USB power bank can charge phones and radios when the grid is down.']
].map(([id, language, text]) => ({ id, language: language as 'de' | 'en', text }));

/** Questions and the passages that answer them. Some need more than exact words (inflection, compounds). */
export const QUESTIONS: { question: string; relevant: string[] }[] = [
  { question: 'Wie reinige ich Regenwasser?', relevant: ['p01'] },
  { question: 'How do I make water safe to drink?', relevant: ['p01', 'p02'] },
  { question: 'Darf man das Notstromaggregat in der Garage laufen lassen?', relevant: ['p03'] },
  { question: 'How to refuel a generator safely', relevant: ['p04'] },
  { question: 'Was tun bei einer starken Blutung?', relevant: ['p05'] },
  { question: 'How many chest compressions per minute?', relevant: ['p06'] },
  { question: 'Brandwunde richtig kühlen', relevant: ['p07'] },
  { question: 'Wie lange bleibt der Kühlschrank bei Stromausfall kalt?', relevant: ['p11'] },
  { question: 'What to do when the heating fails in winter', relevant: ['p12'] },
  { question: 'Wo ist der Treffpunkt der Nachbarschaft?', relevant: ['p14'] },
  { question: 'keep my phone charged in a blackout', relevant: ['p20'] },
  { question: 'Lebensmittelvorrat für wie viele Tage?', relevant: ['p08', 'p09'] }
];

/** The HearthError a promise rejects with (fails the test when it resolves or throws something else). */
export async function rejection(promise: Promise<unknown>): Promise<HearthError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e
  );
  expect(error).toBeInstanceOf(HearthError);
  return error as HearthError;
}

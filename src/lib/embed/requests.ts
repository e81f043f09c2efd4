/**
 * `embed.text@1.0` requests (contract §4.3, M11 §4.2): the JSON Schema the bus checks (types only) and the checks
 * that give a person-readable `bad_request` — the contract's limits are refusals with its code, not schema failures.
 */
import { HearthError } from '../core/index.js';

/** Contract §4.3: 1..256 texts a call. */
export const MAX_TEXTS = 256;
/** Contract §4.3: characters (UTF-16 units) a text. */
export const MAX_TEXT_CHARS = 8192;
const MAX_MODEL_NAME_CHARS = 128;

export interface EmbedTextRequest {
  /** null: the node's default (the hashed model, which every node has). */
  model: string | null;
  texts: string[];
  /** Contract default true. Every embedder here gives unit vectors; `false` is accepted and changes nothing. */
  normalize: boolean;
}

export const EMBED_TEXT_REQUEST_SCHEMA = {
  type: 'object',
  required: ['input'],
  properties: {
    params: { type: 'object', properties: { model: { type: 'string' } } },
    input: {
      type: 'object',
      required: ['texts'],
      properties: { texts: { type: 'array', items: { type: 'string' } }, normalize: { type: 'boolean' } }
    }
  }
};

const bad = (message: string): never => {
  throw new HearthError('bad_request', message);
};

/** Checks a body the bus has already matched against EMBED_TEXT_REQUEST_SCHEMA. */
export function parseEmbedTextRequest(body: unknown): EmbedTextRequest {
  const { params, input } = body as { params?: Record<string, unknown>; input: Record<string, unknown> };
  const texts = input.texts as string[];
  if (texts.length === 0) bad('texts must not be empty');
  if (texts.length > MAX_TEXTS) bad(`${texts.length} texts; at most ${MAX_TEXTS} a call`);
  const long = texts.findIndex((t) => t.length > MAX_TEXT_CHARS);
  if (long >= 0) bad(`texts[${long}] holds ${texts[long].length} characters; at most ${MAX_TEXT_CHARS}`);
  const model = params?.model;
  if (model !== undefined && (typeof model !== 'string' || model === '' || model.length > MAX_MODEL_NAME_CHARS)) bad('params.model must be a model name');
  return { model: (model as string | undefined) ?? null, texts, normalize: input.normalize !== false };
}

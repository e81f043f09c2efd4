/**
 * The one port the retrieval library needs: something that turns texts into vectors. In a node this is a bus call
 * to `embed.text@1.0` (M05 §4.1); in tests it is a local function. The library never imports an embedder.
 */
export interface Embedding {
  /** The model's name; vectors of different models never meet in one index. */
  model: string;
  /** One vector per input text, in input order, all of one dimension. */
  vectors: Float32Array[];
}

/**
 * `model`: embed with this model (a corpus names the one it was first embedded with); absent: the node's choice (its
 * preferred model, for a corpus not embedded yet). A node that no longer has `model` rejects with `not_implemented`.
 */
export type EmbedFn = (texts: string[], model?: string) => Promise<Embedding>;

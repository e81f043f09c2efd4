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

export type EmbedFn = (texts: string[]) => Promise<Embedding>;

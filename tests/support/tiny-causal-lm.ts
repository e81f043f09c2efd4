/**
 * A tiny but genuine causal language model for transformers.js, written to a directory in the Hugging Face layout:
 * `config.json` (a one-layer "llama"), `generation_config.json`, `tokenizer.json` + `tokenizer_config.json` (a
 * byte-level BPE over a few dozen words, with `<s>`, `</s>`, a chat template) and `onnx/model.onnx` — an ONNX graph
 * built here by hand-encoding the protobuf, with the inputs and outputs transformers.js feeds a llama export:
 * `input_ids`, `attention_mask`, `position_ids`, `past_key_values.0.key/value` → `logits`, `present.0.key/value`.
 *
 * The network is a bigram table: the embedding is the identity (hidden size = vocabulary size, so the weights are
 * readable) and row t of the output matrix puts `margin` on the one token that follows t, 0 elsewhere. So greedy
 * decoding is fixed and recognisable — after `<|assistant|>` it says "Boil water for one minute." then `</s>` —
 * and sampling at temperature 1 still wanders (p(next) ≈ e^3 / (e^3 + V − 1) ≈ 0.33). The KV cache is real in shape
 * (present = past ⧺ this step's hidden state along the sequence axis) though the bigram never reads it.
 * Deterministic, no dependencies, a few milliseconds.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { field, intAttribute, modelProto, node, tensor, valueInfo } from './onnx-proto.js';

/** What greedy decoding answers to any chat (the chat template ends in `<|assistant|>`). */
export const TINY_CHAT_ANSWER = 'Boil water for one minute.';
export const TINY_CHAT_TEMPLATE =
  "{{ bos_token }}{% for message in messages %}{{ '<|' + message['role'] + '|>' + message['content'] + '<|end|>' }}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}";

const SPECIAL = ['<unk>', '<s>', '</s>', '<|system|>', '<|user|>', '<|assistant|>', '<|end|>'];
/** Byte-level BPE tokens: `Ġ` is a leading space, `Ċ` a newline; `Ã` + `©` are the two bytes of "é". */
const WORDS = ['Boil', 'ĠBoil', 'Ġwater', 'Ġfor', 'Ġone', 'Ġminute', '.', 'Ġsing', 'Ġla', 'Ġthe', 'Ġcaf', 'Ã', '©', ':', 'Ċ', 'Ġplease', 'Ġhow', 'Ġdo', 'ĠI', '?'];
export const TINY_VOCAB: readonly string[] = [...SPECIAL, ...WORDS];
export const TINY_EOS_ID = 2;

/** token → the token the model predicts after it; every other token predicts `</s>`. */
const NEXT: Record<string, string> = {
  '<|assistant|>': 'Boil',
  ':': 'ĠBoil', // the "role: content" transcript ends in "assistant:"
  Boil: 'Ġwater',
  ĠBoil: 'Ġwater',
  Ġwater: 'Ġfor',
  Ġfor: 'Ġone',
  Ġone: 'Ġminute',
  Ġminute: '.',
  Ġsing: 'Ġla',
  Ġla: 'Ġla', // "… sing" → " la la la …" until max_tokens
  Ġthe: 'Ġcaf',
  Ġcaf: 'Ã',
  Ã: '©', // "é" arrives as two tokens, each half a UTF-8 character
  '©': '.'
};

export type TinyDtype = 'fp32' | 'q8' | 'q4' | 'fp16';
/** The file name transformers.js asks for per dtype (utils/dtypes.js DEFAULT_DTYPE_SUFFIX_MAPPING). */
export const ONNX_FILE_OF: Record<TinyDtype, string> = { fp32: 'model.onnx', q8: 'model_quantized.onnx', q4: 'model_q4.onnx', fp16: 'model_fp16.onnx' };

export interface TinyCausalLmOptions {
  /** Which ONNX files to write (default fp32 only). The contents are always fp32 — transformers.js picks a file by name. */
  dtypes?: TinyDtype[];
  /** The chat template in tokenizer_config.json: false for none, a string for another (default TINY_CHAT_TEMPLATE). */
  chatTemplate?: boolean | string;
  /** Logit of the predicted next token over all others (default 3). */
  margin?: number;
  /** config.json max_position_embeddings: prompt + answer (default 2048). */
  maxPositions?: number;
}

/** Writes the model into `dir` (created if needed) and returns the relative paths written. */
export function writeTinyCausalLm(dir: string, options: TinyCausalLmOptions = {}): string[] {
  const vocabSize = TINY_VOCAB.length;
  const files: Record<string, string | Uint8Array> = {
    'config.json': JSON.stringify({
      architectures: ['LlamaForCausalLM'],
      model_type: 'llama',
      vocab_size: vocabSize,
      hidden_size: vocabSize,
      intermediate_size: vocabSize,
      num_hidden_layers: 1,
      num_attention_heads: 1,
      num_key_value_heads: 1,
      head_dim: vocabSize,
      max_position_embeddings: options.maxPositions ?? 2048,
      bos_token_id: 1,
      eos_token_id: TINY_EOS_ID,
      use_cache: true,
      torch_dtype: 'float32'
    }),
    // Like many real models' files: sampling on by default. The engine must override it, not inherit it.
    'generation_config.json': JSON.stringify({ bos_token_id: 1, eos_token_id: TINY_EOS_ID, do_sample: true, temperature: 0.7, top_p: 0.9 }),
    'tokenizer.json': JSON.stringify(tokenizerJson()),
    'tokenizer_config.json': JSON.stringify({
      tokenizer_class: 'PreTrainedTokenizerFast',
      bos_token: '<s>',
      eos_token: '</s>',
      unk_token: '<unk>',
      model_max_length: 2048,
      clean_up_tokenization_spaces: false,
      ...(options.chatTemplate === false ? {} : { chat_template: typeof options.chatTemplate === 'string' ? options.chatTemplate : TINY_CHAT_TEMPLATE })
    })
  };
  const onnx = bigramOnnxModel(vocabSize, options.margin ?? 3);
  for (const dtype of options.dtypes ?? ['fp32']) files[`onnx/${ONNX_FILE_OF[dtype]}`] = onnx;
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return Object.keys(files);
}

function tokenizerJson() {
  const vocab = Object.fromEntries(TINY_VOCAB.map((token, id) => [token, id]));
  const added = SPECIAL.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } }
    },
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    // Whole words are vocabulary entries (ignore_merges, as Llama 3 does), unknown words become one <unk>.
    model: { type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: true, byte_fallback: false, ignore_merges: true, vocab, merges: [] }
  };
}

/** The bigram network as an ONNX ModelProto (opset 17). */
export function bigramOnnxModel(vocabSize: number, margin: number): Uint8Array {
  const embedding = new Float32Array(vocabSize * vocabSize);
  const head = new Float32Array(vocabSize * vocabSize);
  for (let t = 0; t < vocabSize; t++) {
    embedding[t * vocabSize + t] = 1;
    const next = TINY_VOCAB.indexOf(NEXT[TINY_VOCAB[t]] ?? '</s>');
    head[t * vocabSize + next] = margin;
  }
  const FLOAT = 1;
  const INT64 = 7;
  const kv = ['batch_size', 1, 'past_sequence_length', vocabSize];
  const present = ['batch_size', 1, 'total_sequence_length', vocabSize];
  const graph = [
    node('Gather', ['embed.weight', 'input_ids'], ['hidden']),
    node('MatMul', ['hidden', 'lm_head.weight'], ['logits']),
    node('Unsqueeze', ['hidden', 'axis_1'], ['kv_step']),
    node('Concat', ['past_key_values.0.key', 'kv_step'], ['present.0.key'], [intAttribute('axis', 2)]),
    node('Concat', ['past_key_values.0.value', 'kv_step'], ['present.0.value'], [intAttribute('axis', 2)]),
    field(2, 'tiny-bigram-llama'),
    field(5, tensor('embed.weight', FLOAT, [vocabSize, vocabSize], new Uint8Array(embedding.buffer))),
    field(5, tensor('lm_head.weight', FLOAT, [vocabSize, vocabSize], new Uint8Array(head.buffer))),
    field(5, tensor('axis_1', INT64, [1], new Uint8Array(new BigInt64Array([1n]).buffer))),
    field(11, valueInfo('input_ids', INT64, ['batch_size', 'sequence_length'])),
    field(11, valueInfo('attention_mask', INT64, ['batch_size', 'total_sequence_length'])),
    field(11, valueInfo('position_ids', INT64, ['batch_size', 'sequence_length'])),
    field(11, valueInfo('past_key_values.0.key', FLOAT, kv)),
    field(11, valueInfo('past_key_values.0.value', FLOAT, kv)),
    field(12, valueInfo('logits', FLOAT, ['batch_size', 'sequence_length', vocabSize])),
    field(12, valueInfo('present.0.key', FLOAT, present)),
    field(12, valueInfo('present.0.value', FLOAT, present))
  ];
  return modelProto(graph);
}

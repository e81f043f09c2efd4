/**
 * A tiny but genuine sentence-embedding model for transformers.js, written to a directory in the Hugging Face layout
 * of Xenova/all-MiniLM-L6-v2: `config.json` (a "bert"), `tokenizer.json` + `tokenizer_config.json` (a lowercasing
 * WordPiece over a few words, `[CLS] … [SEP]` around every text) and `onnx/model*.onnx` — an ONNX graph built here by
 * hand-encoding the protobuf, with the inputs and outputs transformers.js feeds a BERT export: `input_ids`,
 * `attention_mask`, `token_type_ids` → `last_hidden_state`.
 *
 * The encoder is a lookup table: token t's hidden state is row t of {@link tinyEmbedTable}, whatever surrounds it.
 * `[CLS]`, `[SEP]` and `[PAD]` are zero rows, so mean pooling + L2 normalisation gives exactly the normalised sum of
 * the word rows ({@link tinyEmbeddingOf}) — a known answer — and a padded batch must give the same vectors as
 * single texts only if the pooling honours the attention mask. Deterministic, no dependencies, a few milliseconds.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { field, modelProto, node, tensor, valueInfo } from './onnx-proto.js';

const SPECIAL = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
const WORDS = ['boil', 'water', 'minute', 'drink', 'power', 'outage', 'candle', 'flood', 'sand', '##bag', '##s', 'river'];
export const TINY_EMBED_VOCAB: readonly string[] = [...SPECIAL, ...WORDS];
export const TINY_EMBED_DIMENSIONS = 4;

/** Hidden state per token: the specials are zero except [UNK]; words point in recognisable directions. */
function rows(): Record<string, number[]> {
  return {
    '[UNK]': [0, 0, 0, 0.5],
    boil: [1, 0, 0, 0],
    water: [0.8, 0.2, 0, 0],
    minute: [0.3, 0, 0.1, 0],
    drink: [0.7, 0, 0, 0.2],
    power: [0, 1, 0, 0],
    outage: [0, 0.9, 0.1, 0],
    candle: [0.1, 0.6, 0, 0.3],
    flood: [0, 0, 1, 0],
    sand: [0, 0.1, 0.7, 0],
    '##bag': [0, 0, 0.5, 0.5],
    '##s': [0, 0, 0, 0.1],
    river: [0.2, 0, 0.8, 0]
  };
}

/** The lookup table, one row per token id. */
export function tinyEmbedTable(): number[][] {
  const byToken = rows();
  return TINY_EMBED_VOCAB.map((token) => byToken[token] ?? [0, 0, 0, 0]);
}

/** The known answer: normalise(Σ rows of the text's tokens), given its WordPiece tokens (without [CLS]/[SEP]). */
export function tinyEmbeddingOf(tokens: readonly string[]): number[] {
  const table = tinyEmbedTable();
  const sum = [0, 0, 0, 0];
  for (const token of tokens) {
    const id = TINY_EMBED_VOCAB.indexOf(token);
    if (id < 0) throw new Error(`${token} is not in the tiny vocabulary`);
    table[id].forEach((x, i) => (sum[i] += x));
  }
  const norm = Math.hypot(...sum);
  return sum.map((x) => x / norm);
}

export type TinyEmbedDtype = 'fp32' | 'q8';
const ONNX_FILE_OF: Record<TinyEmbedDtype, string> = { fp32: 'model.onnx', q8: 'model_quantized.onnx' };

/** Writes the model into `dir` (created if needed) and returns the relative paths written. */
export function writeTinyEmbeddingModel(dir: string, options: { dtypes?: TinyEmbedDtype[] } = {}): string[] {
  const files: Record<string, string | Uint8Array> = {
    'config.json': JSON.stringify({
      architectures: ['BertModel'],
      model_type: 'bert',
      vocab_size: TINY_EMBED_VOCAB.length,
      hidden_size: TINY_EMBED_DIMENSIONS,
      intermediate_size: TINY_EMBED_DIMENSIONS,
      num_hidden_layers: 1,
      num_attention_heads: 1,
      max_position_embeddings: 512,
      type_vocab_size: 2,
      pad_token_id: 0
    }),
    'tokenizer.json': JSON.stringify(tokenizerJson()),
    'tokenizer_config.json': JSON.stringify({
      tokenizer_class: 'BertTokenizer',
      do_lower_case: true,
      model_max_length: 512,
      cls_token: '[CLS]',
      sep_token: '[SEP]',
      pad_token: '[PAD]',
      unk_token: '[UNK]',
      mask_token: '[MASK]',
      clean_up_tokenization_spaces: true
    })
  };
  const onnx = lookupOnnxModel();
  for (const dtype of options.dtypes ?? ['fp32', 'q8']) files[`onnx/${ONNX_FILE_OF[dtype]}`] = onnx;
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return Object.keys(files);
}

function tokenizerJson() {
  const vocab = Object.fromEntries(TINY_EMBED_VOCAB.map((token, id) => [token, id]));
  const added = SPECIAL.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  const special = (token: string) => ({ id: token, ids: [TINY_EMBED_VOCAB.indexOf(token)], tokens: [token] });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } }
      ],
      special_tokens: { '[CLS]': special('[CLS]'), '[SEP]': special('[SEP]') }
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab }
  };
}

/** The lookup encoder as an ONNX ModelProto (opset 17): last_hidden_state = Gather(table, input_ids). */
export function lookupOnnxModel(): Uint8Array {
  const table = Float32Array.from(tinyEmbedTable().flat());
  const FLOAT = 1;
  const INT64 = 7;
  const graph = [
    node('Gather', ['embeddings.word_embeddings.weight', 'input_ids'], ['last_hidden_state']),
    field(2, 'tiny-lookup-bert'),
    field(5, tensor('embeddings.word_embeddings.weight', FLOAT, [TINY_EMBED_VOCAB.length, TINY_EMBED_DIMENSIONS], new Uint8Array(table.buffer))),
    field(11, valueInfo('input_ids', INT64, ['batch_size', 'sequence_length'])),
    field(11, valueInfo('attention_mask', INT64, ['batch_size', 'sequence_length'])),
    field(11, valueInfo('token_type_ids', INT64, ['batch_size', 'sequence_length'])),
    field(12, valueInfo('last_hidden_state', FLOAT, ['batch_size', 'sequence_length', TINY_EMBED_DIMENSIONS]))
  ];
  return modelProto(graph);
}

/**
 * Which mirror repos are sentence-embedding models (src/lib/embed/mirror-models.ts): the transformers.js layout with
 * servable files, and a config.json naming a bare encoder; preferred models first.
 */
import { describe, expect, it } from 'vitest';
import { embeddingCandidates, isSentenceEncoderConfig, mirrorEmbeddingModels } from '../../../src/lib/embed/mirror-models.js';
import type { MirrorFile } from '../../../src/lib/llm/mirror.js';
import { mirrorFile, mirrorIndex } from '../../support/mirror-index.js';

const file = mirrorFile;
const layout = (onnx: MirrorFile[], tokenizerStatus: MirrorFile['status'] = 'hashed') => [file('config.json', 600), file('tokenizer.json', 400, tokenizerStatus), file('tokenizer_config.json', 100), ...onnx];
const index = mirrorIndex;

describe('sentence-embedding models on the mirror', () => {
  it('recognises bare encoders by config.json, not heads or decoders', () => {
    expect(isSentenceEncoderConfig({ architectures: ['BertModel'] })).toBe(true);
    expect(isSentenceEncoderConfig({ architectures: ['XLMRobertaModel'] })).toBe(true);
    expect(isSentenceEncoderConfig({ architectures: ['BertForMaskedLM'] })).toBe(false);
    expect(isSentenceEncoderConfig({ architectures: ['BertForSequenceClassification'] })).toBe(false);
    expect(isSentenceEncoderConfig({ architectures: ['LlamaForCausalLM'] })).toBe(false);
    expect(isSentenceEncoderConfig({ model_type: 'bert' })).toBe(false);
    expect(isSentenceEncoderConfig(null)).toBe(false);
  });

  it('lists complete, servable repos with the q8 file first, preferred models first, and counts the bytes a load reads', async () => {
    const mirror = index([
      { id: 'hearth/tiny-minilm', files: layout([file('onnx/model.onnx', 5000), file('onnx/model_quantized.onnx', 2000)]) },
      { id: 'Xenova/all-MiniLM-L6-v2', files: layout([file('onnx/model.onnx', 90 << 20)]) },
      { id: 'Xenova/paraphrase-multilingual-MiniLM-L12-v2', files: layout([file('onnx/model_quantized.onnx', 118 << 20)]) },
      { id: 'hearth/still-hashing', files: layout([file('onnx/model_quantized.onnx')], 'pending') },
      { id: 'hearth/no-onnx', files: layout([]) },
      { id: 'hearth/tiny-llama', files: layout([file('onnx/model_q4.onnx')]) }
    ]);
    expect(embeddingCandidates(mirror).map((c) => c.id)).toEqual(['Xenova/paraphrase-multilingual-MiniLM-L12-v2', 'Xenova/all-MiniLM-L6-v2', 'hearth/tiny-llama', 'hearth/tiny-minilm']);
    const configs: Record<string, unknown> = { 'hearth/tiny-llama': { architectures: ['LlamaForCausalLM'] }, 'hearth/tiny-minilm': { architectures: ['BertModel'] }, 'Xenova/all-MiniLM-L6-v2': { architectures: ['BertModel'] } };
    const found = await mirrorEmbeddingModels(mirror, async (repo) => {
      if (!(repo in configs)) throw new Error('404');
      return configs[repo];
    });
    // The multilingual one's config could not be read: left out, not fatal.
    expect(found).toEqual([
      { id: 'Xenova/all-MiniLM-L6-v2', dtype: 'fp32', bytes: (90 << 20) + 1100 },
      { id: 'hearth/tiny-minilm', dtype: 'q8', bytes: 2000 + 1100 }
    ]);
    expect(await mirrorEmbeddingModels(null, async () => ({}))).toEqual([]);
  });
});

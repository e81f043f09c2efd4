/**
 * The prompt's token ids: chat messages through the tokenizer's own chat template, or — for a tokenizer without
 * one (base models) — through a plain "role: content" transcript ending in "assistant:"; a completion prompt as is.
 */
import type { ChatMessage, GenerateRequest } from '../engine.js';

/** The part of a transformers.js tokenizer this needs. */
export interface PromptTokenizer {
  chat_template?: unknown;
  apply_chat_template(conversation: ChatMessage[], options: { tokenize: false; add_generation_prompt: true }): unknown;
  encode(text: string, options: { add_special_tokens: boolean }): number[];
}

export type PromptForm = 'chat_template' | 'transcript' | 'completion';

export function transcriptOf(messages: readonly ChatMessage[]): string {
  return [...messages.map((m) => `${m.role}: ${m.content}`), 'assistant:'].join('\n');
}

export function promptIds(tokenizer: PromptTokenizer, request: Pick<GenerateRequest, 'messages' | 'prompt'>): { ids: number[]; form: PromptForm } {
  if (request.messages) {
    if (hasChatTemplate(tokenizer)) {
      const text = tokenizer.apply_chat_template(request.messages, { tokenize: false, add_generation_prompt: true });
      // The template writes the special tokens (BOS and the like) itself; adding them again would double them.
      return { ids: tokenizer.encode(String(text), { add_special_tokens: false }), form: 'chat_template' };
    }
    return { ids: tokenizer.encode(transcriptOf(request.messages), { add_special_tokens: true }), form: 'transcript' };
  }
  return { ids: tokenizer.encode(request.prompt ?? '', { add_special_tokens: true }), form: 'completion' };
}

function hasChatTemplate(tokenizer: PromptTokenizer): boolean {
  const template = tokenizer.chat_template;
  if (typeof template === 'string') return template.trim() !== '';
  return template !== null && typeof template === 'object' && Object.keys(template).length > 0;
}

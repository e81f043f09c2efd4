/**
 * The engine port (M04): one interface in front of every way this node can run a model — WebLLM in a model worker,
 * transformers.js, or an OpenAI-compatible HTTP server (Ollama, llama.cpp, LM Studio, vLLM). The llm.* capabilities
 * know only this port; each backend is one adapter file that passes the engine acceptance suite.
 */

export type ChatRole = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

export type StopReason = 'end' | 'max_tokens' | 'stop_sequence' | 'cancelled';

/** One generation. Exactly one of `messages` (chat) or `prompt` (completion) is set. */
export interface GenerateRequest {
  model: string;
  messages?: ChatMessage[];
  prompt?: string;
  maxTokens: number;
  temperature: number;
  topP: number;
  stop: string[];
  /** Where the engine can, the same seed and input give the same tokens. */
  seed: number | null;
  /** Aborting stops generation; the engine returns promptly (within 200 ms) with `stopReason: 'cancelled'`. */
  signal: AbortSignal;
}

export interface TokenChunk {
  text: string;
  logprob?: number;
}

export interface GenerateResult {
  tokensIn: number;
  tokensOut: number;
  stopReason: StopReason;
}

export interface LlmEngine {
  /** Stable and human-readable, e.g. `openai:http://127.0.0.1:11434` or `webllm`. */
  readonly id: string;
  /**
   * Generations it runs at once (default 2). The service offers the sum, so the bus sends a call elsewhere
   * (`capacity_exceeded`) instead of queueing it behind a busy single-stream engine such as WebLLM.
   */
  readonly maxConcurrent?: number;
  /** The models this engine can run now (canonical names). Throws HearthError `partition` when unreachable. */
  models(): Promise<string[]>;
  /**
   * Yields tokens as they are produced and returns the totals. Errors are HearthErrors with contract codes
   * (`not_implemented` for a model it does not have, `bad_request`, `timeout`, `partition`, `internal_error`).
   */
  generate(request: GenerateRequest): AsyncGenerator<TokenChunk, GenerateResult, undefined>;
}

/**
 * The engine port (M04) over WebLLM (WebGPU). Thin: it maps our GenerateRequest onto WebLLM's OpenAI-style
 * streaming API and back. It takes any MLCEngineInterface-like object, so the same class serves an engine in this
 * thread (CreateMLCEngine) and one in a model worker (CreateWebWorkerMLCEngine); see load-webllm.ts.
 *
 * One generation at a time. WebLLM decodes one stream per model and queues the rest behind a lock, where a
 * caller would wait a whole answer with no token and no way to go elsewhere. So a second caller is refused at
 * once with `capacity_exceeded` and a `retry_after_ms` estimated from the running generation's pace; the bus treats
 * that as retryable and can route the call to another node.
 *
 * Cancelling (`request.signal`) calls `interruptGenerate()`, closes WebLLM's stream in the background, and returns
 * `stopReason: 'cancelled'` at once, without waiting for the GPU to finish its current step.
 */
import type { ChatCompletionChunk, ChatCompletionRequestStreaming, Completion, CompletionCreateParamsStreaming } from '@mlc-ai/web-llm';
import { HearthError } from '../../core/errors.js';
import type { GenerateRequest, GenerateResult, LlmEngine, StopReason, TokenChunk } from '../engine.js';
import { untilAborted } from '../../transport/abort.js';
import { StopMatcher } from '../stop-matcher.js';
import { errorFromWebLlm } from './webllm-errors.js';

/** The part of WebLLM's MLCEngineInterface this adapter uses (MLCEngine and WebWorkerMLCEngine both have it). */
export interface MlcEngineLike {
  chat: { completions: { create(request: ChatCompletionRequestStreaming): Promise<AsyncIterable<ChatCompletionChunk>> } };
  completions: { create(request: CompletionCreateParamsStreaming): Promise<AsyncIterable<Completion>> };
  interruptGenerate(): void;
  unload(): Promise<void>;
}

export interface WebLlmEngineOptions {
  /** Milliseconds; for the busy estimate. */
  now?: () => number;
}

/** Without WebLLM's usage report, input tokens are estimated as ceil(chars / 4), the usual BPE rule of thumb. */
export const WEBLLM_CHARS_PER_TOKEN_ESTIMATE = 4;
/** What a refused second caller is told to wait when the running generation has no pace yet. */
export const WEBLLM_BUSY_RETRY_DEFAULT_MS = 5_000;
const BUSY_RETRY_MIN_MS = 1_000;
const BUSY_RETRY_MAX_MS = 60_000;
/** After a stop string, how long to keep reading (and discarding) for WebLLM's usage report, which has the prompt's token count. */
const USAGE_AFTER_STOP_MS = 250;

type StreamChunk = ChatCompletionChunk | Completion;
const ABORTED = Symbol('aborted');
const TIMED_OUT = Symbol('timed out');

/** Resolves to ABORTED when `signal` aborts; the original promise's later rejection is swallowed (nobody awaits it). */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | typeof ABORTED> {
  return untilAborted(promise, signal).catch((err: unknown) => {
    if (signal.aborted) return ABORTED;
    throw err;
  });
}

function textOf(chunk: StreamChunk): { text: string; finishReason: string | null } {
  const choice = chunk.choices[0] as { delta?: { content?: string | null }; text?: string; finish_reason: string | null } | undefined;
  if (!choice) return { text: '', finishReason: null };
  return { text: choice.delta?.content ?? choice.text ?? '', finishReason: choice.finish_reason ?? null };
}

/** WebLLM's finish_reason in our words; a stop string is reported by the StopMatcher, not here. */
export function stopReasonOfWebLlm(finishReason: string | null): StopReason {
  if (finishReason === 'length') return 'max_tokens';
  if (finishReason === 'abort') return 'cancelled';
  return 'end';
}

interface Running {
  startedAt: number;
  tokens: number;
  maxTokens: number;
}

export class WebLlmEngine implements LlmEngine {
  readonly id: string;
  /** WebLLM runs one generation at a time. */
  readonly maxConcurrent = 1;
  private running: Running | null = null;
  private unloaded = false;
  private readonly now: () => number;

  constructor(
    private readonly engine: MlcEngineLike,
    /** WebLLM's model_id of the loaded model; also the canonical name offered on the mesh. */
    readonly modelId: string,
    options: WebLlmEngineOptions = {}
  ) {
    this.id = `webllm:${modelId}`;
    this.now = options.now ?? (() => Date.now());
  }

  async models(): Promise<string[]> {
    return this.unloaded ? [] : [this.modelId];
  }

  /** Frees the GPU memory (interrupting a running generation); the engine offers no model afterwards. */
  async unload(): Promise<void> {
    if (this.unloaded) return;
    this.unloaded = true;
    if (this.running) this.engine.interruptGenerate();
    try {
      await this.engine.unload();
    } catch (err) {
      throw errorFromWebLlm(err, this.modelId);
    }
  }

  async *generate(request: GenerateRequest): AsyncGenerator<TokenChunk, GenerateResult, undefined> {
    this.check(request);
    if (this.running) throw this.busy(this.running);
    const { signal } = request;
    let chunks = 0;
    let usage: { prompt_tokens: number; completion_tokens: number } | null = null;
    const inputChars = request.messages ? request.messages.reduce((n, m) => n + m.content.length, 0) : request.prompt!.length;
    const totals = (stopReason: StopReason, countFromUsage: boolean): GenerateResult => ({
      tokensIn: usage?.prompt_tokens ?? Math.ceil(inputChars / WEBLLM_CHARS_PER_TOKEN_ESTIMATE),
      tokensOut: countFromUsage && usage ? usage.completion_tokens : chunks,
      stopReason
    });
    if (signal.aborted) return totals('cancelled', false);

    const running: Running = { startedAt: this.now(), tokens: 0, maxTokens: request.maxTokens };
    this.running = running;
    let iterator: AsyncIterator<StreamChunk> | null = null;
    let ended = false;
    let interrupted = false;
    const interrupt = () => {
      if (interrupted || ended) return;
      interrupted = true;
      try {
        this.engine.interruptGenerate();
      } catch {
        // The engine is gone (worker terminated); nothing left to stop.
      }
    };
    signal.addEventListener('abort', interrupt, { once: true });
    const matcher = new StopMatcher(request.stop);
    try {
      const created = this.create(request);
      const stream = await raceAbort(created, signal);
      if (stream === ABORTED) {
        // The stream may still arrive; close it then so WebLLM releases its lock.
        created.then((s) => closeQuietly(s[Symbol.asyncIterator]()), () => undefined);
        return totals('cancelled', false);
      }
      iterator = stream[Symbol.asyncIterator]();
      let finishReason: string | null = null;
      for (;;) {
        const step = await raceAbort(iterator.next(), signal);
        if (step === ABORTED) return totals('cancelled', false);
        if (step.done) {
          ended = true;
          break;
        }
        usage = step.value.usage ?? usage;
        const { text, finishReason: reason } = textOf(step.value);
        finishReason = reason ?? finishReason;
        if (text === '') continue;
        chunks++;
        running.tokens = chunks;
        const { emit, matched } = matcher.push(text);
        if (emit !== '') {
          yield { text: emit };
          if (signal.aborted) return totals('cancelled', false);
        }
        if (matched !== null) {
          interrupt();
          ended = await this.readUsageAfterStop(iterator, signal, (u) => (usage = u));
          return totals('stop_sequence', false);
        }
      }
      const rest = matcher.flush();
      if (rest !== '') yield { text: rest };
      const stopReason = signal.aborted ? 'cancelled' : stopReasonOfWebLlm(finishReason);
      return totals(stopReason, stopReason !== 'cancelled');
    } catch (err) {
      if (signal.aborted) return totals('cancelled', false);
      if (this.unloaded) throw new HearthError('not_implemented', `the WebLLM model ${this.modelId} was unloaded from this device`);
      throw errorFromWebLlm(err, this.modelId);
    } finally {
      signal.removeEventListener('abort', interrupt);
      if (iterator && !ended) {
        interrupt();
        closeQuietly(iterator);
      }
      if (this.running === running) this.running = null;
    }
  }

  private check(request: GenerateRequest): void {
    if (this.unloaded) throw new HearthError('not_implemented', `the WebLLM model ${this.modelId} is not loaded on this device`);
    if (request.model !== this.modelId) throw new HearthError('not_implemented', `this WebLLM engine runs ${this.modelId}, not ${JSON.stringify(request.model)}`);
    if ((request.messages === undefined) === (request.prompt === undefined)) throw new HearthError('bad_request', 'a generation needs exactly one of messages (chat) or prompt (completion)');
    if (request.messages?.length === 0) throw new HearthError('bad_request', 'messages is empty — a chat needs at least one message');
    if (!Number.isInteger(request.maxTokens) || request.maxTokens < 1) throw new HearthError('bad_request', `maxTokens must be a whole number ≥ 1, got ${request.maxTokens}`);
  }

  private busy(running: Running): HearthError {
    let retryAfterMs = WEBLLM_BUSY_RETRY_DEFAULT_MS;
    const elapsed = this.now() - running.startedAt;
    if (running.tokens > 0 && elapsed > 0) {
      const msPerToken = elapsed / running.tokens;
      retryAfterMs = Math.round((running.maxTokens - running.tokens) * msPerToken);
    }
    retryAfterMs = Math.min(BUSY_RETRY_MAX_MS, Math.max(BUSY_RETRY_MIN_MS, retryAfterMs));
    return new HearthError('capacity_exceeded', `the WebLLM model ${this.modelId} is answering another question (it runs one at a time)`, { retryAfterMs });
  }

  private create(request: GenerateRequest): Promise<AsyncIterable<StreamChunk>> {
    const sampling = {
      stream: true as const,
      stream_options: { include_usage: true },
      model: this.modelId,
      max_tokens: request.maxTokens,
      temperature: request.temperature,
      top_p: request.topP,
      ...(request.seed !== null ? { seed: request.seed } : {})
      // `stop` is not passed: the StopMatcher applies it, so a stop string can be told from the model's own end.
    };
    try {
      if (request.messages) return this.engine.chat.completions.create({ ...sampling, messages: request.messages.map(({ role, content }) => ({ role, content })) });
      return this.engine.completions.create({ ...sampling, prompt: request.prompt! });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Reads what WebLLM sends after an interrupt, only for its usage report; true when the stream ended. */
  private async readUsageAfterStop(iterator: AsyncIterator<StreamChunk>, signal: AbortSignal, onUsage: (usage: { prompt_tokens: number; completion_tokens: number }) => void): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<typeof TIMED_OUT>((resolve) => (timer = setTimeout(() => resolve(TIMED_OUT), USAGE_AFTER_STOP_MS)));
    try {
      for (;;) {
        const step = await Promise.race([raceAbort(iterator.next(), signal), deadline]);
        if (step === ABORTED || step === TIMED_OUT) return false;
        if (step.done) return true;
        if (step.value.usage) onUsage(step.value.usage);
      }
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }
}

function closeQuietly(iterator: AsyncIterator<unknown>): void {
  try {
    iterator.return?.()?.catch(() => undefined);
  } catch {
    // Already closed.
  }
}

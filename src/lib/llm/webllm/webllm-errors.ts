/**
 * WebLLM's failures as HearthErrors. WebLLM throws named Error subclasses in its own thread, but through
 * CreateWebWorkerMLCEngine a failure arrives as the string `err.toString()` ("DeviceLostError: The WebGPU device
 * was lost …"), so the name is read from either form and the message is matched as a last resort.
 */
import { HearthError, type ErrorCode } from '../../core/errors.js';

const NOT_LOADED = new Set(['ModelNotLoadedError', 'WorkerEngineModelNotLoadedError', 'EngineNotLoadedError', 'SpecifiedModelNotFoundError', 'UnclearModelToUseError', 'ModelNotFoundError']);
const NO_WEBGPU = new Set(['WebGPUNotAvailableError', 'WebGPUNotFoundError']);
const MISSING_FEATURE = new Set(['ShaderF16SupportError', 'FeatureSupportError']);
const BAD_INPUT = new Set([
  'ContextWindowSizeExceededError',
  'MessageOrderError',
  'SystemMessageOrderError',
  'ContentTypeError',
  'UnsupportedRoleError',
  'ConfigValueError',
  'MinValueError',
  'RangeError',
  'NonNegativeError',
  'InvalidNumberStringError',
  'DependencyError',
  'SeedTypeError',
  'UnsupportedFieldsError',
  'TextCompletionConversationExpectsPrompt'
]);

/** `{name, message}` of an Error, or of the `"Name: message"` string a web worker sends instead. */
function nameAndMessage(err: unknown): { name: string; message: string } {
  if (err instanceof Error) return { name: err.name, message: err.message };
  const text = typeof err === 'string' ? err : String(err);
  const m = /^([A-Za-z]*Error): ([\s\S]*)$/.exec(text);
  return m ? { name: m[1], message: m[2] } : { name: '', message: text };
}

const error = (code: ErrorCode, message: string) => new HearthError(code, message);

/** Maps a failure of loading or of generating with `modelId` to a HearthError with a message people can act on. */
export function errorFromWebLlm(err: unknown, modelId: string): HearthError {
  if (err instanceof HearthError) return err;
  const { name, message } = nameAndMessage(err);
  if (NOT_LOADED.has(name)) return error('not_implemented', `the WebLLM model ${modelId} is not loaded on this device (${message})`);
  if (name === 'DeviceLostError' || /device (was |is )?lost|out of memory|\boom\b|GPUOutOfMemory/i.test(message)) {
    return error('internal_error', `the GPU gave up running ${modelId} (device lost, usually out of memory) — load a smaller model or close other GPU-heavy tabs, then try again`);
  }
  if (NO_WEBGPU.has(name)) return error('not_implemented', `this browser cannot run WebLLM models: it has no usable WebGPU (${message})`);
  if (MISSING_FEATURE.has(name)) return error('not_implemented', `this GPU cannot run ${modelId}: ${message.split('. ')[0]} — choose a q4f32 model`);
  if (BAD_INPUT.has(name)) return error('bad_request', `WebLLM refused the request for ${modelId}: ${message}`);
  if (name === 'IntegrityError') return error('internal_error', `a downloaded file of ${modelId} failed its integrity check — delete the model from this device and download it again (${message})`);
  if (name === 'QuotaExceededError' || /quota/i.test(message)) return error('internal_error', `not enough browser storage for ${modelId} — free some space or choose a smaller model`);
  if (name === 'TypeError' && /fetch|network/i.test(message)) return error('partition', `could not download the files of ${modelId}: ${message}`);
  if (/failed to fetch|networkerror|cannot fetch/i.test(message)) return error('partition', `could not download the files of ${modelId}: ${message}`);
  return error('internal_error', `WebLLM failed with ${modelId}: ${name ? `${name}: ` : ''}${message}`);
}

/**
 * web-llm's `prebuiltAppConfig`, as data. The library is one 6 MB module that does not tree-shake: importing
 * only `prebuiltAppConfig` from it puts all 6 MB into the importing bundle (measured with vite build). The catalogue
 * and the mirror plan run in the node worker, so they read this copy; only the model worker loads the library.
 *
 * Regenerate after upgrading @mlc-ai/web-llm (a unit test fails until then):
 *   node -e "import('@mlc-ai/web-llm').then(w => process.stdout.write(JSON.stringify({ webllm_version: require('@mlc-ai/web-llm/package.json').version, model_version: w.modelVersion, app_config: w.prebuiltAppConfig }, null, 2) + '\n'))" > src/lib/llm/webllm/prebuilt-app-config.json
 */
import type { AppConfig } from '@mlc-ai/web-llm';
import snapshot from './prebuilt-app-config.json';

/** The web-llm version the snapshot was taken from; its model libraries (`model_lib`) work only with it. */
export const PREBUILT_WEBLLM_VERSION: string = snapshot.webllm_version;
/** web-llm's `modelVersion`, the folder of its model libraries, e.g. `v0_2_86/base`. */
export const PREBUILT_MODEL_VERSION: string = snapshot.model_version;
export const PREBUILT_APP_CONFIG: AppConfig = snapshot.app_config as AppConfig;

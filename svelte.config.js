import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** The app is a static SPA (DESIGN §4): the bridge serves it, the service worker keeps it offline. */
const config = {
  preprocess: vitePreprocess(),
  kit: {
    adapter: adapter({ pages: 'build', assets: 'build', fallback: 'index.html', strict: true }),
    files: { assets: 'static' },
    alias: { $workers: 'workers' }
  }
};

export default config;

import { sveltekit } from '@sveltejs/kit/vite';
import { SvelteKitPWA } from '@vite-pwa/sveltekit';
import { defineConfig } from 'vite';

export default defineConfig({
  plugins: [
    sveltekit(),
    SvelteKitPWA({
      registerType: 'autoUpdate',
      injectRegister: false,
      strategies: 'generateSW',
      kit: { adapterFallback: 'index.html', spa: true },
      manifest: {
        name: 'HearthNet',
        short_name: 'HearthNet',
        description: 'A neighbourhood mesh that keeps working when the internet does not.',
        theme_color: '#7c2d12',
        background_color: '#fff7ed',
        display: 'standalone',
        start_url: '/',
        scope: '/',
        icons: [
          { src: '/icons/icon-192.png', sizes: '192x192', type: 'image/png' },
          { src: '/icons/icon-512.png', sizes: '512x512', type: 'image/png' },
          { src: '/icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' }
        ]
      },
      workbox: {
        globPatterns: ['**/*.{js,css,html,svg,png,webmanifest,wasm,ico,txt}'],
        // Take control on the first visit, so the app works offline from then on without a second load.
        clientsClaim: true,
        skipWaiting: true,
        navigateFallback: '/index.html',
        // The bridge's live endpoints must never be answered from the cache.
        navigateFallbackDenylist: [/^\/signal/, /^\/health/, /^\/manifest/, /^\/bus\//, /^\/models\//],
        maximumFileSizeToCacheInBytes: 8 * 1024 * 1024,
        // Model runtimes (WebLLM ≈ 6 MB, onnxruntime-web ≈ 14 MB) load only on a device that runs a model: cached on
        // first use instead of precached on every visitor's phone.
        globIgnores: ['**/_app/immutable/workers/chunks/**', '**/ort-wasm-*'],
        runtimeCaching: [
          {
            urlPattern: ({ url }) => url.pathname.startsWith('/_app/immutable/workers/chunks/') || /\/ort-wasm-[^/]*$/.test(url.pathname),
            handler: 'CacheFirst',
            // Hashed names change with every release: keep the newest few, not one copy per release.
            options: { cacheName: 'model-runtimes', expiration: { maxEntries: 12 } }
          }
        ]
      }
    })
  ],
  // transformers.js runs on the processor (WASM) only: WebLLM covers WebGPU devices, and the WASM-only runtime is half
  // the download of the one with WebGPU built in.
  resolve: { alias: [{ find: /^onnxruntime-web\/webgpu$/, replacement: 'onnxruntime-web/wasm' }] },
  worker: { format: 'es' },
  build: { target: 'es2022', sourcemap: false }
});

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
        navigateFallbackDenylist: [/^\/signal/, /^\/health/, /^\/manifest/, /^\/bus\//],
        maximumFileSizeToCacheInBytes: 8 * 1024 * 1024
      }
    })
  ],
  worker: { format: 'es' },
  build: { target: 'es2022', sourcemap: false }
});

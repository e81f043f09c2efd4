/// <reference types="vite-plugin-pwa/client" />
declare global {
  namespace App {}
}
export {};

import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

/** The hub `npm run dev -w @vigil/web` talks to; its API and live feed are proxied so the page stays same-origin. */
const hub = process.env.VIGIL_HUB_URL ?? 'http://127.0.0.1:7070';

export default defineConfig({
  plugins: [react()],
  build: {
    // The hub serves this directory at / (its --web-dir default); tsc writes dist/src and dist/test beside it.
    outDir: 'dist/public',
    emptyOutDir: true,
    target: 'es2022',
    // The budget is on what the overview loads first (bench/RESULTS.md); uPlot comes with the agent page.
    chunkSizeWarningLimit: 400,
  },
  server: {
    proxy: {
      // The hub refuses a foreign Origin on changes and on the live feed, so the dev proxy presents the hub's own.
      '/api': { target: hub, ws: true, headers: { origin: hub } },
    },
  },
});

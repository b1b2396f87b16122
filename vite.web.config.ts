// The renderer's build, on its own: `npm run build:web` (run by `prepare`, so a fresh clone's
// `veripo serve` has a UI) and the renderer half of `electron-vite build` share it.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { resolve } from 'node:path';

export default defineConfig({
  root: resolve(import.meta.dirname, 'src/renderer'),
  // Relative asset URLs: the same files load from app:// in Electron and from / in web mode.
  base: './',
  plugins: [react()],
  build: {
    outDir: resolve(import.meta.dirname, 'out/renderer'),
    emptyOutDir: true,
    rollupOptions: { input: resolve(import.meta.dirname, 'src/renderer/index.html') },
  },
});

// Where the Electron binary is, or null with the reason (it is not downloaded on offline machines).
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';

export function electronBinary() {
  const require = createRequire(import.meta.url);
  try {
    const path = require('electron');
    if (typeof path === 'string' && existsSync(path)) return { path, reason: null };
    return { path: null, reason: 'the electron package has no binary' };
  } catch (err) {
    return { path: null, reason: String(err.message ?? err).split('\n')[0] };
  }
}

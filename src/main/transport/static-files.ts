// The renderer's built files, as web mode (http.ts) and the desktop app:// protocol serve
// them: which file a URL path names, refusing anything outside the renderer folder.
import { extname, join, normalize, relative, isAbsolute, sep } from 'node:path';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ttf': 'font/ttf',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.ico': 'image/x-icon',
};

export function contentTypeFor(path: string): string {
  return MIME[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

export type StaticPath = { ok: true; path: string } | { ok: false; status: 400 | 403; reason: string };

/**
 * The file under `root` that a URL path (still percent-encoded, as in URL.pathname) names;
 * "/" is index.html. Malformed encoding is a 400; a path that leaves `root` (encoded "..",
 * encoded slashes, NUL) is a 403.
 */
export function resolveStaticPath(root: string, urlPath: string): StaticPath {
  let rel: string;
  try {
    rel = decodeURIComponent(urlPath);
  } catch {
    return { ok: false, status: 400, reason: `malformed percent-encoding in the path "${urlPath.slice(0, 200)}"` };
  }
  if (rel.includes('\0')) return { ok: false, status: 403, reason: 'NUL in the path' };
  if (rel === '/' || rel === '') rel = '/index.html';
  const base = normalize(root);
  const file = normalize(join(base, rel));
  const inside = relative(base, file);
  if (inside === '' || inside === '..' || inside.startsWith('..' + sep) || isAbsolute(inside)) return { ok: false, status: 403, reason: 'the path leaves the app folder' };
  return { ok: true, path: file };
}

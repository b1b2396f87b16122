// Web mode: the built renderer plus the Workbench API over HTTP and a live event stream
// (server-sent events). Binds loopback by default; every /api request needs the token or the
// session cookie it was exchanged for, a Host naming this server and, if any, its own Origin.
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { contentTypeFor, resolveStaticPath } from './static-files';
import { isApiMethod, parseApiArgs, ApiValidationError, type WorkbenchApi } from '../../shared/api';
import type { EventHub } from '../events';
import { ApiError } from '../api';
import { CONTENT_SECURITY_POLICY } from '../../shared/csp';
import { allowedHosts, checkTokenStrength, hostAllowed, originAllowed, readCookie, sessionCookieHeader, sessionCookieName, sessionValue, tokenMatches } from './http-guard';

export { tokenMatches } from './http-guard';

export interface HttpServerOptions {
  api: WorkbenchApi;
  events: EventHub;
  /** At least MIN_TOKEN_LENGTH characters; a random one when left out. */
  token?: string;
  /** Folder with the built renderer (index.html); without it only the API is served. */
  staticDir?: string | null;
  maxBodyBytes?: number;
  /** This machine's addresses, accepted as Host when bound to 0.0.0.0 or :: (tests pass their own). */
  interfaces?: () => string[];
}

export interface WebServer {
  server: Server;
  token: string;
  listen(port: number, host?: string): Promise<{ url: string; port: number; host: string }>;
  close(): Promise<void>;
}


export function newToken(): string {
  return randomBytes(24).toString('hex');
}

function requestToken(req: IncomingMessage, url: URL): string | null {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
  const header = req.headers['x-veripo-token'];
  if (typeof header === 'string') return header;
  return url.searchParams.get('token');
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(text);
}

/** Past this multiple of the body limit an upload is cut off instead of read and dropped. */
const DRAIN_FACTOR = 4;

/**
 * Read a request body of at most `limit` bytes. A longer one is reported once it passes the
 * limit (`onTooLarge`) while the rest is still read and dropped, so the client can read the
 * answer instead of being reset mid-upload; a far longer one loses its connection.
 */
function collectBody(req: IncomingMessage, limit: number, onTooLarge: () => void): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else if (size - chunk.length <= limit) onTooLarge();
      if (size > DRAIN_FACTOR * limit) req.socket.destroy();
    });
    req.once('end', () => resolve(size > limit ? null : Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

/** Answer without using the body: drop it first, so the client is not reset while sending. */
function answerAfterBody(req: IncomingMessage, res: ServerResponse, limit: number, answer: () => void): void {
  if (req.complete) return answer();
  let answered = false;
  const once = () => {
    if (answered) return;
    answered = true;
    answer();
  };
  collectBody(req, limit, () => {
    res.setHeader('connection', 'close');
    once();
  }).then(once, () => req.socket.destroy());
}

class TooLargeError extends Error {}

async function readBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const tooLarge = () => new TooLargeError(`request body larger than ${limit} bytes`);
  let reportTooLarge: () => void = () => undefined;
  const early = new Promise<never>((_, reject) => (reportTooLarge = () => reject(tooLarge())));
  const body = await Promise.race([collectBody(req, limit, () => reportTooLarge()), early]);
  if (body === null) throw tooLarge();
  if (body.length === 0) return {};
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new ApiError(`request body is not valid JSON: ${(err as Error).message}`, 400);
  }
}

export function createWebServer(opts: HttpServerOptions): WebServer {
  const token = opts.token ?? newToken();
  checkTokenStrength(token);
  const limit = opts.maxBodyBytes ?? 16 * 1024 * 1024;
  const session = sessionValue(token);
  let hosts = new Set<string>();
  let port = 0;

  /** The URL token (or header) is exchanged for an HttpOnly cookie so new tabs need no token. */
  const authenticate = (req: IncomingMessage, res: ServerResponse, url: URL): boolean => {
    if (tokenMatches(token, requestToken(req, url))) {
      if (!tokenMatches(session, readCookie(req.headers.cookie, sessionCookieName(port)))) res.setHeader('set-cookie', sessionCookieHeader(port, token));
      return true;
    }
    return tokenMatches(session, readCookie(req.headers.cookie, sessionCookieName(port)));
  };

  const refuse = (req: IncomingMessage, res: ServerResponse, status: number, error: string) => answerAfterBody(req, res, limit, () => sendJson(res, status, { error }));

  const handleApi = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    if (!originAllowed(req.headers.origin, req.headers.host ?? '')) {
      refuse(req, res, 403, `origin "${req.headers.origin}" is not this server: the API answers only pages it served itself`);
      return;
    }
    if (!authenticate(req, res, url)) {
      refuse(req, res, 401, 'missing or wrong token: open the URL printed by `veripo serve` (it carries ?token=…)');
      return;
    }
    const name = url.pathname.slice('/api/'.length);
    if (name === 'events') return req.method === 'GET' ? streamEvents(req, res) : refuse(req, res, 405, 'use GET for /api/events (an event stream)');
    if (name === 'health' && req.method === 'GET') {
      const health = await opts.api.health({});
      return answerAfterBody(req, res, limit, () => sendJson(res, 200, health));
    }
    if (!isApiMethod(name)) return refuse(req, res, 404, `unknown API method "${name}"`);
    if (req.method !== 'POST') return refuse(req, res, 405, `use POST for /api/${name}`);
    try {
      const args = parseApiArgs(name, await readBody(req, limit));
      const fn = opts.api[name] as (a: unknown) => Promise<unknown>;
      sendJson(res, 200, await fn(args));
    } catch (err) {
      if (err instanceof TooLargeError) {
        // The client may still be sending: answer at once; the rest is dropped, then the connection.
        res.setHeader('connection', 'close');
        sendJson(res, 413, { error: err.message });
        return;
      }
      if (err instanceof ApiValidationError) return sendJson(res, 400, { error: err.message, issues: err.issues });
      if (err instanceof ApiError) return sendJson(res, err.status, { error: err.message });
      sendJson(res, 500, { error: (err as Error).message ?? String(err) });
    }
  };

  const streamEvents = (req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    res.write(': connected\n\n');
    const unsubscribe = opts.events.subscribe((event) => {
      res.write(`data: ${JSON.stringify(event)}\n\n`);
    });
    const keepAlive = setInterval(() => res.write(': ping\n\n'), 15_000);
    req.on('close', () => {
      clearInterval(keepAlive);
      unsubscribe();
    });
  };

  const handleStatic = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    // Files are only read: a body sent along is dropped before answering.
    if (!req.complete) await new Promise<void>((done) => answerAfterBody(req, res, limit, done));
    if (!opts.staticDir) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('the renderer is not built: run `npm run build:web` (API only at /api/*)');
      return;
    }
    const root = opts.staticDir;
    const resolved = resolveStaticPath(root, url.pathname);
    if (!resolved.ok) {
      res.writeHead(resolved.status, { 'content-type': 'text/plain' });
      res.end(resolved.reason);
      return;
    }
    // The app shell opened with ?token= is where the browser receives its session cookie.
    if (url.searchParams.has('token')) authenticate(req, res, url);
    const file = resolved.path;
    let path = file;
    try {
      const s = await stat(path);
      if (s.isDirectory()) path = join(path, 'index.html');
    } catch {
      // Client-side routes fall back to the app shell.
      path = extname(file) ? file : join(root, 'index.html');
    }
    try {
      const body = await readFile(path);
      res.writeHead(200, {
        'content-type': contentTypeFor(path),
        'content-security-policy': CONTENT_SECURITY_POLICY,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        'cache-control': extname(path) === '.html' ? 'no-store' : 'max-age=3600',
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    }
  };

  const server = createServer((req, res) => {
    if (!hostAllowed(req.headers.host, hosts)) {
      return answerAfterBody(req, res, limit, () => {
        res.writeHead(421, { 'content-type': 'text/plain' });
        res.end(`this server answers to ${[...hosts].join(', ')}, not to Host "${String(req.headers.host ?? '').slice(0, 200)}"`);
      });
    }
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return answerAfterBody(req, res, limit, () => sendJson(res, 400, { error: 'the request target is not a valid URL path' }));
    }
    const work = url.pathname.startsWith('/api/') ? handleApi(req, res, url) : handleStatic(req, res, url);
    work.catch((err) => {
      if (!res.headersSent) sendJson(res, 500, { error: String(err) });
      else res.end();
    });
  });

  // A request Node's parser refuses (a malformed header, a chunked OPTIONS) gets a JSON 400
  // naming the parser's reason rather than a bare one; a socket already gone gets nothing.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable || (err.code === 'ECONNRESET')) return socket.destroy();
    const body = JSON.stringify({ error: `the request could not be parsed (${err.code ?? 'HPE_INVALID'})` });
    socket.end(`HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  });

  return {
    server,
    token,
    listen(wanted, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(wanted, host, () => {
          const addr = server.address();
          const actual = typeof addr === 'object' && addr ? addr.port : wanted;
          hosts = allowedHosts(host, actual, opts.interfaces);
          port = actual;
          const shownHost = host.includes(':') ? `[${host}]` : host;
          resolve({ url: `http://${shownHost}:${actual}/?token=${token}`, port: actual, host });
        });
      });
    },
    close() {
      return new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      });
    },
  };
}

// A raw HTTP client for the web-mode tests: fetch() will not send a forged Host header or
// a malformed path, which is exactly what these tests need to send.
import { request, Agent } from 'node:http';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json(): { error?: string; issues?: { path: string; message: string }[] } & Record<string, unknown>;
}

export function rawRequest(
  port: number,
  opts: { method?: string; path?: string; headers?: Record<string, string>; body?: string | Uint8Array; agent?: Agent | false },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: opts.method ?? 'GET',
        path: opts.path ?? '/',
        headers: { host: `127.0.0.1:${port}`, ...opts.headers },
        agent: opts.agent ?? false,
      },
      (res) => {
        // The event stream never ends by design: its status and headers are the answer.
        if (String(res.headers['content-type']).startsWith('text/event-stream')) {
          res.destroy();
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: '', json: () => ({}) });
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
        });
        res.on('error', reject);
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => {
      // A kept-alive socket the server closed after its last answer (413, an unread body) is a
      // client-side race, not an answer: Node's documented remedy is to retry on a new socket.
      if (err.code === 'ECONNRESET' && req.reusedSocket) rawRequest(port, { ...opts, agent: false }).then(resolve, reject);
      else reject(err);
    });
    // A request the server never answers is a failure of the server, reported as such.
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer to ${opts.method ?? 'GET'} ${opts.path} within 10 s`)));
    if (opts.body != null) req.end(opts.body);
    else req.end();
  });
}

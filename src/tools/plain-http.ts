// HTTP requests of the command-line tools and benchmarks through node:http(s): a large body goes to the socket as it is,
// where fetch streams it through a web stream (~25 µs of client CPU per 15 KB JSON row, 6 µs per Arrow row, measured
// on 2 cores), which matters when a bulk import shares the machine with the server it loads.
import http from 'node:http';
import https from 'node:https';
import { IDLE_SOCKET_MS } from '../client/node-http.js';

/** An answer: its status and its body as text. */
export interface PlainAnswer {
  status: number;
  text: string;
}

// Idle connections are closed before the server's own idle timeout (10 s) could close one under a new request.
const agentOptions = { keepAlive: true, timeout: IDLE_SOCKET_MS };
const agents = { http: new http.Agent(agentOptions), https: new https.Agent(agentOptions) };

/** Sends one request and reads the whole answer; rejects when the server cannot be reached or the connection drops. */
export function plainRequest(url: string, method: string, headers: Record<string, string>, body?: Uint8Array | string): Promise<PlainAnswer> {
  const target = new URL(url);
  const secure = target.protocol === 'https:';
  const payload = typeof body === 'string' ? Buffer.from(body) : body;
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).request(
      target,
      { method, agent: secure ? agents.https : agents.http, headers: payload ? { ...headers, 'content-length': String(payload.byteLength) } : headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

// Content negotiation for /metrics: OpenMetrics (with exemplars) when the scraper asks for it, gzip when it accepts it.
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';

const gzipAsync = promisify(gzip);

/** Whether an `Accept` header asks for OpenMetrics (Prometheus offers it first by default; q=0 refuses it). */
export function wantsOpenMetrics(accept: string): boolean {
  return offered(accept, 'application/openmetrics-text');
}

/** Whether an `Accept-Encoding` header accepts gzip (Prometheus always sends `gzip`). */
export function acceptsGzip(acceptEncoding: string): boolean {
  return offered(acceptEncoding, 'gzip');
}

function offered(header: string, token: string): boolean {
  for (const part of header.toLowerCase().split(',')) {
    const [name, ...params] = part.split(';').map((p) => p.trim());
    if (name !== token) continue;
    const q = params.find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  }
  return false;
}

/** The answer body: gzip-compressed (off the front thread's loop, in libuv's pool) when the scraper accepts it. */
export async function encodeExposition(body: string, acceptEncoding: string): Promise<{ body: string | Buffer; headers: Array<[string, string]> }> {
  if (!acceptsGzip(acceptEncoding)) return { body, headers: [] };
  return { body: await gzipAsync(body), headers: [['Content-Encoding', 'gzip'], ['Vary', 'Accept-Encoding']] };
}

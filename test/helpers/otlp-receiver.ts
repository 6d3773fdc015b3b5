// A real OTLP/HTTP trace receiver on loopback: keeps every POST to /v1/traces, decodes OTLP/JSON bodies into spans.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A span as OTLP/JSON carries it, with its attributes flattened to a plain object. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  startNs: bigint;
  endNs: bigint;
  status: { code?: number; message?: string };
  attributes: Record<string, string | number | boolean>;
  serviceName: string;
}

export interface OtlpReceiver {
  endpoint: string;
  /** Every request body received, with its content type. */
  posts: Array<{ contentType: string; body: Buffer }>;
  /** Spans decoded from the OTLP/JSON posts so far. */
  spans(): ReceivedSpan[];
  /** Waits until `predicate` holds for the spans received (polling), or fails after `ms`. */
  waitFor(predicate: (spans: ReceivedSpan[]) => boolean, ms?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

interface OtlpValue { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean }

function plain(value: OtlpValue): string | number | boolean {
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  return value.boolValue ?? '';
}

function attributesOf(list: Array<{ key: string; value: OtlpValue }> | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of list ?? []) out[key] = plain(value);
  return out;
}

/** Starts the receiver on a free loopback port. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const posts: Array<{ contentType: string; body: Buffer }> = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces') posts.push({ contentType: req.headers['content-type'] ?? '', body: Buffer.concat(chunks) });
      const json = (req.headers['content-type'] ?? '').includes('json');
      res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
      res.end(json ? '{}' : '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const spans = (): ReceivedSpan[] => {
    const out: ReceivedSpan[] = [];
    for (const post of posts) {
      if (!post.contentType.includes('json')) continue;
      const doc = JSON.parse(post.body.toString('utf8')) as { resourceSpans: any[] };
      for (const rs of doc.resourceSpans ?? []) {
        const serviceName = String(attributesOf(rs.resource?.attributes)['service.name'] ?? '');
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) {
            out.push({
              traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId ?? '', name: s.name, kind: s.kind,
              startNs: BigInt(s.startTimeUnixNano), endNs: BigInt(s.endTimeUnixNano), status: s.status ?? {},
              attributes: attributesOf(s.attributes), serviceName,
            });
          }
        }
      }
    }
    return out;
  };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    posts,
    spans,
    waitFor: async (predicate, ms = 10_000) => {
      const deadline = Date.now() + ms;
      for (;;) {
        const now = spans();
        if (predicate(now)) return now;
        if (Date.now() > deadline) throw new Error(`OTLP receiver: condition not met within ${ms} ms; got ${now.length} spans: ${now.map((s) => s.name).join(', ')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

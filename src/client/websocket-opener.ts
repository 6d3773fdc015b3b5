// Opens a WebSocket with the platform's own class (browsers, Node 22+) or, where there is none (Node 20), the `ws`
// package, loaded only then so that browser bundles and plain HTTP use never touch it.
import { VecStoreError, errorFromAnswer } from './errors.js';

/** The part of the WHATWG WebSocket interface the query stream uses; `ws` implements it too. */
export interface SocketLike {
  readonly readyState: number;
  binaryType: string;
  send(data: string | ArrayBuffer): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'close', listener: (event: { code: number; reason: string }) => void): void;
  addEventListener(type: 'error', listener: (event: unknown) => void): void;
}

/** Offered so the server answers with it; browsers send the API key as a second offer (they cannot set headers). */
const PROTOCOL = 'vecstore';
const KEY_PROTOCOL_PREFIX = 'api-key.';
/** A variable, not a literal: bundlers must not try to pack `ws` into browser builds. */
const WS_PACKAGE = 'ws';

interface WsModule {
  WebSocket: new (url: string, protocols: string[], options: Record<string, unknown>) => SocketLike & {
    once(event: 'open', fn: () => void): void;
    once(event: 'error', fn: (err: Error) => void): void;
    once(event: 'unexpected-response', fn: (req: unknown, res: AsyncIterable<Buffer> & { statusCode?: number }) => void): void;
  };
}

/** Opens `url` (ws:// or wss://) and resolves once it is open; a refused upgrade is a VecStoreError with its status. */
export async function openWebSocket(url: string, apiKey: string | undefined, timeoutMs: number): Promise<SocketLike> {
  const Native = (globalThis as { WebSocket?: new (url: string, protocols: string[]) => SocketLike }).WebSocket;
  if (Native) {
    const socket = new Native(url, apiKey === undefined ? [PROTOCOL] : [PROTOCOL, KEY_PROTOCOL_PREFIX + apiKey]);
    return whenOpen(socket, url, timeoutMs, (resolve, reject) => {
      socket.addEventListener('error', () => reject(new VecStoreError({ status: 0, code: 'network', message: `websocket ${url}: could not connect (the browser gives no reason; a wrong API key is one)` })));
      (socket as unknown as { addEventListener(type: 'open', fn: () => void): void }).addEventListener('open', resolve);
    });
  }
  const { WebSocket } = (await import(WS_PACKAGE)) as WsModule;
  const socket = new WebSocket(url, [PROTOCOL], {
    headers: apiKey === undefined ? {} : { authorization: `Bearer ${apiKey}` },
    perMessageDeflate: false,
    maxPayload: 256 * 1024 * 1024,
  });
  // `ws` throws an 'error' event nobody listens to (closing it while it connects emits one): keep a listener for good.
  socket.addEventListener('error', () => {});
  return whenOpen(socket, url, timeoutMs, (resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', (err) => reject(new VecStoreError({ status: 0, code: 'network', message: `websocket ${url}: ${err.message}`, cause: err })));
    // The server refuses an upgrade with an ordinary JSON error answer (401, 403, 429): read it for status and code.
    socket.once('unexpected-response', (_req, res) => {
      void (async () => {
        const chunks: Buffer[] = [];
        for await (const chunk of res) chunks.push(chunk);
        reject(errorFromAnswer(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8')));
      })().catch((err: unknown) => reject(new VecStoreError({ status: res.statusCode ?? 0, code: 'network', message: `websocket ${url}: upgrade refused`, cause: err })));
    });
  });
}

function whenOpen(
  socket: SocketLike,
  url: string,
  timeoutMs: number,
  wire: (resolve: () => void, reject: (err: VecStoreError) => void) => void,
): Promise<SocketLike> {
  return new Promise<SocketLike>((resolve, reject) => {
    let settled = false;
    const timer = timeoutMs > 0 && Number.isFinite(timeoutMs)
      ? setTimeout(() => fail(new VecStoreError({ status: 0, code: 'timeout', message: `websocket ${url}: not open within ${timeoutMs} ms (timeoutMs)` })), timeoutMs)
      : undefined;
    function fail(err: VecStoreError): void {
      if (settled) return;
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      try {
        socket.close();
      } catch {
        // closing a socket that never opened may throw in some implementations; it is being dropped either way
      }
      reject(err);
    }
    wire(() => {
      if (settled) return;
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      resolve(socket);
    }, fail);
  });
}

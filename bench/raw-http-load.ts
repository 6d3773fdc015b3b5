// A lean HTTP/1.1 load generator for the query benchmarks, as wrk is for web servers: every query is encoded once, exactly
// as the TypeScript client sends it, and written whole on its own keep-alive connection; answers are read by their
// Content-Length. The benchmarks run the server and the load on the same cores, and the TypeScript client over node:http
// takes ~150 µs of CPU a query where this takes a third of that: CPU that would otherwise be taken from the server.
import net from 'node:net';
import { VecStoreError } from '../src/client/index.js';
import { errorFromAnswer } from '../src/client/errors.js';
import { pathWithQuery, type HttpRequest } from '../src/client/http-transport.js';

/** The bytes of a whole request to `host`: request line, headers, body. */
export function encodeRequest(request: HttpRequest, host: string, apiKey: string | undefined): Buffer {
  let body: Buffer;
  let contentType: string;
  if (request.bytes) {
    const b = request.bytes.body;
    if (!(b instanceof Uint8Array)) throw new TypeError('raw load: a request body must be bytes');
    body = Buffer.from(b);
    contentType = request.bytes.contentType;
  } else {
    body = Buffer.from(JSON.stringify(request.json));
    contentType = 'application/json';
  }
  const head =
    `${request.method} ${pathWithQuery(request)} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: ${contentType}\r\n` +
    `Content-Length: ${body.length}\r\n${apiKey === undefined ? '' : `Authorization: Bearer ${apiKey}\r\n`}\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

const HEAD_END = Buffer.from('\r\n\r\n');

/** One keep-alive connection with one request in flight; it reconnects when the server has closed it. */
export class RawConnection {
  private socket: net.Socket | undefined;
  private buffered: Buffer = Buffer.alloc(0);
  private waiting: { resolve(body: Buffer): void; reject(err: Error): void } | undefined;

  constructor(private readonly port: number, private readonly hostname: string) {}

  /** Sends a whole request (see encodeRequest); resolves with the body of a 2xx answer, rejects with a VecStoreError. */
  send(request: Buffer): Promise<Buffer> {
    if (this.waiting) return Promise.reject(new Error('raw load: one request at a time on a connection'));
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.connected().write(request);
    });
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }

  private connected(): net.Socket {
    if (this.socket && !this.socket.destroyed) return this.socket;
    const socket = net.connect({ port: this.port, host: this.hostname, noDelay: true });
    this.buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
      this.readAnswer();
    });
    const lost = (err?: Error): void => {
      // A connection this side closed (after an answer with `Connection: close`) carries no request any more.
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.settle(new VecStoreError({ status: 0, code: 'network', message: `no answer from the server (${err?.message ?? 'connection closed'})`, cause: err }));
    };
    socket.on('error', lost);
    socket.on('close', () => lost());
    this.socket = socket;
    return socket;
  }

  /** Completes the request in flight once its whole answer is buffered. */
  private readAnswer(): void {
    const headEnd = this.buffered.indexOf(HEAD_END);
    if (headEnd < 0 || !this.waiting) return;
    const head = this.buffered.toString('latin1', 0, headEnd);
    const status = Number(head.slice(9, 12));
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (!length) {
      this.close();
      this.settle(new VecStoreError({ status, code: 'invalid_response', message: 'raw load: an answer without Content-Length' }));
      return;
    }
    const end = headEnd + HEAD_END.length + Number(length[1]);
    if (this.buffered.length < end) return;
    const body = this.buffered.subarray(headEnd + HEAD_END.length, end);
    this.buffered = this.buffered.subarray(end);
    if (/\r\nconnection:\s*close/i.test(head)) this.close();
    if (status >= 200 && status <= 299) this.settle(undefined, body);
    else this.settle(errorFromAnswer(status, body.toString('utf8')));
  }

  private settle(err: Error | undefined, body?: Buffer): void {
    const waiting = this.waiting;
    if (!waiting) return;
    this.waiting = undefined;
    if (err) waiting.reject(err);
    else waiting.resolve(body!);
  }
}

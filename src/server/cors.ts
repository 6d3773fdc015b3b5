// CORS for browser applications (`--cors-origin`, off by default): preflight answers and the headers on every answer.

/** Request headers a browser may send across origins (beyond the CORS-safelisted ones). */
const ALLOWED_HEADERS = 'Content-Type, Authorization, Api-Key, Traceparent';
const ALLOWED_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';
/** Response headers a browser script may read besides the safelisted ones. */
const EXPOSED_HEADERS = 'Traceresponse, Allow, Retry-After';
/** Seconds a browser may cache a preflight answer. */
const PREFLIGHT_MAX_AGE = '600';

/**
 * Which origins may call the server from a browser: exact origins (`https://app.example.com`) or `*` for any. Answers
 * to an allowed origin carry Access-Control-Allow-Origin; with exact origins the answer also varies by Origin, so a
 * cache never serves one origin's answer to another.
 */
export class CorsPolicy {
  private readonly origins: ReadonlySet<string>;
  private readonly any: boolean;

  constructor(origins: readonly string[]) {
    this.any = origins.includes('*');
    this.origins = new Set(origins.map((o) => o.replace(/\/+$/, '')));
  }

  get enabled(): boolean {
    return this.any || this.origins.size > 0;
  }

  /** Headers for an ordinary answer to a request with this Origin header ('' when absent). */
  answerHeaders(origin: string): Array<[string, string]> {
    if (!this.enabled) return [];
    if (this.any) return [['Access-Control-Allow-Origin', '*'], ['Access-Control-Expose-Headers', EXPOSED_HEADERS]];
    const vary: [string, string] = ['Vary', 'Origin'];
    if (origin === '' || !this.origins.has(origin)) return [vary];
    return [['Access-Control-Allow-Origin', origin], vary, ['Access-Control-Expose-Headers', EXPOSED_HEADERS]];
  }

  /**
   * Headers answering a preflight (`OPTIONS` with Origin and Access-Control-Request-Method), or undefined when the
   * request is not a preflight from an allowed origin (it is then routed like any other request).
   */
  preflightHeaders(method: string, origin: string, requestMethod: string): Array<[string, string]> | undefined {
    if (method !== 'OPTIONS' || origin === '' || requestMethod === '' || !this.enabled) return undefined;
    if (!this.any && !this.origins.has(origin)) return undefined;
    return [
      ['Access-Control-Allow-Origin', this.any ? '*' : origin],
      ...(this.any ? [] : [['Vary', 'Origin'] as [string, string]]),
      ['Access-Control-Allow-Methods', ALLOWED_METHODS],
      ['Access-Control-Allow-Headers', ALLOWED_HEADERS],
      ['Access-Control-Max-Age', PREFLIGHT_MAX_AGE],
    ];
  }
}

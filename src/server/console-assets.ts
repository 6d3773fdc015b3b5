// The web console's static files (page, styles, compiled modules, uPlot), read once at start-up and answered with
// their content type, an ETag, revalidation caching and a strict Content-Security-Policy.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** One file as it is answered. */
export interface ConsoleAsset {
  body: Buffer;
  contentType: string;
  etag: string;
}

/** The package root, from dist/src/server/ (where this module is compiled to). */
const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/**
 * No inline scripts or styles, nothing from elsewhere, no framing. uPlot sets styles through the CSSOM (element.style),
 * which style-src does not restrict.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
  "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
].join('; ');

/** Headers of every console answer. Revalidated each time (`no-cache` + ETag): the file names carry no version. */
export const CONSOLE_HEADERS: ReadonlyArray<[string, string]> = [
  ['Content-Security-Policy', CONTENT_SECURITY_POLICY],
  ['X-Content-Type-Options', 'nosniff'],
  ['Referrer-Policy', 'no-referrer'],
  ['Cache-Control', 'no-cache'],
];

/** The console's files by URL name (`index.html` is the page at `/console`). */
export class ConsoleAssets {
  private constructor(private readonly files: ReadonlyMap<string, ConsoleAsset>) {}

  /**
   * Reads what `npm run build` put in dist/console/ (the modules compiled from console/src/, the page and styles copied
   * from console/public/), the client (dist/src/client/) and uPlot's browser build from node_modules. Missing files are left out (the console then answers 404 for them), so a server
   * built without the console still starts.
   */
  static load(root = PACKAGE_ROOT): ConsoleAssets {
    const files = new Map<string, ConsoleAsset>();
    const add = (name: string, file: string) => {
      let body: Buffer;
      try {
        body = fs.readFileSync(file);
      } catch {
        return;
      }
      const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
      files.set(name, { body, contentType: CONTENT_TYPES[path.extname(name)] ?? 'application/octet-stream', etag });
    };
    const addDir = (prefix: string, dir: string) => {
      let names: string[] = [];
      try {
        names = fs.readdirSync(dir);
      } catch {
        // Not built: these console files answer 404.
      }
      for (const name of names) if (CONTENT_TYPES[path.extname(name)] && !name.endsWith('.d.ts')) add(prefix + name, path.join(dir, name));
    };
    addDir('', path.join(root, 'dist/console'));
    // The package's client as compiled for Node serves browsers as it is (ES modules on fetch); its one import outside
    // src/client/, the error catalogue, is answered where its relative URL points (/console/errors.js).
    addDir('client/', path.join(root, 'dist/src/client'));
    add('errors.js', path.join(root, 'dist/src/errors.js'));
    // Resolved from this package, so a hoisted or nested node_modules both work.
    const require = createRequire(path.join(root, 'package.json'));
    try {
      add('uplot.iife.min.js', require.resolve('uplot/dist/uPlot.iife.min.js'));
      add('uplot.min.css', require.resolve('uplot/dist/uPlot.min.css'));
    } catch {
      // uPlot missing: the live charts say so; the rest of the console works.
    }
    return new ConsoleAssets(files);
  }

  get(name: string): ConsoleAsset | undefined {
    return this.files.get(name);
  }
}

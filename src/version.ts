// The package's name and version, read once from package.json (for `vecstore --version` and `GET /`).
import { readFileSync } from 'node:fs';

/** package.json sits two levels above the compiled module (dist/src/version.js). */
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { name: string; version: string };

export const PACKAGE_NAME: string = pkg.name;
export const VERSION: string = pkg.version;

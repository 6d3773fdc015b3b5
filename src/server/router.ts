// Matches a method and path to a route template, telling 404 (no such path) from 405 (path exists, method does not).
import type { HttpMethod, Route } from './routes.js';

export type RouteMatch =
  | { kind: 'found'; route: Route; params: string[] }
  | { kind: 'method_not_allowed'; template: string; allowed: HttpMethod[] }
  | { kind: 'not_found' };

/** The label every unknown path falls into, so no request can create a new time series. */
export const UNKNOWN_ENDPOINT = 'unknown';

/** A table of routes split into path segments; `:name` segments match any one segment. */
export class Router {
  private readonly entries: Array<{ route: Route; segments: string[] }>;
  /** Routes without parameters, by `METHOD path`: the common case costs one map lookup. */
  private readonly exact = new Map<string, RouteMatch>();

  constructor(routes: Route[]) {
    this.entries = routes.map((route) => ({ route, segments: route.path.split('/') }));
    for (const route of routes) {
      if (!route.path.includes(':')) this.exact.set(`${route.method} ${route.path}`, { kind: 'found', route, params: [] });
    }
  }

  match(method: string, path: string): RouteMatch {
    const exact = this.exact.get(`${method} ${path}`);
    if (exact) return exact;
    const segments = (path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path).split('/');
    let pathMatch: { template: string; allowed: HttpMethod[] } | undefined;
    for (const { route, segments: template } of this.entries) {
      const params = matchSegments(template, segments);
      if (!params) continue;
      if (route.method === method || (method === 'HEAD' && route.method === 'GET')) return { kind: 'found', route, params };
      pathMatch ??= { template: route.path, allowed: [] };
      pathMatch.allowed.push(route.method);
    }
    return pathMatch ? { kind: 'method_not_allowed', ...pathMatch } : { kind: 'not_found' };
  }
}

function matchSegments(template: string[], path: string[]): string[] | undefined {
  if (template.length !== path.length) return undefined;
  const params: string[] = [];
  for (let i = 0; i < template.length; i++) {
    if (template[i].startsWith(':')) {
      if (path[i] === '') return undefined;
      params.push(path[i]);
    } else if (template[i] !== path[i]) return undefined;
  }
  return params;
}

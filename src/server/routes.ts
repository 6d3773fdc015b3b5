// The VecStore HTTP API as one route table: templates, what access a route needs and on which collection, and the
// handler. Collection data routes are written once (collection-routes.ts) and mounted for `default` and by name.
import { VecStoreError } from '../errors.js';
import type { Catalog } from '../catalog/catalog.js';
import { parseCollectionSettings, DEFAULT_COLLECTION } from '../catalog/collection-settings.js';
import type { Limits } from '../engine/limits.js';
import type { MetricName } from '../distance/metric.js';
import type { VecStoreMetrics } from '../metrics/metrics.js';
import { canSee, type Authenticator } from './auth.js';
import type { Route } from '../api/route-types.js';
import { collectionRoutes } from '../api/collection-routes.js';
import { decodeParam, input } from '../api/route-input.js';
import { consoleApiRoutes } from './console-routes.js';
import type { LiveSummary } from './live-summary.js';
import { buildOpenApi } from '../api/openapi.js';
import * as S from '../api/schemas.js';
import { Type } from '@sinclair/typebox';
import { encodeExposition, wantsOpenMetrics } from '../metrics/exposition-encoding.js';
import type { ParsePool } from '../ingest/parse-pool.js';
import { PACKAGE_NAME, VERSION } from '../version.js';

export type { HttpMethod, Route, RouteAnswer, RouteContext } from '../api/route-types.js';

export interface RouteDependencies {
  catalog: Catalog;
  limits: Limits;
  /** Metric of collections created without one. */
  defaultMetric: MetricName;
  metrics: VecStoreMetrics | undefined;
  /** Parses large and Arrow batch bodies off the front thread (inline without it). */
  parser?: ParsePool;
  /** Keys, for `GET /v1/auth/whoami` (absent: no keys, the API is open). */
  auth?: Authenticator;
  /** The sampled metrics behind `GET /v1/console/summary` (absent: 404, as with --no-metrics). */
  live?: LiveSummary;
  isReady(): boolean;
}

/** Builds every route of the API. */
export function buildRoutes(deps: RouteDependencies): Route[] {
  const { catalog, metrics, limits } = deps;
  const routes: Route[] = [
    { method: 'GET', path: '/', access: 'open', doc: { summary: 'Which server this is and where its API is described.', tag: 'server', answers: { 200: S.RootAnswer }, errors: [] }, handler: () => ({ json: ROOT }) },
    {
      method: 'GET', path: '/openapi.json', access: 'open',
      doc: { summary: 'This document: every HTTP route, its parameters, bodies, answers and error codes (OpenAPI 3.1).', tag: 'server', answers: { 200: Type.Object({ openapi: Type.Literal('3.1.0') }, { description: 'The OpenAPI document.' }) }, errors: [] },
      // Built once, on first request, from the finished table (routes added below included).
      handler: () => ({ json: (openapi ??= JSON.stringify(buildOpenApi(routes, VERSION))) }),
    },
    { method: 'GET', path: '/health', access: 'open', doc: { summary: 'Liveness: the process answers.', tag: 'server', answers: { 200: S.HealthAnswer }, errors: [] }, handler: () => ({ json: HEALTHY }) },
    {
      method: 'GET', path: '/ready', access: 'open',
      doc: { summary: 'Readiness: 200 once the data is recovered and the workers are up, else 503.', tag: 'server', answers: { 200: S.ReadyAnswer, 503: S.ReadyAnswer }, errors: [] },
      handler: () => (deps.isReady() ? { json: { status: 'ready' } } : { status: 503, json: { status: 'not_ready' } }),
    },
    {
      method: 'GET', path: '/metrics', access: 'read', headers: ['accept', 'accept-encoding'],
      doc: {
        summary: 'Prometheus metrics (OpenMetrics with exemplars when Accept asks for it; gzip when Accept-Encoding allows). Needs a key only with --metrics-auth.',
        tag: 'server', answers: { 200: { contentType: 'text/plain', description: 'Prometheus text exposition format 0.0.4 (or application/openmetrics-text when asked for).' } }, errors: ['not_found'],
      },
      handler: async (ctx) => {
        if (!metrics) throw new VecStoreError('not_found', 'metrics: disabled by --no-metrics');
        const { body, contentType } = await metrics.exposition(wantsOpenMetrics(ctx.headers.accept));
        const encoded = await encodeExposition(body, ctx.headers['accept-encoding']);
        return { text: { body: encoded.body, contentType }, headers: encoded.headers };
      },
    },
    {
      method: 'GET', path: '/v1/collections', access: 'read',
      doc: { summary: 'The collections the caller\'s key may see.', tag: 'collections', answers: { 200: S.CollectionListAnswer }, errors: [] },
      handler: (ctx) => ({ json: { collections: catalog.list().filter((c) => canSee(ctx.principal, c.name)).map((c) => c.summary()) } }),
    },
    {
      method: 'PUT', path: '/v1/collections/:name', access: 'admin', collection: 'param',
      doc: {
        summary: 'Create a collection (201), or confirm one with the same settings (200).', tag: 'collections', body: { kind: 'createCollection', required: false },
        answers: { 200: S.CollectionInfo, 201: S.CollectionInfo }, errors: ['conflict', 'too_many_collections', 'dimension_too_large', 'storage'],
      },
      handler: async (ctx) => {
        const settings = input(ctx, (body) => parseCollectionSettings(body, catalog.defaults, limits.maxDimension));
        const { collection, created } = await catalog.create(decodeParam(ctx.params[0], 'name'), settings);
        return { status: created ? 201 : 200, json: collection.describe() };
      },
    },
    {
      method: 'GET', path: '/v1/collections/:name', access: 'read', collection: 'param',
      doc: { summary: 'A collection\'s settings and stats.', tag: 'collections', answers: { 200: S.CollectionInfo }, errors: [] },
      handler: (ctx) => ({ json: catalog.require(decodeParam(ctx.params[0], 'name')).describe() }),
    },
    {
      method: 'DELETE', path: '/v1/collections/:name', access: 'admin', collection: 'param',
      doc: { summary: 'Drop a collection: its memory is freed and its files removed.', tag: 'collections', answers: { 200: S.DropCollectionAnswer }, errors: ['storage'] },
      handler: async (ctx) => {
        await catalog.drop(decodeParam(ctx.params[0], 'name'));
        return { json: { deleted: true } };
      },
    },
  ];
  // The console's API calls (whoami, live summary): documented routes like the others; its page is not API (app.ts).
  routes.push(...consoleApiRoutes({ auth: deps.auth, live: deps.live }));
  let openapi: string | undefined;
  for (const route of collectionRoutes(limits, metrics, deps.parser)) {
    routes.push({
      method: route.method, path: `/v1${route.suffix}`, access: route.access, collection: 'default', doc: route.doc, streamBody: route.streamBody,
      handler: (ctx) => {
        if (!route.createsDefault) return route.handler(catalog.defaultForRead(), ctx);
        return catalog.defaultForWrite().then((c) => route.handler(c, ctx));
      },
    });
    routes.push({
      method: route.method, path: `/v1/collections/:name${route.suffix}`, access: route.access, collection: 'param', doc: route.doc, streamBody: route.streamBody,
      handler: (ctx) => route.handler(catalog.require(decodeParam(ctx.params[0], 'name')), { ...ctx, params: ctx.params.slice(1) }),
    });
  }
  return routes;
}

/** The collection a request acts on, for key scopes (undefined: none in particular). */
export function requestCollection(route: Route, params: string[]): string | undefined {
  if (route.collection === 'default') return DEFAULT_COLLECTION;
  if (route.collection === 'param') return decodeParam(params[0], 'name');
  return undefined;
}

/** What `GET /` tells a visitor: which server this is and where its API is described. */
const ROOT = JSON.stringify({
  name: PACKAGE_NAME,
  version: VERSION,
  links: { openapi: '/openapi.json', metrics: '/metrics', docs: 'README.md#http-api' },
});

/** Serialised once: `/health` is probed constantly and is the cheapest answer the server gives. */
const HEALTHY = '{"status":"healthy"}';

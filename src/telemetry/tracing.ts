// Tracing as the request path sees it: the switch (standard OTEL_* variables or --tracing), and a lazy loader that
// imports the OpenTelemetry SDK only when tracing is on, so a server without tracing never loads it.
import { VecStoreError } from '../errors.js';

/** The OTLP encodings VecStore exports with (OTLP/gRPC is not offered). */
export type OtlpProtocol = 'http/protobuf' | 'http/json';

export interface TracingConfig {
  protocol: OtlpProtocol;
  /** `service.name` of every span (OTEL_SERVICE_NAME, default `vecstore`). */
  serviceName: string;
  /** Where spans go, for the log line at start-up (the exporter itself reads the OTEL_* variables). */
  endpoint: string;
}

/** One server span: an HTTP request or a WebSocket query. */
export interface RequestSpan {
  /** `00-<trace id>-<span id>-<flags>`, the W3C `traceresponse` value the answer carries. */
  readonly traceresponse: string;
  /** The trace id when this request is sampled (exemplars link to sampled traces only), else undefined. */
  readonly sampledTraceId: string | undefined;
  /** Runs `fn` with this span active: child spans and log lines written inside attach to it. */
  run<T>(fn: () => T): T;
  /** Ends the span. `status` is the HTTP status (or the status the error code maps to, for WebSocket queries). */
  end(status: number, error?: { code: string; message: string }): void;
}

export interface RequestSpanStart {
  transport: 'http' | 'websocket';
  method: string;
  /** The route template (`/v1/delete/:id`), never the raw path: span names must not grow with ids. */
  route: string;
  /** The caller's W3C `traceparent`, continued when valid. */
  traceparent: string | undefined;
  /** The collection the request names (`vecstore.collection`), when it names one. */
  collection: string | undefined;
}

export interface Tracing {
  startRequest(start: RequestSpanStart): RequestSpan;
  /** Exports what is buffered and stops. */
  shutdown(): Promise<void>;
}

/**
 * Reads the standard variables. Tracing is on when `--tracing` is given or an OTLP endpoint variable is set, and off when
 * OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none. Returns undefined when off.
 */
export function tracingConfig(flag: boolean, env: NodeJS.ProcessEnv = process.env): TracingConfig | undefined {
  const endpointVar = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true' || env.OTEL_TRACES_EXPORTER?.trim() === 'none') return undefined;
  if (!flag && !endpointVar) return undefined;
  const protocolName = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const protocol = (env[protocolName] || 'http/protobuf').trim();
  if (protocol !== 'http/protobuf' && protocol !== 'http/json') {
    throw new VecStoreError('validation', `${protocolName}: ${JSON.stringify(protocol)} is not supported; use "http/protobuf" or "http/json"`);
  }
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || (env.OTEL_EXPORTER_OTLP_ENDPOINT ? `${env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/$/, '')}/v1/traces` : 'http://localhost:4318/v1/traces');
  return { protocol, serviceName: env.OTEL_SERVICE_NAME || 'vecstore', endpoint };
}

/** Loads the OpenTelemetry SDK and starts exporting (the SDK is imported here and nowhere else). */
export async function startTracing(config: TracingConfig): Promise<Tracing> {
  const { startOtelTracing } = await import('./otel-tracing.js');
  return startOtelTracing(config);
}

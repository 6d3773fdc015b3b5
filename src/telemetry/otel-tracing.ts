// The OpenTelemetry SDK behind the Tracing interface: provider, OTLP exporter, W3C propagation, active-span context.
// Imported only by startTracing() when tracing is on.
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, trace, defaultTextMapGetter, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { installTraceSeam, type SpanAttributes, type SpanParent } from './trace-seam.js';
import type { RequestSpan, Tracing, TracingConfig } from './tracing.js';

const SAMPLED = 1;

/** Starts the provider (sampler from OTEL_TRACES_SAMPLER / _ARG, as the SDK reads them) and installs the seam. */
export function startOtelTracing(config: TracingConfig): Tracing {
  // The exporters read OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, _HEADERS, _TIMEOUT and _COMPRESSION themselves.
  const exporter = config.protocol === 'http/json' ? new JsonExporter() : new ProtobufExporter();
  const resource = detectResources({ detectors: [envDetector] }).merge(resourceFromAttributes({ 'service.name': config.serviceName }));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(exporter)] });
  // Registers the AsyncLocalStorage context manager that carries the active span across awaits.
  provider.register({ propagator: null });
  const tracer = provider.getTracer('vecstore');
  const propagator = new W3CTraceContextPropagator();

  installTraceSeam({
    activeParent: () => {
      const span = trace.getSpan(context.active());
      return span !== undefined && span.isRecording() ? new ParentOf(tracer, span) : undefined;
    },
    logFields: () => {
      const span = trace.getSpan(context.active());
      if (span === undefined) return undefined;
      const { traceId, spanId } = span.spanContext();
      return { trace_id: traceId, span_id: spanId };
    },
  });

  return {
    startRequest: (start) => {
      const parent = start.traceparent ? propagator.extract(ROOT_CONTEXT, { traceparent: start.traceparent }, defaultTextMapGetter) : ROOT_CONTEXT;
      const http = start.transport === 'http';
      const span = tracer.startSpan(
        http ? `${start.method} ${start.route}` : `WS ${start.route}`,
        {
          kind: SpanKind.SERVER,
          attributes: {
            ...(http ? { 'http.request.method': start.method } : { 'network.protocol.name': 'websocket' }),
            'http.route': start.route,
            ...(start.collection !== undefined ? { 'vecstore.collection': start.collection } : {}),
          },
        },
        parent,
      );
      return new OtelRequestSpan(span, trace.setSpan(parent, span), http);
    },
    shutdown: async () => {
      installTraceSeam(undefined);
      await provider.shutdown();
    },
  };
}

class OtelRequestSpan implements RequestSpan {
  readonly traceresponse: string;
  readonly sampledTraceId: string | undefined;

  constructor(private readonly span: Span, private readonly ctx: Context, private readonly http: boolean) {
    const { traceId, spanId, traceFlags } = span.spanContext();
    this.traceresponse = `00-${traceId}-${spanId}-0${traceFlags & SAMPLED}`;
    this.sampledTraceId = (traceFlags & SAMPLED) === SAMPLED ? traceId : undefined;
  }

  run<T>(fn: () => T): T {
    return context.with(this.ctx, fn);
  }

  end(status: number, error?: { code: string; message: string }): void {
    if (this.http) this.span.setAttribute('http.response.status_code', status);
    if (error) this.span.setAttribute('error.type', error.code);
    // HTTP semantic conventions: a server span is an error for 5xx only; a 4xx is the client's mistake (error.type says which).
    if (status >= 500) this.span.setStatus({ code: SpanStatusCode.ERROR, message: error?.message });
    this.span.end();
  }
}

/** Attaches finished child spans (batch wait, worker scans, merge, log append, fsync) to a sampled request span. */
class ParentOf implements SpanParent {
  private readonly ctx: Context;

  constructor(private readonly tracer: Tracer, span: Span) {
    this.ctx = trace.setSpan(ROOT_CONTEXT, span);
  }

  child(name: string, startMs: number, endMs: number, attributes?: SpanAttributes, error?: string): void {
    const span = this.tracer.startSpan(name, { kind: SpanKind.INTERNAL, startTime: startMs, attributes }, this.ctx);
    if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
    span.end(endMs);
  }
}

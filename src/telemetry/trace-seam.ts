// The one seam through which inner modules (query batching, the journal, the logger) reach tracing without loading it.
// It imports nothing: with tracing off every call below is one `undefined` check.

/** Attribute values a child span carries. */
export type SpanAttributes = Record<string, string | number | boolean>;

/**
 * A sampled request span, captured on the request path, to which finished child spans are attached later (possibly
 * after the request's async context is gone, e.g. from a batch that serves many requests).
 */
export interface SpanParent {
  /**
   * Records a finished child span. Times are milliseconds: either `performance.now()` of this thread or epoch
   * milliseconds (a worker's `performance.timeOrigin + performance.now()`), as OpenTelemetry's time input reads them.
   */
  child(name: string, startMs: number, endMs: number, attributes?: SpanAttributes, error?: string): void;
}

/** What an installed tracer provides to the inner modules. */
export interface TraceSeam {
  /** The active request's span if it is sampled, else undefined. */
  activeParent(): SpanParent | undefined;
  /** `trace_id` and `span_id` of the active span for log lines, or undefined outside a traced request. */
  logFields(): Record<string, string> | undefined;
}

let seam: TraceSeam | undefined;

/** Installs (or with `undefined` removes) the process's tracer; done once by `vecstore serve` when tracing is on. */
export function installTraceSeam(next: TraceSeam | undefined): void {
  seam = next;
}

/** The active sampled request span, to hang child spans on; undefined when tracing is off or the request unsampled. */
export function activeSpanParent(): SpanParent | undefined {
  return seam?.activeParent();
}

/**
 * Fields every log line carries: `trace_id`/`span_id` while serving a traced request, nothing otherwise. A new object
 * each time: pino merges the line's own fields into what its mixin returns.
 */
export function traceLogFields(): Record<string, string> {
  return seam?.logFields() ?? {};
}

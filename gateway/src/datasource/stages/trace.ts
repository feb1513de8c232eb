/**
 * The trace stage (only when tracing is on, telemetry/tracing.ts): one client span per HTTP call to a subgraph, a
 * child of the fetch that sent it (the first of a merged call's requests), whose context the call carries to the
 * subgraph as W3C `traceparent`, so the subgraph's own spans join the same trace. The span says how many requests the
 * call served and how it ended: the HTTP status, or the failure that nulled their fields (a timeout, the breaker
 * open, a bad answer), and whether the call went on past its deadline to fill the cache (`late`).
 */
import { context, propagation, SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import type { Stage } from '../pipeline.js';

export function traceStage({ serviceName, tracer }: { serviceName: string; tracer: Tracer }): Stage {
  return (next) => async (call) => {
    const span = tracer.startSpan(`subgraph ${serviceName}`, {
      kind: SpanKind.CLIENT,
      attributes: { 'gateway.subgraph': serviceName, 'gateway.call.kind': call.kind, 'gateway.call.requests': call.requestIds.length },
    });
    const headers = { ...call.headers };
    propagation.inject(trace.setSpan(context.active(), span), headers);
    try {
      const outcome = await next({ ...call, headers });
      if (outcome.kind === 'answered') {
        span.setAttribute('http.response.status_code', outcome.response.status);
      } else {
        span.setAttributes({ 'error.type': outcome.failure.code, 'gateway.call.late': outcome.late !== undefined, ...(outcome.failure.status ? { 'http.response.status_code': outcome.failure.status } : {}) });
        span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.failure.message });
      }
      return outcome;
    } finally {
      span.end();
    }
  };
}

/**
 * OpenTelemetry traces, off unless an OTLP endpoint is set. The standard OTEL_* keys are read as the gateway's own
 * settings, so a bad value is refused at start like any other. On, the gateway registers a tracer provider for its
 * process that exports in batches over OTLP/HTTP (protobuf or JSON) to that endpoint only, and speaks W3C trace
 * context: it joins the trace a caller's `traceparent` names, and every subgraph call carries its own.
 *
 * The reference subgraphs use the same settings and provider (subgraphs/main.ts) for a server span per request.
 *
 * Spans: one per GraphQL request (runtime.ts: operation, persisted id, admission wait, status), one per fetch of a
 * plan (readPath.ts: subgraph, representations, budget, and how its cache lookups went, counted by `countOnSpan`),
 * and one per HTTP call to a subgraph (stages/trace.ts: how many requests it served, status or failure, late).
 * Off, nothing is registered, and each helper returns after one check of a variable of this module.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span, type SpanOptions, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOffSampler, AlwaysOnSampler, BatchSpanProcessor, NodeTracerProvider, ParentBasedSampler, TraceIdRatioBasedSampler, type Sampler } from '@opentelemetry/sdk-trace-node';
import type { GatewayFeature } from '../feature.js';
import { choice, isHttpUrl, text, type SettingGroup } from '../settings.js';

const SAMPLERS = ['parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio', 'always_on', 'always_off', 'traceidratio'] as const;
export type SamplerName = (typeof SAMPLERS)[number];

export interface TracingConfig {
  /** Where spans go (the traces URL itself); null: tracing is off. */
  tracesUrl: string | null;
  protocol: 'http/protobuf' | 'http/json';
  serviceName: string;
  sampler: SamplerName;
  /** The ratio of the `traceidratio` samplers. */
  samplerRatio: number;
  resourceAttributes: Record<string, string>;
}

const checkUrl = (value: string) => (isHttpUrl(value) ? null : 'must be an http:// or https:// URL');
const checkRatio = (value: string) => (/^(0(\.\d+)?|1(\.0+)?)$/.test(value) ? null : 'must be a number from 0 to 1');
const checkAttributes = (value: string) => (parseResourceAttributes(value) ? null : 'must be key=value pairs separated by commas');

export const TRACING_SETTINGS = {
  endpoint: text('OTEL_EXPORTER_OTLP_ENDPOINT', { default: null, values: 'a URL', check: checkUrl, doc: 'OpenTelemetry traces go to this OTLP/HTTP collector (spans at <endpoint>/v1/traces); unset (and OTEL_EXPORTER_OTLP_TRACES_ENDPOINT unset): tracing is off and nothing is sent anywhere (docs/OBSERVABILITY.md)' }),
  tracesEndpoint: text('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', { default: null, values: 'a URL', check: checkUrl, doc: 'the full URL spans are posted to, over OTEL_EXPORTER_OTLP_ENDPOINT' }),
  protocol: choice('OTEL_EXPORTER_OTLP_PROTOCOL', ['http/protobuf', 'http/json'] as const, { default: 'http/protobuf', doc: 'how spans are encoded for the collector' }),
  serviceName: text('OTEL_SERVICE_NAME', { default: 'gateway', values: 'a name', doc: 'the service.name of every span' }),
  sampler: choice('OTEL_TRACES_SAMPLER', SAMPLERS, { default: 'parentbased_always_on', doc: 'which traces are recorded: parentbased_* follow the caller\'s sampled flag when its traceparent has one' }),
  samplerArg: text('OTEL_TRACES_SAMPLER_ARG', { default: '1', values: '0 to 1', check: checkRatio, doc: 'the ratio of traces the traceidratio samplers record' }),
  resourceAttributes: text('OTEL_RESOURCE_ATTRIBUTES', { default: '', defaultText: 'none', values: 'key=value,...', check: checkAttributes, doc: 'more attributes of every span\'s resource (deployment.environment=prod, ...)' }),
} satisfies SettingGroup;

/** The settings read (config.ts) into what `useTracing` needs. */
export function tracingConfig(values: { endpoint: string | null; tracesEndpoint: string | null; protocol: TracingConfig['protocol']; serviceName: string; sampler: SamplerName; samplerArg: string; resourceAttributes: string }): TracingConfig {
  const base = values.endpoint?.replace(/\/+$/, '');
  return {
    tracesUrl: values.tracesEndpoint ?? (base ? `${base}/v1/traces` : null),
    protocol: values.protocol,
    serviceName: values.serviceName,
    sampler: values.sampler,
    samplerRatio: Number(values.samplerArg),
    resourceAttributes: parseResourceAttributes(values.resourceAttributes) ?? {},
  };
}

/** `k=v,k2=v2` (values percent-encoded, as the OpenTelemetry spec has it); null when malformed. */
function parseResourceAttributes(raw: string): Record<string, string> | null {
  const attributes: Record<string, string> = {};
  for (const pair of raw.split(',').map((p) => p.trim()).filter(Boolean)) {
    const at = pair.indexOf('=');
    if (at <= 0) return null;
    try {
      attributes[pair.slice(0, at).trim()] = decodeURIComponent(pair.slice(at + 1).trim());
    } catch {
      return null;
    }
  }
  return attributes;
}

function samplerOf(config: TracingConfig): Sampler {
  const ratio = new TraceIdRatioBasedSampler(config.samplerRatio);
  switch (config.sampler) {
    case 'always_on': return new AlwaysOnSampler();
    case 'always_off': return new AlwaysOffSampler();
    case 'traceidratio': return ratio;
    case 'parentbased_always_on': return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off': return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio': return new ParentBasedSampler({ root: ratio });
  }
}

export interface Tracing {
  tracer: Tracer;
  /** Flushes what is left and unregisters the provider. */
  stop(): Promise<void>;
}

/**
 * The tracer provider of this process (the gateway's, or a reference subgraph's), registered globally: W3C trace
 * context in and out, and @apollo/gateway's own spans (stock's executor) join the same traces. Null when off.
 */
export function startTracing(config: TracingConfig): Tracing | null {
  if (config.tracesUrl === null) return null;
  const Exporter = config.protocol === 'http/json' ? JsonExporter : ProtobufExporter;
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ ...config.resourceAttributes, 'service.name': config.serviceName }),
    sampler: samplerOf(config),
    spanProcessors: [new BatchSpanProcessor(new Exporter({ url: config.tracesUrl }))],
  });
  provider.register();
  const tracer = provider.getTracer('hybrid-federation-gateway');
  processTracer = tracer;
  return {
    tracer,
    async stop() {
      if (processTracer === tracer) processTracer = null;
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}

export interface TracingFeature extends GatewayFeature {
  /** Null when tracing is off. */
  readonly tracer: Tracer | null;
}

/** Tracing while the gateway runs; stopping flushes what is left. */
export function useTracing(config: TracingConfig): TracingFeature {
  const tracing = startTracing(config);
  if (!tracing) return { name: 'tracing', tracer: null };
  return {
    name: 'tracing',
    tracer: tracing.tracer,
    // The request's span learns the operation once Apollo has resolved it (a document may hold several).
    apolloPlugins: [{
      async requestDidStart() {
        return {
          async didResolveOperation({ operationName, operation }) {
            trace.getActiveSpan()?.setAttributes({ ...(operation ? { 'graphql.operation.type': operation.operation } : {}), ...(operationName ? { 'graphql.operation.name': operationName } : {}) });
          },
        };
      },
    }],
    stop: () => tracing.stop(),
  };
}

/** The tracer of this process while tracing runs: what messages (change events) carry and continue needs it. */
let processTracer: Tracer | null = null;

/** The W3C `traceparent` of the active span, for a message leaving the process (an outbox row); undefined when off. */
export function activeTraceparent(): string | undefined {
  if (!processTracer || !trace.getActiveSpan()) return undefined;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent;
}

/**
 * Runs `work` in a span whose parent is the span a message was written in (its `traceparent`; one that cannot be
 * read is ignored), so applying (or relaying) a change event continues the story of the edit that caused it. Off,
 * or without a traceparent, `work` runs as it is.
 */
export function inMessageSpan<T>(name: string, traceparent: string | undefined, attributes: Attributes, work: (span: Span | null) => T, kind: SpanKind.CONSUMER | SpanKind.PRODUCER = SpanKind.CONSUMER): T {
  if (!processTracer || !traceparent) return work(null);
  return inSpan(processTracer, name, { kind, attributes }, propagation.extract(ROOT_CONTEXT, { traceparent }), work);
}

/**
 * Runs `work` in a client span (a Redis command, a SQL query) when it runs inside a trace; background work (a poll
 * of a change feed, a probe) makes no trace of its own. Off, `work` runs as it is.
 */
export function inClientSpan<T>(name: string, attributes: Attributes, work: () => Promise<T>): Promise<T> {
  if (!processTracer || !trace.getActiveSpan()) return work();
  return inSpan(processTracer, name, { kind: SpanKind.CLIENT, attributes }, context.active(), work);
}

/** Runs synchronous `work` (planning an operation) in a span of its own when it runs inside a trace. */
export function inInternalSpan<T>(name: string, attributes: Attributes, work: () => T): T {
  if (!processTracer || !trace.getActiveSpan()) return work();
  return inSpan(processTracer, name, { attributes }, context.active(), work);
}

/**
 * A GraphQL request's server span (the gateway's, a subgraph's), in the trace the caller's `traceparent` names (a
 * new one without), around `serve`; it ends with the answer, an error for a 5xx or an answer cut off.
 */
export function inServerSpan(tracer: Tracer, req: IncomingMessage, res: ServerResponse, url: URL, serve: () => Promise<void>): Promise<void> {
  const parent = propagation.extract(ROOT_CONTEXT, req.headers);
  const span = tracer.startSpan(`graphql ${req.method ?? 'GET'}`, {
    kind: SpanKind.SERVER,
    attributes: { 'http.request.method': req.method ?? 'GET', 'url.path': url.pathname },
  }, parent);
  res.once('close', () => {
    span.setAttribute('http.response.status_code', res.statusCode);
    if (res.statusCode >= 500 || !res.writableFinished) span.setStatus({ code: SpanStatusCode.ERROR, ...(res.writableFinished ? {} : { message: 'the answer was cut off' }) });
    span.end();
  });
  return context.with(trace.setSpan(parent, span), serve);
}

/** Runs `work` in a new span under `parent`, ending it when `work` returns or, for a promise, settles (an error if it throws). */
function inSpan<T>(tracer: Tracer, name: string, options: SpanOptions, parent: Context, work: (span: Span) => T): T {
  const span = tracer.startSpan(name, options, parent);
  const failed = (error: unknown) => {
    span.setStatus({ code: SpanStatusCode.ERROR, message: String((error as Error)?.message ?? error) });
    span.end();
    throw error;
  };
  let result: T;
  try {
    result = context.with(trace.setSpan(parent, span), () => work(span));
  } catch (error) {
    return failed(error);
  }
  if (result instanceof Promise) {
    return result.then((value) => {
      span.end();
      return value;
    }, failed) as T;
  }
  span.end();
  return result;
}

/** Sets attributes on the active span, when tracing is on and one is. */
export function annotateSpan(attributes: Attributes): void {
  if (processTracer) trace.getActiveSpan()?.setAttributes(attributes);
}

const counts = new WeakMap<Span, Map<string, number>>();

/** Whether the code running now is inside a span that is recorded (tracing on, and this request sampled). */
export function inRecordedSpan(): boolean {
  return processTracer !== null && trace.getActiveSpan()?.isRecording() === true;
}

/** Adds one to a counting attribute of the active span (a fetch's cache lookups); nothing when no span is. */
export function countOnSpan(attribute: string): void {
  if (!processTracer) return;
  const span = trace.getActiveSpan();
  if (!span?.isRecording()) return;
  let byName = counts.get(span);
  if (!byName) counts.set(span, (byName = new Map()));
  const count = (byName.get(attribute) ?? 0) + 1;
  byName.set(attribute, count);
  span.setAttribute(attribute, count);
}

/** The ids a log line carries to lead to its trace; none outside a span. */
export function traceFields(): { trace_id: string; span_id: string } | Record<string, never> {
  if (!processTracer) return {};
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}

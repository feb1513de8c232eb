/**
 * OpenTelemetry traces (telemetry/tracing.ts) with real parts: the read-path fixture's subgraphs behind fault
 * proxies, the gateway in this process, and an OTLP/HTTP collector on 127.0.0.1 receiving what it exports. Stopping
 * the gateway flushes its spans, so each test reads them after a stop instead of waiting for the next batch.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { jsonLogger } from '../../src/logger.js';
import { startGateway } from '../../src/server.js';
import { deleteKeys, REDIS_URL, redisAvailable, uniqueKeyPrefix } from '../../../test/support/redis.js';
import { ACCEPT, sendAccepting } from '../support/incrementalAnswers.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlpReceiver.js';
import { PAGE, ids, startReadPathFixture, type ReadPathFixture } from '../support/readPathFixture.js';

const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';
const traceparentOf = (value: unknown) => /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/.exec(String(value ?? ''));

describe('traces', () => {
  let collector: OtlpReceiver;
  let fixture: ReadPathFixture;

  beforeEach(async () => {
    collector = await startOtlpReceiver();
    fixture = await startReadPathFixture({
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_SERVICE_NAME: 'edge-gateway', OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=test' },
    });
  });
  afterEach(async () => {
    await fixture.stop();
    await collector.stop();
  });

  /** Stops the gateway (which flushes its spans) and starts one without tracing, for the fixture's own stop. */
  const flush = () => fixture.restartGateway({ OTEL_EXPORTER_OTLP_ENDPOINT: '' });
  const children = (parent: ReceivedSpan) => collector.spans.filter((s) => s.parentSpanId === parent.spanId);

  it('joins the caller\'s trace: the request, its fetches and their subgraph calls, which carry the trace on to the subgraphs', async () => {
    const first = await fixture.query(PAGE, { ids: ids(0, 3) }, { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` });
    expect(first.status).toBe(200);
    // The same page again: brands answers from the cache this time.
    await fixture.query(PAGE, { ids: ids(0, 3) }, { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` });
    await flush();

    const requests = collector.spans.filter((s) => s.kind === 2 && s.parentSpanId === CALLER_SPAN);
    expect(requests).toHaveLength(2);
    for (const request of requests) {
      expect(request).toMatchObject({ traceId: CALLER_TRACE, name: 'graphql POST', statusCode: 0 });
      expect(request.attributes).toMatchObject({ 'graphql.operation.name': 'Page', 'graphql.operation.type': 'query', 'http.response.status_code': 200, 'gateway.incremental': false });
      expect(request.attributes['gateway.admission.wait_ms']).toBeGreaterThanOrEqual(0);
      expect(request.resource).toMatchObject({ 'service.name': 'edge-gateway', 'deployment.environment': 'test' });
    }
    // The first request planned the operation (a span of its own); the second was served by that plan.
    expect(requests.map((request) => children(request).filter((s) => s.name === 'plan').length)).toEqual([1, 0]);
    expect(requests.map((request) => request.attributes['gateway.plan.cached'])).toEqual([false, true]);
    const [cold, warm] = requests.map((request) => children(request).filter((s) => s.name.startsWith('fetch ')));
    expect(cold!.map((s) => s.name).sort()).toEqual(['fetch brands', 'fetch shop']);
    const coldBrands = cold!.find((s) => s.name === 'fetch brands')!;
    expect(coldBrands.attributes).toMatchObject({ 'gateway.subgraph': 'brands', 'gateway.fetch.kind': 'entities', 'gateway.fetch.representations': 3, 'gateway.cache.miss': 3, 'gateway.fetch.errors': 0 });
    expect(coldBrands.attributes['gateway.budget.call_timeout_ms']).toBeGreaterThan(0);
    expect(warm!.find((s) => s.name === 'fetch brands')!.attributes).toMatchObject({ 'gateway.cache.fresh': 3 });

    // The cold page's call to brands: a client span under its fetch, whose traceparent brands received.
    const [call] = children(coldBrands);
    expect(call).toMatchObject({ name: 'subgraph brands', kind: 3, traceId: CALLER_TRACE });
    expect(call!.attributes).toMatchObject({ 'gateway.call.kind': 'entities', 'gateway.call.requests': 1, 'http.response.status_code': 200 });
    const sent = fixture.brands.entityCalls().map(({ request }) => traceparentOf(request.headers.traceparent));
    expect(sent).toHaveLength(1);
    expect(sent[0]?.slice(1)).toEqual([CALLER_TRACE, call!.spanId]);
  });

  it('a failing subgraph: its call and fetch spans say how, in the request\'s trace, and the request is still answered', async () => {
    fixture.brands.fault = { kind: 'status', status: 500, body: 'upstream exploded' };
    const answer = await fixture.query(PAGE, { ids: ids(0, 2) });
    expect(answer.status).toBe(200);
    expect(answer.body.data.products).toHaveLength(2);
    await flush();

    const [request] = collector.spans.filter((s) => s.kind === 2);
    expect(request!.parentSpanId).toBe('');
    const fetch = children(request!).find((s) => s.name === 'fetch brands')!;
    expect(fetch).toMatchObject({ traceId: request!.traceId, statusCode: 2 });
    expect(fetch.attributes['gateway.fetch.errors']).toBeGreaterThan(0);
    const [call] = children(fetch);
    expect(call).toMatchObject({ name: 'subgraph brands', statusCode: 2 });
    expect(call!.attributes).toMatchObject({ 'error.type': 'SUBGRAPH_UNAVAILABLE', 'http.response.status_code': 500, 'gateway.call.late': false });
  });

  it('every deferred part of a traced page has its fetch span, warm ones too: none is served from the part memo unseen', async () => {
    const deferred = 'query DeferredBrands($ids: [ID!]!) { products(ids: $ids) { id brand { id ... @defer { name } } } }';
    for (let i = 0; i < 3; i++) {
      const answer = await sendAccepting(fixture.gateway.url, { query: deferred, variables: { ids: ids(0, 2) } }, ACCEPT['deferSpec=20220824'], { headers: { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` } });
      expect(answer.payloads).toHaveLength(2);
    }
    await flush();

    const brandFetches = collector.spans.filter((s) => s.name === 'fetch brands' && s.traceId === CALLER_TRACE);
    expect(brandFetches.map((s) => s.attributes['gateway.cache.fresh'] ?? 0)).toEqual([0, 2, 2]);
  });

  it('log lines written inside a traced request name its trace and span', async () => {
    const lines: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      // One traced gateway in this process: the fixture's goes on untraced.
      await fixture.restartGateway({ OTEL_EXPORTER_OTLP_ENDPOINT: '' });
      const gateway = await startGateway(loadConfig({ PORT: '0', SUPERGRAPH: fixture.supergraphFile, OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }), { logger: jsonLogger('warn') });
      try {
        fixture.brands.fault = { kind: 'status', status: 500, body: 'upstream exploded' };
        await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json', traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` }, body: JSON.stringify({ query: PAGE, variables: { ids: ids(0, 1) } }) });
      } finally {
        await gateway.stop();
      }
    } finally {
      process.stderr.write = write;
    }
    const failed = lines.map((line) => JSON.parse(line)).find((line) => line.msg === 'subgraph call failed');
    expect(failed).toMatchObject({ subgraph: 'brands', trace_id: CALLER_TRACE });
    expect(collector.spans.map((s) => s.spanId)).toContain(failed.span_id);
  });
});

describe.skipIf(!redisAvailable)('traces with Redis, the second cache level', () => {
  it('the second level\'s lookups are client spans under the fetch that made them', async () => {
    const collector = await startOtlpReceiver();
    const prefix = uniqueKeyPrefix('tracing');
    const fixture = await startReadPathFixture({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', REDIS_URL, REDIS_KEY_PREFIX: prefix } });
    try {
      expect((await fixture.query(PAGE, { ids: ids(0, 2) })).status).toBe(200);
      await fixture.restartGateway({ OTEL_EXPORTER_OTLP_ENDPOINT: '' });
      const fetches = new Map(collector.spans.filter((s) => s.name.startsWith('fetch ')).map((s) => [s.spanId, s]));
      const redis = collector.spans.filter((s) => s.name.startsWith('redis '));
      expect(redis.length).toBeGreaterThan(0);
      for (const span of redis) {
        expect(span).toMatchObject({ kind: 3, attributes: { 'db.system.name': 'redis' } });
        expect(fetches.has(span.parentSpanId), `${span.name} is under a fetch`).toBe(true);
      }
    } finally {
      await fixture.stop();
      await collector.stop();
      await deleteKeys(prefix);
    }
  });
});

describe('traces over OTLP/HTTP protobuf (the default protocol)', () => {
  it('posts protobuf to <endpoint>/v1/traces', async () => {
    const collector = await startOtlpReceiver();
    const fixture = await startReadPathFixture({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: `${collector.url}/` } });
    try {
      expect((await fixture.query(PAGE, { ids: ids(0, 1) })).status).toBe(200);
      await fixture.restartGateway({ OTEL_EXPORTER_OTLP_ENDPOINT: '' });
      expect(collector.posts['application/x-protobuf']).toBeGreaterThan(0);
      expect(Object.keys(collector.posts)).toEqual(['application/x-protobuf']);
    } finally {
      await fixture.stop();
      await collector.stop();
    }
  });
});

describe('traces off (no endpoint)', () => {
  it('sends nothing anywhere, and subgraphs get no traceparent from the gateway', async () => {
    const collector = await startOtlpReceiver();
    const fixture = await startReadPathFixture();
    try {
      const answer = await fixture.query(PAGE, { ids: ids(0, 2) }, { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` });
      expect(answer.status).toBe(200);
      expect(fixture.brands.entityCalls().map(({ request }) => request.headers.traceparent)).toEqual([undefined]);
    } finally {
      await fixture.stop();
      await collector.stop();
    }
    expect(collector.posts).toEqual({});
  });

  it('a bad setting is refused at start, with the key named', () => {
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT must be an http/);
    expect(() => loadConfig({ OTEL_TRACES_SAMPLER: 'sometimes' })).toThrow(/OTEL_TRACES_SAMPLER must be one of/);
    expect(() => loadConfig({ OTEL_TRACES_SAMPLER_ARG: '1.5' })).toThrow(/OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1/);
  });
});

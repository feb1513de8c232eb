/**
 * One trace from the caller through the gateway to the subgraphs, as real processes: the three reference subgraphs
 * and a gateway, each exporting its spans over OTLP/HTTP to a collector on 127.0.0.1 (batches every 50 ms here,
 * OTEL_BSP_SCHEDULE_DELAY, which the SDK reads itself).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../../gateway/test/support/otlpReceiver.js';
import { operation } from '../../schema/operations.js';
import { invalidationFeedEnv } from '../../schema/referenceGateway.js';
import { processSystem, type ProcessSystem, type RunningGatewayProcess } from '../support/processSystem.js';
import { pollUntil } from '../support/propagatingSystem.js';

const CALLER_TRACE = '0af7651916cd43dd8448eb211c80319c';
const CALLER_SPAN = 'b7ad6b7169203331';

describe('a page\'s trace, end to end', () => {
  let collector: OtlpReceiver;
  let system: ProcessSystem;
  let gateway: RunningGatewayProcess;

  beforeAll(async () => {
    collector = await startOtlpReceiver();
    const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '50' };
    system = await processSystem(otel);
    await Promise.all(Object.values(system.subgraphs).map((subgraph) => subgraph.start()));
    // Listening to every publisher's change feed, as npm start's gateway does.
    gateway = await system.startGateway({ ...otel, ...invalidationFeedEnv((['topclients', 'gigs', 'users'] as const).map((name) => system.feedUrl(name))) });
    await pollUntil('the gateway to be ready', () => gateway.ready(), (ready) => ready.status === 200, 60_000);
  }, 120_000);
  afterAll(async () => {
    await system?.stop();
    await collector?.stop();
  });

  it('the gig page: the gateway\'s request, its calls to gigs, users and topclients, and each subgraph\'s own span under the call that reached it', async () => {
    system.printLogsIfFailed();
    const { gigId } = system.gigWithClients(1);
    const answer = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` },
      body: JSON.stringify({ query: operation('GigPage').body, variables: { id: gigId } }),
    });
    expect(answer.status).toBe(200);
    expect(((await answer.json()) as { data: { gig: { id: string } } }).data.gig.id).toBe(gigId);

    const inTrace = (spans: ReceivedSpan[]) => spans.filter((s) => s.traceId === CALLER_TRACE);
    const serverSpanOf = (spans: ReceivedSpan[], service: string) => inTrace(spans).find((s) => s.kind === 2 && s.resource['service.name'] === service);
    await collector.waitFor('the gateway\'s and every subgraph\'s server span of the trace',
      (spans) => ['gateway', 'gigs', 'users', 'topclients'].every((service) => serverSpanOf(spans, service)));

    const spans = inTrace(collector.spans);
    const request = serverSpanOf(spans, 'gateway')!;
    expect(request.parentSpanId).toBe(CALLER_SPAN);
    expect(request.attributes).toMatchObject({ 'graphql.operation.name': 'GigPage', 'http.response.status_code': 200 });
    for (const subgraph of ['gigs', 'users', 'topclients']) {
      const server = serverSpanOf(spans, subgraph)!;
      const call = spans.find((s) => s.spanId === server.parentSpanId);
      expect(call, `${subgraph}'s span has the gateway's call to it as its parent`).toMatchObject({ name: `subgraph ${subgraph}`, kind: 3, resource: { 'service.name': 'gateway' } });
      expect(server.attributes).toMatchObject({ 'http.response.status_code': 200 });
      // The call is under a fetch of the page's plan, which is under the request.
      const fetch = spans.find((s) => s.spanId === call!.parentSpanId)!;
      expect(fetch).toMatchObject({ name: `fetch ${subgraph}` });
      expect(fetch.parentSpanId).toBe(request.spanId);
    }
  });

  it('an edit: topclients writes it, gigs and users apply its event, and the gateway evicts for what they applied, all in the editor\'s trace', { timeout: 40_000 }, async () => {
    system.printLogsIfFailed();
    const EDIT_TRACE = '5b8efff798038103d269b633813fc60c';
    const { sellerId, clientIds } = system.gigWithClients(2);
    const answer = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-seller-id': sellerId, traceparent: `00-${EDIT_TRACE}-eee1b2c3d4e5f607-01` },
      body: JSON.stringify({ query: operation('ReorderTopClients').body, variables: { clientIds: [...clientIds].reverse() } }),
    });
    expect(answer.status).toBe(200);
    expect(((await answer.json()) as { errors?: unknown }).errors).toBeUndefined();

    const inTrace = () => collector.spans.filter((s) => s.traceId === EDIT_TRACE);
    const named = (service: string, name: string) => inTrace().filter((s) => s.resource['service.name'] === service && s.name === name);
    await collector.waitFor('gigs\' and users\' applies of the edit and the gateway\'s evictions for them', () =>
      ['gigs', 'users'].every((service) => named(service, 'apply seller-client-ids-changed').length === 1)
      && named('gateway', 'evict seller-client-ids-applied').length === 2, 20_000);

    const topclients = inTrace().find((s) => s.resource['service.name'] === 'topclients' && s.kind === 2)!;
    const byId = new Map(inTrace().map((s) => [s.spanId, s]));
    for (const service of ['gigs', 'users']) {
      const [apply] = named(service, 'apply seller-client-ids-changed');
      // Applied in the span topclients wrote the change in: its event carried the trace.
      expect(apply).toMatchObject({ kind: 5, parentSpanId: topclients.spanId, attributes: { 'event.type': 'seller-client-ids-changed', 'event.applied': true } });
      // Its SQL, each query a client span under it: the list stored and the applied event written.
      const queries = inTrace().filter((s) => s.parentSpanId === apply!.spanId && s.resource['service.name'] === service);
      expect(queries.map((s) => s.attributes['db.system.name'])).toContain('postgresql');
      expect(queries.some((s) => /INSERT INTO outbox/.test(String(s.attributes['db.query.text'])))).toBe(true);
    }
    // topclients' own SQL for the edit, under its request.
    expect(inTrace().some((s) => s.parentSpanId === topclients.spanId && s.name.startsWith('db '))).toBe(true);
    for (const evict of named('gateway', 'evict seller-client-ids-applied')) {
      const apply = byId.get(evict.parentSpanId);
      expect(apply?.name, 'the gateway evicts in the span gigs or users applied the change in').toBe('apply seller-client-ids-changed');
      expect(evict.attributes).toMatchObject({ 'gateway.entity.typename': 'Seller' });
    }
  });
});

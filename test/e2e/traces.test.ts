/**
 * One trace from the caller through the gateway to the subgraphs, as real processes: the three reference subgraphs
 * and a gateway, each exporting its spans over OTLP/HTTP to a collector on 127.0.0.1 (batches every 50 ms here,
 * OTEL_BSP_SCHEDULE_DELAY, which the SDK reads itself).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../../gateway/test/support/otlpReceiver.js';
import { operation } from '../../schema/operations.js';
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
    gateway = await system.startGateway(otel);
    await pollUntil('the gateway to be ready', () => gateway.ready(), (ready) => ready.status === 200, 60_000);
  }, 120_000);
  afterAll(async () => {
    await system?.stop();
    await collector?.stop();
  });

  it('the gig page: the gateway\'s request, its calls to gigs, users and topclients, and each subgraph\'s own span under the call that reached it', async () => {
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
});

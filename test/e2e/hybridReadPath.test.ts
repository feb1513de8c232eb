/**
 * The hybrid read path on the running reference deployment: the gig page's top clients come from topclients
 * through `_entities`, batched across concurrent pages, cached per client, revalidated by ETag (topclients speaks
 * the entity-cache protocol), and nulled with a coded error when topclients is down, while the page renders.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../gateway/src/config.js';
import { jsonLogger } from '../../gateway/src/logger.js';
import { startGateway, type RunningGateway } from '../../gateway/src/server.js';
import { startFaultProxy, type FaultProxy } from '../../gateway/test/support/faultProxy.js';
import { operation } from '../../schema/operations.js';
import { generateDemoData, sizeForScale } from '../../subgraphs/toolkit/demoData.js';
import { TEST_SCALE, gatewayEnvFor, postGraphQL, startSubgraphs } from '../support/system.js';

describe('the hybrid read path on the reference deployment', () => {
  const demo = generateDemoData(sizeForScale(TEST_SCALE));
  let stopSubgraphs: () => Promise<void>;
  let topclients: FaultProxy;
  let gigs: FaultProxy;
  let gateway: RunningGateway;
  let gatewayEnv: Record<string, string>;
  const gigPage = (id: string, headers?: Record<string, string>) => postGraphQL(gateway.url, operation('GigPage').body, { id }, headers);
  const sellersWithClients = demo.sellers.filter((s) => s.topClientIds.length >= 3);
  const gigOf = (sellerId: string) => demo.gigs.find((g) => g.sellerId === sellerId)!;
  const names = (body: any) => body.data.gig.seller.topClients?.map((c: { name: string }) => c.name) ?? null;

  beforeAll(async () => {
    const started = await startSubgraphs('pglite', demo);
    stopSubgraphs = started.stop;
    topclients = await startFaultProxy(started.subgraphs.topclients.url);
    gigs = await startFaultProxy(started.subgraphs.gigs.url);
    // Generous deadlines: these tests are about batching and caching, not timeouts, on a busy CI machine.
    gatewayEnv = gatewayEnvFor({ ...started.subgraphs, topclients, gigs }, {
      ENTITY_BATCH_WINDOW_MS: '50', ENTITY_TIMEOUT_MS: '10000', SUBGRAPH_TIMEOUT_MS: '10000', OPERATION_BUDGET_MS: '30000', BREAKER_VOLUME_THRESHOLD: '1000',
    });
  });
  afterAll(async () => {
    await gateway?.stop();
    await topclients?.stop();
    await gigs?.stop();
    await stopSubgraphs?.();
  });
  // Every test starts with a cold cache: a new gateway.
  beforeEach(async () => {
    await gateway?.stop();
    gateway = await startGateway(loadConfig(gatewayEnv), { logger: jsonLogger('error') });
    topclients.reset();
    gigs.reset();
  });

  it('concurrent gig pages for sellers sharing clients cost topclients one call, each client sent once', async () => {
    const sellers = sellersWithClients.slice(0, 12);
    const distinct = new Set(sellers.flatMap((s) => s.topClientIds));
    // gigs' proxy holds its answers until all the pages' are ready and sends them in one tick: every page's entity
    // loads reach the batcher together, well inside the batch window. (Gated on the request side, the answers
    // left gigs one by one as it worked through them, so late pages could miss the window and cost a call each.)
    gigs.fault = { kind: 'gate', count: sellers.length };
    const pages = await Promise.all(sellers.map((s) => gigPage(gigOf(s.id).id)));
    pages.forEach((page, i) => expect(page.body.data.gig.seller.topClients.map((c: { id: string }) => c.id)).toEqual(sellers[i]!.topClientIds));
    expect(gigs.requests).toHaveLength(sellers.length);
    const calls = topclients.entityCalls();
    expect(calls).toHaveLength(1);
    const sent = calls[0]!.representations.map((r: { id: string }) => r.id);
    expect(sent).toHaveLength(distinct.size);
    expect(new Set(sent)).toEqual(distinct);
    expect(distinct.size).toBeLessThan(sellers.reduce((n, s) => n + s.topClientIds.length, 0));
  });

  it('a warm gig page costs topclients nothing and says how long it stays fresh', async () => {
    const gig = gigOf(sellersWithClients[20]!.id);
    const cold = await gigPage(gig.id);
    expect(topclients.entityCalls()).toHaveLength(1);
    topclients.reset();
    const warm = await gigPage(gig.id);
    expect(warm.body).toEqual(cold.body);
    expect(topclients.requests).toHaveLength(0);
    expect(warm.headers.get('cache-control')).toMatch(/^max-age=(29|30), public$/);
  });

  it('root fetches are revalidated with If-None-Match: an unchanged gig answers 304 with no body, a changed list does not', async () => {
    const seller = sellersWithClients[24]!;
    const gig = gigOf(seller.id);
    const first = await gigPage(gig.id);
    const second = await gigPage(gig.id);
    expect(second.body).toEqual(first.body);
    expect(gigs.requests).toHaveLength(2);
    expect(gigs.requests[0]!.headers['if-none-match']).toBeUndefined();
    expect(gigs.requests[1]!.headers['if-none-match']).toMatch(/^"/);
    expect(gigs.requests[1]!.responseBytes).toBe(0);
  });

  it('no-cache revalidates every cached client in one conditional call; unchanged ones come back without payload', async () => {
    const seller = sellersWithClients[21]!;
    const gig = gigOf(seller.id);
    await gigPage(gig.id);
    const fullBytes = topclients.requests.at(-1)!.responseBytes;
    topclients.reset();

    const revalidated = await gigPage(gig.id, { 'cache-control': 'no-cache' });
    expect(names(revalidated.body)).toEqual(seller.topClientIds.map((id) => demo.clients.find((c) => c.id === id)!.name));
    const [call] = topclients.entityCalls();
    expect(topclients.entityCalls()).toHaveLength(1);
    expect(call!.request.extensions?.entityCache?.ifNoneMatch).toHaveLength(seller.topClientIds.length);
    expect(call!.request.extensions!.entityCache.ifNoneMatch.every((v: unknown) => typeof v === 'string')).toBe(true);
    expect(call!.request.responseBytes).toBeLessThan(fullBytes);
    const metrics = await (await fetch(gateway.url.replace('/graphql', '/metrics'))).text();
    expect(metrics).toContain(`gateway_entities_total{subgraph="topclients",outcome="not_modified"} ${seller.topClientIds.length}`);
    const saved = Number(/^gateway_not_modified_bytes_saved_total\{subgraph="topclients"\} (\d+)$/m.exec(metrics)?.[1]);
    expect(saved).toBeGreaterThan(seller.topClientIds.length * 50);
  });

  it('an edited client shows on a revalidated page while the others stay not-modified', async () => {
    const seller = sellersWithClients[22]!;
    const gig = gigOf(seller.id);
    await gigPage(gig.id);
    const edited = seller.topClientIds[1]!;
    const update = await postGraphQL(gateway.url, operation('UpdateClient').body,
      { id: edited, input: { name: 'Edited Brand' } }, { 'x-seller-id': seller.id });
    expect(update.body.errors).toBeUndefined();
    topclients.reset();

    const page = await gigPage(gig.id, { 'cache-control': 'no-cache' });
    const expectedNames = seller.topClientIds.map((id) => (id === edited ? 'Edited Brand' : demo.clients.find((c) => c.id === id)!.name));
    expect(names(page.body)).toEqual(expectedNames);
    const calls = topclients.entityCalls();
    expect(calls).toHaveLength(1);
    const { representations, request } = calls[0]!;
    expect(representations.map((r: { id: string }) => r.id)).toEqual(seller.topClientIds);
    // Every client went with its validator; topclients answered all but the edited one "not modified", without payload.
    expect(request.extensions?.entityCache?.ifNoneMatch).toHaveLength(seller.topClientIds.length);
    const wire = JSON.parse(request.responseText);
    const editedIndex = seller.topClientIds.indexOf(edited);
    const others = seller.topClientIds.map((_, i) => i).filter((i) => i !== editedIndex);
    expect([...wire.extensions.entityCache.notModified].sort((a: number, b: number) => a - b)).toEqual(others);
    expect(wire.data._entities[editedIndex]).toMatchObject({ name: 'Edited Brand' });
    for (const i of others) expect(wire.data._entities[i]).toBeNull();
  });

  it('with topclients down the gig page still renders: top clients null with a coded error per client', async () => {
    const seller = sellersWithClients[23]!;
    const gig = gigOf(seller.id);
    topclients.fault = { kind: 'status', status: 503 };
    const page = await gigPage(gig.id);
    expect(page.status).toBe(200);
    expect(page.body.data.gig).toMatchObject({ id: gig.id, title: gig.title, seller: { username: seller.username, topClients: null } });
    expect(page.body.errors).toHaveLength(seller.topClientIds.length);
    page.body.errors!.forEach((error, i) => expect(error).toMatchObject({
      path: ['gig', 'seller', 'topClients', i],
      extensions: { code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'topclients' },
    }));
    expect(page.headers.get('cache-control')).toBe('no-store');
  });
});

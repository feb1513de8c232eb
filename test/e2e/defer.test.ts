/**
 * `@defer` on the running reference deployment: the gig page with its top clients' details deferred leaves with the
 * gig while topclients has not answered, and the top clients follow in their own part; a deferred part has its own
 * budget (no page budget), fails alone, still fills the cache, and is cancelled only when nobody waits for it. A
 * client taking JSON only gets the whole answer; bad uses of `@defer` are refused with the rule they break.
 * topclients sits behind a real proxy that holds or fails its answers: ordering is awaited, never timed.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../gateway/src/config.js';
import { jsonLogger } from '../../gateway/src/logger.js';
import { startGateway, type RunningGateway } from '../../gateway/src/server.js';
import { startFaultProxy, type FaultProxy } from '../../gateway/test/support/faultProxy.js';
import { ACCEPT, mergePayloads, openParts, sendAccepting } from '../../gateway/test/support/incrementalAnswers.js';
import manifest from '../../schema/persisted-query-manifest.json' with { type: 'json' };
import { generateDemoData, sizeForScale } from '../../subgraphs/toolkit/demoData.js';
import { TEST_SCALE, gatewayEnvFor, postGraphQL, startSubgraphs } from '../support/system.js';

const DEFERRED_GIG = `query DeferredGig($id: ID!) {
  gig(id: $id) { id title seller { id username topClients { id ... @defer(label: "topClients") { name verified } } } }
}`;
const WHOLE_GIG = DEFERRED_GIG.replace(' ... @defer(label: "topClients") { name verified }', ' name verified');
const LEGACY = ACCEPT['deferSpec=20220824'];

describe('@defer on the reference deployment', () => {
  const demo = generateDemoData(sizeForScale(TEST_SCALE));
  const sellers = demo.sellers.filter((s) => s.topClientIds.length >= 3);
  const gigOf = (index: number) => demo.gigs.find((g) => g.sellerId === sellers[index]!.id)!;
  const namesOf = (ids: readonly string[]) => ids.map((id) => demo.clients.find((c) => c.id === id)!.name);
  let stopSubgraphs: () => Promise<void>;
  let topclients: FaultProxy;
  let subgraphs: Awaited<ReturnType<typeof startSubgraphs>>['subgraphs'];
  let gateway: RunningGateway;
  const started: RunningGateway[] = [];
  const gatewayWith = async (extra: Record<string, string>) => {
    const env = gatewayEnvFor({ ...subgraphs, topclients }, { ENTITY_TIMEOUT_MS: '10000', SUBGRAPH_TIMEOUT_MS: '10000', OPERATION_BUDGET_MS: '30000', ...extra });
    const running = await startGateway(loadConfig(env), { logger: jsonLogger('error') });
    started.push(running);
    return running;
  };

  beforeAll(async () => {
    const backends = await startSubgraphs('pglite', demo);
    stopSubgraphs = backends.stop;
    subgraphs = backends.subgraphs;
    topclients = await startFaultProxy(backends.subgraphs.topclients.url);
  });
  afterAll(async () => {
    await Promise.all(started.map((g) => g.stop()));
    await topclients?.stop();
    await stopSubgraphs?.();
  });
  beforeEach(async () => {
    // A cold cache per test; a page budget of 1 ms, so a page that waited for topclients would lose its top clients.
    gateway = await gatewayWith({ SUBGRAPH_TOPCLIENTS_ENTITY_PAGE_BUDGET_MS: '1', SUBGRAPH_MAX_LATE_CALLS: '0' });
    topclients.reset();
  });

  it('the gig leaves while topclients holds its answer; the top clients follow in their own part, labelled', async () => {
    const gig = gigOf(0);
    topclients.fault = { kind: 'hold' };
    const parts = await openParts(gateway.url, { query: DEFERRED_GIG, variables: { id: gig.id } }, LEGACY);
    expect(parts.headers.get('content-type')).toBe('multipart/mixed; boundary="graphql"; deferSpec=20220824');
    expect(parts.headers.get('cache-control')).toBe('no-store');
    const first = await parts.next();
    expect(first.hasNext).toBe(true);
    expect(first.data.gig.title).toBe(gig.title);
    expect(first.data.gig.seller.topClients.map((c: { id: string }) => c.id)).toEqual(sellers[0]!.topClientIds);
    expect(first.errors).toBeUndefined();
    // topclients has been asked and has not answered: the first part did not wait for it.
    await topclients.waitForRequests(1);
    topclients.releaseHeld();
    const second = await parts.next();
    expect(second.hasNext).toBe(false);
    expect(second.incremental.map((item: any) => item.data.name)).toEqual(namesOf(sellers[0]!.topClientIds));
    expect(second.incremental.map((item: any) => item.path)).toEqual(sellers[0]!.topClientIds.map((_, i) => ['gig', 'seller', 'topClients', i]));
    expect(second.incremental.every((item: any) => item.label === 'topClients')).toBe(true);
    expect(await parts.next()).toBeNull();
  });

  it('a deferred part has no page budget: the same page asked whole loses its top clients to the 1 ms budget', async () => {
    const gig = gigOf(1);
    topclients.fault = { kind: 'hold' };
    const whole = postGraphQL(gateway.url, WHOLE_GIG, { id: gig.id });
    const parts = await openParts(gateway.url, { query: DEFERRED_GIG, variables: { id: gig.id } }, LEGACY);
    await parts.next();
    await topclients.waitForRequests(1);
    const wholeAnswer = await whole;
    expect(wholeAnswer.body.data.gig.seller.topClients).toBeNull();
    expect(wholeAnswer.body.errors?.[0]?.extensions?.code).toBe('SUBGRAPH_TIMEOUT');
    topclients.releaseHeld();
    const second = await parts.next();
    expect(second.incremental.map((item: any) => item.data.name)).toEqual(namesOf(sellers[1]!.topClientIds));
  });

  it('topclients failing nulls only the deferred part, with the error in that part; its late answer fills the cache', async () => {
    const gig = gigOf(2);
    topclients.fault = { kind: 'status', status: 500 };
    const failed = await sendAccepting(gateway.url, { query: DEFERRED_GIG, variables: { id: gig.id } }, LEGACY);
    const [first, ...rest] = failed.payloads;
    expect(first.data.gig.title).toBe(gig.title);
    expect(first.errors).toBeUndefined();
    const items = rest.flatMap((payload) => payload.incremental);
    expect(items).toHaveLength(sellers[2]!.topClientIds.length);
    for (const item of items) {
      expect(item.data).toBeNull();
      expect(item.errors[0].extensions.serviceName).toBe('topclients');
    }
    // Answered now: the deferred fetch fills the entity cache, so the whole page that follows costs topclients nothing.
    topclients.fault = { kind: 'none' };
    await sendAccepting(gateway.url, { query: DEFERRED_GIG, variables: { id: gig.id } }, LEGACY);
    topclients.reset();
    const whole = await postGraphQL(gateway.url, WHOLE_GIG, { id: gig.id });
    expect(whole.body.data.gig.seller.topClients.map((c: { name: string }) => c.name)).toEqual(namesOf(sellers[2]!.topClientIds));
    expect(topclients.entityCalls()).toHaveLength(0);
  });

  it('a client that hangs up cancels the deferred fetch only it waited for, not one another client waits for', async () => {
    topclients.fault = { kind: 'hold' };
    const alone = await openParts(gateway.url, { query: DEFERRED_GIG, variables: { id: gigOf(3).id } }, LEGACY);
    await alone.next();
    const call = await topclients.waitForRequests(1);
    alone.hangUp();
    await call.closed;
    expect(call.aborted).toBe(true);

    topclients.reset();
    const gig = gigOf(4);
    const leaving = await openParts(gateway.url, { query: DEFERRED_GIG, variables: { id: gig.id } }, LEGACY);
    const staying = await openParts(gateway.url, { query: DEFERRED_GIG, variables: { id: gig.id } }, LEGACY);
    await Promise.all([leaving.next(), staying.next()]);
    const shared = await topclients.waitForRequests(1);
    leaving.hangUp();
    topclients.releaseHeld();
    const delivered = await staying.next();
    expect(delivered.incremental.map((item: any) => item.data.name)).toEqual(namesOf(sellers[4]!.topClientIds));
    await shared.closed;
    expect(shared.aborted).toBe(false);
    expect(topclients.entityCalls()).toHaveLength(1);
  });

  it('an answer in parts gives its admission slot back with its first part: a page admitted one at a time is not held by another\'s deferred part', async () => {
    const single = await gatewayWith({ ADMISSION_MAX_IN_FLIGHT: '1', ADMISSION_MIN_IN_FLIGHT: '1' });
    topclients.fault = { kind: 'hold' };
    const parts = await openParts(single.url, { query: DEFERRED_GIG, variables: { id: gigOf(8).id } }, LEGACY);
    await parts.next();
    await topclients.waitForRequests(1);
    const other = await postGraphQL(single.url, 'query ($id: ID!) { gig(id: $id) { title } }', { id: gigOf(9).id });
    expect(other.status).toBe(200);
    expect(other.body.data.gig.title).toBe(gigOf(9).title);
    topclients.releaseHeld();
    const second = await parts.next();
    expect(second.incremental.map((item: any) => item.data.name)).toEqual(namesOf(sellers[8]!.topClientIds));
  });

  it('the incremental delivery format: pending parts by id, then their data and completion', async () => {
    const gig = gigOf(5);
    const answer = await sendAccepting(gateway.url, { query: DEFERRED_GIG, variables: { id: gig.id } }, 'multipart/mixed');
    expect(answer.contentType).toBe('multipart/mixed; boundary="graphql"; incrementalSpec=v0.2');
    const [first, ...rest] = answer.payloads;
    const ids = sellers[5]!.topClientIds;
    expect(first.pending).toEqual(ids.map((_, i) => ({ id: String(i), path: ['gig', 'seller', 'topClients', i], label: 'topClients' })));
    const last = rest.at(-1);
    expect(last.hasNext).toBe(false);
    expect(rest.flatMap((p) => p.incremental).map((item: any) => [item.id, item.data.name])).toEqual(ids.map((id, i) => [String(i), namesOf([id])[0]]));
    expect(rest.flatMap((p) => p.completed).map((c: any) => c.id).sort()).toEqual(ids.map((_, i) => String(i)).sort());
  });

  it('a client that takes JSON only gets the whole answer in one body, as without @defer', async () => {
    const gig = gigOf(6);
    // Without the 1 ms page budget: the whole answer waits for topclients.
    const patient = await gatewayWith({ BATCH_MAX_OPERATIONS: '2' });
    const whole = await postGraphQL(patient.url, WHOLE_GIG, { id: gig.id });
    const deferred = await sendAccepting(patient.url, { query: DEFERRED_GIG, variables: { id: gig.id } }, 'application/json');
    expect(whole.body.data.gig.seller.topClients.map((c: { name: string }) => c.name)).toEqual(namesOf(sellers[6]!.topClientIds));
    expect(deferred.contentType).toMatch(/^application\/json/);
    expect(deferred.payloads).toEqual([whole.body]);
    // In a batch every operation is answered whole, in the batch's one JSON body.
    const batch = await sendAccepting(patient.url, [{ query: DEFERRED_GIG, variables: { id: gig.id } }, { query: DEFERRED_GIG, variables: { id: gig.id } }], LEGACY);
    expect(batch.payloads).toEqual([[whole.body, whole.body]]);
  });

  it('the pages\' persisted GigPage by id, over GET and POST: parts without an ETag for a multipart client, one JSON body with its ETag for others', async () => {
    const patient = await gatewayWith({});
    const gig = gigOf(7);
    const page = manifest.operations.find((operation) => operation.name === 'GigPage')!;
    expect(page.body).toContain('@defer');
    const params = new URLSearchParams({
      operationName: 'GigPage',
      variables: JSON.stringify({ id: gig.id }),
      extensions: JSON.stringify({ persistedQuery: { version: 1, sha256Hash: page.id } }),
    });
    const url = `${patient.url}?${params}`;
    const inParts = await sendAccepting(url, undefined, LEGACY, { method: 'GET' });
    expect(inParts.contentType).toMatch(/^multipart\/mixed/);
    expect(inParts.payloads.length).toBeGreaterThan(1);
    expect(inParts.headers.get('etag')).toBeNull();
    expect(inParts.headers.get('cache-control')).toBe('no-store');
    const merged = mergePayloads(inParts.payloads, 'deferSpec=20220824');
    const whole = await sendAccepting(url, undefined, 'application/json', { method: 'GET' });
    expect(whole.headers.get('etag')).toMatch(/^"/);
    // The same URL answers JSON or parts by Accept: a shared cache keeps them apart.
    expect(whole.headers.get('vary')).toMatch(/\baccept\b/);
    expect(inParts.headers.get('x-accel-buffering')).toBe('no');
    expect(whole.headers.get('cache-control')).toMatch(/max-age=\d+/);
    expect(merged.data).toEqual(whole.payloads[0].data);
    expect(merged.data.gig.seller.topClients.map((c: { name: string }) => c.name)).toEqual(namesOf(sellers[7]!.topClientIds));
    // By id over POST too.
    const posted = await sendAccepting(patient.url, { operationName: 'GigPage', variables: { id: gig.id }, extensions: { persistedQuery: { version: 1, sha256Hash: page.id } } }, LEGACY);
    expect(posted.payloads.length).toBeGreaterThan(1);
    expect(mergePayloads(posted.payloads, 'deferSpec=20220824').data).toEqual(merged.data);
  });

  it.each([
    ['duplicate labels', 'query { gig(id: "g1") { ... @defer(label: "a") { title } ... @defer(label: "a") { price } } }', /label "a" is used more than once/],
    ['a label from a variable', 'query ($l: String) { gig(id: "g1") { ... @defer(label: $l) { title } } }', /label must be a string written in the operation/],
    ['@defer on the root of a mutation', 'mutation { ... @defer { updateClient(id: "c1", input: {}) { id } } }', /cannot be used on the root of a mutation/],
    ['a non-boolean if', 'query { gig(id: "g1") { ... @defer(if: "yes") { title } } }', /Boolean cannot represent a non boolean value/],
    ['@stream', 'query { searchGigs @stream { id } }', /@stream is not supported by this gateway/],
  ])('refuses %s with 400 and the rule it breaks, asking nothing of the subgraphs', async (_case, query, message) => {
    const answer = await postGraphQL(gateway.url, query, undefined, { accept: LEGACY });
    expect(answer.status).toBe(400);
    expect(answer.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(answer.body.errors?.map((e) => e.message).join('\n')).toMatch(message);
    expect(topclients.requests).toHaveLength(0);
  });

  it('DEFER=false: @defer is an unknown directive', async () => {
    const off = await gatewayWith({ DEFER: 'false' });
    const answer = await postGraphQL(off.url, DEFERRED_GIG, { id: gigOf(0).id }, { accept: LEGACY });
    expect(answer.status).toBe(400);
    expect(answer.body.errors?.[0]?.message).toBe('Unknown directive "@defer".');
  });
});

/**
 * Differential tests: on small supergraphs of our own (supergraphFixtures.ts), our gateway must answer every
 * operation exactly like stock @apollo/gateway (stockGateway.ts), with the entity cache on and off, with the
 * compiled executor (the default) and with stock's executor over our read path, cold, warm
 * (2nd and 3rd run) and under 10 concurrent requests. Each fixture's gateways live for all its operations, so a
 * later operation also runs against a cache that earlier operations filled.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/server.js';
import { startFixtureGateways, type FixtureGateways } from '../support/fixtureGateways.js';
import { postOperation, type Answer } from '../support/stockGateway.js';
import { SUPERGRAPH_FIXTURES, entityErrorsFixture, nestedEntitiesFixture, privateNotesFixture, type FixtureOperation, type SupergraphFixture } from '../support/supergraphFixtures.js';

const CONCURRENT = 10;
type Gateways = FixtureGateways;

const startGateways = (definition: SupergraphFixture) => startFixtureGateways(definition, [
  { label: 'ours, cache on, compiled executor', env: { ENTITY_CACHE: 'on' } },
  { label: 'ours, cache off, compiled executor', env: { ENTITY_CACHE: 'off' } },
  { label: 'ours, cache on, stock executor', env: { ENTITY_CACHE: 'on', GATEWAY_EXECUTOR: 'stock' } },
]);

const run = (url: string, op: FixtureOperation, headers?: Record<string, string>) => postOperation(url, op.query, op.variables, headers);
const runConcurrently = (url: string, op: FixtureOperation) => Promise.all(Array.from({ length: CONCURRENT }, () => run(url, op)));

/** Labels every answer so a failure names the gateway and the run that diverged. */
const labelled = (label: string, phase: string, answer: Answer) => ({ gateway: label, phase, ...answer });

async function expectSameAsStock(g: Gateways, op: FixtureOperation): Promise<Answer> {
  const expected = await run(g.stock.url, op);
  // Every gateway runs cold, warm twice, then 10 at once; the gateways run side by side to keep the suite short.
  const runs = await Promise.all([{ label: 'stock', url: g.stock.url }, ...g.ours.map((o) => ({ label: o.label, url: o.gateway.url }))].map(
    async ({ label, url }) => {
      const answers = [];
      if (label !== 'stock') answers.push(labelled(label, 'cold', await run(url, op)));
      answers.push(labelled(label, 'warm 2', await run(url, op)));
      answers.push(labelled(label, 'warm 3', await run(url, op)));
      // A client asking for revalidated data (`Cache-Control: no-cache`) must see the same page.
      answers.push(labelled(label, 'no-cache', await run(url, op, { 'cache-control': 'no-cache' })));
      for (const answer of await runConcurrently(url, op)) answers.push(labelled(label, 'concurrent', answer));
      return answers;
    },
  ));
  // Stock's own repeats check that stock is deterministic, without which the comparison would mean nothing.
  for (const answer of runs.flat()) expect(answer).toEqual(labelled(answer.gateway, answer.phase, expected));
  return expected;
}

describe.each(SUPERGRAPH_FIXTURES.map((f) => [f.name, f] as const))('supergraph %s', (_name, definition) => {
  let g: Gateways;
  beforeAll(async () => {
    g = await startGateways(definition);
  });
  afterAll(async () => {
    await g?.stop();
  });

  it.each(definition.operations.map((op) => [op.name, op] as const))('%s: same answer as stock, cold, warm and concurrent', async (_op, op) => {
    const expected = await expectSameAsStock(g, op);
    // The fixtures are built so every operation returns data; an empty answer would make the comparison vacuous.
    expect(expected.data).toBeTruthy();
  });
});

describe('a page cached with the entity cache on, then one of its entities starts failing', () => {
  // customers' Customer has max-age 60, so a cached c1 may legitimately be served: the failing entity here lives in
  // `presence`, which sends no cache hint (nothing of it may be cached), under a root list cached for 60 s.
  let g: Gateways;
  beforeAll(async () => {
    g = await startGateways(entityErrorsFixture);
  });
  afterAll(async () => {
    g.fixture.switches.c1Fails = false;
    await g?.stop();
  });

  it('answers like stock: the fields the failed fetch should fill are null, not the values an earlier request merged', async () => {
    const op = { name: 'presence', query: `query Presence { orders { id customer { id online } } }` };
    const before = await expectSameAsStock(g, op);
    expect((before.data as any).orders[0].customer).toEqual({ id: 'c1', online: true });
    g.fixture.switches.c1Fails = true;
    const after = await expectSameAsStock(g, op);
    // @apollo/subgraph fails the whole `_entities` list when one __resolveReference throws, hence the list-level path.
    expect(after.errors).toEqual([
      { message: 'presence of c1 is unknown', path: ['orders', '@', 'customer', '_entities'], extensions: { code: 'PRESENCE_UNKNOWN', serviceName: 'presence' } },
    ]);
    expect((after.data as any).orders[0].customer).toEqual({ id: 'c1', online: null });
  });
});

describe('an entity cached with nested references, then the subgraph behind those references starts failing', () => {
  // Post (posts, max-age 60) is rightly served from the cache; Person (people, no cache hint) may never be, and the
  // root list (feed, no cache hint) is not cached either.
  let g: Gateways;
  beforeAll(async () => {
    g = await startGateways(nestedEntitiesFixture);
  });
  afterAll(async () => {
    g.fixture.switches.peopleFail = false;
    await g?.stop();
  });

  it('answers like stock: authors are null with the error, not the names an earlier request merged into the cached post', async () => {
    const op = nestedEntitiesFixture.operations[0]!;
    const before = await expectSameAsStock(g, op);
    expect((before.data as any).timeline[0]).toEqual({ id: 't1', title: 'Launch', author: { id: 'a1', name: 'Ines', avatar: 'https://img.example.test/a1/16.png' } });
    g.fixture.switches.peopleFail = true;
    const after = await expectSameAsStock(g, op);
    expect((after.data as any).timeline[0]).toEqual({ id: 't1', title: 'Launch', author: { id: 'a1', name: null, avatar: null } });
    expect(after.errors).toHaveLength(1);
  });
});

describe('one caller\'s private entity data never shows in another caller\'s page (cache on equals cache off)', () => {
  // Stock forwards no caller identity to subgraphs, so here the reference is our own gateway with the cache off.
  let g: Gateways;
  beforeAll(async () => {
    g = await startGateways(privateNotesFixture);
  });
  afterAll(async () => {
    await g?.stop();
  });

  it('s2, who has no notes, sees none after s1 loaded the same public list with theirs', async () => {
    const op = privateNotesFixture.operations[0]!;
    const on = g.ours[0]!;
    const off = g.ours[1]!;
    const as = (gateway: RunningGateway, caller: string) => run(gateway.url, op, { 'x-seller-id': caller });
    const s1 = await as(off.gateway, 's1');
    expect((s1.data as any).books).toEqual([{ id: 'b1', title: 'Dune', note: 'note of s1 on b1' }, { id: 'b2', title: 'Emma', note: 'note of s1 on b2' }]);
    expect({ gateway: on.label, caller: 's1', answer: await as(on.gateway, 's1') }).toEqual({ gateway: on.label, caller: 's1', answer: s1 });
    const s2 = await as(off.gateway, 's2');
    expect((s2.data as any).books).toEqual([{ id: 'b1', title: 'Dune', note: null }, { id: 'b2', title: 'Emma', note: null }]);
    expect({ gateway: on.label, caller: 's2', answer: await as(on.gateway, 's2') }).toEqual({ gateway: on.label, caller: 's2', answer: s2 });
  });
});

/**
 * What batching the gateway's entity loads on DataLoader would cost, beside the merge stage it has
 * (gateway/src/datasource/stages/merge.ts): the same pages of entity loads, the same answer from a subgraph that
 * answers at once (no network: only the batching is measured), split by the same code. Prints microseconds per page
 * for each and their ratio, measured in the same run.
 *
 *   npx tsx bench/mergeBatching.ts            (APOLLO_TELEMETRY_DISABLED is not needed: no gateway is started)
 *
 * The DataLoader variant is the plain one: a loader per group, `loadMany` per page, `maxBatchSize`, and
 * `batchScheduleFn` holding a batch while a call is out. It carries none of what the merge stage adds (a waiter's
 * own deadline, withdrawing loads nobody waits for, cancelling a call every waiter left, merging a revalidation
 * with a full load), so it is a lower bound on its cost.
 */
import DataLoader from 'dataloader';
import { internalBudget } from '../gateway/src/datasource/budget.js';
import { splitEntities, type EntityResult } from '../gateway/src/datasource/entityAnswer.js';
import type { CallOutcome, Dispatch } from '../gateway/src/datasource/pipeline.js';
import { mergeStage, type EntityGroup, type EntityLoad } from '../gateway/src/datasource/stages/merge.js';
import { systemClock } from '../gateway/src/clock.js';
import { GatewayMetrics } from '../gateway/src/metrics/registry.js';

const ENTITIES_PER_PAGE = Number(process.env.ENTITIES_PER_PAGE ?? 200);
const PAGES = Number(process.env.PAGES ?? 3_000);
const CONCURRENT_PAGES = 4;

const group: EntityGroup = { key: 'Client', query: 'query($representations:[_Any!]!){_entities(representations:$representations){...on Client{id name}}}', operationName: undefined, variables: {}, headers: {}, mayFinishLate: true };
const loadsOf = (page: number): EntityLoad[] => Array.from({ length: ENTITIES_PER_PAGE }, (_, i) => {
  const representation = { __typename: 'Client', id: `c${(page * 7 + i) % 5_000}` };
  return { representation, representationKey: JSON.stringify(representation), ifNoneMatch: null };
});
const pages = Array.from({ length: 64 }, (_, page) => loadsOf(page));

/** A subgraph that answers every call at once with one entity per representation. */
const answering: Dispatch = async (call) => {
  const count = (call.body.match(/"__typename"/g) ?? []).length;
  const outcome: CallOutcome = {
    kind: 'answered',
    response: { status: 200, headers: {}, body: { data: { _entities: Array.from({ length: count }, (_, i) => ({ id: `c${i}`, name: 'n' })) } }, bytes: 0 },
  };
  return outcome;
};
const budget = internalBudget({ timeoutMs: 10_000, entityTimeoutMs: 10_000, entityPageBudgetMs: null });

async function viaMergeStage(): Promise<number> {
  const load = mergeStage({ serviceName: 'topclients', clock: systemClock, maxCallsInFlight: 1, maxBatchSize: 200, metrics: new GatewayMetrics() })(answering);
  const started = performance.now();
  await runPages((page) => load(group, pages[page % pages.length]!, { budget, requestId: 'r' }));
  return performance.now() - started;
}

async function viaDataLoader(): Promise<number> {
  let inFlight = 0;
  const held: (() => void)[] = [];
  const loader = new DataLoader<EntityLoad, EntityResult, string>(async (loads) => {
    inFlight++;
    const body = `{"query":${JSON.stringify(group.query)},"variables":{"representations":[${loads.map((l) => l.representationKey).join(',')}]}}`;
    const outcome = await answering({ kind: 'entities', body, headers: {}, budget, requestIds: [] });
    inFlight--;
    held.shift()?.();
    return outcome.kind === 'answered' ? splitEntities('topclients', outcome.response, loads.length, loads.map(() => null)) : loads.map(() => ({ kind: 'failed', failure: outcome.failure }));
  }, {
    maxBatchSize: 200,
    cacheKeyFn: (load) => load.representationKey,
    // In-flight deduplication only: an answer is the entity cache's to keep, not the loader's.
    cacheMap: inFlightOnly(),
    batchScheduleFn: (callback) => (inFlight === 0 ? void setImmediate(callback) : void held.push(callback)),
  });
  const started = performance.now();
  await runPages((page) => loader.loadMany(pages[page % pages.length]!));
  return performance.now() - started;
}

/** A DataLoader cache that forgets each promise once it settles, as the merge stage forgets a sent slot. */
function inFlightOnly(): DataLoader.CacheMap<string, Promise<EntityResult>> {
  const promises = new Map<string, Promise<EntityResult>>();
  return {
    get: (key) => promises.get(key),
    set: (key, promise) => {
      promises.set(key, promise);
      void promise.then(() => promises.delete(key), () => promises.delete(key));
    },
    delete: (key) => promises.delete(key),
    clear: () => promises.clear(),
  };
}

async function runPages(page: (n: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENT_PAGES }, async () => {
    while (next < PAGES) await page(next++);
  }));
}

// Warm both up, then measure each five times, alternating, and keep the best run of each.
const ROUNDS = 5;
const runs = { merge: [] as number[], dataLoader: [] as number[] };
for (let round = 0; round < ROUNDS + 2; round++) {
  const merged = await viaMergeStage();
  const loaded = await viaDataLoader();
  if (round >= 2) {
    runs.merge.push(merged);
    runs.dataLoader.push(loaded);
  }
}
const merge = Math.min(...runs.merge);
const dataLoader = Math.min(...runs.dataLoader);
const perPage = (ms: number) => ((ms / PAGES) * 1_000).toFixed(1);
console.log(`${PAGES} pages of ${ENTITIES_PER_PAGE} entity loads, ${CONCURRENT_PAGES} at a time, against a subgraph that answers at once:`);
console.log(`  merge stage  ${perPage(merge)} us/page`);
console.log(`  DataLoader   ${perPage(dataLoader)} us/page (${(dataLoader / merge).toFixed(2)}x the merge stage)`);

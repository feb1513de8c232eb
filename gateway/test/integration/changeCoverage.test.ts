/**
 * No change missed, on the read path: a gateway whose change feed it cannot follow yet (or that lost what it missed)
 * serves by max-age meanwhile and, once it follows, asks again for everything cached before, so an edit made in the
 * gap shows at once; a fetch that was in flight across such a cut is never stored. Real subgraphs behind fault
 * proxies (counted at the proxy), a real feed server of the test's own, and every wait is on an event: a request
 * reaching a proxy, the gateway's coverage turning ready, or the log line that reports the gap.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../src/logger.js';
import { PAGE, ids, startReadPathFixture, type ReadPathFixture } from '../support/readPathFixture.js';
import { startTestFeed, type TestFeed } from '../support/testFeed.js';

let fixture: ReadPathFixture | undefined;
let feed: TestFeed | undefined;
afterEach(async () => {
  fixture?.brands.releaseHeld();
  await fixture?.stop();
  await feed?.close();
  fixture = undefined;
  feed = undefined;
});

/** A feed address on which nothing listens yet, and a way to start the feed there later. */
async function feedNotStartedYet() {
  const probe = await startTestFeed([]);
  await probe.close();
  return { url: probe.url, start: (log = 'log-a') => startTestFeed([], { port: Number(new URL(probe.url).port), log }) };
}

/** A logger that resolves `said(text)` once a line starting with `text` is logged. */
function listeningLogger(): Logger & { said(text: string): Promise<void> } {
  const lines: string[] = [];
  let waiters: { text: string; resolve: () => void }[] = [];
  const at = (msg: string) => {
    lines.push(msg);
    waiters = waiters.filter((w) => (msg.startsWith(w.text) ? (w.resolve(), false) : true));
  };
  return {
    debug: at, info: at, warn: at, error: at,
    said: (text) => (lines.some((l) => l.startsWith(text)) ? Promise.resolve() : new Promise((resolve) => waiters.push({ text, resolve }))),
  };
}

const brandNamesOf = (body: any) => body.data.products.map((p: any) => p.brand?.name ?? null);
const brandsAsked = (f: ReadPathFixture) => f.brands.entityCalls().length;

describe('change coverage on the read path', () => {
  it('answers cached before the feed is first reached are asked again once it is, so an edit made meanwhile shows at once', async () => {
    const later = await feedNotStartedYet();
    const f = (fixture = await startReadPathFixture({ env: { INVALIDATION_FEED_URL: later.url } }));
    const readyUrl = f.gateway.url.replace('/graphql', '/ready');

    // Not ready: the supergraph is loaded, but the listener has no position in its feed.
    const starting = await fetch(readyUrl);
    expect(starting.status).toBe(503);
    expect(await starting.json()).toMatchObject({ status: 'starting', changes: { [`feed ${later.url}`]: { state: 'waiting', position: null, cuts: 0 } } });

    // Pages are served meanwhile: entities by max-age, root answers asked every time (nothing could evict them).
    expect(brandNamesOf((await f.query(PAGE, { ids: ids(0, 2) })).body)).toEqual(['Brand 0', 'Brand 1']);
    await f.query(PAGE, { ids: ids(0, 2) });
    expect(brandsAsked(f)).toBe(1);
    expect(f.shop.requests).toHaveLength(2);

    // Renamed at the source while nobody can hear it; then the feed answers for the first time.
    f.brandNames.set('b0', 'Brand 0, renamed in the gap');
    feed = await later.start();
    await f.gateway.coverage.whenReady();
    const ready = await fetch(readyUrl);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', changes: { [`feed ${later.url}`]: { state: 'following', position: 'feed id 0', cuts: 1 } } });

    // The first page after the cut asks both subgraphs again and shows the rename; the next is served from memory.
    expect(brandNamesOf((await f.query(PAGE, { ids: ids(0, 2) })).body)).toEqual(['Brand 0, renamed in the gap', 'Brand 1']);
    expect(brandsAsked(f)).toBe(2);
    expect(f.shop.requests).toHaveLength(3);
    await f.query(PAGE, { ids: ids(0, 2) });
    expect(brandsAsked(f)).toBe(2);
    expect(f.shop.requests).toHaveLength(3);
    expect(await f.metric(`gateway_change_gaps_total{source="feed ${later.url}",reason="start"}`)).toBe(1);
  });

  it('a fetch in flight when the feed turns out to be another log is not stored: the next page asks again', async () => {
    const later = await feedNotStartedYet();
    feed = await later.start('log-a');
    const logger = listeningLogger();
    // The page waits for the held answer however long the test takes to turn the feed over.
    const f = (fixture = await startReadPathFixture({ env: { INVALIDATION_FEED_URL: later.url, ENTITY_TIMEOUT_MS: '60000', SUBGRAPH_TIMEOUT_MS: '60000', OPERATION_BUDGET_MS: '60000' }, logger }));
    await f.gateway.coverage.whenReady();
    await feed.polling();

    f.brands.fault = { kind: 'hold' };
    const asked = f.brands.nextRequest();
    const page = f.query(PAGE, { ids: ids(0, 1) });
    await asked;
    // While brands' answer is held, the feed comes back as another log: what it missed cannot be replayed.
    await feed.close();
    feed = await later.start('log-b');
    await logger.said('missed change events that cannot be replayed');
    f.brands.fault = { kind: 'none' };
    f.brands.releaseHeld();
    expect(brandNamesOf((await page).body)).toEqual(['Brand 0']);

    await f.query(PAGE, { ids: ids(0, 1) });
    expect(brandsAsked(f)).toBe(2);
    await f.query(PAGE, { ids: ids(0, 1) });
    expect(brandsAsked(f)).toBe(2);
    expect(await f.metric(`gateway_change_gaps_total{source="feed ${later.url}",reason="source_replaced"}`)).toBe(1);
  });
});

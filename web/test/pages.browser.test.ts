/**
 * The pages in a real headless Chromium against the real reference deployment: three subgraphs (PGlite), the
 * gateway in safelist mode (only the manifest's operations run), topclients behind a real fault-injecting HTTP hop,
 * and the web server in front. Screenshots of every page land in test-output/screenshots/.
 *
 * The gig and user pages defer their top clients' details (@defer): the order in which a page shows its parts is
 * read from the page itself (every state its DOM went through, recorded by a MutationObserver), never timed.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../gateway/src/config.js';
import { jsonLogger } from '../../gateway/src/logger.js';
import { startGateway, type RunningGateway } from '../../gateway/src/server.js';
import { startFaultProxy, type FaultProxy } from '../../gateway/test/support/faultProxy.js';
import { startTestIssuer, type TestIssuer } from '../../gateway/test/support/testIssuer.js';
import manifest from '../../schema/persisted-query-manifest.json' with { type: 'json' };
import { SERVICES } from '../../subgraphs/services.js';
import { generateDemoData, sizeForScale, type DemoData, type DemoGig, type DemoSeller } from '../../subgraphs/toolkit/demoData.js';
import type { EventLog } from '../../subgraphs/toolkit/eventLog.js';
import { startService, type RunningService } from '../../subgraphs/toolkit/service.js';
import { signedBy, TEST_SUBGRAPH_SECRET } from '../../test/support/gatewayTrust.js';
import { gatewayEnvFor, postGraphQL, TEST_SCALE } from '../../test/support/system.js';
import { buildPages } from '../build.js';
import { startWebServer, type RunningWebServer } from '../server.js';
import { closeChromium, launchChromium, newVisitorPage } from './chromium.js';

const SCREENSHOTS = fileURLToPath(new URL('../../test-output/screenshots/', import.meta.url));
/** The gateway's budget for the topclients hop in these tests; the slow hop takes far longer. */
const ENTITY_TIMEOUT_MS = 800;
const OPERATION_BUDGET_MS = 2_500;
const SLOW_TOPCLIENTS_MS = 5_000;
/** topclients' delay in the deferred-page test, well within that test's gateway's patience. */
const DELAYED_TOPCLIENTS_MS = 2_000;
// Consumers retry a stopped topclients' feed; that is expected in the last test and not worth a log line.
const silentEvents: EventLog = () => {};

let demo: DemoData;
let services: { topclients: RunningService; gigs: RunningService; users: RunningService };
let topclientsHop: FaultProxy;
let gateway: RunningGateway;
let web: RunningWebServer;
let browser: Browser;
/** The sign-in gets development tokens from this issuer, which the gateway trusts, as under `npm start`. */
let issuer: TestIssuer;
let distDir: string;

beforeAll(async () => {
  distDir = await mkdtemp(join(tmpdir(), 'web-dist-'));
  const built = buildPages(distDir);
  demo = generateDemoData(sizeForScale(TEST_SCALE));
  issuer = await startTestIssuer();
  // Change propagation on the embedded transport: gigs, users and the gateway follow topclients' event feed.
  const topclients = await startService(SERVICES.topclients, { demoData: demo, eventLog: silentEvents, gatewaySecret: TEST_SUBGRAPH_SECRET });
  const feedUrl = topclients.url.replace(/\/graphql$/, '/events');
  const events = { transport: 'feed' as const, feedUrl };
  const [gigs, users] = await Promise.all([
    startService(SERVICES.gigs, { demoData: demo, events, eventLog: silentEvents }),
    startService(SERVICES.users, { demoData: demo, events, eventLog: silentEvents }),
  ]);
  services = { topclients, gigs, users };
  // The gateway reaches topclients' GraphQL through a real hop that can be made slow.
  topclientsHop = await startFaultProxy(topclients.url);
  gateway = await startGateway(loadConfig(gatewayEnvFor({ ...services, topclients: { url: topclientsHop.url } }, {
    PERSISTED_QUERIES: 'safelist',
    ENTITY_TIMEOUT_MS: String(ENTITY_TIMEOUT_MS),
    OPERATION_BUDGET_MS: String(OPERATION_BUDGET_MS),
    INVALIDATION_FEED_URL: feedUrl,
    ...issuer.env,
  })), { logger: jsonLogger('silent') });
  await built;
  web = await startWebServer({ gatewayUrl: gateway.url, port: 0, distDir, devTokens: (sellerId) => issuer.token(sellerId) });
  browser = await launchChromium();
  await mkdir(SCREENSHOTS, { recursive: true });
}, 90_000);

afterAll(async () => {
  await closeChromium(browser);
  await web?.stop();
  await gateway?.stop();
  await topclientsHop?.stop();
  for (const service of [services?.users, services?.gigs, services?.topclients]) await service?.stop();
  if (distDir) await rm(distDir, { recursive: true, force: true });
  await issuer?.close();
});

/** A page in a new browser context: empty HTTP cache and storage, like a new visitor. */
const freshPage = () => newVisitorPage(browser, { viewport: { width: 1200, height: 850 } });

/** Sellers with a few top clients (room to add one), each with one of their gigs. */
function sellersWithClients(count: number): { seller: DemoSeller; gig: DemoGig }[] {
  const picked: { seller: DemoSeller; gig: DemoGig }[] = [];
  for (const seller of demo.sellers) {
    if (seller.topClientIds.length < 2 || seller.topClientIds.length > 8) continue;
    const gig = demo.gigs.find((g) => g.sellerId === seller.id);
    if (gig) picked.push({ seller, gig });
    if (picked.length === count) break;
  }
  if (picked.length < count) throw new Error('the demo data has too few sellers with top clients');
  return picked;
}

const clientName = (id: string) => demo.clients.find((c) => c.id === id)!.name;
const manifestId = (name: string) => manifest.operations.find((o) => o.name === name)!.id;

/** Every /graphql request the page sends, with its headers. */
function recordGraphQL(page: Page): Request[] {
  const requests: Request[] = [];
  page.on('request', (request) => {
    if (new URL(request.url()).pathname === '/graphql') requests.push(request);
  });
  return requests;
}

async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

async function textsOf(page: Page, selector: string): Promise<string[]> {
  return (await page.locator(selector).allTextContents()).map((t) => t.replace('✓', '').trim());
}

/** What the top clients section of a page showed at one moment. */
interface ShownState {
  /** The page itself is up (the gig's title, or the seller's profile). */
  page: boolean;
  loading: boolean;
  unavailable: boolean;
  clientNames: number;
}

/**
 * Records every distinct state the page's DOM goes through, from before its first script runs: the page's order of
 * events as the page saw them, whatever the machine's speed.
 */
async function recordShownStates(page: Page, pageSelector: string): Promise<() => Promise<ShownState[]>> {
  await page.addInitScript((selector) => {
    // The browser's own globals (this project's Node typings have no DOM).
    const { document, MutationObserver } = globalThis as unknown as {
      document: { querySelector(selector: string): unknown; querySelectorAll(selector: string): { length: number } };
      MutationObserver: new (callback: () => void) => { observe(target: unknown, options: Record<string, boolean>): void };
    };
    const states: unknown[] = [];
    (globalThis as unknown as { shownStates: unknown[] }).shownStates = states;
    let last = '';
    new MutationObserver(() => {
      const state = {
        page: document.querySelector(selector) !== null,
        loading: document.querySelector('[data-testid=top-clients-loading]') !== null,
        unavailable: document.querySelector('[data-testid=top-clients-unavailable]') !== null,
        clientNames: document.querySelectorAll('[data-testid=top-clients] .client-name').length,
      };
      const key = JSON.stringify(state);
      if (key !== last) states.push(state);
      last = key;
    }).observe(document, { childList: true, subtree: true, characterData: true });
  }, pageSelector);
  return () => page.evaluate(() => (globalThis as unknown as { shownStates: ShownState[] }).shownStates);
}

/** Console errors and uncaught exceptions of a page. */
function recordErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => void (message.type() === 'error' && errors.push(message.text())));
  page.on('pageerror', (error) => void errors.push(error.message));
  return errors;
}

// A cold first page (query plans, first reads) on a busy machine can take a while; each test is still bounded.
describe('the pages in a browser', { timeout: 60_000 }, () => {
  it('goes from search to a gig page with its title, seller and top clients, then to the seller\'s page', async () => {
    const [{ seller, gig }] = sellersWithClients(1) as [{ seller: DemoSeller; gig: DemoGig }];
    const page = await freshPage();
    const requests = recordGraphQL(page);

    // Every demo gig's description ends with "Gig #<n>.", so that text finds exactly this gig.
    await page.goto(`${web.url}/search?q=${encodeURIComponent(`Gig #${gig.id.slice(1)}.`)}`);
    await page.locator(`[data-testid=search-results] a[href="/gigs/${gig.id}"]`).waitFor();
    expect(await page.locator('[data-testid=search-results] > li').count()).toBe(1);
    await screenshot(page, 'search');
    await page.click(`a[href="/gigs/${gig.id}"]`);

    await page.waitForURL(`**/gigs/${gig.id}`);
    await expect.poll(() => page.textContent('[data-testid=gig-title]')).toBe(gig.title);
    expect(await page.textContent('[data-testid=seller] .seller-name')).toBe(seller.displayName);
    await page.locator('[data-testid=top-clients] .client-name').first().waitFor();
    expect(await textsOf(page, '[data-testid=top-clients] .client-name')).toEqual(seller.topClientIds.map(clientName));
    // Logos are served by the web server itself: every one loaded (naturalWidth > 0), none from outside.
    const logos = await page.$$eval('[data-testid=top-clients] img.logo', (imgs) => imgs.map((i) => ({ src: i.getAttribute('src'), w: (i as unknown as { naturalWidth: number }).naturalWidth })));
    expect(logos).toHaveLength(seller.topClientIds.length);
    for (const logo of logos) expect(logo).toMatchObject({ src: expect.stringMatching(/^\/logos\/c\d+\.svg$/), w: 64 });
    await screenshot(page, 'gig');

    // Both pages were read as persisted queries over GET by the manifest's id, with no query text and no retry.
    const reads = requests.map((r) => ({ method: r.method(), url: new URL(r.url()), headers: r.headers() }));
    expect(reads.map((r) => [r.method, r.url.searchParams.get('operationName')])).toEqual([['GET', 'SearchResults'], ['GET', 'GigPage']]);
    // The gig page takes its answer in parts (its top clients are deferred); search results come whole.
    expect(reads.map((r) => r.headers.accept)).toEqual(['application/json', 'multipart/mixed;deferSpec=20220824, application/json']);
    for (const read of reads) {
      expect(read.url.searchParams.has('query')).toBe(false);
      expect(read.headers['apollo-require-preflight']).toBe('true');
      const hash = JSON.parse(read.url.searchParams.get('extensions')!).persistedQuery.sha256Hash;
      expect(hash).toBe(manifestId(read.url.searchParams.get('operationName')!));
    }

    await page.click('[data-testid=seller] .seller-name');
    await page.waitForURL(`**/users/${seller.username}`);
    await page.locator('[data-testid=profile] h1').waitFor();
    expect(await page.textContent('[data-testid=profile] h1')).toBe(seller.displayName);
    await page.locator('[data-testid=top-clients] .client-name').first().waitFor();
    expect(await textsOf(page, '[data-testid=top-clients] .client-name')).toEqual(seller.topClientIds.map(clientName));
    expect(await page.locator(`.seller-gigs a[href="/gigs/${gig.id}"]`).count()).toBe(1);
    await screenshot(page, 'user');
    await page.close();
  });

  it('edits the top clients in the editor: each change shows at once there, and the renamed client on the gig page', async () => {
    const [, { seller, gig }] = sellersWithClients(2) as [unknown, { seller: DemoSeller; gig: DemoGig }];
    const added = demo.clients.find((c) => !seller.topClientIds.includes(c.id))!;
    const page = await freshPage();
    const requests = recordGraphQL(page);

    await page.goto(`${web.url}/me/top-clients`);
    await page.fill('[data-testid=sign-in] input', seller.id);
    await page.click('[data-testid=sign-in] button');
    await page.locator('[data-testid=editor-list] .client-name').first().waitFor();
    expect(await textsOf(page, '[data-testid=editor-list] .client-name')).toEqual(seller.topClientIds.map(clientName));
    await screenshot(page, 'editor');

    const read = requests.find((r) => r.url().includes('operationName=MyTopClients'))!;
    expect(read.method()).toBe('GET');
    expect(read.headers()).toMatchObject({ 'cache-control': 'no-cache', 'apollo-require-preflight': 'true' });
    expect(read.headers().authorization).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    expect(read.headers()['x-seller-id']).toBeUndefined();

    // Add: appears last.
    await page.fill('.add-client input', added.id);
    await page.click('.add-client button');
    await expect.poll(() => textsOf(page, '[data-testid=editor-list] .client-name')).toEqual([...seller.topClientIds.map(clientName), added.name]);
    // Reorder: move it to the top.
    for (let i = seller.topClientIds.length; i > 0; i--) {
      await page.click(`[data-client-id="${added.id}"] button[aria-label^="Move"][aria-label$=" up"]`);
      await expect.poll(() => page.locator('[data-testid=editor-list] > li').nth(i - 1).getAttribute('data-client-id')).toBe(added.id);
    }
    // Remove: gone again, and the rest keep their order.
    await page.click(`[data-client-id="${added.id}"] button.danger`);
    await expect.poll(() => textsOf(page, '[data-testid=editor-list] .client-name')).toEqual(seller.topClientIds.map(clientName));

    // Edit: rename the first client.
    const renamed = `Renamed ${Date.now() % 100_000} Ltd`;
    const first = seller.topClientIds[0]!;
    await page.click(`[data-client-id="${first}"] button:text("Edit")`);
    await screenshot(page, 'editor-editing');
    await page.fill(`[data-client-id="${first}"] input[name=name]`, renamed);
    await page.click(`[data-client-id="${first}"] button[type=submit]`);
    await expect.poll(() => page.locator(`[data-client-id="${first}"] .client-name`).textContent()).toContain(renamed);
    await screenshot(page, 'editor-after-edit');

    const mutations = requests.filter((r) => r.method() === 'POST').map((r) => r.postDataJSON());
    expect(mutations.map((m) => m.operationName)).toEqual(['AddTopClient', ...Array(seller.topClientIds.length).fill('ReorderTopClients'), 'RemoveTopClient', 'UpdateClient']);
    for (const m of mutations) expect(m.extensions.persistedQuery.sha256Hash).toBe(manifestId(m.operationName));

    // The source of truth (topclients itself) agrees.
    const truth = await postGraphQL(services.topclients.url, '{ myTopClients { id name } }', undefined, await signedBy(seller.id));
    expect(truth.body.data?.myTopClients).toEqual([{ id: first, name: renamed }, ...seller.topClientIds.slice(1).map((id) => ({ id, name: clientName(id) }))]);

    // A visitor of the gig page sees the new name once the change event has reached the gateway (it evicts its
    // cached copy of the client). Each look is a new visitor, so the browser's own HTTP cache plays no part.
    let gigPage: Page | undefined;
    await expect.poll(async () => {
      await gigPage?.close();
      gigPage = await freshPage();
      await gigPage.goto(`${web.url}/gigs/${gig.id}`);
      await gigPage.locator('[data-testid=top-clients] .client-name, [data-testid=top-clients-unavailable]').first().waitFor();
      return textsOf(gigPage, '[data-testid=top-clients] .client-name');
    }, { timeout: 15_000, interval: 250 }).toEqual([renamed, ...seller.topClientIds.slice(1).map(clientName)]);
    await screenshot(gigPage!, 'gig-after-edit');
    await gigPage!.close();
    await page.close();
  });

  it('shows the gig at once, then a quiet note when topclients is too slow for the gateway\'s budget', async () => {
    const [, , { seller, gig }] = sellersWithClients(3) as [unknown, unknown, { seller: DemoSeller; gig: DemoGig }];
    const page = await freshPage();
    const shownStates = await recordShownStates(page, '[data-testid=gig-title]');
    topclientsHop.fault = { kind: 'delay', ms: SLOW_TOPCLIENTS_MS };
    try {
      const startedAt = Date.now();
      await page.goto(`${web.url}/gigs/${gig.id}`);
      await page.locator('[data-testid=top-clients-unavailable]').waitFor({ timeout: SLOW_TOPCLIENTS_MS });
      const elapsedMs = Date.now() - startedAt;
      expect(elapsedMs).toBeLessThan(SLOW_TOPCLIENTS_MS);
      expect(await page.textContent('[data-testid=top-clients-unavailable]')).toBe('Top clients are unavailable right now');
      expect(await page.textContent('[data-testid=gig-title]')).toBe(gig.title);
      expect(await page.textContent('[data-testid=seller] .seller-name')).toBe(seller.displayName);
      expect(await page.locator('[data-testid=problem], [data-testid=top-clients-loading]').count()).toBe(0);
      // The top clients' part is deferred: the gig showed first, with its top clients loading, and the note replaced
      // them when the gateway gave up on topclients (its entity timeout), not the page.
      const shown = (await shownStates()).filter((state) => state.page);
      expect(shown[0]).toEqual({ page: true, loading: true, unavailable: false, clientNames: 0 });
      expect(shown.at(-1)).toEqual({ page: true, loading: false, unavailable: true, clientNames: 0 });
      await screenshot(page, 'gig-topclients-slow');
    } finally {
      topclientsHop.reset();
      await page.close();
    }
  });

  it('shows the gig and the seller\'s page with a quiet note when topclients is down', async () => {
    const [, , , { seller, gig }] = sellersWithClients(4) as [unknown, unknown, unknown, { seller: DemoSeller; gig: DemoGig }];
    // The gateway's way to topclients goes away: its connections are refused from now on.
    await topclientsHop.stop();
    const page = await freshPage();
    await page.goto(`${web.url}/gigs/${gig.id}`);
    await page.locator('[data-testid=top-clients-unavailable]').waitFor({ timeout: OPERATION_BUDGET_MS + 2_000 });
    expect(await page.textContent('[data-testid=gig-title]')).toBe(gig.title);
    expect(await page.textContent('[data-testid=seller] .seller-name')).toBe(seller.displayName);
    await screenshot(page, 'gig-topclients-down');

    await page.goto(`${web.url}/users/${seller.username}`);
    await page.locator('[data-testid=top-clients-unavailable]').waitFor({ timeout: OPERATION_BUDGET_MS + 2_000 });
    expect(await page.textContent('[data-testid=profile] h1')).toBe(seller.displayName);
    expect(await page.locator(`.seller-gigs a[href="/gigs/${gig.id}"]`).count()).toBe(1);
    await screenshot(page, 'user-topclients-down');
    await page.close();
  });
});

// A gateway of its own, in front of the same subgraphs, patient enough with topclients that a slow answer is worth
// waiting for: the top clients then arrive after the page, in their own part.
describe('the pages while topclients takes its time (@defer)', { timeout: 60_000 }, () => {
  let delayedHop: FaultProxy;
  let patientGateway: RunningGateway;
  let patientWeb: RunningWebServer;

  beforeAll(async () => {
    delayedHop = await startFaultProxy(services.topclients.url);
    patientGateway = await startGateway(loadConfig(gatewayEnvFor({ ...services, topclients: { url: delayedHop.url } }, {
      PERSISTED_QUERIES: 'safelist',
      SUBGRAPH_TOPCLIENTS_ENTITY_TIMEOUT_MS: String(DELAYED_TOPCLIENTS_MS * 5),
      OPERATION_BUDGET_MS: String(DELAYED_TOPCLIENTS_MS * 5),
    })), { logger: jsonLogger('silent') });
    patientWeb = await startWebServer({ gatewayUrl: patientGateway.url, port: 0, distDir });
  }, 30_000);

  afterAll(async () => {
    await patientWeb?.stop();
    await patientGateway?.stop();
    await delayedHop?.stop();
  });

  it('the gig page shows the gig first, its top clients loading, then the top clients when topclients answers 2 s later', async () => {
    const [, , , , { seller, gig }] = sellersWithClients(5) as [unknown, unknown, unknown, unknown, { seller: DemoSeller; gig: DemoGig }];
    const page = await freshPage();
    const errors = recordErrors(page);
    const shownStates = await recordShownStates(page, '[data-testid=gig-title]');
    const answer = page.waitForResponse((response) => new URL(response.url()).searchParams.get('operationName') === 'GigPage');
    delayedHop.fault = { kind: 'delay', ms: DELAYED_TOPCLIENTS_MS };
    try {
      await page.goto(`${patientWeb.url}/gigs/${gig.id}`);
      await page.locator('[data-testid=gig-title]').waitFor();
      expect(await page.textContent('[data-testid=gig-title]')).toBe(gig.title);
      expect(await page.textContent('[data-testid=seller] .seller-name')).toBe(seller.displayName);
      // The gateway answered in parts, and the page has not waited for the last one.
      expect((await answer).headers()['content-type']).toBe('multipart/mixed; boundary="graphql"; deferSpec=20220824');
      await screenshot(page, 'gig-top-clients-loading');

      await page.locator('[data-testid=top-clients] .client-name').first().waitFor({ timeout: DELAYED_TOPCLIENTS_MS * 5 });
      expect(await textsOf(page, '[data-testid=top-clients] .client-name')).toEqual(seller.topClientIds.map(clientName));
      expect(await page.locator('[data-testid=top-clients] img.logo').count()).toBe(seller.topClientIds.length);
      expect(await page.locator('[data-testid=top-clients-loading], [data-testid=top-clients-unavailable], [data-testid=problem]').count()).toBe(0);
      await screenshot(page, 'gig-top-clients-arrived');

      // As the page showed it: the gig with its top clients loading (one placeholder each, no names), then the
      // top clients, and nothing in between.
      expect((await shownStates()).filter((state) => state.page)).toEqual([
        { page: true, loading: true, unavailable: false, clientNames: 0 },
        { page: true, loading: false, unavailable: false, clientNames: seller.topClientIds.length },
      ]);
      // The page's topclients call went out once, for the deferred part, with every client of the seller. (The live
      // query the page opens once it is whole, GigPageLive, makes calls of its own.)
      const pageCalls = delayedHop.entityCalls().filter((call) => call.request.query.startsWith('query GigPage__'));
      expect(pageCalls.map((call) => call.representations)).toEqual([seller.topClientIds.map((id) => ({ __typename: 'Client', id }))]);
      expect(errors).toEqual([]);
    } finally {
      delayedHop.reset();
      await page.close();
    }
  });

  it('the seller\'s page does the same: profile and gigs first, then the top clients with their industry', async () => {
    const [, , , , , { seller, gig }] = sellersWithClients(6) as [unknown, unknown, unknown, unknown, unknown, { seller: DemoSeller; gig: DemoGig }];
    const page = await freshPage();
    const errors = recordErrors(page);
    const shownStates = await recordShownStates(page, '[data-testid=profile] h1');
    delayedHop.fault = { kind: 'delay', ms: DELAYED_TOPCLIENTS_MS };
    try {
      await page.goto(`${patientWeb.url}/users/${seller.username}`);
      await page.locator('[data-testid=profile] h1').waitFor();
      expect(await page.locator(`.seller-gigs a[href="/gigs/${gig.id}"]`).count()).toBe(1);
      await page.locator('[data-testid=top-clients] .client-name').first().waitFor({ timeout: DELAYED_TOPCLIENTS_MS * 5 });
      expect(await textsOf(page, '[data-testid=top-clients] .client-name')).toEqual(seller.topClientIds.map(clientName));
      expect(await page.locator('[data-testid=top-clients] .client-industry').count()).toBe(seller.topClientIds.length);
      expect((await shownStates()).filter((state) => state.page)).toEqual([
        { page: true, loading: true, unavailable: false, clientNames: 0 },
        { page: true, loading: false, unavailable: false, clientNames: seller.topClientIds.length },
      ]);
      expect(errors).toEqual([]);
    } finally {
      delayedHop.reset();
      await page.close();
    }
  });
});

/**
 * The pages' GraphQL client and rendering rules in headless Chromium, against a stand-in gateway (a real
 * node:http server on port 0) that answers exactly what each case needs: an id it does not know (the APQ
 * fallback), a null `topClients` with an error, stale data, a missing gig, answers in parts (`@defer`,
 * multipart/mixed) whose later parts it sends only when the test lets them go, and, over graphql-ws, the live gig
 * page's answers when the test pushes them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import manifest from '../../schema/persisted-query-manifest.json' with { type: 'json' };
import { buildPages } from '../build.js';
import { startWebServer, type RunningWebServer } from '../server.js';
import { closeChromium, launchChromium, newVisitorPage } from './chromium.js';
import { serveGraphQLWs, type GraphQLWsStandIn } from './graphqlWsStandIn.js';

interface Seen { method: string; params: URLSearchParams; headers: IncomingHttpHeaders; body: any }
type Answer = (request: Seen) => unknown;

/**
 * Where a multipart answer puts each part's delimiter: after the part, so a reader splitting on delimiters has it at
 * once (Apollo Server, Apollo Router), or only before the next part (so the part is delimited only when the next
 * one comes, as the gateway wrote them when @defer landed).
 */
type Framing = 'delimited-after' | 'delimited-before';

/**
 * An answer in parts: each payload after the one before it, once its `after` has resolved. With `breakOff`, the
 * stand-in goes away mid-answer once it resolves (after the parts, before the closing delimiter).
 */
class InParts {
  constructor(readonly parts: { payload: unknown; after?: Promise<void> }[], readonly framing: Framing, readonly breakOff?: Promise<void>) {}
}

/** A promise the test resolves when it lets a part go. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

async function writeInParts(res: ServerResponse, answer: InParts): Promise<void> {
  const delimiter = '\r\n--graphql';
  const head = '\r\ncontent-type: application/json; charset=utf-8\r\n\r\n';
  res.writeHead(200, { 'content-type': 'multipart/mixed; boundary="graphql"; deferSpec=20220824', 'cache-control': 'no-store' });
  for (const [i, part] of answer.parts.entries()) {
    await part.after;
    const json = JSON.stringify(part.payload);
    res.write(answer.framing === 'delimited-after' ? `${i === 0 ? delimiter : ''}${head}${json}${delimiter}` : `${delimiter}${head}${json}`);
  }
  if (answer.breakOff) {
    await answer.breakOff;
    return void res.destroy();
  }
  res.end(answer.framing === 'delimited-after' ? '--\r\n' : `${delimiter}--\r\n`);
}

const gigPage = manifest.operations.find((o) => o.name === 'GigPage')!;
const gig = (topClients: unknown) => ({
  id: 'g7', title: 'I will paint your fence', description: 'Any fence.', price: 40, rating: 4.5, ratingCount: 12, category: 'Painting',
  seller: { id: 's3', username: 'brave_otter3', displayName: 'Ada Brush', level: 'TOP_RATED', country: 'NZ', topClients },
});
const clients = [
  { id: 'c1', name: 'Acme Paints', logoUrl: '/logos/c1.svg', verified: true, version: 1 },
  { id: 'c2', name: 'Globex', logoUrl: null, verified: false, version: 3 },
];

let distDir: string;
let upstream: Server;
let streams: GraphQLWsStandIn;
let web: RunningWebServer;
let browser: Browser;
let answer: Answer = () => ({ data: null });
const seen: Seen[] = [];

beforeAll(async () => {
  distDir = await mkdtemp(join(tmpdir(), 'web-client-test-'));
  const built = buildPages(distDir);
  upstream = createServer(async (req, res) => {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const request: Seen = { method: req.method!, params: new URL(req.url!, 'http://x').searchParams, headers: req.headers, body: raw ? JSON.parse(raw) : undefined };
    seen.push(request);
    const answered = answer(request);
    if (answered instanceof InParts) return writeInParts(res, answered);
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(answered));
  });
  streams = serveGraphQLWs(upstream);
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  await built;
  web = await startWebServer({ gatewayUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/graphql`, port: 0, distDir });
  browser = await launchChromium();
}, 90_000);

afterAll(async () => {
  await closeChromium(browser);
  await web?.stop();
  await streams?.close();
  await new Promise((resolve) => upstream?.close(resolve));
  if (distDir) await rm(distDir, { recursive: true, force: true });
});

async function open(path: string): Promise<Page> {
  seen.length = 0;
  const page = await newVisitorPage(browser);
  await page.goto(`${web.url}${path}`);
  await page.locator('main > :not(.loading)').first().waitFor();
  return page;
}

/** A page that records what the browser reports as an error: none is expected on these pages. */
async function openRecordingErrors(path: string): Promise<{ page: Page; errors: string[] }> {
  seen.length = 0;
  const page = await newVisitorPage(browser);
  const errors: string[] = [];
  page.on('console', (message) => void (message.type() === 'error' && errors.push(message.text())));
  page.on('pageerror', (error) => void errors.push(error.message));
  await page.goto(`${web.url}${path}`);
  return { page, errors };
}

describe('the pages\' GraphQL client', () => {
  it('retries with the query text when the gateway does not know the id, like Apollo\'s persisted-queries link', async () => {
    answer = (r) => r.method === 'GET'
      ? { errors: [{ message: 'PersistedQueryNotFound', extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } }] }
      : { data: { gig: gig(clients) } };
    const page = await open('/gigs/g7');
    await page.locator('[data-testid=top-clients] .client-name').first().waitFor();
    expect(await page.textContent('[data-testid=gig-title]')).toBe('I will paint your fence');

    expect(seen.map((r) => r.method)).toEqual(['GET', 'POST']);
    const [get, post] = seen as [Seen, Seen];
    expect(get.params.has('query')).toBe(false);
    expect(JSON.parse(get.params.get('extensions')!)).toEqual({ persistedQuery: { version: 1, sha256Hash: gigPage.id } });
    expect(JSON.parse(get.params.get('variables')!)).toEqual({ id: 'g7' });
    expect(post.body).toEqual({ operationName: 'GigPage', query: gigPage.body, variables: { id: 'g7' }, extensions: { persistedQuery: { version: 1, sha256Hash: gigPage.id } } });
    await page.close();
  });

  it('sends one GET and no retry when the gateway knows the id', async () => {
    answer = () => ({ data: { gig: gig(clients) } });
    const page = await open('/gigs/g7');
    expect(seen.map((r) => [r.method, r.params.get('operationName')])).toEqual([['GET', 'GigPage']]);
    expect(seen[0]!.headers['apollo-require-preflight']).toBe('true');
    // The gig page takes its answer in parts (its top clients are deferred), or whole when that is what comes.
    expect(seen[0]!.headers.accept).toBe('multipart/mixed;deferSpec=20220824, application/json');
    // A client without a logo gets its initial instead of a broken image.
    expect(await page.textContent('[data-client-id=c2] .logo-blank')).toBe('G');
    await page.close();
  });
});

describe('what the gig page shows', () => {
  it('a quiet note in place of top clients that came back null with an error, and everything else as usual', async () => {
    answer = () => ({
      data: { gig: gig(null) },
      errors: [{ message: 'topclients did not answer within 800 ms', path: ['gig', 'seller', 'topClients'], extensions: { code: 'SUBGRAPH_TIMEOUT' } }],
    });
    const page = await open('/gigs/g7');
    expect(await page.textContent('[data-testid=top-clients-unavailable]')).toBe('Top clients are unavailable right now');
    expect(await page.textContent('[data-testid=gig-title]')).toBe('I will paint your fence');
    expect(await page.textContent('[data-testid=seller] .seller-name')).toBe('Ada Brush');
    expect(await page.locator('[data-testid=problem]').count()).toBe(0);
    // The error's text never reaches the page.
    expect(await page.textContent('body')).not.toContain('800 ms');
    await page.close();
  });

  it('data served stale like any other data', async () => {
    answer = () => ({ data: { gig: gig(clients) }, extensions: { staleServed: [{ subgraph: 'topclients', ageSeconds: 90 }] } });
    const page = await open('/gigs/g7');
    await page.locator('[data-testid=top-clients] .client-name').first().waitFor();
    expect((await page.locator('[data-testid=top-clients] .client-name').allTextContents()).map((t) => t.replace('✓', '').trim())).toEqual(['Acme Paints', 'Globex']);
    expect(await page.locator('[data-testid=top-clients-unavailable], [data-testid=problem]').count()).toBe(0);
    await page.close();
  });

  it('"Gig not found" for an id that does not exist, and a retry hint when the gateway cannot be reached', async () => {
    answer = () => ({ data: { gig: null } });
    let page = await open('/gigs/g999');
    expect(await page.textContent('[data-testid=problem] h1')).toBe('Gig not found');
    await page.close();

    answer = () => { throw new Error('unreachable'); };
    const down = await startWebServer({ gatewayUrl: 'http://127.0.0.1:1/graphql', port: 0, distDir });
    try {
      const context = await browser.newContext();
      page = await context.newPage();
      await page.goto(`${down.url}/gigs/g7`);
      await page.locator('[data-testid=problem] h1').waitFor();
      expect(await page.textContent('[data-testid=problem] h1')).toBe('This gig cannot be shown right now');
      await context.close();
    } finally {
      await down.stop();
    }
  });
});

describe('an answer in parts (@defer)', () => {
  const ids = clients.map(({ id }) => ({ id }));
  const details = (path: (string | number)[]) => ({
    incremental: clients.map(({ id, ...rest }, i) => ({ data: rest, path: [...path, i], label: 'topClients' })),
    hasNext: false,
  });
  const clientNames = async (page: Page) => (await page.locator('[data-testid=top-clients] .client-name').allTextContents()).map((t) => t.replace('✓', '').trim());

  for (const framing of ['delimited-after', 'delimited-before'] as const) {
    it(`shows the gig at once, the top clients as loading, and the clients when their part comes (${framing})`, async () => {
      const rest = gate();
      answer = () => new InParts([
        { payload: { data: { gig: gig(ids) }, hasNext: true } },
        { payload: details(['gig', 'seller', 'topClients']), after: rest.opened },
      ], framing);
      const { page, errors } = await openRecordingErrors('/gigs/g7');
      await page.locator('[data-testid=gig-title]').waitFor();
      // The later part is held by the stand-in until now: the page is up without it.
      expect(await page.textContent('[data-testid=gig-title]')).toBe('I will paint your fence');
      expect(await page.textContent('[data-testid=seller] .seller-name')).toBe('Ada Brush');
      expect(await page.textContent('[data-testid=top-clients-loading]')).toBe('Loading top clients…');
      expect(await page.getAttribute('[data-testid=top-clients]', 'aria-busy')).toBe('true');
      expect(await page.locator('[data-testid=top-clients] li.client-pending').count()).toBe(2);
      expect(await clientNames(page)).toEqual([]);

      rest.open();
      await page.locator('[data-testid=top-clients] .client-name').first().waitFor();
      expect(await clientNames(page)).toEqual(['Acme Paints', 'Globex']);
      expect(await page.getAttribute('[data-client-id=c1] img.logo', 'src')).toBe('/logos/c1.svg');
      expect(await page.locator('[data-testid=top-clients-loading], [data-testid=top-clients-unavailable], [data-testid=problem]').count()).toBe(0);
      expect(await page.getAttribute('[data-testid=top-clients]', 'aria-busy')).toBeNull();
      expect(seen.map((r) => r.method)).toEqual(['GET']);
      expect(errors).toEqual([]);
      await page.close();
    });
  }

  it('a deferred part that failed: the top clients say they are unavailable, the rest of the page stays', async () => {
    const rest = gate();
    const error = (i: number) => ({ message: 'topclients did not answer within 800 ms', path: ['gig', 'seller', 'topClients', i], extensions: { code: 'SUBGRAPH_TIMEOUT', serviceName: 'topclients' } });
    answer = () => new InParts([
      { payload: { data: { gig: gig(ids) }, hasNext: true } },
      { payload: { incremental: ids.map((_, i) => ({ data: null, path: ['gig', 'seller', 'topClients', i], label: 'topClients', errors: [error(i)] })), hasNext: false }, after: rest.opened },
    ], 'delimited-after');
    const { page, errors } = await openRecordingErrors('/gigs/g7');
    await page.locator('[data-testid=top-clients-loading]').waitFor();
    rest.open();
    await page.locator('[data-testid=top-clients-unavailable]').waitFor();
    expect(await page.textContent('[data-testid=top-clients-unavailable]')).toBe('Top clients are unavailable right now');
    expect(await page.textContent('[data-testid=gig-title]')).toBe('I will paint your fence');
    expect(await page.locator('[data-testid=top-clients-loading], [data-testid=problem]').count()).toBe(0);
    expect(await page.textContent('body')).not.toContain('800 ms');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('an answer that breaks off after its first part: the page stays, its top clients say they are unavailable', async () => {
    const away = gate();
    answer = () => new InParts([{ payload: { data: { gig: gig(ids) }, hasNext: true } }], 'delimited-after', away.opened);
    const { page } = await openRecordingErrors('/gigs/g7');
    await page.locator('[data-testid=top-clients-loading]').waitFor();
    away.open();
    await page.locator('[data-testid=top-clients-unavailable]').waitFor();
    expect(await page.textContent('[data-testid=gig-title]')).toBe('I will paint your fence');
    expect(await page.locator('[data-testid=top-clients-loading], [data-testid=problem]').count()).toBe(0);
    await page.close();
  });

  it('the user page: profile and gigs at once, the top clients with their industry when their part comes', async () => {
    const rest = gate();
    const seller = (topClients: unknown) => ({
      id: 's3', username: 'brave_otter3', displayName: 'Ada Brush', level: 'TOP_RATED', country: 'NZ', memberSince: '2019-04-01',
      languages: ['English'], bio: 'Fences, mostly.', topClients, gigs: [{ id: 'g7', title: 'I will paint your fence', price: 40, rating: 4.5, ratingCount: 12 }],
    });
    answer = () => new InParts([
      { payload: { data: { seller: seller(ids) }, hasNext: true } },
      {
        payload: {
          incremental: clients.map(({ id, ...rest }, i) => ({ data: { ...rest, industry: i === 0 ? 'Paint' : 'Retail', website: null }, path: ['seller', 'topClients', i], label: 'topClients' })),
          hasNext: false,
        },
        after: rest.opened,
      },
    ], 'delimited-after');
    const { page, errors } = await openRecordingErrors('/users/brave_otter3');
    await page.locator('[data-testid=profile] h1').waitFor();
    expect(await page.textContent('[data-testid=profile] h1')).toBe('Ada Brush');
    expect(await page.locator('.seller-gigs a[href="/gigs/g7"]').count()).toBe(1);
    expect(await page.textContent('[data-testid=top-clients-loading]')).toBe('Loading top clients…');
    rest.open();
    await page.locator('[data-testid=top-clients] .client-name').first().waitFor();
    expect(await clientNames(page)).toEqual(['Acme Paints', 'Globex']);
    expect(await page.locator('[data-testid=top-clients] .client-industry').allTextContents()).toEqual(['Paint', 'Retail']);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('the retry with the query text takes its answer in parts as well', async () => {
    answer = (r) => r.method === 'GET'
      ? { errors: [{ message: 'PersistedQueryNotFound', extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } }] }
      : new InParts([{ payload: { data: { gig: gig(ids) }, hasNext: true } }, { payload: details(['gig', 'seller', 'topClients']) }], 'delimited-after');
    const { page, errors } = await openRecordingErrors('/gigs/g7');
    await page.locator('[data-testid=top-clients] .client-name').first().waitFor();
    expect(await clientNames(page)).toEqual(['Acme Paints', 'Globex']);
    expect(seen.map((r) => [r.method, r.headers.accept])).toEqual([
      ['GET', 'multipart/mixed;deferSpec=20220824, application/json'],
      ['POST', 'multipart/mixed;deferSpec=20220824, application/json'],
    ]);
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe('the live gig page (GigPageLive over graphql-ws)', () => {
  const gigPageLive = manifest.operations.find((o) => o.name === 'GigPageLive')!;
  const initech = { id: 'c3', name: 'Initech', logoUrl: '/logos/c3.svg', verified: false, version: 1 };
  const clientNames = async (page: Page) => (await page.locator('[data-testid=top-clients] .client-name').allTextContents()).map((t) => t.replace('✓', '').trim());

  /** Every distinct state of the gig page's title and top clients, recorded by the page itself as its DOM changes. */
  async function recordStates(page: Page): Promise<() => Promise<{ title: string | null; clients: string[] }[]>> {
    await page.addInitScript(() => {
      // The browser's own globals (this project's Node typings have no DOM).
      type Found = { textContent: string | null };
      const { document, MutationObserver } = globalThis as unknown as {
        document: { querySelector(selector: string): Found | null; querySelectorAll(selector: string): Iterable<Found> };
        MutationObserver: new (callback: () => void) => { observe(target: unknown, options: Record<string, boolean>): void };
      };
      const states: unknown[] = [];
      (globalThis as unknown as { shownStates: unknown[] }).shownStates = states;
      let last = '';
      new MutationObserver(() => {
        const title = document.querySelector('[data-testid=gig-title]')?.textContent ?? null;
        if (title === null) return;
        const clients = [...document.querySelectorAll('[data-testid=top-clients] .client-name')].map((n) => (n.textContent ?? '').replace('✓', '').trim());
        const key = JSON.stringify({ title, clients });
        if (key !== last) states.push({ title, clients });
        last = key;
      }).observe(document, { childList: true, subtree: true, characterData: true });
    });
    return () => page.evaluate(() => (globalThis as unknown as { shownStates: { title: string | null; clients: string[] }[] }).shownStates);
  }

  /** Marks what is on screen now; `kept` then tells whether it is still the very same node (it did not flicker). */
  const mark = (page: Page, selector: string) => page.locator(selector).evaluate((node) => void ((node as unknown as { kept: boolean }).kept = true));
  const kept = (page: Page, selector: string) => page.locator(selector).evaluate((node) => (node as unknown as { kept?: boolean }).kept === true);

  it('once shown, follows its live query on the page\'s own origin, by id, and draws each answer in place: only what changed changes', async () => {
    answer = () => ({ data: { gig: gig(clients) } });
    const live = streams.nextOperation();
    const page = await newVisitorPage(browser);
    const errors: string[] = [];
    page.on('console', (message) => void (message.type() === 'error' && errors.push(message.text())));
    page.on('pageerror', (error) => void errors.push(error.message));
    const states = await recordStates(page);
    seen.length = 0;
    await page.goto(`${web.url}/gigs/g7`);
    const operation = await live;
    expect(operation.payload).toEqual({ operationName: 'GigPageLive', query: '', variables: { id: 'g7' }, extensions: { persistedQuery: { version: 1, sha256Hash: gigPageLive.id } } });
    // An anonymous visitor: nothing in connection_init. Through the web server, to the gateway's /graphql.
    expect(operation.init).toBeUndefined();
    expect(operation.url).toBe('/graphql');
    expect(seen.map((r) => [r.method, r.params.get('operationName')])).toEqual([['GET', 'GigPage']]);

    for (const selector of ['[data-testid=gig-title]', '[data-testid=seller] .seller-name', '[data-client-id=c1] img.logo', '[data-client-id=c2]']) await mark(page, selector);
    // Initech joins at the top, Globex is renamed; the gig, the seller and Acme stay as they were.
    operation.push({ data: { gig: gig([initech, clients[0], { ...clients[1], name: 'Globex Corp' }]) } });
    await page.locator('[data-client-id=c3] .client-name').waitFor();
    expect(await clientNames(page)).toEqual(['Initech', 'Acme Paints', 'Globex Corp']);
    expect(await page.getAttribute('[data-client-id=c3] img.logo', 'src')).toBe('/logos/c3.svg');
    expect(await kept(page, '[data-testid=gig-title]')).toBe(true);
    expect(await kept(page, '[data-testid=seller] .seller-name')).toBe(true);
    expect(await kept(page, '[data-client-id=c1] img.logo')).toBe(true);
    // Renamed, moved, but the same item: only its name changed.
    expect(await kept(page, '[data-client-id=c2]')).toBe(true);

    operation.push({ data: { gig: { ...gig([initech, ...clients]), title: 'I will paint your fence, and the gate' } } });
    await page.getByText('I will paint your fence, and the gate').waitFor();
    expect(await page.title()).toBe('I will paint your fence, and the gate · gigs');
    expect(await kept(page, '[data-testid=gig-title]')).toBe(true);
    expect(await kept(page, '[data-client-id=c1] img.logo')).toBe(true);
    expect(await clientNames(page)).toEqual(['Initech', 'Acme Paints', 'Globex']);

    // As the page showed it: the gig, then each answer whole, with nothing in between (no reload, no empty list).
    expect(await states()).toEqual([
      { title: 'I will paint your fence', clients: ['Acme Paints', 'Globex'] },
      { title: 'I will paint your fence', clients: ['Initech', 'Acme Paints', 'Globex Corp'] },
      { title: 'I will paint your fence, and the gate', clients: ['Initech', 'Acme Paints', 'Globex'] },
    ]);
    expect(seen).toHaveLength(1);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('an answer without the gig changes nothing and shows no error; leaving the page closes its socket', async () => {
    answer = () => ({ data: { gig: gig(clients) } });
    const live = streams.nextOperation();
    const { page, errors } = await openRecordingErrors('/gigs/g7');
    const operation = await live;
    await page.locator('[data-testid=top-clients] .client-name').first().waitFor();
    operation.push({ data: { gig: null }, errors: [{ message: 'topclients and gigs are down' }] });
    operation.push({ data: { gig: { ...gig(clients), title: 'Still here' } } });
    // The answer after it shows: the one before it was passed over.
    await page.getByText('Still here').waitFor();
    expect(await clientNames(page)).toEqual(['Acme Paints', 'Globex']);
    expect(await page.locator('[data-testid=problem], [data-testid=top-clients-unavailable]').count()).toBe(0);
    expect(await page.textContent('body')).not.toContain('down');

    await page.goto(`${web.url}/users/brave_otter3`);
    await operation.stopped;
    expect(errors).toEqual([]);
    await page.close();
  });

  it('a gateway that takes no WebSocket: the page stays as it was shown, with no error', async () => {
    // A gateway that answers HTTP only: the upgrade gets a plain 200, and the browser gives the socket up.
    const httpOnly = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: { gig: gig(clients) } })));
    await new Promise<void>((resolve) => httpOnly.listen(0, '127.0.0.1', resolve));
    const plainWeb = await startWebServer({ gatewayUrl: `http://127.0.0.1:${(httpOnly.address() as AddressInfo).port}/graphql`, port: 0, distDir });
    try {
      const page = await newVisitorPage(browser);
      const uncaught: string[] = [];
      page.on('pageerror', (error) => void uncaught.push(error.message));
      const socket = page.waitForEvent('websocket');
      await page.goto(`${plainWeb.url}/gigs/g7`);
      await (await socket).waitForEvent('socketerror');
      expect(await page.textContent('[data-testid=gig-title]')).toBe('I will paint your fence');
      expect(await clientNames(page)).toEqual(['Acme Paints', 'Globex']);
      expect(await page.locator('[data-testid=problem], [data-testid=top-clients-unavailable]').count()).toBe(0);
      // The browser reports the refused handshake in its console; the page itself throws nothing.
      expect(uncaught).toEqual([]);
      await page.close();
    } finally {
      await plainWeb.stop();
      await new Promise((resolve) => httpOnly.close(resolve));
    }
  });
});

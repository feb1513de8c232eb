/**
 * The pages' GraphQL client and rendering rules in headless Chromium, against a stand-in gateway (a real
 * node:http server on port 0) that answers exactly what each case needs: an id it does not know (the APQ
 * fallback), a null `topClients` with an error, stale data, a missing gig.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import manifest from '../../schema/persisted-query-manifest.json' with { type: 'json' };
import { buildPages } from '../build.js';
import { startWebServer, type RunningWebServer } from '../server.js';
import { closeChromium, launchChromium, newVisitorPage } from './chromium.js';

interface Seen { method: string; params: URLSearchParams; headers: IncomingHttpHeaders; body: any }
type Answer = (request: Seen) => unknown;

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
    const body = JSON.stringify(answer(request));
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(body);
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  await built;
  web = await startWebServer({ gatewayUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/graphql`, port: 0, distDir });
  browser = await launchChromium();
}, 90_000);

afterAll(async () => {
  await closeChromium(browser);
  await web?.stop();
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

/**
 * A gig page and its seller's editor side by side, in a real headless Chromium against the real reference
 * deployment: three subgraphs (PGlite) propagating changes over their feeds, the gateway in safelist mode evicting
 * on every publisher's feed (topclients', gigs' and users', as `npm start` runs it), and the web server in front,
 * which passes the pages' WebSockets through to the gateway.
 *
 * The seller changes their top clients in the editor; the open gig page shows it without a reload (its live query)
 * and the editor says when the gig pages show it (gigs' GigPagesUpdated). What each page showed is read from the
 * page itself (every state its DOM went through, recorded by a MutationObserver), never timed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page, WebSocket } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestIssuer, type TestIssuer } from '../../gateway/test/support/testIssuer.js';
import { generateDemoData, sizeForScale, type DemoData } from '../../subgraphs/toolkit/demoData.js';
import { until } from '../../subgraphs/toolkit/test/subscriptionClient.js';
import { startPropagatingSystem, type PropagatingSystem } from '../../test/support/propagatingSystem.js';
import { TEST_SCALE } from '../../test/support/system.js';
import { buildPages } from '../build.js';
import { startWebServer, type RunningWebServer } from '../server.js';
import { closeChromium, launchChromium, newVisitorPage } from './chromium.js';

let demo: DemoData;
let system: PropagatingSystem;
let web: RunningWebServer;
let browser: Browser;
let issuer: TestIssuer;
let distDir: string;

beforeAll(async () => {
  distDir = await mkdtemp(join(tmpdir(), 'web-dist-'));
  const built = buildPages(distDir);
  demo = generateDemoData(sizeForScale(TEST_SCALE));
  issuer = await startTestIssuer();
  system = await startPropagatingSystem('feed', demo, { gatewayEnv: { PERSISTED_QUERIES: 'safelist', ...issuer.env } });
  await built;
  web = await startWebServer({ gatewayUrl: system.gateway.url, port: 0, distDir, devTokens: (sellerId) => issuer.token(sellerId) });
  browser = await launchChromium();
}, 90_000);

afterAll(async () => {
  await closeChromium(browser);
  await web?.stop();
  await system?.stop();
  if (distDir) await rm(distDir, { recursive: true, force: true });
  await issuer?.close();
});

const clientName = (id: string) => demo.clients.find((c) => c.id === id)!.name;

async function textsOf(page: Page, selector: string): Promise<string[]> {
  return (await page.locator(selector).allTextContents()).map((t) => t.replace('✓', '').trim());
}

/** Console errors and uncaught exceptions of a page. */
function recordErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => void (message.type() === 'error' && errors.push(message.text())));
  page.on('pageerror', (error) => void errors.push(error.message));
  return errors;
}

/**
 * Every distinct text of `selectors` (joined with " | ", absent ones left out) the page shows, recorded from before
 * its first script runs, as its DOM changes.
 */
async function recordTexts(page: Page, selectors: string[]): Promise<() => Promise<string[]>> {
  await page.addInitScript((watched) => {
    // The browser's own globals (this project's Node typings have no DOM).
    type Found = { textContent: string | null };
    const { document, MutationObserver } = globalThis as unknown as {
      document: { querySelectorAll(selector: string): Iterable<Found> };
      MutationObserver: new (callback: () => void) => { observe(target: unknown, options: Record<string, boolean>): void };
    };
    const texts: string[] = [];
    (globalThis as unknown as { shownTexts: string[] }).shownTexts = texts;
    new MutationObserver(() => {
      const text = watched.flatMap((selector) => [...document.querySelectorAll(selector)].map((n) => (n.textContent ?? '').replace('✓', '').trim())).join(' | ');
      if (text !== '' && text !== texts.at(-1)) texts.push(text);
    }).observe(document, { childList: true, subtree: true, characterData: true, attributes: true });
  }, selectors);
  return () => page.evaluate(() => (globalThis as unknown as { shownTexts: string[] }).shownTexts);
}

/** Resolves with the page's WebSocket once it has had its first result (`next`) from the gateway. */
function firstResultOver(page: Page): Promise<WebSocket> {
  return new Promise((resolve) => {
    page.on('websocket', (socket) => {
      socket.on('framereceived', (frame) => {
        if (typeof frame.payload === 'string' && JSON.parse(frame.payload).type === 'next') resolve(socket);
      });
    });
  });
}

describe('a gig page and the editor side by side', { timeout: 60_000 }, () => {
  it('a client added in the editor shows on the open gig page without a reload, and the editor says when it is visible there', async () => {
    const seller = demo.sellers.find((s) => s.topClientIds.length >= 2 && s.topClientIds.length <= 8 && demo.gigs.some((g) => g.sellerId === s.id))!;
    const gig = demo.gigs.find((g) => g.sellerId === seller.id)!;
    const added = demo.clients.find((c) => !seller.topClientIds.includes(c.id))!;
    const names = seller.topClientIds.map(clientName);

    // The gig page, as any visitor opens it; it goes live once shown.
    const gigPage = await newVisitorPage(browser, { viewport: { width: 1200, height: 850 } });
    const gigErrors = recordErrors(gigPage);
    const gigPageShown = await recordTexts(gigPage, ['[data-testid=gig-title]', '[data-testid=top-clients] .client-name']);
    const gigReads: string[] = [];
    gigPage.on('request', (request) => void (new URL(request.url()).pathname === '/graphql' && gigReads.push(request.method())));
    const live = firstResultOver(gigPage);
    await gigPage.goto(`${web.url}/gigs/${gig.id}`);
    await gigPage.locator('[data-testid=top-clients] .client-name').first().waitFor();
    expect(await textsOf(gigPage, '[data-testid=top-clients] .client-name')).toEqual(names);
    // Its live query answered over the page's own origin: from now on the gateway pushes what changes.
    expect((await live).url()).toBe(`${web.url.replace('http:', 'ws:')}/graphql`);
    // What must not flicker: the gig's title stays the very node it was.
    await gigPage.locator('[data-testid=gig-title]').evaluate((node) => void ((node as unknown as { kept: boolean }).kept = true));

    // The editor, signed in as the gig's seller, in a tab of its own.
    const editor = await newVisitorPage(browser, { viewport: { width: 1200, height: 850 } });
    const editorErrors = recordErrors(editor);
    const notes = await recordTexts(editor, ['[data-testid=gig-pages-note]:not([hidden])']);
    await editor.goto(`${web.url}/me/top-clients`);
    await editor.fill('[data-testid=sign-in] input', seller.id);
    await editor.click('[data-testid=sign-in] button');
    await editor.locator('[data-testid=editor-list] .client-name').first().waitFor();
    // The editor subscribed as it opened: the gateway's subscription has reached gigs (events are not replayed).
    await until(system.subgraphs.gigs.outboxSubscriptions, () => system.subgraphs.gigs.outboxSubscriptions.subscriberCount === 1);

    await editor.fill('.add-client input', added.id);
    await editor.click('.add-client button');
    await editor.locator('[data-testid=gig-pages-note]', { hasText: 'Visible on your gig pages since ' }).waitFor({ timeout: 15_000 });
    expect(await textsOf(editor, '[data-testid=editor-list] .client-name')).toEqual([...names, added.name]);
    // What the note said: "updating" until gigs applied this list (unless gigs was quicker than the mutation's answer).
    const said = await notes();
    expect(said.at(-1)).toMatch(/^Visible on your gig pages since \d{1,2}:\d{2}:\d{2}/);
    expect(said.slice(0, -1).every((note) => note === 'Saved — updating your gig pages…')).toBe(true);

    // Meanwhile the gig page, untouched, shows the new client.
    await gigPage.locator(`[data-testid=top-clients] [data-client-id="${added.id}"] .client-name`).waitFor({ timeout: 15_000 });
    expect(await textsOf(gigPage, '[data-testid=top-clients] .client-name')).toEqual([...names, added.name]);

    // A rename: gigs copies no details, the gig page reads them through the gateway, whose copy the change evicts.
    const renamed = `Renamed ${Date.now() % 100_000} Ltd`;
    await editor.click(`[data-client-id="${added.id}"] button:text("Edit")`);
    await editor.fill(`[data-client-id="${added.id}"] input[name=name]`, renamed);
    await editor.click(`[data-client-id="${added.id}"] button[type=submit]`);
    await editor.locator('[data-testid=editor-message]', { hasText: `Saved ${renamed}.` }).waitFor();
    await gigPage.locator(`[data-testid=top-clients] [data-client-id="${added.id}"] .client-name`, { hasText: renamed }).waitFor({ timeout: 15_000 });

    // As the gig page showed it once whole: the clients, then with the new one, then renamed; no reload, nothing between.
    const title = gig.title;
    const shown = await gigPageShown();
    expect(shown.slice(shown.indexOf([title, ...names].join(' | ')))).toEqual([
      [title, ...names].join(' | '),
      [title, ...names, added.name].join(' | '),
      [title, ...names, renamed].join(' | '),
    ]);
    expect(await gigPage.locator('[data-testid=gig-title]').evaluate((node) => (node as unknown as { kept?: boolean }).kept === true)).toBe(true);
    expect(gigReads).toEqual(['GET']);
    expect(gigErrors).toEqual([]);
    expect(editorErrors).toEqual([]);
    await editor.close();
    await gigPage.close();
  });
});

/**
 * The gateway's local explorer (/explorer, GraphiQL bundled at build time) in a real headless Chromium, with the
 * network cut: every request that is not to 127.0.0.1 is aborted and counted, and the count must stay zero. It runs
 * the gig page's operation (from the persisted query manifest) against the reference deployment and shows the gig,
 * then acts as a seller through the headers tab. Screenshots land in test-output/screenshots/.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureExplorerBuilt } from '../../gateway/explorer/build.js';
import manifest from '../../schema/persisted-query-manifest.json' with { type: 'json' };
import { startSystem, type RunningSystem } from '../../test/support/system.js';
import { launchChromium } from './chromium.js';

const SCREENSHOTS = fileURLToPath(new URL('../../test-output/screenshots/', import.meta.url));
const operation = (name: string) => manifest.operations.find((o) => o.name === name)!.body;

let system: RunningSystem;
let browser: Browser;
let explorerUrl: string;

beforeAll(async () => {
  // `npm run build` (CI) has built it already; otherwise this builds it once, as a first visit would.
  const built = ensureExplorerBuilt();
  system = await startSystem();
  await built;
  explorerUrl = system.gateway.url.replace(/\/graphql$/, '/explorer');
  browser = await launchChromium();
  await mkdir(SCREENSHOTS, { recursive: true });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await system?.stop();
});

interface Offline {
  context: BrowserContext;
  page: Page;
  /** Every request that tried to leave the machine (aborted). */
  outside: Set<string>;
  /** Console errors and uncaught page errors (a CSP violation would show here). */
  errors: string[];
}

/** A new visitor whose browser can reach 127.0.0.1 and nothing else. */
async function offlinePage(): Promise<Offline> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  // setEditor pastes, as a person would: typing would let Monaco auto-indent and auto-close brackets.
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  const outside = new Set<string>();
  const isLocal = (url: string) => {
    const { protocol, hostname } = new URL(url);
    return protocol === 'data:' || protocol === 'blob:' || hostname === '127.0.0.1';
  };
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (isLocal(url)) return route.continue();
    outside.add(url);
    return route.abort('blockedbyclient');
  });
  // Requests that bypass routing (none expected) are still seen here.
  context.on('request', (request) => {
    if (!isLocal(request.url())) outside.add(request.url());
  });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(String(error)));
  return { context, page, outside, errors };
}

/** GraphiQL 5's Monaco editors, by the model each one edits. */
const EDITORS = {
  operation: '.monaco-editor[data-uri$="-operation.graphql"]',
  variables: '.monaco-editor[data-uri$="-variables.json"]',
  headers: '.monaco-editor[data-uri$="-request-headers.json"]',
  response: '.monaco-editor[data-uri$="-response.json"]',
};

/** Replaces the whole content of one editor with `text` by pasting it. */
async function setEditor(page: Page, editor: string, text: string): Promise<void> {
  type WithClipboard = { navigator: { clipboard: { writeText(value: string): Promise<void> } } };
  await page.evaluate((value) => (globalThis as unknown as WithClipboard).navigator.clipboard.writeText(value), text);
  await page.locator(editor).click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Control+V');
  // Monaco draws only the lines in view; after a paste that is the end of the text.
  const pasted = text.replace(/\s+/g, '');
  await expect.poll(async () => {
    const shown = await editorText(page, editor);
    return shown.length > 0 && pasted.endsWith(shown);
  }).toBe(true);
}

/** An editor's text as shown, whitespace removed (Monaco renders spaces as non-breaking, lines as elements). */
async function editorText(page: Page, editor: string): Promise<string> {
  return (await page.locator(`${editor} .view-lines`).innerText()).replace(/[\s\u00a0]+/g, '');
}

/** The text of the result pane, spaces normalised (Monaco renders them as non-breaking). */
async function resultText(page: Page): Promise<string> {
  return (await page.locator(`${EDITORS.response} .view-lines`).innerText()).replace(/\u00a0/g, ' ');
}

async function runAndWait(page: Page, expected: string): Promise<void> {
  await page.locator('.graphiql-execute-button').click();
  await expect.poll(() => resultText(page), { timeout: 30_000 }).toContain(expected);
}

describe('the local explorer with the network cut', { timeout: 120_000 }, () => {
  it('loads from the gateway alone, runs the gig page operation and shows the gig, its seller and top clients', async () => {
    const gig = system.demo.gigs.find((g) => (system.demo.sellers.find((s) => s.id === g.sellerId)?.topClientIds.length ?? 0) > 0)!;
    const seller = system.demo.sellers.find((s) => s.id === gig.sellerId)!;
    const firstClient = system.demo.clients.find((c) => c.id === seller.topClientIds[0])!;
    const { context, page, outside, errors } = await offlinePage();

    await page.goto(explorerUrl);
    expect(new URL(page.url()).pathname).toBe('/explorer/');
    await page.locator(EDITORS.operation).waitFor();

    await setEditor(page, EDITORS.operation, operation('GigPage'));
    await page.getByRole('button', { name: 'Variables', exact: true }).click();
    await setEditor(page, EDITORS.variables, JSON.stringify({ id: gig.id }));
    await runAndWait(page, gig.title);
    const shown = await resultText(page);
    expect(shown).toContain(`"username": "${seller.username}"`);
    expect(shown).toContain(`"name": "${firstClient.name}"`);
    // Monaco's language features run in web workers, and those came from the gateway too.
    expect(page.workers().length).toBeGreaterThan(0);
    for (const worker of page.workers()) expect(new URL(worker.url()).origin).toBe(new URL(explorerUrl).origin);
    await page.screenshot({ path: join(SCREENSHOTS, 'explorer-gig.png') });

    expect([...outside]).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('documents the identity header in the headers tab, and a value there makes the operation run as that seller', async () => {
    const seller = system.demo.sellers.find((s) => s.topClientIds.length >= 2)!;
    const clientNames = seller.topClientIds.map((id) => system.demo.clients.find((c) => c.id === id)!.name);
    const { context, page, outside, errors } = await offlinePage();

    await page.goto(`${explorerUrl}/`);
    await page.locator(EDITORS.operation).waitFor();
    // The headers tab opens first, with the development identity header documented and left empty.
    await expect.poll(() => editorText(page, EDITORS.headers)).toContain('"x-seller-id":""');
    await expect.poll(() => editorText(page, EDITORS.headers)).toContain('//Developmentonly');
    await page.screenshot({ path: join(SCREENSHOTS, 'explorer-headers-tab.png') });

    await setEditor(page, EDITORS.headers, JSON.stringify({ 'x-seller-id': seller.id }));
    await setEditor(page, EDITORS.operation, operation('MyTopClients'));
    await runAndWait(page, clientNames[0]!);
    expect(await resultText(page)).toContain(clientNames[1]!);
    await page.screenshot({ path: join(SCREENSHOTS, 'explorer-headers.png') });

    expect([...outside]).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  });
});

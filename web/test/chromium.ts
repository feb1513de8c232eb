/**
 * Headless Debian chromium for the browser tests, driven by playwright-core (which downloads nothing). Playwright
 * gives every launch a fresh temporary profile; the flags turn off all background traffic, so nothing but
 * 127.0.0.1 is ever contacted. Each `newContext()` starts with an empty HTTP cache and storage, like a new visitor.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`no chromium at ${CHROMIUM_PATH}: install Debian's package (apt-get install -y chromium); .ci/run does this`);
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-default-apps', '--disable-extensions',
    ],
  });
}

/** Contexts of closed pages still closing: the browser closes after them, or their close rejects unheard. */
const closingContexts = new Set<Promise<void>>();

/** A page in a new browser context (empty HTTP cache and storage, like a new visitor); closing it closes its context. */
export async function newVisitorPage(browser: Browser, options: BrowserContextOptions = {}): Promise<Page> {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  page.on('close', () => {
    const closing = context.close();
    closingContexts.add(closing);
    const forget = () => void closingContexts.delete(closing);
    closing.then(forget, forget);
  });
  return page;
}

/** Closes the browser once every page's context has finished closing. */
export async function closeChromium(browser: Browser | undefined): Promise<void> {
  await Promise.allSettled([...closingContexts]);
  await browser?.close();
}

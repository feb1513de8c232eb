/**
 * The load for the deferred gig page (scenarios 2d and 4d), in its own process like bench/load.ts: autocannon times
 * a whole answer only, so this reads each answer as it streams (partReader.ts) with undici, over a keep-alive
 * pool to the gateway on 127.0.0.1. A timed load runs `connections` pages at a time, each connection asking again
 * as soon as its answer has ended (or sends `pagesPerSecond` pages at a steady rate), for a warm-up whose figures
 * are dropped and then a measured duration; a burst sends `burst` pages at once, each on its own connection. Ids as in load.ts (Zipf-drawn, same seed; a burst takes
 * the most popular gigs, one page each).
 *
 * Every page asks for `multipart/mixed;deferSpec=20220824` as Apollo Client does for an operation with `@defer`;
 * the page without the top clients' details (the baseline) has no `@defer`, so its answer is one JSON body, read by
 * the same code.
 * Per page it records: the time to the first payload (complete, and delimited: see partReader.ts), the time to the
 * last part, whether the gig was served (the first payload has the gig's data) and what became of the top clients:
 * delivered (each client's details arrived), none to show (the seller has none), failed (a part carried an error
 * instead: its code is counted) or missing (neither came).
 *
 * Usage: tsx bench/deferLoad.ts <options.json>; prints MEASURE after its warm-up, then one JSON line (LoadResult).
 */
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Pool } from 'undici';
import type { LoadOptions, LoadResult } from './load.js';
import { DEFERRED_GIG_PAGE, NO_CLIENT_DETAILS_PAGE } from './operations.js';
import { PartReader, type TimedPayload } from './partReader.js';
import { percentiles, type Percentiles } from './stats.js';
import { zipfSampler } from './zipf.js';

/** What became of a page's top clients. */
export type TopClientsOutcome = 'delivered' | 'none' | 'failed' | 'missing';

export interface DeferResult {
  /** Answers that came as multipart/mixed (the others were one JSON body). */
  multipart: number;
  /** Deferred page only: pages with top clients to show whose answer came in one JSON body all the same. */
  notDeferred: number;
  /** From sending to the first payload's JSON arriving whole (a JSON answer: to its end); HTTP 200 answers only, as below. */
  firstPayloadMs: Percentiles;
  /** To the delimiter after the first payload: when a reader splitting on the boundary (Apollo Client) has it. */
  firstDelimitedMs: Percentiles;
  /** To the last payload (the answer's end). */
  lastPartMs: Percentiles;
  /** From the first payload to the part that brought the top clients (or their error), pages with top clients only. */
  topClientsAfterFirstMs: Percentiles;
  /** Pages whose first payload had the gig's data. */
  served: number;
  /** Deferred page only: pages by what became of their top clients (pages without an answer are in none of them). */
  topClients: Record<TopClientsOutcome, number>;
  /** The codes of the errors the top clients' parts carried instead of data. */
  topClientsErrorCodes: Record<string, number>;
  /**
   * `mixedPages`: the page without the top clients' details, asked on the same gateway at the same time (the
   * figures above are the deferred page's): its first payload, which is its whole answer.
   */
  besideFirstPayloadMs?: Percentiles;
  /**
   * This load process's own event-loop delay while measuring: a page whose part arrived while the reader was busy
   * is timed late by as much, whichever gateway sent it.
   */
  readerLagMs?: { p50: number; p99: number; max: number };
}

const options = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as LoadOptions;
/** `mixedPages`: every other connection (or page of a burst) asks for the deferred page, the others the baseline. */
const mixed = options.kind === 'mixedPages';
const isDeferredPage = (index: number) => options.kind === 'deferredPage' || (mixed && index % 2 === 0);
const nextRank = zipfSampler(options.gigIdsByRank.length, options.zipfExponent, options.seed);
const target = new URL(options.url);
const TIMEOUT_MS = 30_000;
let requestSeq = 0;

type Json = Record<string, any>;
interface Page {
  deferred: boolean;
  status: number;
  multipart: boolean;
  first: TimedPayload | undefined;
  last: TimedPayload | undefined;
  topClientsAt: number | undefined;
  served: boolean;
  complete: boolean;
  topClients: TopClientsOutcome | null;
  /** Top clients to show, and the answer came in one piece. */
  notDeferred: boolean;
  errorCodes: string[];
  topClientsErrorCodes: string[];
}

const codeOf = (error: Json) => String(error?.extensions?.code ?? 'NO_CODE');

/** What a page's payloads say: served or not, complete or not, and its top clients' fate. */
function judge(deferred: boolean, status: number, multipart: boolean, payloads: TimedPayload[]): Page {
  const first = payloads[0];
  const head = (first?.payload ?? {}) as Json;
  const errorCodes = (head.errors ?? []).map(codeOf);
  const gig = head.data?.gig;
  const served = status === 200 && !!gig && typeof gig.title === 'string' && typeof gig.price === 'number' && typeof gig.seller?.id === 'string';
  const profile = served && typeof gig.seller.username === 'string';
  const page: Page = { deferred, status, multipart, first, last: payloads[payloads.length - 1], topClientsAt: undefined, served, complete: false, topClients: null, notDeferred: false, errorCodes, topClientsErrorCodes: [] };
  // Every entry of every later payload, with when it came.
  const entries: { entry: Json; at: number }[] = [];
  for (const { payload, completeAt } of payloads.slice(1)) {
    for (const error of (payload as Json).errors ?? []) errorCodes.push(codeOf(error));
    for (const entry of (payload as Json).incremental ?? []) {
      for (const error of entry.errors ?? []) errorCodes.push(codeOf(error));
      entries.push({ entry, at: completeAt });
    }
  }
  if (!deferred) {
    page.complete = profile && errorCodes.length === 0;
    return page;
  }
  if (status !== 200 || !first) return page;
  const list = gig?.seller?.topClients;
  // In a whole answer (not deferred) the top clients' errors are the first payload's.
  const headCodes = (head.errors ?? []).map(codeOf);
  if (Array.isArray(list) && list.length === 0) page.topClients = 'none';
  else if (!Array.isArray(list)) {
    page.topClients = headCodes.length > 0 ? 'failed' : 'missing';
    page.topClientsErrorCodes.push(...headCodes);
  } else {
    page.notDeferred = !multipart;
    // Each client's details: in the first payload (an answer not deferred), or in the entry at its place.
    let failed = false;
    let allThere = true;
    list.forEach((client: Json | null, i: number) => {
      if (typeof client?.name === 'string') return;
      const found = entries.find(({ entry }) => Array.isArray(entry.path) && entry.path.length === 4 && entry.path[2] === 'topClients' && entry.path[3] === i);
      if (found) page.topClientsAt = Math.max(page.topClientsAt ?? 0, found.at);
      if (found?.entry.errors?.length) page.topClientsErrorCodes.push(...found.entry.errors.map(codeOf));
      if (typeof found?.entry.data?.name !== 'string') {
        allThere = false;
        if (found || (!multipart && headCodes.length > 0)) failed = true;
      }
    });
    if (failed && !multipart) page.topClientsErrorCodes.push(...headCodes);
    page.topClients = allThere ? 'delivered' : failed ? 'failed' : 'missing';
  }
  page.complete = profile && errorCodes.length === 0 && (page.topClients === 'delivered' || page.topClients === 'none');
  return page;
}

/** One page over the pool: null when no answer came (reset, timeout). */
async function askPage(pool: Pool, id: string, deferred: boolean, sentAt = performance.now()): Promise<{ page: Page | null; sentAt: number }> {
  try {
    const answer = await pool.request({
      path: target.pathname,
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'multipart/mixed;deferSpec=20220824,application/json',
        'x-bench-request': `d${++requestSeq}`,
      },
      body: JSON.stringify({ query: deferred ? DEFERRED_GIG_PAGE : NO_CLIENT_DETAILS_PAGE, variables: { id } }),
      headersTimeout: TIMEOUT_MS,
      bodyTimeout: TIMEOUT_MS,
    });
    const contentType = answer.headers['content-type'];
    const reader = new PartReader(Array.isArray(contentType) ? contentType[0] : contentType);
    for await (const chunk of answer.body) reader.push(chunk as Buffer, performance.now());
    return { page: judge(deferred, answer.statusCode, reader.multipart, reader.end(performance.now())), sentAt };
  } catch {
    return { page: null, sentAt };
  }
}

// ---- what the measured part saw
const allPages: Page[] = [];
const sentAtOf = new Map<Page, number>();
let transportErrors = 0;

function record(result: { page: Page | null; sentAt: number }): void {
  if (!result.page) {
    transportErrors++;
    return;
  }
  allPages.push(result.page);
  sentAtOf.set(result.page, result.sentAt);
}

/** `connections` pages at a time (or `pagesPerSecond`) until `seconds` have passed; pages sent before then are awaited. */
async function timedLoad(pool: Pool, seconds: number, measured: boolean): Promise<void> {
  const stopAt = performance.now() + seconds * 1000;
  if (options.pagesPerSecond) return steadyLoad(pool, options.pagesPerSecond, stopAt, measured);
  await Promise.all(Array.from({ length: options.connections }, async (_, connection) => {
    while (performance.now() < stopAt) {
      const result = await askPage(pool, options.gigIdsByRank[nextRank()]!, isDeferredPage(connection));
      if (measured) record(result);
    }
  }));
}

/**
 * One page every 1/rate seconds until `stopAt`, each timed from when it was due: a late send (this process busy, or
 * no connection free) counts against the answer rather than hiding the wait.
 */
async function steadyLoad(pool: Pool, rate: number, stopAt: number, measured: boolean): Promise<void> {
  const interval = 1000 / rate;
  const inFlight: Promise<void>[] = [];
  let index = 0;
  for (let dueAt = performance.now(); dueAt < stopAt; dueAt += interval) {
    const wait = dueAt - performance.now();
    // Behind: yield all the same, so the answers in flight are read.
    await new Promise((r) => (wait > 0 ? setTimeout(r, wait) : setImmediate(r)));
    const page = index++;
    inFlight.push(askPage(pool, options.gigIdsByRank[nextRank()]!, isDeferredPage(page), dueAt).then((result) => {
      if (measured) record(result);
    }));
  }
  await Promise.all(inFlight);
}

function summary(seconds: number): LoadResult {
  // Mixed: the figures are the deferred page's; the page beside it gives its first payload only.
  const beside = allPages.filter((p) => !p.deferred && p.first && p.status === 200);
  const pages = mixed ? allPages.filter((p) => p.deferred) : allPages;
  const tally = (codes: string[][]) => {
    const counts: Record<string, number> = {};
    for (const code of codes.flat()) counts[code] = (counts[code] ?? 0) + 1;
    return counts;
  };
  const statuses: Record<string, number> = {};
  for (const page of pages) statuses[page.status] = (statuses[page.status] ?? 0) + 1;
  const since = (page: Page, at: number | undefined) => (at === undefined ? NaN : at - sentAtOf.get(page)!);
  // Times are those of answers (HTTP 200): a page turned away (503) or failed has no first payload to wait for, and
  // is counted apart (statuses, served).
  const answered = pages.filter((p) => p.first && p.status === 200);
  const topClients: Record<TopClientsOutcome, number> = { delivered: 0, none: 0, failed: 0, missing: 0 };
  for (const page of pages) if (page.topClients) topClients[page.topClients]++;
  const withTopClients = answered.filter((p) => p.topClientsAt !== undefined);
  const requests = pages.length + transportErrors;
  return {
    requests,
    seconds,
    requestsPerSecond: requests / seconds,
    latencyMs: percentiles(answered.map((p) => since(p, p.last!.completeAt))),
    non2xx: pages.filter((p) => p.status !== 200).length,
    transportErrors,
    timeouts: 0,
    gigComplete: pages.filter((p) => p.served).length,
    pageComplete: pages.filter((p) => p.complete).length,
    errorCodes: tally(pages.map((p) => p.errorCodes)),
    statuses,
    defer: {
      multipart: pages.filter((p) => p.multipart).length,
      notDeferred: pages.filter((p) => p.notDeferred).length,
      firstPayloadMs: percentiles(answered.map((p) => since(p, p.first!.completeAt))),
      firstDelimitedMs: percentiles(answered.map((p) => since(p, p.first!.delimitedAt))),
      lastPartMs: percentiles(answered.map((p) => since(p, p.last!.completeAt))),
      topClientsAfterFirstMs: percentiles(withTopClients.map((p) => p.topClientsAt! - p.first!.completeAt)),
      served: pages.filter((p) => p.served).length,
      topClients,
      topClientsErrorCodes: tally(pages.map((p) => p.topClientsErrorCodes)),
      readerLagMs: { p50: readerLag.percentile(50) / 1e6, p99: readerLag.percentile(99) / 1e6, max: readerLag.max / 1e6 },
      ...(mixed ? { besideFirstPayloadMs: percentiles(beside.map((p) => since(p, p.first!.completeAt))) } : {}),
    },
  };
}

const readerLag = monitorEventLoopDelay({ resolution: 1 });
const origin = target.origin;
if (options.burst) {
  // Each page on its own connection, all at once, on a gateway just started: no warm-up.
  const pool = new Pool(origin, { connections: options.burst, pipelining: 1 });
  console.log('MEASURE');
  await new Promise((r) => setTimeout(r, 300));
  const started = performance.now();
  readerLag.enable();
  const results = await Promise.all(options.gigIdsByRank.slice(0, options.burst).map((id, i) => askPage(pool, id, isDeferredPage(i))));
  results.forEach(record);
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  console.log(JSON.stringify(summary(seconds)));
  process.exit(0);
}

// At a steady rate, as many connections as pages in flight (a deferred answer keeps its own until its last part).
const pool = new Pool(origin, { connections: options.pagesPerSecond ? null : options.connections, pipelining: 1, keepAliveTimeout: 60_000 });
if (options.warmupSeconds > 0) await timedLoad(pool, options.warmupSeconds, false);
// The orchestrator resets the subgraph counts and reads the gateway's CPU clock now; give it a moment, idle.
console.log('MEASURE');
await new Promise((r) => setTimeout(r, 300));
const started = performance.now();
readerLag.enable();
await timedLoad(pool, options.durationSeconds, true);
const seconds = (performance.now() - started) / 1000;
await pool.close();
console.log(JSON.stringify(summary(seconds)));
process.exit(0);

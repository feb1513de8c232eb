/**
 * The load generator, in its own process so it never shares an event loop with a gateway: autocannon with a fixed
 * number of connections, a warm-up whose figures are dropped, then a measured run of fixed duration. Every request
 * carries a unique `x-bench-request` header and a gig id drawn from a Zipf-like popularity. Each answer is checked:
 * HTTP 200 with the gig's own data ("gig complete"), and with the seller profile and top clients as well ("page
 * complete"). In the churn scenario an editor sends `updateClient` mutations at a steady rate through the same
 * gateway and measures how long each edit takes to show on the gig page, and how many page views showed a client
 * older than the newest edit acknowledged before the view was requested. In the gateway-cost scenario every answer
 * is compared with stock @apollo/gateway's answer to the same query (fetched once by the orchestrator): complete
 * (equal, no errors), shed (503 GATEWAY_OVERLOADED) or degraded (anything else, no answer included).
 *
 * Usage: tsx bench/load.ts <options.json>; prints one JSON line (LoadResult).
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import type { DeferResult } from './deferLoad.js';
import type { LiveOptions, LiveResult } from './liveLoad.js';
import { GIG_PAGE, GIGS_ONLY, UPDATE_CLIENT } from './operations.js';
import { OVERHEAD_QUERY } from './overheadSubgraphs.js';
import { percentiles, type Percentiles } from './stats.js';
import { zipfSampler } from './zipf.js';

/**
 * `deferredPage`, `noClientDetailsPage` and both at once (`mixedPages`) are read part by part, by bench/deferLoad.ts;
 * `livePages` (live gig pages and subscriptions over graphql-ws) and `polledPages` (the same pages polled) are
 * scenario 8's, bench/liveLoad.ts.
 */
export type LoadKind = 'gigPage' | 'gigsOnly' | 'overhead' | 'gatewayCost' | 'deferredPage' | 'noClientDetailsPage' | 'mixedPages' | 'livePages' | 'polledPages';

export interface LoadOptions {
  url: string;
  kind: LoadKind;
  connections: number;
  warmupSeconds: number;
  durationSeconds: number;
  gigIdsByRank: string[];
  /** Serve every gig page once before the warm-up (scenario 1: a warm page is one the gateway has seen). */
  prewarm?: boolean;
  zipfExponent: number;
  seed: number;
  churn?: {
    targets: { gigId: string; sellerId: string; clientId: string }[];
    editsPerSecond: number;
    pollIntervalMs: number;
  };
  /** gatewayCost: stock @apollo/gateway's `data` for the same query, fetched once at the start of the scenario. */
  referenceData?: unknown;
  /**
   * Cold burst instead of a timed load: this many gig pages at once (the most popular gigs, one each, so every page
   * needs different entities), each on its own connection, as soon as the gateway is ready; no warm-up.
   */
  burst?: number;
  /**
   * Pages sent at this steady rate instead of by `connections` asking in turn (bench/deferLoad.ts only): every
   * contender gets the same pages at the same moments, however long its answers take, and a page's times count from
   * when it was due, so a gateway that falls behind is not excused the wait.
   */
  pagesPerSecond?: number;
  /** Scenario 8 (bench/liveLoad.ts): viewers, editor, and where to read counts and the gateway's CPU. */
  live?: LiveOptions;
}

export interface LoadResult {
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  latencyMs: Percentiles;
  non2xx: number;
  transportErrors: number;
  timeouts: number;
  /** HTTP 200 with the operation's own (root subgraph's) data. */
  gigComplete: number;
  /** HTTP 200 with every field of the page, no errors. */
  pageComplete: number;
  errorCodes: Record<string, number>;
  /** Answers by HTTP status (measured part). */
  statuses: Record<string, number>;
  churn?: ChurnResult;
  gatewayCost?: GatewayCostResult;
  /** The pass over every gig page before the warm-up, when asked for. */
  prewarm?: { pages: number; failed: number; seconds: number };
  /** Pages read part by part (bench/deferLoad.ts): there `latencyMs` is the time to the last part. */
  defer?: DeferResult;
  /**
   * Scenario 8 (bench/liveLoad.ts): there `requests` are the pushes delivered (or the polls answered), `latencyMs`
   * edit-to-push (or edit-to-visible).
   */
  live?: LiveResult;
}

/** Scenario 7's classes of answers: every measured request lands in exactly one of complete, shed or degraded. */
export interface GatewayCostResult {
  /** HTTP 200, no errors, data equal to stock's reference answer. */
  complete: number;
  /** HTTP 503 with the code GATEWAY_OVERLOADED: turned away at the door, never started. */
  shed: number;
  /** ... of which carried a Retry-After header. */
  shedWithRetryAfter: number;
  /** Everything else: errors, data different from stock's, another status, no answer (timeout, reset). */
  degraded: number;
  /** ... of which HTTP 200 whose data differ from stock's (errors or not). */
  differentData: number;
  /** Latency of the answers that were not shed. */
  admittedLatencyMs: Percentiles;
  /** Size of the reference answer's data as JSON, bytes. */
  referenceBytes: number;
}

export interface ChurnResult {
  edits: number;
  editFailures: number;
  editErrors: string[];
  /** Edits first seen on a page requested after the edit was acknowledged. */
  seen: number;
  notSeen: number;
  visibilityMs: Percentiles;
  /** Page views of an edited client requested after at least one of its edits was acknowledged. */
  viewsAfterEdit: number;
  /** ... of which showed an older version than the newest acknowledged before the view was requested. */
  staleViews: number;
  /** Page views of an edited client requested after one of its edits had shown (its propagation finished). */
  viewsAfterSeen: number;
  /** ... of which showed an older version than the newest edit that had shown before the view was requested. */
  staleAfterSeen: number;
}

const options = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as LoadOptions;
const nextRank = zipfSampler(options.gigIdsByRank.length, options.zipfExponent, options.seed);
let requestSeq = 0;

if (options.kind === 'deferredPage' || options.kind === 'noClientDetailsPage' || options.kind === 'mixedPages') throw new Error(`${options.kind} is read part by part: bench/deferLoad.ts`);
if (options.kind === 'livePages' || options.kind === 'polledPages') throw new Error(`${options.kind} is scenario 8's: bench/liveLoad.ts`);
const query = options.kind === 'gigPage' ? GIG_PAGE : options.kind === 'gigsOnly' ? GIGS_ONLY : OVERHEAD_QUERY;
function nextBody(): string {
  if (options.kind === 'overhead' || options.kind === 'gatewayCost') return JSON.stringify({ query });
  return JSON.stringify({ query, variables: { id: options.gigIdsByRank[nextRank()] } });
}

// ---- churn bookkeeping: per client, the versions its edits produced and when each was acknowledged
interface Edit { clientId: string; version: number; ackedAt: number; seenAt?: number }
const editsByClient = new Map<string, Edit[]>();
const allEdits: Edit[] = [];
let editFailures = 0;
/** The first few reasons an edit failed, so a failing contender says why. */
const editErrors: string[] = [];
function editFailed(reason: string): void {
  editFailures++;
  if (editErrors.length < 3) editErrors.push(reason.slice(0, 300));
}
let viewsAfterEdit = 0;
let staleViews = 0;
let viewsAfterSeen = 0;
let staleAfterSeen = 0;

function observeClients(clients: { id: string; version: number }[] | null | undefined, sentAt: number, receivedAt: number): void {
  if (!clients || editsByClient.size === 0) return;
  for (const client of clients) {
    const edits = editsByClient.get(client.id);
    if (!edits) continue;
    let newestBefore: Edit | undefined;
    let newestSeen: Edit | undefined;
    for (const edit of edits) {
      if (edit.ackedAt <= sentAt) newestBefore = edit;
      if (edit.seenAt !== undefined && edit.seenAt <= sentAt && (!newestSeen || edit.version > newestSeen.version)) newestSeen = edit;
    }
    if (!newestBefore) continue;
    viewsAfterEdit++;
    if (client.version < newestBefore.version) staleViews++;
    if (newestSeen) {
      viewsAfterSeen++;
      if (client.version < newestSeen.version) staleAfterSeen++;
    }
    for (const edit of edits) {
      if (edit.seenAt === undefined && edit.ackedAt <= sentAt && client.version >= edit.version) edit.seenAt = receivedAt;
    }
  }
}

// ---- answer checks
let gigComplete = 0;
let pageComplete = 0;
const errorCodes: Record<string, number> = {};
const statuses: Record<string, number> = {};
let measuring = false;
const cost = { complete: 0, shed: 0, shedWithRetryAfter: 0, degradedAnswers: 0, differentData: 0 };
const referenceJson = options.referenceData === undefined ? '' : JSON.stringify(options.referenceData);

/** Deep equality of two JSON values; object keys in any order, list items in order. */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const list = b as unknown[];
    return a.length === list.length && a.every((item, i) => sameJson(item, list[i]));
  }
  const aKeys = Object.keys(a);
  const bRecord = b as Record<string, unknown>;
  return aKeys.length === Object.keys(bRecord).length
    && aKeys.every((key) => Object.hasOwn(bRecord, key) && sameJson((a as Record<string, unknown>)[key], bRecord[key]));
}

function header(headers: Record<string, unknown> | undefined, name: string): unknown {
  for (const [key, value] of Object.entries(headers ?? {})) if (key.toLowerCase() === name) return value;
  return undefined;
}

/** Scenario 7: complete (equal to stock's), shed (503 GATEWAY_OVERLOADED) or degraded. */
function classifyCost(status: number, parsed: { data?: unknown; errors?: { extensions?: { code?: string } }[] } | null, headers: Record<string, unknown> | undefined): void {
  if (status === 503 && parsed?.errors?.some((e) => e.extensions?.code === 'GATEWAY_OVERLOADED')) {
    cost.shed++;
    if (header(headers, 'retry-after') !== undefined) cost.shedWithRetryAfter++;
    return;
  }
  if (status !== 200 || !parsed) {
    cost.degradedAnswers++;
    return;
  }
  const equal = JSON.stringify(parsed.data) === referenceJson || sameJson(parsed.data, options.referenceData);
  if (!equal) cost.differentData++;
  if (equal && !parsed.errors) cost.complete++;
  else cost.degradedAnswers++;
}

function check(status: number, body: string, sentAt: number, headers?: Record<string, unknown>): void {
  const receivedAt = performance.now();
  if (measuring) statuses[status] = (statuses[status] ?? 0) + 1;
  let parsed: { data?: any; errors?: { extensions?: { code?: string } }[] } | null = null;
  try {
    parsed = JSON.parse(body);
  } catch {
    // not JSON: counted below where it matters
  }
  if (measuring) {
    for (const error of parsed?.errors ?? []) {
      const code = error.extensions?.code ?? 'NO_CODE';
      errorCodes[code] = (errorCodes[code] ?? 0) + 1;
    }
  }
  if (options.kind === 'gatewayCost') {
    if (measuring) classifyCost(status, parsed, headers);
    return;
  }
  if (status !== 200 || !parsed) return;
  if (options.kind === 'overhead') {
    const ok = Array.isArray(parsed.data?.users) && Array.isArray(parsed.data?.topProducts);
    if (measuring && ok) gigComplete++;
    if (measuring && ok && !parsed.errors) pageComplete++;
    return;
  }
  const gig = parsed.data?.gig;
  const ok = !!gig && typeof gig.title === 'string' && typeof gig.price === 'number' && typeof gig.seller?.id === 'string';
  if (measuring && ok) gigComplete++;
  if (options.kind === 'gigsOnly') {
    if (measuring && ok && !parsed.errors) pageComplete++;
    return;
  }
  if (measuring && ok && !parsed.errors && typeof gig.seller.username === 'string' && Array.isArray(gig.seller.topClients)) pageComplete++;
  if (ok) observeClients(gig.seller.topClients, sentAt, receivedAt);
}

interface ClientContext { sentAt?: number }

async function runCannon(seconds: number, latencies: number[] | null, admittedLatencies: number[] | null = null): Promise<autocannon.Result> {
  const instance = autocannon({
    url: options.url,
    connections: options.connections,
    duration: seconds,
    timeout: 30,
    requests: [{
      method: 'POST',
      setupRequest: (request: any, context: ClientContext) => {
        context.sentAt = performance.now();
        return {
          ...request,
          headers: { 'content-type': 'application/json', 'x-bench-request': `r${++requestSeq}` },
          body: nextBody(),
        };
      },
      onResponse: (status: number, body: string, context: ClientContext, headers: Record<string, unknown>) => check(status, body, context.sentAt ?? 0, headers),
    } as any],
  });
  if (latencies) {
    instance.on('response', (_client: unknown, status: number, _bytes: number, responseTime: number) => {
      latencies.push(responseTime);
      if (status !== 503) admittedLatencies?.push(responseTime);
    });
  }
  return instance as unknown as Promise<autocannon.Result>;
}

// ---- the editor: steady-rate edits through the gateway, each followed by a watcher polling its gig page
async function postJson(body: unknown, headers: Record<string, string> = {}): Promise<any> {
  const response = await fetch(options.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-bench-request': `e${++requestSeq}`, ...headers },
    body: JSON.stringify(body),
  });
  return response.json();
}

function startEditor(startedAt: number, stopAt: number): Promise<void>[] {
  const churn = options.churn!;
  const work: Promise<void>[] = [];
  let seq = 0;
  // Edits stop at 70% of the run so the last ones have time to show before the watchers give up at its end.
  const lastEditAt = startedAt + 0.7 * (stopAt - startedAt);
  const timer = setInterval(() => {
    if (performance.now() >= lastEditAt) return clearInterval(timer);
    const target = churn.targets[seq % churn.targets.length]!;
    const n = ++seq;
    work.push((async () => {
      try {
        const answer = await postJson(
          { query: UPDATE_CLIENT, variables: { id: target.clientId, input: { name: `Bench edit ${n}` } } },
          { 'x-seller-id': target.sellerId },
        );
        const version = answer?.data?.updateClient?.version;
        if (typeof version !== 'number') {
          editFailed(JSON.stringify(answer?.errors ?? answer));
          return;
        }
        const edit: Edit = { clientId: target.clientId, version, ackedAt: performance.now() };
        allEdits.push(edit);
        const list = editsByClient.get(target.clientId) ?? [];
        list.push(edit);
        editsByClient.set(target.clientId, list);
        // Watch the edited client's gig page until the edit shows or the run ends.
        while (edit.seenAt === undefined && performance.now() < stopAt) {
          const sentAt = performance.now();
          const page = await postJson({ query: GIG_PAGE, variables: { id: target.gigId } });
          observeClients(page?.data?.gig?.seller?.topClients, sentAt, performance.now());
          if (edit.seenAt === undefined) await new Promise((r) => setTimeout(r, churn.pollIntervalMs));
        }
      } catch (error) {
        editFailed(String((error as Error)?.message ?? error));
      }
    })());
  }, 1000 / churn.editsPerSecond);
  return work;
}

/** One gig page over `agent` (false: a connection of its own); the same checks and counts as the load. */
async function postPage(id: string, agent: import('node:http').Agent | false, latencies: number[] | null): Promise<boolean> {
  const { request } = await import('node:http');
  const target = new URL(options.url);
  return new Promise<boolean>((resolve) => {
    const body = JSON.stringify({ query, variables: { id } });
    const sentAt = performance.now();
    const req = request({
      host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-bench-request': `b${++requestSeq}` },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        latencies?.push(performance.now() - sentAt);
        check(res.statusCode ?? 0, Buffer.concat(chunks).toString(), sentAt);
        resolve(true);
      });
      res.on('error', () => resolve(false));
    });
    req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(false));
    req.end(body);
  });
}

/** The cold burst: `n` gig pages at once, each on its own connection. */
async function runBurst(n: number, latencies: number[]): Promise<{ errors: number }> {
  const answered = await Promise.all(options.gigIdsByRank.slice(0, n).map((id) => postPage(id, false, latencies)));
  return { errors: answered.filter((ok) => !ok).length };
}

/**
 * "Warm" means every gig page has been served once: each gig id, `connections` at a time over keep-alive
 * connections, before the warm-up; least popular first, so the pages most views hit are the last to reach their
 * max-age. Without it a 3 s warm-up leaves about one page in ten a first
 * view of its gig (Zipf over 10,000 gigs), and those cold pages, which scenario 2 measures, set the warm page's p99.
 */
async function prewarm(): Promise<{ pages: number; failed: number; seconds: number }> {
  const { Agent } = await import('node:http');
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
  const ids = [...options.gigIdsByRank].reverse();
  const started = performance.now();
  let next = 0;
  let failed = 0;
  await Promise.all(Array.from({ length: options.connections }, async () => {
    while (next < ids.length) if (!(await postPage(ids[next++]!, agent, null))) failed++;
  }));
  agent.destroy();
  return { pages: ids.length, failed, seconds: (performance.now() - started) / 1000 };
}

if (options.burst) {
  console.log('MEASURE');
  await new Promise((r) => setTimeout(r, 300));
  measuring = true;
  const latencies: number[] = [];
  const started = performance.now();
  const { errors } = await runBurst(options.burst, latencies);
  const seconds = (performance.now() - started) / 1000;
  const out: LoadResult = {
    requests: options.burst,
    seconds,
    requestsPerSecond: options.burst / seconds,
    latencyMs: percentiles(latencies),
    non2xx: Object.entries(statuses).filter(([code]) => code !== '200').reduce((n, [, count]) => n + count, 0),
    transportErrors: errors,
    timeouts: 0,
    gigComplete,
    pageComplete,
    errorCodes,
    statuses,
  };
  console.log(JSON.stringify(out));
  process.exit(0);
}

const prewarmed = options.prewarm ? await prewarm() : undefined;
if (options.warmupSeconds > 0) await runCannon(options.warmupSeconds, null);
// The orchestrator resets the subgraph counts and reads the gateway's CPU clock now; give it a moment, idle.
console.log('MEASURE');
await new Promise((r) => setTimeout(r, 300));
measuring = true;
const latencies: number[] = [];
const admittedLatencies: number[] = [];
const started = performance.now();
const editorWork = options.churn ? startEditor(started, started + options.durationSeconds * 1000) : [];
const result = await runCannon(options.durationSeconds, latencies, admittedLatencies);
const seconds = (performance.now() - started) / 1000;
measuring = false;
await Promise.all(editorWork);

const out: LoadResult = {
  requests: latencies.length,
  seconds,
  requestsPerSecond: latencies.length / seconds,
  latencyMs: percentiles(latencies),
  non2xx: result.non2xx,
  transportErrors: result.errors,
  timeouts: result.timeouts,
  gigComplete,
  pageComplete,
  errorCodes,
  statuses,
  ...(prewarmed ? { prewarm: prewarmed } : {}),
};
if (options.kind === 'gatewayCost') {
  out.gatewayCost = {
    complete: cost.complete,
    shed: cost.shed,
    shedWithRetryAfter: cost.shedWithRetryAfter,
    // Requests that got no answer at all are degraded too (autocannon's `errors` include its timeouts).
    degraded: cost.degradedAnswers + result.errors,
    differentData: cost.differentData,
    admittedLatencyMs: percentiles(admittedLatencies),
    referenceBytes: referenceJson.length,
  };
}
if (options.churn) {
  const seen = allEdits.filter((e) => e.seenAt !== undefined);
  out.churn = {
    edits: allEdits.length,
    editFailures,
    editErrors,
    seen: seen.length,
    notSeen: allEdits.length - seen.length,
    visibilityMs: percentiles(seen.map((e) => e.seenAt! - e.ackedAt)),
    viewsAfterEdit,
    staleViews,
    viewsAfterSeen,
    staleAfterSeen,
  };
}
console.log(JSON.stringify(out));
process.exit(0);

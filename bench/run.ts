/**
 * `npm run bench`: the hybrid read path side by side with what users would pick instead. Starts everything itself
 * on 127.0.0.1 (backend with delaying proxies, one fresh gateway process per contender and scenario, the load in
 * its own process), runs bounded loads, stops everything and writes bench/results/ (JSON, markdown, SVG).
 *
 *   npm run bench                 full run (10 s per contender and scenario, about 20 minutes)
 *   npm run bench -- --quick      smoke run (2 s each, small data), results under bench/results/quick/
 *   npm run bench -- --profile    also profile our gateway (--cpu-prof) in scenarios 1, 4d (and its baseline), 6 and 7 and summarise
 *   npm run bench -- --only=s1,s6 only these scenarios (s2 includes its cold burst s2b and the deferred page's s2d, s3
 *                                 its topclients restart s3b, s4 the deferred page's s4d, s7 its 200-connection variant s7b)
 *   npm run bench -- --contenders=sync,ours  only these contenders, for comparing two builds of ours; results under
 *                                 bench/results/partial/ (not committed: the issue's bars need every contender)
 *   npm run bench -- --only=s8    scenario 8 only: live gig pages and propagation subscriptions on ours, the same pages
 *                                 polled on stock (and again with fewer viewers, s8b)
 *   BENCH_OURS_BEFORE=<checkout> npm run bench -- --only=s1,s7 --contenders=ours,ours-before
 *                                 that checkout's gateway as `ours-before` beside `ours`, in the same run
 *
 * Knobs (environment; BENCH_KEEP_WORKDIR keeps the scratch folder, profiles included): BENCH_SECONDS,
 * BENCH_WARMUP_SECONDS, BENCH_CONNECTIONS, BENCH_SCALE, BENCH_ZIPF_S,
 * BENCH_GIGS_DELAY_MS (5), BENCH_USERS_DELAY_MS (5), BENCH_TOPCLIENTS_DELAY_MS (20), BENCH_SLOW_TOPCLIENTS_MS
 * (1500, plus up to BENCH_SLOW_JITTER_MS 1000), BENCH_TOPCLIENTS_TIMEOUT_MS (300: ours' entity timeout and page budget for
 * topclients), BENCH_EDITS_PER_SECOND (5), BENCH_S7_CONNECTIONS (50), BENCH_S7B_CONNECTIONS (200), BENCH_COLD_BURST
 * (100: the concurrent pages of scenarios 2b and 2d on a fresh gateway), BENCH_DEFER_RATE (600: the pages per second
 * scenario 4d sends to each contender, at a steady rate), BENCH_S8_VIEWERS (1000: scenario 8's live pages, and as many
 * subscriptions; stock's pollers), BENCH_S8_SMALL_VIEWERS (100: s8b), BENCH_S8_EDITS (30: measured edits, one a
 * second), BENCH_S8_SELLERS (6: the edited sellers, edited in turn), BENCH_BACKEND_WARMUP_SECONDS (45: gig pages served
 * through ours, unmeasured, before the first scenario on the reference subgraphs; 0 skips it).
 *
 * The first run installs the bench's own packages (bench/package.json: Hive Gateway, its router runtime, Grafbase's
 * CLI, autocannon).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MANIFEST_FILE, REFERENCE_GATEWAY_ENV, invalidationFeedEnv } from '../schema/referenceGateway.js';
import { buildManifest, manifestText, type PersistedQueryManifest } from '../gateway/src/persisted/manifest.js';
import type { ServiceName } from '../subgraphs/services.js';
import type { BackendInfo, BackendOptions } from './backend.js';
import { buildRelease } from '../scripts/buildRelease.js';
import { ensureBenchPackages } from './benchPackages.js';
import { BENCH_REDIS_URL, CONTENDER_DESCRIPTIONS, CONTENDER_PAGES, OURS_BEFORE_ROOT, hasBuiltRelease, startContender, type ContenderName, type StartedContender } from './contenders.js';
import type { ProxyBehaviour } from './delayProxy.js';
import type { LoadKind, LoadOptions, LoadResult } from './load.js';
import { childProcessCount, groupCpuSeconds, groupPeakRssMb, loadAverage } from './procStats.js';
import { busyCores, machineCpu, pausesBetween, runtimeSnapshot, type MachineCpu, type RuntimeSnapshot } from './windowStats.js';
import { OVERHEAD_QUERY } from './overheadSubgraphs.js';
import { DEFERRED_PAGE_OPERATIONS } from './operations.js';
import { startChild, waitForLine, type Child } from './processes.js';
import { summariseProfile, type ProfileSummary } from './profileSummary.js';
import { mergeWithPrevious, writeReports, type BenchResults, type RunRecord, type ScenarioId } from './report.js';

process.env.APOLLO_TELEMETRY_DISABLED = 'true';
const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const profile = args.includes('--profile');
const only = args.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
const onlyContenders = args.find((a) => a.startsWith('--contenders='))?.slice('--contenders='.length).split(',');

const num = (key: string, fallback: number) => {
  const raw = process.env[key];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${key} must be a non-negative number, got "${raw}"`);
  return value;
};
const settings = {
  seconds: num('BENCH_SECONDS', quick ? 2 : 10),
  warmupSeconds: num('BENCH_WARMUP_SECONDS', quick ? 1 : 3),
  connections: num('BENCH_CONNECTIONS', 32),
  scale: num('BENCH_SCALE', quick ? 0.02 : 0.2),
  zipfExponent: num('BENCH_ZIPF_S', 1.0),
  delaysMs: { gigs: num('BENCH_GIGS_DELAY_MS', 5), users: num('BENCH_USERS_DELAY_MS', 5), topclients: num('BENCH_TOPCLIENTS_DELAY_MS', 20) },
  slowTopclientsMs: num('BENCH_SLOW_TOPCLIENTS_MS', 1500),
  slowJitterMs: num('BENCH_SLOW_JITTER_MS', 1000),
  topclientsEntityTimeoutMs: num('BENCH_TOPCLIENTS_TIMEOUT_MS', 300),
  editsPerSecond: num('BENCH_EDITS_PER_SECOND', 5),
  gatewayCostConnections: num('BENCH_S7_CONNECTIONS', 50),
  gatewayCostRounds: num('BENCH_S7_ROUNDS', quick ? 1 : 3),
  overloadConnections: num('BENCH_S7B_CONNECTIONS', 200),
  coldBurstPages: num('BENCH_COLD_BURST', 100),
  deferredPagesPerSecond: num('BENCH_DEFER_RATE', quick ? 200 : 600),
  deferredRounds: num('BENCH_DEFER_ROUNDS', quick ? 1 : 5),
  backendWarmupSeconds: num('BENCH_BACKEND_WARMUP_SECONDS', quick ? 0 : 45),
  liveViewers: num('BENCH_S8_VIEWERS', quick ? 100 : 1000),
  liveViewersSmall: num('BENCH_S8_SMALL_VIEWERS', quick ? 20 : 100),
  // Every edit adds a client (a warm-up add per seller, then one per turn): a seller is edited only if its list has
  // room for 1 + edits / sellers more (6 of the 10 at full size); they are removed again after the measurement.
  liveEdits: num('BENCH_S8_EDITS', quick ? 6 : 30),
  liveEditedSellers: Math.max(1, num('BENCH_S8_SELLERS', quick ? 2 : 6)),
};
/**
 * The secret the reference subgraphs believe (GATEWAY_SUBGRAPH_SECRET), fresh per run as npm start makes it: ours
 * signs the caller with it, and so do sync and Hive (their forwarding of the editor's identity).
 */
const gatewaySecret = randomBytes(32).toString('base64url');

interface Scenario {
  id: ScenarioId;
  title: string;
  supergraph: 'reference' | 'overhead' | 'gatewayCost';
  /** Connections, when not BENCH_CONNECTIONS. */
  connections?: number;
  /** Measured and warm-up seconds, when not BENCH_SECONDS / BENCH_WARMUP_SECONDS. */
  seconds?: number;
  warmupSeconds?: number;
  load: LoadKind;
  warmup: boolean;
  contenders: ContenderName[];
  topclients: Partial<ProxyBehaviour>;
  churn?: boolean;
  /** A burst of this many concurrent pages on a fresh gateway instead of a timed load. */
  burst?: number;
  /** Serve every gig page once before the warm-up, so that every measured page is a warm one. */
  prewarm?: boolean;
  /** Kill topclients and start it again on its data this far into the measured part (a fraction of it). */
  restartTopclientsAt?: number;
  /** Answers read part by part as they stream (bench/deferLoad.ts) instead of whole by autocannon. */
  parts?: boolean;
  /** Pages sent at this steady rate (bench/deferLoad.ts) instead of by `connections` asking in turn. */
  pagesPerSecond?: number;
  /**
   * Scenario 8 (bench/liveLoad.ts): this many live pages and as many subscriptions on ours, as many pollers on stock,
   * while an editor changes the edited sellers' lists once a second.
   */
  live?: { viewers: number };
}

const MAIN: ContenderName[] = ['sync', 'ours', 'hive', 'hive-cache'];
/** `rounds` runs of a group of contenders, every other one in the opposite order, starting in the order given. */
const alternating = (group: readonly ContenderName[], rounds: number): ContenderName[] =>
  Array.from({ length: Math.max(0, rounds) }, (_, i) => (i % 2 === 0 ? group : [...group].reverse())).flat();
/**
 * With BENCH_OURS_BEFORE, the scenarios that compare builds of ours (s1, s7, and the deferred page's s2d and s4d, in
 * each of their rounds) run that build beside ours.
 */
const BEFORE: ContenderName[] = OURS_BEFORE_ROOT ? ['ours-before'] : [];
/**
 * The deferred gig page and its baseline, the same page without the top clients' details, both on ours. Both pages
 * on one gateway first: its comparison does not depend on order, and it leaves the subgraphs as warm for every later
 * run (the same gigs, in the same order) as they are for the next. Then the two separate gateways, one after the
 * other, in rounds (BENCH_DEFER_ROUNDS), every other round in the opposite order: whichever ran first on colder
 * subgraphs was the slower by 2.5x at p99 on 2026-12-06, whichever page it served, and the bars pair each round's runs.
 */
const DEFERRED_PAIR: ContenderName[] = ['ours-no-client-details', 'ours', ...BEFORE];
const DEFERRED: ContenderName[] = ['ours-mixed', ...alternating(DEFERRED_PAIR, Math.max(1, settings.deferredRounds))];
const GATEWAY_COST: ContenderName[] = ['sync', 'ours', 'ours-stock-executor', 'ours-workers-2', 'hive', 'hive-router'];
/** Scenarios 6 and 7 against a Rust gateway: Grafbase and ours, each with its in-flight deduplication on and off. */
const AGAINST_RUST: ContenderName[] = ['ours-no-dedup', 'grafbase', 'grafbase-no-dedup'];
/**
 * Scenario 7's bars against Grafbase and stock compare contenders measured one after the other on a shared machine,
 * whose speed drifts between runs (an allocation-heavy process like ours more than the others). So those three run
 * again (BENCH_S7_ROUNDS rounds in all), every other round in the opposite order, and the bars pair each round's runs.
 */
const S7_BAR_TRIO: ContenderName[] = ['sync', 'ours-no-dedup', 'grafbase-no-dedup'];
const s7Rounds = alternating([...S7_BAR_TRIO].reverse(), settings.gatewayCostRounds - 1);
/** Scenario 8: ours serves live pages and subscriptions; stock (sync) is polled for the same pages. */
const LIVE: ContenderName[] = ['ours', 'sync'];
/**
 * Warm-up and measured seconds of the scenarios that take their own. 3b: longer than 3, so that edits keep coming for
 * a while after topclients is back (it takes seconds to start). 4d: a gateway just started, asked 600 pages a
 * second with empty caches, answers in seconds and takes 5.5-11 s to settle, the deferred page the longer; after 3 s,
 * and in one run of six after 10 s, the measured part began in that recovery, and its first second decided the p99
 * (bench/README.md), so it warms up for 20 s. 7: one round of answers takes about a
 * second for the slower contenders, so a longer warm-up lets their JIT settle; 15 s after 5 s, as the public gateway
 * benchmarks measure. 7b: at 200 connections one round of answers takes seconds, so its warm-up and run are as long,
 * to reach a steady state.
 */
const OWN_TIMES = {
  s3b: quick ? {} : { seconds: Math.max(20, settings.seconds) },
  s4d: quick ? {} : { warmupSeconds: Math.max(20, settings.warmupSeconds) },
  s7: quick ? { seconds: 5, warmupSeconds: 2 } : { seconds: Math.max(15, settings.seconds), warmupSeconds: Math.max(5, settings.warmupSeconds) },
  s7b: quick ? { seconds: 6, warmupSeconds: 3 } : { seconds: Math.max(15, settings.seconds), warmupSeconds: Math.max(5, settings.warmupSeconds) },
} satisfies Partial<Record<ScenarioId, { seconds?: number; warmupSeconds?: number }>>;
/** How a scenario with times of its own says so in its title. */
const ownTimes = (id: keyof typeof OWN_TIMES) => {
  const times: { seconds?: number; warmupSeconds?: number } = OWN_TIMES[id];
  return `, ${times.seconds ?? settings.seconds} s measured after ${times.warmupSeconds ?? settings.warmupSeconds} s of warm-up`;
};
const SCENARIOS: Scenario[] = [
  { id: 's1', title: 'Gig page, warm (every gig served once first, then Zipf ids)', supergraph: 'reference', load: 'gigPage', warmup: true, prewarm: true, contenders: [...MAIN, ...BEFORE, 'ours-2-replicas-redis', 'gigs-only'], topclients: {} },
  { id: 's2', title: 'Cold start (first seconds, cache empty)', supergraph: 'reference', load: 'gigPage', warmup: false, contenders: MAIN, topclients: {} },
  { id: 's2b', title: `Cold burst (${settings.coldBurstPages} concurrent gig pages, distinct gigs, on a gateway just started)`, supergraph: 'reference', load: 'gigPage', warmup: false, contenders: MAIN, topclients: {}, burst: settings.coldBurstPages },
  { id: 's2d', title: `Cold burst, the deferred gig page (${settings.coldBurstPages} concurrent pages as in s2b, top clients' details deferred, read part by part; baseline: the page without the top clients' details)`, supergraph: 'reference', load: 'deferredPage', warmup: false, contenders: DEFERRED, topclients: {}, burst: settings.coldBurstPages, parts: true },
  { id: 's3', title: `Churn (${settings.editsPerSecond} updateClient/s while pages are read)`, supergraph: 'reference', load: 'gigPage', warmup: true, contenders: MAIN, topclients: {}, churn: true },
  { id: 's3b', title: `Churn with topclients restarted (as s3; topclients killed and started again on its data a quarter into the run${ownTimes('s3b')})`, supergraph: 'reference', load: 'gigPage', warmup: true, contenders: MAIN, topclients: {}, churn: true, restartTopclientsAt: 1 / 4,
    ...OWN_TIMES.s3b },
  { id: 's4', title: `topclients slow (${settings.slowTopclientsMs}-${settings.slowTopclientsMs + settings.slowJitterMs} ms)`, supergraph: 'reference', load: 'gigPage', warmup: true, contenders: MAIN, topclients: { delayMs: settings.slowTopclientsMs, jitterMs: settings.slowJitterMs } },
  { id: 's4d', title: `topclients slow, the deferred gig page (${settings.slowTopclientsMs}-${settings.slowTopclientsMs + settings.slowJitterMs} ms as in s4, top clients' details deferred, read part by part, ${settings.deferredPagesPerSecond} pages/s to each contender${ownTimes('s4d')}; baseline: the page without the top clients' details)`, supergraph: 'reference', load: 'deferredPage', warmup: true, contenders: DEFERRED, topclients: { delayMs: settings.slowTopclientsMs, jitterMs: settings.slowJitterMs }, parts: true,
    // A deferred answer holds its connection until its last part: connections asking in turn would send the deferred
    // page at a third of the baseline's rate, and compare first payloads under different loads and cache warmth.
    pagesPerSecond: settings.deferredPagesPerSecond, ...OWN_TIMES.s4d },
  { id: 's5', title: 'topclients down (connections reset; every gig served once first, as in s1)', supergraph: 'reference', load: 'gigPage', warmup: true, prewarm: true, contenders: MAIN, topclients: { down: true } },
  { id: 's6', title: 'Raw execution overhead (accounts/products/reviews/inventory, no delay, nothing cacheable)', supergraph: 'overhead', load: 'overhead', warmup: true, contenders: [...MAIN, ...AGAINST_RUST], topclients: {} },
  { id: 's7', title: `Gateway cost (the public benchmark's query, about 90 KB, subgraphs answering from memory, ${settings.gatewayCostConnections} connections${ownTimes('s7')})`, supergraph: 'gatewayCost', load: 'gatewayCost', warmup: true, contenders: [...GATEWAY_COST, ...AGAINST_RUST, ...BEFORE, 'ours-2-replicas-redis', ...s7Rounds], topclients: {}, connections: settings.gatewayCostConnections,
    ...OWN_TIMES.s7 },
  { id: 's7b', title: `Gateway cost under overload (as s7, ${settings.overloadConnections} connections${ownTimes('s7b')})`, supergraph: 'gatewayCost', load: 'gatewayCost', warmup: true, contenders: GATEWAY_COST, topclients: {}, connections: settings.overloadConnections,
    ...OWN_TIMES.s7b },
  { id: 's8', title: `Live gig pages (${settings.liveViewers} live pages and ${settings.liveViewers} propagation subscriptions over graphql-ws on ours, one list edit a second for ${settings.liveEdits} s; beside it, the same pages polled every second on stock)`, supergraph: 'reference', load: 'livePages', warmup: true, contenders: LIVE, topclients: {}, live: { viewers: settings.liveViewers } },
  { id: 's8b', title: `Live gig pages with fewer viewers (as s8, ${settings.liveViewersSmall} pages and ${settings.liveViewersSmall} subscriptions; stock polled by ${settings.liveViewersSmall})`, supergraph: 'reference', load: 'livePages', warmup: true, contenders: LIVE, topclients: {}, live: { viewers: settings.liveViewersSmall } },
];
/**
 * --only=s7 also runs its variant s7b (and --only=s2 its cold burst s2b and the deferred page's s2d, --only=s3 its
 * restart s3b, --only=s4 the deferred page's s4d, --only=s8 its smaller viewer count s8b).
 */
const selected = (id: ScenarioId) => !only || only.includes(id) || only.includes(id.replace(/[bd]$/, ''));

ensureBenchPackages(root);
// Ours runs the built release, as `npm run gateway` does (contenders.ts); so does an older checkout that has one.
await buildRelease(root);
if (OURS_BEFORE_ROOT && hasBuiltRelease(OURS_BEFORE_ROOT)) {
  execFileSync(process.execPath, ['--import', 'tsx', 'scripts/buildRelease.ts'], { cwd: OURS_BEFORE_ROOT, stdio: 'inherit' });
}
// A profiled gateway runs slower, so a profiled run's figures never replace an unprofiled run's.
const outDir = join(root, 'bench', 'results', ...(quick ? ['quick'] : []), ...(onlyContenders ? ['partial'] : []), ...(profile ? ['profiled'] : []));
const workDir = mkdtempSync(join(tmpdir(), 'bench-'));
const profileDir = join(workDir, 'profiles');
mkdirSync(profileDir, { recursive: true });
const children: Child[] = [];
let interrupted = false;

async function stopAll() {
  await Promise.all(children.map((c) => c.stop()));
}

/** Removes a replicas contender's keys from the shared Redis (they would expire anyway). */
async function dropRedisKeys(prefix: string): Promise<void> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(BENCH_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } catch (error) {
    console.error(`bench: could not remove the Redis keys under ${prefix}: ${String(error)}`);
  } finally {
    redis.disconnect();
  }
}

/** Ours' settings in a scenario: in the reference ones the reference deployment's, as npm start gives them. */
function oursEnvFor(scenario: Scenario, feeds: Record<ServiceName, string> | null): Record<string, string> {
  if (scenario.supergraph !== 'reference' || !feeds) return {};
  return {
    ...REFERENCE_GATEWAY_ENV,
    ...(scenario.load === 'deferredPage' ? { PERSISTED_QUERY_MANIFEST: manifestWithDeferredPages() } : {}),
    // topclients' client events, gigs' and users' applied seller lists (each service's /events, not proxied).
    ...invalidationFeedEnv([feeds.topclients, feeds.gigs, feeds.users]),
    GATEWAY_MODE: 'development',
    GATEWAY_SUBGRAPH_SECRET: gatewaySecret,
    IDENTITY_HEADER: 'x-seller-id',
    SUBGRAPH_TOPCLIENTS_ENTITY_TIMEOUT_MS: String(settings.topclientsEntityTimeoutMs),
    SUBGRAPH_TOPCLIENTS_ENTITY_PAGE_BUDGET_MS: String(settings.topclientsEntityTimeoutMs),
  };
}

/** The reference manifest with the deferred page and its baseline (operations.ts), written once into the run's folder. */
function manifestWithDeferredPages(): string {
  const file = join(workDir, 'manifest-with-deferred-pages.json');
  if (!existsSync(file)) {
    const { operations } = JSON.parse(readFileSync(MANIFEST_FILE, 'utf8')) as PersistedQueryManifest;
    writeFileSync(file, manifestText(buildManifest([...operations, ...DEFERRED_PAGE_OPERATIONS])));
  }
  return file;
}

// Whatever happens, no child outlives the run.
process.on('exit', () => {
  for (const child of children) if (child.process.exitCode === null) child.process.kill('SIGKILL');
});
process.on('SIGINT', () => {
  interrupted = true;
  void stopAll().then(() => process.exit(130));
});

/** Each reference subgraph's change feed (its /events, not proxied). */
function eventFeeds(info: BackendInfo): Record<ServiceName, string> {
  return Object.fromEntries(Object.entries(info.directUrls).map(([n, url]) => [n, url.replace(/\/graphql$/, '/events')])) as Record<ServiceName, string>;
}

/**
 * Fresh subgraphs are slow and busy for their first tens of seconds (PGlite's WebAssembly and the code around it
 * compiled as they run), and whichever contender ran first met them so. Run alone (`--only=s4d`) on 2026-12-07, the
 * gateway asked for both deferred pages ran first and served the gig on 57% to 63% of its pages in six runs of nine
 * (gigs' timeouts, then its breaker), on 88% to 100% in the other three. So before the first scenario on the
 * reference subgraphs, ours serves gig pages from them for a while, measured by nobody.
 */
async function warmBackend(backendUrl: string, info: BackendInfo, scenario: Scenario): Promise<void> {
  await setBehaviours(backendUrl, {});
  const started = await startContender('ours', { root, workDir, supergraphFile: info.referenceSupergraph, oursEnv: oursEnvFor(scenario, eventFeeds(info)), gatewaySecret, nodeFlags: [] });
  children.push(...started.children);
  try {
    const load = await runLoad({
      url: started.url,
      kind: 'gigPage',
      connections: settings.connections,
      warmupSeconds: 0,
      durationSeconds: settings.backendWarmupSeconds,
      gigIdsByRank: info.gigIdsByRank,
      zipfExponent: settings.zipfExponent,
      seed: 7,
    }, 'backend-warm-up', async () => {});
    console.log(`bench: subgraphs warmed: ${load.requests} gig pages through ours in ${settings.backendWarmupSeconds} s, unmeasured`);
  } finally {
    await stopContender(started);
  }
}

/** Every reference subgraph's proxy back to its normal delay, topclients' with a scenario's changes on top. */
async function setBehaviours(backendUrl: string, topclients: Partial<ProxyBehaviour>): Promise<void> {
  for (const name of ['gigs', 'users'] as ServiceName[]) await control(backendUrl, '/behaviour', { name, ...normal(name) });
  await control(backendUrl, '/behaviour', { name: 'topclients', ...normal('topclients'), ...topclients });
}

function normal(name: ServiceName): ProxyBehaviour {
  return { delayMs: settings.delaysMs[name], jitterMs: 0, down: false };
}

async function control(backendUrl: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${backendUrl}${path}`, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`backend ${path}: HTTP ${response.status}`);
  return response.json();
}

async function runLoad(options: LoadOptions, name: string, onMeasure: () => Promise<void>, script = 'bench/load.ts'): Promise<LoadResult> {
  const file = join(workDir, `load-${name}.json`);
  writeFileSync(file, JSON.stringify(options));
  const child = startChild(`load ${name}`, ['--import', 'tsx', script, file], {}, root);
  children.push(child);
  const measuring = waitForLine(child, 'MEASURE', 600_000).then(onMeasure).catch((error: unknown) => {
    console.error(`bench: could not reset counts at the start of the measured part: ${String(error)}`);
  });
  const exit = await new Promise<number | null>((resolve) => child.process.once('exit', (code) => resolve(code)));
  await measuring;
  children.splice(children.indexOf(child), 1);
  const line = child.output.find((l) => l.startsWith('{'));
  if (exit !== 0 || !line) throw new Error(`load ${name} failed (exit ${exit}):\n${child.output.slice(-20).join('\n')}`);
  return JSON.parse(line) as LoadResult;
}

/**
 * Scenario 7's reference: stock @apollo/gateway's answer to the query, fetched once from a sync gateway of its own
 * (so it does not depend on which contender runs first). Every answer of every contender is compared with it.
 */
async function stockAnswer(supergraphFile: string): Promise<unknown> {
  let started: StartedContender | undefined;
  try {
    started = await startContender('sync', { root, workDir, supergraphFile, oursEnv: {}, gatewaySecret, nodeFlags: [] });
    children.push(...started.children);
    const response = await fetch(started.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: OVERHEAD_QUERY }) });
    const body = (await response.json()) as { data?: unknown; errors?: unknown[] };
    if (response.status !== 200 || body.errors || !body.data) throw new Error(`stock's reference answer is not complete: HTTP ${response.status} ${JSON.stringify(body).slice(0, 300)}`);
    return body.data;
  } finally {
    if (started) await stopContender(started);
  }
}

async function stopContender(started: StartedContender): Promise<void> {
  await Promise.all(started.children.map((c) => c.stop()));
  for (const c of started.children) if (children.includes(c)) children.splice(children.indexOf(c), 1);
  if (started.redisKeyPrefix) await dropRedisKeys(started.redisKeyPrefix);
}

const startedAt = new Date();
console.log(`bench: ${quick ? 'quick' : 'full'} run, ${settings.seconds} s per contender and scenario after ${settings.warmupSeconds} s warm-up, ${settings.connections} connections; loadavg ${loadAverage().join(' ')}`);
console.log(`bench: starting backend (demo data scale ${settings.scale})...`);
const backendOptions: BackendOptions = {
  scale: settings.scale,
  workDir,
  delays: { gigs: normal('gigs'), users: normal('users'), topclients: normal('topclients') },
  editTargets: 50,
  reference: SCENARIOS.some((s) => selected(s.id) && s.supergraph === 'reference'),
  gatewaySecret,
};
const backend = startChild('backend', ['--import', 'tsx', 'bench/backend.ts', JSON.stringify(backendOptions)], {}, root);
children.push(backend);
const runs: RunRecord[] = [];
const profiles: Record<string, ProfileSummary> = {};
let info: BackendInfo;
let referenceData: unknown;
try {
  const backendUrl = await waitForLine(backend, 'BACKEND ', 600_000);
  info = (await control(backendUrl, '/info')) as BackendInfo;
  console.log(`bench: backend up: ${info.demo.gigs} gigs, ${info.demo.sellers} sellers, ${info.demo.clients} clients`);
  const firstReference = SCENARIOS.find((s) => selected(s.id) && s.supergraph === 'reference');
  if (firstReference && settings.backendWarmupSeconds > 0) await warmBackend(backendUrl, info, firstReference);

  for (const scenario of SCENARIOS) {
    if (!selected(scenario.id)) continue;
    const supergraphFile = { reference: info.referenceSupergraph, overhead: info.overheadSupergraph, gatewayCost: info.gatewayCostSupergraph }[scenario.supergraph];
    if (scenario.load === 'gatewayCost') referenceData ??= await stockAnswer(supergraphFile);
    for (const contender of scenario.contenders) {
      if (interrupted) break;
      if (onlyContenders && !onlyContenders.includes(contender)) continue;
      if (scenario.supergraph === 'reference') {
        await setBehaviours(backendUrl, scenario.topclients);
      }
      // In 4d the deferred page's baseline too: the difference between the two profiles is what deferring costs. In 7
      // ours without inbound dedup too: with it, most answers are shared, so only that profile shows an answer's cost.
      // A contender's second and later runs of a scenario (the rounds of scenarios 7, 2d and 4d) are reported as such, and not profiled.
      const round = runs.filter((r) => r.scenario === scenario.id && r.contender === contender).length + 1;
      const profiled = round === 1 && profile && (contender === 'ours' || contender === 'ours-before' || (scenario.id === 's4d' && contender === 'ours-no-client-details') || (scenario.id === 's7' && contender === 'ours-no-dedup')) && ['s1', 's4d', 's6', 's7'].includes(scenario.id);
      const runProfileDir = join(profileDir, `${contender}-${scenario.id}`);
      let spawnedAt = performance.now();
      let measuredFromMs = 0;
      const label = `${scenario.id} ${contender}${round > 1 ? ` #${round}` : ''}`;
      process.stdout.write(`bench: ${label.padEnd(16)} `);
      const loadAtStart = loadAverage();
      let started: Awaited<ReturnType<typeof startContender>> | undefined;
      try {
        spawnedAt = performance.now();
        started = await startContender(contender, {
          root,
          workDir,
          supergraphFile,
          oursEnv: oursEnvFor(scenario, scenario.supergraph === 'reference' ? eventFeeds(info) : null),
          gatewaySecret,
          nodeFlags: profiled ? ['--cpu-prof', '--cpu-prof-dir', runProfileDir] : [],
        });
        children.push(...started.children);
        const gateways = started.measuredPids;
        const cpuOf = () => gateways.reduce((sum, pid) => sum + groupCpuSeconds(pid), 0);
        const loadOptions: LoadOptions = {
          url: started.url,
          kind: scenario.live ? (contender === 'sync' ? 'polledPages' : 'livePages') : CONTENDER_PAGES[contender] ?? scenario.load,
          connections: scenario.connections ?? settings.connections,
          warmupSeconds: scenario.warmup ? scenario.warmupSeconds ?? settings.warmupSeconds : 0,
          durationSeconds: scenario.seconds ?? settings.seconds,
          gigIdsByRank: info.gigIdsByRank,
          zipfExponent: settings.zipfExponent,
          seed: 42,
          ...(scenario.churn ? { churn: { targets: info.editTargets, editsPerSecond: settings.editsPerSecond, pollIntervalMs: 50 } } : {}),
          ...(scenario.load === 'gatewayCost' ? { referenceData } : {}),
          ...(scenario.burst ? { burst: scenario.burst } : {}),
          ...(scenario.prewarm ? { prewarm: true } : {}),
          ...(scenario.pagesPerSecond ? { pagesPerSecond: scenario.pagesPerSecond } : {}),
          ...(scenario.live ? {
            live: {
              mode: contender === 'sync' ? 'poll' as const : 'stream' as const,
              viewers: scenario.live.viewers,
              subscriptions: contender === 'sync' ? 0 : scenario.live.viewers,
              streamsPerSocket: 10,
              editedSellers: settings.liveEditedSellers,
              edits: settings.liveEdits,
              editIntervalMs: 1000,
              pollIntervalMs: 1000,
              pollConnections: 100,
              // Stock's pollers may fall far behind once a second (its answers/s bound them): time enough to see the last edit.
              graceMs: contender === 'sync' ? 20_000 : 3_000,
              onEditedShare: 0.5,
              scale: settings.scale,
              backendUrl,
              gatewayPids: gateways,
              // Every page's first answer before the first edit; stock, polled by more pages than it answers a second,
              // gets them within a minute (pollers not yet answered then still count as viewers who must see each edit).
              setupTimeoutMs: contender === 'sync' ? 60_000 : 180_000,
            },
          } : {}),
        };
        // Counts and CPU cover the measured part only: the load process prints MEASURE after its warm-up and pauses
        // briefly before measuring, while we reset the counts and read the CPU clock. CPU and RSS are summed over the
        // gateway's process and its children (workers), if it has any.
        let cpuBefore = cpuOf();
        // The deferred page's scenarios also read the machine's CPU and the gateway's pauses (windowStats.ts).
        let machineBefore: MachineCpu | null = null;
        let runtimeBefore: RuntimeSnapshot | null = null;
        let restarted: Promise<{ afterSeconds: number; downMs: number }> | undefined;
        const load = await runLoad(loadOptions, `${scenario.id}-${contender}`, async () => {
          await control(backendUrl, '/reset', {});
          if (scenario.parts) runtimeBefore = await runtimeSnapshot(started!.url);
          machineBefore = machineCpu();
          cpuBefore = cpuOf();
          measuredFromMs = performance.now() - spawnedAt;
          const at = scenario.restartTopclientsAt;
          if (at !== undefined) {
            const afterSeconds = at * (scenario.seconds ?? settings.seconds);
            restarted = new Promise((resolve) => setTimeout(resolve, afterSeconds * 1000))
              .then(() => control(backendUrl, '/restart', { name: 'topclients' }) as Promise<{ downMs: number }>)
              .then(({ downMs }) => ({ afterSeconds, downMs }));
          }
        }, scenario.live ? 'bench/liveLoad.ts' : scenario.parts ? 'bench/deferLoad.ts' : 'bench/load.ts');
        const restart = await restarted;
        // Scenario 8's load reads the gateway's CPU, its RSS and the subgraph counts itself, at the ends of the edits'
        // window: streams set up before it and closed after it are not counted.
        const cpu = load.live ? load.live.gateway.cpuSeconds : cpuOf() - cpuBefore;
        const machineAfter = machineCpu();
        // After the gateway's CPU is read: answering the scrape is not the measured part's work.
        const runtimeAfter = runtimeBefore ? await runtimeSnapshot(started.url) : null;
        const rss = load.live ? load.live.gateway.peakRssMb : gateways.reduce((sum, pid) => sum + groupPeakRssMb(pid), 0);
        // Processes beyond the first one measured: workers, and the second replica.
        const childProcesses = gateways.reduce((sum, pid) => sum + childProcessCount(pid), 0) + gateways.length - 1;
        const counts = (await control(backendUrl, '/counts')) as {
          reference: Record<ServiceName, { requests: number; entityRequests: number; refused: number }>;
          overhead: Record<string, number>;
          gatewayCost: Record<string, number>;
        };
        const subgraphRequests: Record<string, number> = load.live ? load.live.window.subgraphRequests : scenario.supergraph === 'reference'
          ? Object.fromEntries(Object.entries(counts.reference).map(([n, c]) => [n, c.requests + c.refused]))
          : counts[scenario.supergraph];
        const entityRequests = load.live ? load.live.window.entityRequests : scenario.supergraph === 'reference'
          ? Object.fromEntries(Object.entries(counts.reference).map(([n, c]) => [n, c.entityRequests]))
          : undefined;
        runs.push({
          scenario: scenario.id,
          contender,
          ...(round > 1 ? { round } : {}),
          at: new Date().toISOString(),
          loadavgAtStart: loadAtStart,
          load,
          cpuSeconds: cpu,
          peakRssMb: rss,
          childProcesses,
          subgraphRequests,
          ...(entityRequests ? { entityRequests } : {}),
          ...(restart ? { restart } : {}),
          ...(scenario.parts && machineBefore ? {
            window: {
              machineBusyCores: busyCores(machineBefore, machineAfter, cpus().length),
              ...(runtimeBefore && runtimeAfter ? { gateway: pausesBetween(runtimeBefore, runtimeAfter) } : {}),
            },
          } : {}),
        });
        const ms = (v: number | null) => (typeof v === 'number' ? v.toFixed(1) : 'n/a');
        const share = (n: number) => `${(100 * n / Math.max(1, load.requests)).toFixed(1)}%`;
        const defer = load.defer;
        const measuredPart = runs.at(-1)!.window;
        const lv = load.live;
        const verdict = lv
          ? lv.mode === 'stream'
            ? `edit-to-push p50 ${ms(lv.editToPushMs.p50)} p99 ${ms(lv.editToPushMs.p99)} max ${ms(lv.editToPushMs.max)} ms  pushes ${lv.delivered}/${lv.expected}  topclients calls/edit ${lv.topclientsCallsPerEdit.mean.toFixed(2)} (max ${lv.topclientsCallsPerEdit.max})  edits ${lv.edits.acknowledged}/${lv.edits.sent}  CPU ${cpu.toFixed(2)} s  RSS ${rss.toFixed(0)} MB`
            : `polls ${lv.polls!.perSecond.toFixed(0)}/s of ${lv.polls!.askedPerSecond.toFixed(0)} asked  edit-to-visible p50 ${ms(lv.editToPushMs.p50)} p99 ${ms(lv.editToPushMs.p99)} ms  seen ${lv.delivered}/${lv.expected}  gigs ${(subgraphRequests.gigs ?? 0) / lv.window.seconds | 0}/s  CPU ${cpu.toFixed(2)} s  RSS ${rss.toFixed(0)} MB`
          : defer
          ? `first payload p50 ${ms(defer.firstPayloadMs.p50)} p99 ${ms(defer.firstPayloadMs.p99)} (delimited p99 ${ms(defer.firstDelimitedMs.p99)}) ms  reader lag p99 ${ms(defer.readerLagMs?.p99 ?? NaN)} ms  served ${share(defer.served)}`
            + `${defer.besideFirstPayloadMs ? `  beside it, the page without the top clients' details p99 ${ms(defer.besideFirstPayloadMs.p99)} ms` : ''}`
            + `${loadOptions.kind !== 'noClientDetailsPage' ? `  top clients delivered ${defer.topClients.delivered} none ${defer.topClients.none} failed ${defer.topClients.failed} missing ${defer.topClients.missing}` : ''}`
            + `${measuredPart ? `  machine ${measuredPart.machineBusyCores.toFixed(2)} cores busy${measuredPart.gateway ? `  scavenges ${measuredPart.gateway.scavenges} (${measuredPart.gateway.scavengeSeconds.toFixed(2)} s)  loop delay p99 ${ms(measuredPart.gateway.loopDelayP99Ms)} max ${ms(measuredPart.gateway.loopDelayMaxMs)} ms${Object.keys(measuredPart.gateway.refused ?? {}).length ? `  turned away ${JSON.stringify(measuredPart.gateway.refused)}` : ''}` : ''}` : ''}`
          : load.gatewayCost
          ? `complete ${share(load.gatewayCost.complete)} shed ${share(load.gatewayCost.shed)} degraded ${share(load.gatewayCost.degraded)}  CPU s/1000 ${(1000 * cpu / Math.max(1, load.requests)).toFixed(2)}  ${childProcesses + 1} process(es)`
          : `gig ok ${share(load.gigComplete)} page ok ${share(load.pageComplete)}${scenario.burst ? `  topclients calls ${subgraphRequests.topclients ?? 0}` : ''}${load.churn ? `  edits ${load.churn.edits} failed ${load.churn.editFailures} stale after shown ${load.churn.staleAfterSeen}` : ''}${restart ? `  topclients away ${restart.downMs.toFixed(0)} ms` : ''}`;
        console.log(`${load.requestsPerSecond.toFixed(0).padStart(6)} req/s  p50 ${ms(load.latencyMs.p50)} p99 ${ms(load.latencyMs.p99)} ms  ${verdict}`);
      } catch (error) {
        const message = String((error as Error)?.message ?? error);
        runs.push({ scenario: scenario.id, contender, ...(round > 1 ? { round } : {}), at: new Date().toISOString(), loadavgAtStart: loadAtStart, error: message });
        console.log(`FAILED: ${message.split('\n')[0]}`);
      } finally {
        if (started) await stopContender(started);
      }
      if (profiled) {
        // One profile per thread (tsx's loader runs on a worker): the main thread's is the largest.
        const files = readdirSync(runProfileDir).map((f) => join(runProfileDir, f));
        const main = files.sort((a, b) => statSync(b).size - statSync(a).size)[0];
        if (main) profiles[contender === 'ours' ? scenario.id : `${scenario.id} ${contender}`] = summariseProfile(main, { skipFirstMs: measuredFromMs });
      }
    }
  }
} finally {
  await stopAll();
}

const results: BenchResults = {
  startedAt: startedAt.toISOString(),
  finishedAt: new Date().toISOString(),
  mode: quick ? 'quick' : 'full',
  machine: { node: process.version, cpus: cpus().length, loadavgAtStart: runs[0]?.loadavgAtStart ?? [] },
  settings,
  contenders: CONTENDER_DESCRIPTIONS,
  scenarios: Object.fromEntries(SCENARIOS.map((s) => [s.id, s.title])) as Record<ScenarioId, string>,
  demo: info!.demo,
  runs,
  profiles,
};
// A run of some scenarios keeps the others' figures from the results already there, each marked with its time.
writeReports(outDir, only ? mergeWithPrevious(outDir, results, selected) : results);
if (process.env.BENCH_KEEP_WORKDIR) console.log(`bench: kept ${workDir}`);
else rmSync(workDir, { recursive: true, force: true });
console.log(`bench: results in ${outDir}`);
process.exit(0);

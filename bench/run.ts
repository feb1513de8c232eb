/**
 * `npm run bench`: the hybrid read path side by side with what users would pick instead. Starts everything itself
 * on 127.0.0.1 (backend with delaying proxies, one fresh gateway process per contender and scenario, the load in
 * its own process), runs bounded loads, stops everything and writes bench/results/ (JSON, markdown, SVG).
 *
 *   npm run bench                 full run (10 s per contender and scenario, about 10 minutes)
 *   npm run bench -- --quick      smoke run (2 s each, small data), results under bench/results/quick/
 *   npm run bench -- --profile    also profile our gateway (--cpu-prof) in scenarios 1 and 6 and summarise
 *   npm run bench -- --only=s1,s6 only these scenarios
 *
 * Knobs (environment): BENCH_SECONDS, BENCH_WARMUP_SECONDS, BENCH_CONNECTIONS, BENCH_SCALE, BENCH_ZIPF_S,
 * BENCH_GIGS_DELAY_MS (5), BENCH_USERS_DELAY_MS (5), BENCH_TOPCLIENTS_DELAY_MS (20), BENCH_SLOW_TOPCLIENTS_MS
 * (1500, plus up to BENCH_SLOW_JITTER_MS 1000), BENCH_TOPCLIENTS_TIMEOUT_MS (300: ours' entity timeout for
 * topclients), BENCH_EDITS_PER_SECOND (5).
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServiceName } from '../subgraphs/services.js';
import type { BackendInfo, BackendOptions } from './backend.js';
import { ensureBenchPackages } from './benchPackages.js';
import { CONTENDER_DESCRIPTIONS, startContender, type ContenderName } from './contenders.js';
import type { ProxyBehaviour } from './delayProxy.js';
import type { LoadKind, LoadOptions, LoadResult } from './load.js';
import { childProcessCount, cpuSeconds, loadAverage, peakRssMb } from './procStats.js';
import { startChild, waitForLine, type Child } from './processes.js';
import { summariseProfile, type ProfileSummary } from './profileSummary.js';
import { writeReports, type BenchResults, type RunRecord, type ScenarioId } from './report.js';

process.env.APOLLO_TELEMETRY_DISABLED = 'true';
const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const profile = args.includes('--profile');
const only = args.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');

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
};

interface Scenario {
  id: ScenarioId;
  title: string;
  supergraph: 'reference' | 'overhead';
  load: LoadKind;
  warmup: boolean;
  contenders: ContenderName[];
  topclients: Partial<ProxyBehaviour>;
  churn?: boolean;
}

const MAIN: ContenderName[] = ['sync', 'ours', 'hive', 'hive-cache'];
const SCENARIOS: Scenario[] = [
  { id: 's1', title: 'Gig page, warm (Zipf ids)', supergraph: 'reference', load: 'gigPage', warmup: true, contenders: [...MAIN, 'ours-max-age', 'gigs-only'], topclients: {} },
  { id: 's2', title: 'Cold start (first seconds, cache empty)', supergraph: 'reference', load: 'gigPage', warmup: false, contenders: MAIN, topclients: {} },
  { id: 's3', title: `Churn (${settings.editsPerSecond} updateClient/s while pages are read)`, supergraph: 'reference', load: 'gigPage', warmup: true, contenders: MAIN, topclients: {}, churn: true },
  { id: 's4', title: `topclients slow (${settings.slowTopclientsMs}-${settings.slowTopclientsMs + settings.slowJitterMs} ms)`, supergraph: 'reference', load: 'gigPage', warmup: true, contenders: MAIN, topclients: { delayMs: settings.slowTopclientsMs, jitterMs: settings.slowJitterMs } },
  { id: 's5', title: 'topclients down (connections reset)', supergraph: 'reference', load: 'gigPage', warmup: true, contenders: MAIN, topclients: { down: true } },
  { id: 's6', title: 'Raw execution overhead (accounts/products/reviews/inventory, no delay, nothing cacheable)', supergraph: 'overhead', load: 'overhead', warmup: true, contenders: MAIN, topclients: {} },
];

ensureBenchPackages(root);
const outDir = join(root, 'bench', 'results', ...(quick ? ['quick'] : []));
const workDir = mkdtempSync(join(tmpdir(), 'bench-'));
const profileDir = join(workDir, 'profiles');
mkdirSync(profileDir, { recursive: true });
const children: Child[] = [];
let interrupted = false;

async function stopAll() {
  await Promise.all(children.map((c) => c.stop()));
}
// Whatever happens, no child outlives the run.
process.on('exit', () => {
  for (const child of children) if (child.process.exitCode === null) child.process.kill('SIGKILL');
});
process.on('SIGINT', () => {
  interrupted = true;
  void stopAll().then(() => process.exit(130));
});

function normal(name: ServiceName): ProxyBehaviour {
  return { delayMs: settings.delaysMs[name], jitterMs: 0, down: false };
}

async function control(backendUrl: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${backendUrl}${path}`, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`backend ${path}: HTTP ${response.status}`);
  return response.json();
}

async function runLoad(options: LoadOptions, name: string, onMeasure: () => Promise<void>): Promise<LoadResult> {
  const file = join(workDir, `load-${name}.json`);
  writeFileSync(file, JSON.stringify(options));
  const child = startChild(`load ${name}`, ['--import', 'tsx', 'bench/load.ts', file], {}, root);
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

const startedAt = new Date();
console.log(`bench: ${quick ? 'quick' : 'full'} run, ${settings.seconds} s per contender and scenario after ${settings.warmupSeconds} s warm-up, ${settings.connections} connections; loadavg ${loadAverage().join(' ')}`);
console.log(`bench: starting backend (demo data scale ${settings.scale})...`);
const backendOptions: BackendOptions = {
  scale: settings.scale,
  workDir,
  delays: { gigs: normal('gigs'), users: normal('users'), topclients: normal('topclients') },
  editTargets: 50,
};
const backend = startChild('backend', ['--import', 'tsx', 'bench/backend.ts', JSON.stringify(backendOptions)], {}, root);
children.push(backend);
const runs: RunRecord[] = [];
const profiles: Record<string, ProfileSummary> = {};
let info: BackendInfo;
try {
  const backendUrl = await waitForLine(backend, 'BACKEND ', 600_000);
  info = (await control(backendUrl, '/info')) as BackendInfo;
  console.log(`bench: backend up: ${info.demo.gigs} gigs, ${info.demo.sellers} sellers, ${info.demo.clients} clients`);

  for (const scenario of SCENARIOS) {
    if (only && !only.includes(scenario.id)) continue;
    for (const contender of scenario.contenders) {
      if (interrupted) break;
      for (const name of ['gigs', 'users'] as ServiceName[]) await control(backendUrl, '/behaviour', { name, ...normal(name) });
      await control(backendUrl, '/behaviour', { name: 'topclients', ...normal('topclients'), ...scenario.topclients });
      const profiled = profile && contender === 'ours' && (scenario.id === 's1' || scenario.id === 's6');
      const runProfileDir = join(profileDir, `ours-${scenario.id}`);
      let spawnedAt = performance.now();
      let measuredFromMs = 0;
      const label = `${scenario.id} ${contender}`;
      process.stdout.write(`bench: ${label.padEnd(16)} `);
      const loadAtStart = loadAverage();
      let started: Awaited<ReturnType<typeof startContender>> | undefined;
      try {
        spawnedAt = performance.now();
        started = await startContender(contender, {
          root,
          workDir,
          supergraphFile: scenario.supergraph === 'reference' ? info.referenceSupergraph : info.overheadSupergraph,
          invalidationFeedUrl: scenario.supergraph === 'reference' ? info.directUrls.topclients.replace(/\/graphql$/, '/events') : null,
          oursEnv: { SUBGRAPH_TOPCLIENTS_ENTITY_TIMEOUT_MS: String(settings.topclientsEntityTimeoutMs) },
          nodeFlags: profiled ? ['--cpu-prof', '--cpu-prof-dir', runProfileDir] : [],
        });
        children.push(started.child);
        const loadOptions: LoadOptions = {
          url: started.url,
          kind: contender === 'gigs-only' ? 'gigsOnly' : scenario.load,
          connections: settings.connections,
          warmupSeconds: scenario.warmup ? settings.warmupSeconds : 0,
          durationSeconds: settings.seconds,
          gigIdsByRank: info.gigIdsByRank,
          zipfExponent: settings.zipfExponent,
          seed: 42,
          ...(scenario.churn ? { churn: { targets: info.editTargets, editsPerSecond: settings.editsPerSecond, pollIntervalMs: 50 } } : {}),
        };
        // Counts and CPU cover the measured part only: the load process prints MEASURE after its warm-up and pauses
        // briefly before measuring, while we reset the counts and read the CPU clock.
        let cpuBefore = cpuSeconds(started.child.pid);
        const load = await runLoad(loadOptions, `${scenario.id}-${contender}`, async () => {
          await control(backendUrl, '/reset', {});
          cpuBefore = cpuSeconds(started!.child.pid);
          measuredFromMs = performance.now() - spawnedAt;
        });
        const cpu = cpuSeconds(started.child.pid) - cpuBefore;
        const rss = peakRssMb(started.child.pid);
        const childProcesses = childProcessCount(started.child.pid);
        const counts = (await control(backendUrl, '/counts')) as {
          reference: Record<ServiceName, { requests: number; entityRequests: number; refused: number }>;
          overhead: Record<string, number>;
        };
        const subgraphRequests: Record<string, number> = scenario.supergraph === 'reference'
          ? Object.fromEntries(Object.entries(counts.reference).map(([n, c]) => [n, c.requests + c.refused]))
          : counts.overhead;
        runs.push({
          scenario: scenario.id,
          contender,
          loadavgAtStart: loadAtStart,
          load,
          cpuSeconds: cpu,
          peakRssMb: rss,
          childProcesses,
          subgraphRequests,
        });
        const ms = (v: number | null) => (typeof v === 'number' ? v.toFixed(1) : 'n/a');
        console.log(`${load.requestsPerSecond.toFixed(0).padStart(6)} req/s  p50 ${ms(load.latencyMs.p50)} p99 ${ms(load.latencyMs.p99)} ms  gig ok ${(100 * load.gigComplete / Math.max(1, load.requests)).toFixed(1)}%`);
      } catch (error) {
        const message = String((error as Error)?.message ?? error);
        runs.push({ scenario: scenario.id, contender, loadavgAtStart: loadAtStart, error: message });
        console.log(`FAILED: ${message.split('\n')[0]}`);
      } finally {
        if (started) {
          await started.child.stop();
          children.splice(children.indexOf(started.child), 1);
        }
      }
      if (profiled) {
        // One profile per thread (tsx's loader runs on a worker): the main thread's is the largest.
        const files = readdirSync(runProfileDir).map((f) => join(runProfileDir, f));
        const main = files.sort((a, b) => statSync(b).size - statSync(a).size)[0];
        if (main) profiles[scenario.id] = summariseProfile(main, { skipFirstMs: measuredFromMs });
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
  machine: { node: process.version, cpus: (await import('node:os')).cpus().length, loadavgAtStart: runs[0]?.loadavgAtStart ?? [] },
  settings,
  contenders: CONTENDER_DESCRIPTIONS,
  scenarios: Object.fromEntries(SCENARIOS.map((s) => [s.id, s.title])) as Record<ScenarioId, string>,
  demo: info!.demo,
  runs,
  profiles,
};
writeReports(outDir, results);
rmSync(workDir, { recursive: true, force: true });
console.log(`bench: results in ${outDir}`);
process.exit(0);

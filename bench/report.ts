/**
 * Turns one benchmark run into bench/results/: results.json (everything measured), results.md (a table per
 * scenario with every figure also as a ratio to sync, the issue's bars checked, profile findings) and chart.svg.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ContenderName } from './contenders.js';
import { deferBars, deferSection } from './deferReport.js';
import { liveBars, liveSection } from './liveReport.js';
import { percentiles } from './stats.js';
import type { LoadResult } from './load.js';
import type { ProfileSummary } from './profileSummary.js';
import type { GatewayPauses } from './windowStats.js';

export type ScenarioId = 's1' | 's2' | 's2b' | 's2d' | 's3' | 's3b' | 's4' | 's4d' | 's5' | 's6' | 's7' | 's7b' | 's8' | 's8b';

export interface RunRecord {
  scenario: ScenarioId;
  contender: ContenderName;
  /** Scenario 7's bar contenders, and 2d's and 4d's separate pages, run again (BENCH_S7_ROUNDS, BENCH_DEFER_ROUNDS): the round of this run, from 2; absent on the first. */
  round?: number;
  /** When this contender's run ended (runs merged from an earlier file keep their own time). */
  at?: string;
  loadavgAtStart: number[];
  load?: LoadResult;
  cpuSeconds?: number;
  peakRssMb?: number;
  /** Child processes of the gateway process at the end (0: one process); CPU and RSS are summed over all of them. */
  childProcesses?: number;
  /** Requests that reached each subgraph (at the proxies; refused ones included) during the measured part. */
  subgraphRequests?: Record<string, number>;
  /** Of those, `_entities` calls (reference scenarios). */
  entityRequests?: Record<string, number>;
  /** Scenario 3b: when topclients was killed (seconds into the measured part) and how long until it served again. */
  restart?: { afterSeconds: number; downMs: number };
  /** Scenarios 2d and 4d: the machine's busy cores and the gateway's pauses over the measured part (windowStats.ts). */
  window?: { machineBusyCores: number; gateway?: GatewayPauses };
  error?: string;
}

export interface BenchResults {
  startedAt: string;
  finishedAt: string;
  mode: 'quick' | 'full';
  machine: { node: string; cpus: number; loadavgAtStart: number[] };
  settings: Record<string, unknown> & { topclientsEntityTimeoutMs: number };
  contenders: Record<ContenderName, string>;
  scenarios: Record<ScenarioId, string>;
  demo: { sellers: number; clients: number; gigs: number };
  runs: RunRecord[];
  profiles: Record<string, ProfileSummary>;
}

export interface Figures {
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  gigOk: number;
  pageOk: number;
  perThousand: Record<string, number>;
  cpuPerThousand: number;
  rssMb: number;
}

/** Scenario 7's shares of the measured requests. */
export interface CostFigures {
  complete: number;
  shed: number;
  degraded: number;
  /** Complete among the requests that were not shed. */
  admittedComplete: number;
  shedWithRetryAfter: number;
  admittedP99: number;
  processes: number;
  /** Complete answers per second: what the gateway delivered (shed answers are cheap and count for nothing). */
  completePerSecond: number;
  /** CPU seconds per 1000 complete answers: the cost of what was delivered, rejections included. */
  cpuPerThousandComplete: number;
}

export function costFiguresOf(run: RunRecord): CostFigures | null {
  const cost = run.load?.gatewayCost;
  if (!cost || run.error) return null;
  const requests = Math.max(1, run.load!.requests);
  const admitted = Math.max(1, requests - cost.shed);
  return {
    complete: cost.complete / requests,
    shed: cost.shed / requests,
    degraded: cost.degraded / requests,
    admittedComplete: cost.complete / admitted,
    shedWithRetryAfter: cost.shed === 0 ? 1 : cost.shedWithRetryAfter / cost.shed,
    admittedP99: cost.admittedLatencyMs.p99,
    processes: (run.childProcesses ?? 0) + 1,
    completePerSecond: cost.complete / run.load!.seconds,
    cpuPerThousandComplete: cost.complete === 0 ? NaN : ((run.cpuSeconds ?? NaN) * 1000) / cost.complete,
  };
}

export function figuresOf(run: RunRecord): Figures | null {
  if (!run.load || run.error) return null;
  const pages = Math.max(1, run.load.requests);
  return {
    rps: run.load.requestsPerSecond,
    p50: run.load.latencyMs.p50,
    p95: run.load.latencyMs.p95,
    p99: run.load.latencyMs.p99,
    gigOk: run.load.gigComplete / pages,
    pageOk: run.load.pageComplete / pages,
    perThousand: Object.fromEntries(Object.entries(run.subgraphRequests ?? {}).map(([n, c]) => [n, (1000 * c) / pages])),
    // Nothing answered in the measured part: no cost per request to speak of.
    cpuPerThousand: run.load.requests === 0 ? NaN : ((run.cpuSeconds ?? NaN) * 1000) / pages,
    rssMb: run.peakRssMb ?? NaN,
  };
}

const fmt = (v: number, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');
const ratio = (v: number, base: number | undefined) => (base && Number.isFinite(v) && Number.isFinite(base) && base !== 0 ? ` (${fmt(v / base, 2)}x)` : '');
const pct = (v: number) => `${fmt(100 * v, 1)}%`;

export function writeReports(outDir: string, results: BenchResults): void {
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(outDir, 'results.md'), markdown(results));
  writeFileSync(join(outDir, 'chart.svg'), chart(results));
}

/**
 * A run of some scenarios only (--only) replaces those scenarios in the results already in `outDir` and keeps the
 * others, each run still marked with its own time, so one scenario can be measured again without the rest.
 */
export function mergeWithPrevious(outDir: string, results: BenchResults, selected: (id: ScenarioId) => boolean): BenchResults {
  const file = join(outDir, 'results.json');
  if (!existsSync(file)) return results;
  let previous: BenchResults;
  try {
    previous = JSON.parse(readFileSync(file, 'utf8')) as BenchResults;
  } catch {
    return results;
  }
  if (previous.mode !== results.mode) return results;
  const kept = previous.runs.filter((r) => !selected(r.scenario)).map((r) => ({ ...r, at: r.at ?? previous.finishedAt }));
  const keptProfiles = Object.fromEntries(Object.entries(previous.profiles).filter(([id]) => !selected(id as ScenarioId)));
  return {
    ...results,
    runs: [...kept, ...results.runs],
    profiles: { ...keptProfiles, ...results.profiles },
    contenders: { ...previous.contenders, ...results.contenders },
    scenarios: { ...previous.scenarios, ...results.scenarios },
  };
}

function find(results: BenchResults, scenario: ScenarioId, contender: ContenderName): Figures | null {
  const run = results.runs.find((r) => r.scenario === scenario && r.contender === contender);
  return run ? figuresOf(run) : null;
}

export function markdown(results: BenchResults): string {
  const lines: string[] = [];
  const s = results.settings as Record<string, any>;
  lines.push(`# Benchmark results (${results.mode} run)`, '');
  lines.push(`Run ${results.startedAt} to ${results.finishedAt}, Node ${results.machine.node}, ${results.machine.cpus} cores, `
    + `load average at start ${results.machine.loadavgAtStart.join(' ')} (other work shared this machine: absolute figures are noisy, `
    + `ratios to sync measured in the same run are the ones to read).`, '');
  lines.push(`Demo data: ${results.demo.gigs} gigs, ${results.demo.sellers} sellers, ${results.demo.clients} clients. `
    + `${s.connections} connections, ${s.warmupSeconds} s warm-up (none in s2), ${s.seconds} s measured per contender and scenario, unless a scenario's title says otherwise. `
    + `Injected delays: gigs ${s.delaysMs.gigs} ms, users ${s.delaysMs.users} ms, topclients ${s.delaysMs.topclients} ms. `
    + `Zipf exponent ${s.zipfExponent}. Ours' topclients entity timeout ${s.topclientsEntityTimeoutMs} ms.`, '');
  lines.push('Contenders:', '');
  for (const [name, description] of Object.entries(results.contenders)) lines.push(`- **${name}**: ${description}`);
  lines.push('');
  lines.push('Figures: requests/s; latency percentiles in ms; "gig ok" = HTTP 200 with the gig\'s own data; "page ok" = HTTP 200 '
    + 'with every field and no errors; subgraph requests per 1000 pages (counted at the delaying proxies, refused ones '
    + 'included); CPU seconds of the gateway process per 1000 pages; peak RSS (VmHWM) of the gateway process. (Nx) = ratio to sync in the same scenario.', '');

  for (const [id, title] of Object.entries(results.scenarios) as [ScenarioId, string][]) {
    const runs = results.runs.filter((r) => r.scenario === id);
    if (runs.length === 0) continue;
    const base = find(results, id, 'sync');
    const subgraphs = [...new Set(runs.flatMap((r) => Object.keys(r.subgraphRequests ?? {})))];
    lines.push(`## ${id}: ${title}`, '');
    const times = [...new Set(runs.map((r) => r.at?.slice(0, 16)).filter(Boolean))];
    if (times.length > 0 && runs.some((r) => r.at && (r.at < results.startedAt || r.at > results.finishedAt))) {
      lines.push(`Measured in an earlier run (${times[0]}Z${times.length > 1 ? ` to ${times[times.length - 1]}Z` : ''}).`, '');
    }
    if (runs.some((r) => r.load?.gatewayCost)) {
      lines.push(...gatewayCostSection(results, id, runs), '');
      continue;
    }
    if (runs.some((r) => r.load?.live) || id === 's8' || id === 's8b') {
      lines.push(...liveSection(runs), '');
      continue;
    }
    lines.push(`| contender | req/s | p50 | p95 | p99 | gig ok | page ok | ${subgraphs.map((n) => `${n}/1000`).join(' | ')} | CPU s/1000 | peak RSS MB | loadavg |`);
    lines.push(`| --- | ${'--- | '.repeat(8 + subgraphs.length)}`);
    for (const run of runs) {
      const f = figuresOf(run);
      if (!f) {
        lines.push(`| ${labelOf(run)} | failed: ${(run.error ?? '').split('\n')[0]!.replace(/\|/g, '/')} |${' |'.repeat(8 + subgraphs.length)}`);
        continue;
      }
      lines.push(`| ${labelOf(run)} | ${fmt(f.rps, 0)}${ratio(f.rps, base?.rps)} | ${fmt(f.p50)}${ratio(f.p50, base?.p50)} | `
        + `${fmt(f.p95)}${ratio(f.p95, base?.p95)} | ${fmt(f.p99)}${ratio(f.p99, base?.p99)} | ${pct(f.gigOk)} | ${pct(f.pageOk)} | `
        + `${subgraphs.map((n) => `${fmt(f.perThousand[n] ?? 0, 0)}${ratio(f.perThousand[n] ?? 0, base?.perThousand[n])}`).join(' | ')} | `
        + `${fmt(f.cpuPerThousand, 2)}${ratio(f.cpuPerThousand, base?.cpuPerThousand)} | ${fmt(f.rssMb, 0)}${ratio(f.rssMb, base?.rssMb)} | ${run.loadavgAtStart[0]?.toFixed(1)} |`);
    }
    lines.push(...deferSection(runs));
    const prewarmed = runs.filter((r) => r.load?.prewarm);
    if (prewarmed.length > 0) {
      lines.push('', `Before its warm-up each contender served every gig page once (${prewarmed[0]!.load!.prewarm!.pages} pages, `
        + `${s.connections} at a time), so every measured page is one the gateway has seen; first views are s2's subject. `
        + `That pass took ${prewarmed.map((r) => `${r.contender} ${fmt(r.load!.prewarm!.seconds)} s${r.load!.prewarm!.failed ? ` (${r.load!.prewarm!.failed} failed)` : ''}`).join(', ')}.`);
    }
    const codes = runs.filter((r) => r.load && Object.keys(r.load.errorCodes).length > 0)
      .map((r) => `${labelOf(r)}: ${Object.entries(r.load!.errorCodes).map(([c, n]) => `${c} x${n}`).join(', ')}`);
    if (codes.length > 0) lines.push('', `GraphQL error codes seen: ${codes.join('; ')}.`);
    if (id === 's2b') {
      lines.push('', '| contender | pages | not page ok (errors, non-200, no answer) | topclients requests (of which _entities) | gigs requests | users requests | p99 ms |', '| --- | --- | --- | --- | --- | --- | --- |');
      for (const run of runs) {
        if (!run.load) continue;
        const b = burstFiguresOf(run);
        lines.push(`| ${run.contender} | ${run.load.requests} | ${b.failedPages} | ${b.topclients} (${b.topclientsEntities}) | ${run.subgraphRequests?.gigs ?? 0} | ${run.subgraphRequests?.users ?? 0} | ${fmt(run.load.latencyMs.p99)} |`);
      }
    }
    const churn = runs.filter((r) => r.load?.churn);
    if (churn.length > 0) {
      lines.push('', '"edits acknowledged" = `updateClient` answered with a version (the subgraph accepted the gateway-signed identity); '
        + '"stale after it showed" = page views requested after an edit had already shown on a page that show an older version (propagation finished, yet old).', '');
      lines.push('| contender | edits acknowledged | failed | edit shows on gig page: median ms | p99 ms | not seen within the run | page views of an edited client after an edit | of which stale | views after the edit showed | of which stale after it showed |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
      for (const run of churn) {
        const c = run.load!.churn!;
        lines.push(`| ${run.contender}${run.restart ? ` (topclients killed at ${fmt(run.restart.afterSeconds, 1)} s, serving again ${fmt(run.restart.downMs, 0)} ms later)` : ''} | ${c.edits} | ${c.editFailures}${c.editFailures ? ` (${(c.editErrors ?? [])[0]?.replace(/\|/g, '/') ?? ''})` : ''} | ${fmt(c.visibilityMs.p50)} | ${fmt(c.visibilityMs.p99)} | ${c.notSeen} | ${c.viewsAfterEdit} | ${c.staleViews} (${pct(c.staleViews / Math.max(1, c.viewsAfterEdit))}) | ${c.viewsAfterSeen ?? 'n/a'} | ${c.staleAfterSeen ?? 'n/a'} |`);
      }
    }
    lines.push('');
  }

  const forked = results.runs.filter((r) => (r.childProcesses ?? 0) > 0);
  lines.push(forked.length === 0
    ? 'Every gateway ran as one process without children (checked in /proc at the end of each run).'
    : `Gateways of more than one process (workers, or the second replica; CPU and RSS summed over them): ${forked.map((r) => `${r.scenario} ${r.contender} (${r.childProcesses})`).join(', ')}; every other gateway ran as one process.`, '');
  lines.push('## The issues\' bars (11: read path under load, 12: fresh and fast, 14: scaled out, 23: no change missed, 26: live pages, 27: against a Rust gateway, @defer: a page never waits for its slowest source)', '');
  for (const bar of bars(results)) lines.push(`- ${bar.met === null ? (bar.text.includes('n/a') ? 'not measured' : 'note') : bar.met ? 'MET' : 'MISSED'}: ${bar.text}`);
  lines.push('');

  if (Object.keys(results.profiles).length > 0) {
    lines.push('## Profile of our gateway (--cpu-prof; self time in the measured part only, start-up and warm-up left out)', '');
    for (const [id, p] of Object.entries(results.profiles)) {
      lines.push(`### ${id}: ${fmt(p.busyMs / 1000, 2)} s busy of ${fmt(p.totalMs / 1000, 2)} s sampled`, '');
      lines.push('| self time by package | ms | share of busy |', '| --- | --- | --- |');
      for (const pkg of p.topPackages.slice(0, 10)) lines.push(`| ${pkg.name} | ${fmt(pkg.selfMs, 0)} | ${pct(pkg.share)} |`);
      lines.push('', '| self time by function | where | ms | share of busy |', '| --- | --- | --- | --- |');
      for (const fn of p.topFunctions) lines.push(`| ${fn.name} | ${fn.where} | ${fmt(fn.selfMs, 0)} | ${pct(fn.share)} |`);
      if (p.topFiles?.length) {
        lines.push('', '| self time by file of this project | ms | share of busy |', '| --- | --- | --- |');
        for (const file of p.topFiles) lines.push(`| ${file.name} | ${fmt(file.selfMs, 0)} | ${pct(file.share)} |`);
      }
      lines.push('');
    }
  }
  return `${lines.join('\n')}\n`;
}

/** A run as the tables name it: its contender, and its round when it is not the first. */
export function labelOf(run: RunRecord): string {
  return run.round ? `${run.contender} (round ${run.round})` : run.contender;
}

/** Scenario 7's table: the classes of answers first, then cost; ratios to sync in the same scenario. */
function gatewayCostSection(results: BenchResults, id: ScenarioId, runs: RunRecord[]): string[] {
  const lines: string[] = [];
  const reference = runs.find((r) => r.load?.gatewayCost)?.load?.gatewayCost?.referenceBytes;
  lines.push(`Stock's reference answer: ${reference ? `${fmt(reference / 1024, 1)} KB of data` : 'n/a'}; every answer is compared with it. `
    + '"complete" = HTTP 200, no errors, data equal to stock\'s; "shed" = HTTP 503 GATEWAY_OVERLOADED (turned away before any work; '
    + '"with Retry-After" among them); "degraded" = anything else (errors, other data, other status, no answer); "admitted and complete" = '
    + 'complete among the requests not shed. "complete/s" and "CPU s/1000 complete" count complete answers only (a shed answer '
    + 'is cheap and delivers nothing): the bars use those; "req/s" and "CPU s/1000" count every answer. CPU and peak RSS cover the '
    + 'gateway\'s process and its children.', '');
  lines.push('| contender | processes | complete/s | req/s | complete | degraded | shed (with Retry-After) | admitted and complete | CPU s/1000 complete | CPU s/1000 | peak RSS MB | p50 | p99 | p99 admitted | loadavg |');
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const run of runs) {
    // A later round's ratios are to stock's run of the same round.
    const baseRun = runs.find((r) => r.contender === 'sync' && r.round === run.round) ?? runs.find((r) => r.contender === 'sync');
    const baseCost = baseRun ? costFiguresOf(baseRun) : null;
    const base = baseRun ? figuresOf(baseRun) : null;
    const f = figuresOf(run);
    const c = costFiguresOf(run);
    if (!f || !c) {
      lines.push(`| ${labelOf(run)} | failed: ${(run.error ?? 'no scenario-7 figures').split('\n')[0]!.replace(/\|/g, '/')} |${' |'.repeat(13)}`);
      continue;
    }
    const cost = run.load!.gatewayCost!;
    lines.push(`| ${labelOf(run)} | ${c.processes} | ${fmt(c.completePerSecond, 1)}${ratio(c.completePerSecond, baseCost?.completePerSecond)} | ${fmt(f.rps, 1)} | ${pct(c.complete)} | ${pct(c.degraded)} (${cost.degraded}) | `
      + `${pct(c.shed)} (${cost.shed}; ${cost.shedWithRetryAfter}) | ${pct(c.admittedComplete)} | ${fmt(c.cpuPerThousandComplete, 2)}${ratio(c.cpuPerThousandComplete, baseCost?.cpuPerThousandComplete)} | ${fmt(f.cpuPerThousand, 2)} | `
      + `${fmt(f.rssMb, 0)}${ratio(f.rssMb, base?.rssMb)} | ${fmt(f.p50)} | ${fmt(f.p99)} | ${fmt(c.admittedP99)} | ${run.loadavgAtStart[0]?.toFixed(1)} |`);
  }
  const codes = runs.filter((r) => r.load && Object.keys(r.load.errorCodes).length > 0)
    .map((r) => `${labelOf(r)}: ${Object.entries(r.load!.errorCodes).map(([code, n]) => `${code} x${n}`).join(', ')}`);
  if (codes.length > 0) lines.push('', `GraphQL error codes seen: ${codes.join('; ')}.`);
  const statuses = runs.filter((r) => r.load?.statuses && Object.keys(r.load.statuses).some((k) => k !== '200'))
    .map((r) => `${labelOf(r)}: ${Object.entries(r.load!.statuses).map(([code, n]) => `${code} x${n}`).join(', ')}`);
  if (statuses.length > 0) lines.push('', `HTTP statuses: ${statuses.join('; ')}.`);
  const different = runs.filter((r) => (r.load?.gatewayCost?.differentData ?? 0) > 0)
    .map((r) => `${labelOf(r)} ${r.load!.gatewayCost!.differentData}`);
  if (different.length > 0) lines.push('', `HTTP 200 answers whose data differ from stock's: ${different.join(', ')}.`);
  const subgraphs = [...new Set(runs.flatMap((r) => Object.keys(r.subgraphRequests ?? {})))];
  lines.push('', `Subgraph requests per 1000 requests: ${runs.map((r) => {
    const f = figuresOf(r);
    return f ? `${r.contender} ${subgraphs.map((n) => `${n} ${fmt(f.perThousand[n] ?? 0, 0)}`).join(' / ')}` : null;
  }).filter(Boolean).join('; ')}.`);
  for (const run of runs) {
    if (run.contender === 'ours-workers-2' && run.load && (run.childProcesses ?? 0) === 0) {
      lines.push('', '**ours-workers-2 ran as one process**: the gateway does not read GATEWAY_WORKERS yet, so its figures are one worker\'s (the same as ours).');
    }
  }
  return lines;
}

export interface Bar {
  text: string;
  met: boolean | null;
}

/** Scenario 2b's figures: pages that were not complete, and what reached topclients. */
export function burstFiguresOf(run: RunRecord): { failedPages: number; topclients: number; topclientsEntities: number } {
  const load = run.load!;
  return {
    failedPages: load.requests - load.pageComplete,
    topclients: run.subgraphRequests?.topclients ?? 0,
    topclientsEntities: run.entityRequests?.topclients ?? 0,
  };
}

export function bars(results: BenchResults): Bar[] {
  const out: Bar[] = [];
  // A contender that completed nothing in the measured part gives no baseline to compare with.
  const measured = (f: Figures | null) => (f && f.rps > 0 ? f : null);
  const ours1 = measured(find(results, 's1', 'ours'));
  const sync1 = measured(find(results, 's1', 'sync'));
  const gigsOnly = measured(find(results, 's1', 'gigs-only'));
  const check = (ok: boolean | null, text: string) => out.push({ met: ok, text });
  // ---- issue 12: fresh and fast
  check(ours1 && sync1 ? ours1.rps >= 5 * sync1.rps : null,
    `#12 s1 requests/s at least 5x sync: ${ours1 && sync1 ? `${fmt(ours1.rps / sync1.rps, 2)}x (${fmt(ours1.rps, 0)} vs ${fmt(sync1.rps, 0)})` : 'n/a'}`);
  check(ours1 && gigsOnly ? ours1.p99 <= 1.2 * gigsOnly.p99 : null,
    `#12 s1 p99 at most 1.2x a gateway that only calls gigs: ${ours1 && gigsOnly ? `${fmt(ours1.p99 / gigsOnly.p99, 2)}x (${fmt(ours1.p99)} vs ${fmt(gigsOnly.p99)} ms)` : 'n/a'}`);
  const tc = ours1?.perThousand.topclients;
  check(tc !== undefined ? tc <= 10 : null, `#12 s1 at most 10 topclients requests per 1000 pages: ${fmt(tc ?? NaN, 1)}`);
  const churnOf = (contender: ContenderName) => results.runs.find((r) => r.scenario === 's3' && r.contender === contender && r.load?.churn)?.load?.churn;
  const churn = churnOf('ours');
  check(churn ? churn.seen > 0 && churn.visibilityMs.p99 <= 300 : null,
    `#12 s3 edit-to-visible p99 at most 300 ms: ${churn ? `${fmt(churn.visibilityMs.p99)} ms (median ${fmt(churn.visibilityMs.p50)}; ${churn.seen} of ${churn.edits} edits seen, ${churn.notSeen} not)` : 'n/a'}`);
  check(churn && churn.staleAfterSeen !== undefined ? churn.staleAfterSeen === 0 : null,
    `#12 s3 no page view requested after an edit showed (propagation finished) shows the old value: ${churn ? `${churn.staleAfterSeen ?? 'n/a'} stale of ${churn.viewsAfterSeen ?? 'n/a'} (while propagating: ${churn.staleViews} of ${churn.viewsAfterEdit})` : 'n/a'}`);
  const restarted = results.runs.find((r) => r.scenario === 's3b' && r.contender === 'ours' && r.load?.churn);
  const churnRestarted = restarted?.load?.churn;
  check(churnRestarted && churnRestarted.staleAfterSeen !== undefined && restarted?.restart ? churnRestarted.staleAfterSeen === 0 && churnRestarted.seen > 0 : null,
    `#23 s3b topclients restarted during the churn: no page view requested after an edit showed shows the old value: ${churnRestarted ? `${churnRestarted.staleAfterSeen ?? 'n/a'} stale of ${churnRestarted.viewsAfterSeen ?? 'n/a'}; ${churnRestarted.seen} of ${churnRestarted.edits} edits seen (median ${fmt(churnRestarted.visibilityMs.p50)} ms, p99 ${fmt(churnRestarted.visibilityMs.p99)}), ${churnRestarted.editFailures} edits refused while it was away${restarted?.restart ? ` (${fmt(restarted.restart.downMs, 0)} ms)` : ' (no restart recorded)'}` : 'n/a'}`);
  const editors = results.runs.filter((r) => r.scenario === 's3' && r.load?.churn);
  if (editors.length > 0) {
    check(editors.every((r) => r.load!.churn!.editFailures === 0 && r.load!.churn!.edits > 0),
      `s3 every contender's edits acknowledged, none failing (the subgraphs accepted each one's signed identity): ${editors.map((r) => `${r.contender} ${r.load!.churn!.edits} acknowledged / ${r.load!.churn!.editFailures} failed`).join(', ')}`);
  }
  // ---- issue 11: the read path under load
  const budget = results.settings.topclientsEntityTimeoutMs;
  const burstRun = results.runs.find((r) => r.scenario === 's2b' && r.contender === 'ours' && r.load && !r.error);
  const burst = burstRun ? burstFiguresOf(burstRun) : null;
  check(burst ? burst.failedPages === 0 : null,
    `#11 s2b ${burstRun?.load?.requests ?? 100} concurrent cold gig pages on a fresh gateway: 0 errors: ${burst ? `${burst.failedPages} pages not complete${Object.keys(burstRun!.load!.errorCodes).length ? ` (${Object.entries(burstRun!.load!.errorCodes).map(([c, n]) => `${c} x${n}`).join(', ')})` : ''}` : 'n/a'}`);
  check(burst ? burst.topclients <= 10 : null,
    `#11 s2b at most 10 calls to topclients: ${burst ? `${burst.topclients} requests (${burst.topclientsEntities} _entities)` : 'n/a'}`);
  const ours4 = measured(find(results, 's4', 'ours'));
  const ours5 = measured(find(results, 's5', 'ours'));
  check(ours4 ? ours4.gigOk === 1 : null, `#11 s4 100% of pages with gig data: ${ours4 ? pct(ours4.gigOk) : 'n/a'}`);
  check(ours4 ? ours4.pageOk >= 0.9 : null, `#11 s4 at least 90% of pages complete over the measured part: ${ours4 ? pct(ours4.pageOk) : 'n/a'}`);
  check(ours4 ? ours4.p99 <= budget + 10 : null, `#11 s4 p99 within the topclients budget (${budget} ms) + 10 ms: ${fmt(ours4?.p99 ?? NaN)} ms`);
  check(ours5 ? ours5.gigOk === 1 : null, `s5 100% of pages with gig data: ${ours5 ? pct(ours5.gigOk) : 'n/a'}`);
  check(ours5 && ours1 ? ours5.p99 <= 1.5 * ours1.p99 : null,
    `s5 p99 within 1.5x s1's p99 once the breaker is open: ${ours5 && ours1 ? `${fmt(ours5.p99 / ours1.p99, 2)}x (${fmt(ours5.p99)} vs ${fmt(ours1.p99)} ms)` : 'n/a'}`);
  const ours6 = measured(find(results, 's6', 'ours'));
  const sync6 = measured(find(results, 's6', 'sync'));
  const hive6 = measured(find(results, 's6', 'hive'));
  check(ours6 && sync6 ? ours6.rps >= 1.5 * sync6.rps : null,
    `s6 requests/s at least 1.5x sync: ${ours6 && sync6 ? `${fmt(ours6.rps / sync6.rps, 2)}x (${fmt(ours6.rps, 0)} vs ${fmt(sync6.rps, 0)})` : 'n/a'}`);
  check(ours6 && hive6 ? ours6.rps > hive6.rps : null,
    `s6 ahead of Hive Gateway (the aim): ${ours6 && hive6 ? `${fmt(ours6.rps, 0)} vs ${fmt(hive6.rps, 0)} req/s` : 'n/a'}`);
  out.push(...gatewayCostBars(results, measured));
  out.push(...rustGatewayBars(results, measured));
  out.push(...deferBars(results));
  out.push(...liveBars(results.runs));
  // ---- issue 14: two replicas + Redis beside one process (s1 and s7)
  const replicas1 = measured(find(results, 's1', 'ours-2-replicas-redis'));
  check(replicas1 ? replicas1.pageOk === 1 : null,
    `#14 s1 two replicas + Redis reported beside one process, every page complete: ${replicas1 ? `${pct(replicas1.pageOk)} page ok; ${fmt(replicas1.rps, 0)} req/s (${ours1 ? `${fmt(replicas1.rps / ours1.rps, 2)}x one process` : 'n/a'}${sync1 ? `, ${fmt(replicas1.rps / sync1.rps, 2)}x sync` : ''}), p99 ${fmt(replicas1.p99)} ms (one process ${fmt(ours1?.p99 ?? NaN)}), ${fmt(replicas1.perThousand.topclients ?? NaN, 1)} topclients/1000, CPU ${fmt(replicas1.cpuPerThousand, 2)} s/1000 (one process ${fmt(ours1?.cpuPerThousand ?? NaN, 2)}), peak RSS ${fmt(replicas1.rssMb, 0)} MB summed` : 'n/a'}`);
  const replicas7 = results.runs.find((r) => r.scenario === 's7' && r.contender === 'ours-2-replicas-redis');
  const r7 = replicas7 ? costFiguresOf(replicas7) : null;
  const ours7run = results.runs.find((r) => r.scenario === 's7' && r.contender === 'ours');
  const o7 = ours7run ? costFiguresOf(ours7run) : null;
  const sync7run = results.runs.find((r) => r.scenario === 's7' && r.contender === 'sync');
  const s7 = sync7run ? costFiguresOf(sync7run) : null;
  check(r7 ? r7.degraded === 0 : null,
    `#14 s7 two replicas + Redis reported beside one process, no answer degraded: ${r7 ? `${pct(r7.complete)} complete, ${pct(r7.degraded)} degraded, ${pct(r7.shed)} shed; ${fmt(r7.completePerSecond, 1)} complete/s (${o7 ? `${fmt(r7.completePerSecond / o7.completePerSecond, 2)}x one process` : 'n/a'}${s7 ? `, ${fmt(r7.completePerSecond / s7.completePerSecond, 2)}x stock` : ''}), CPU ${fmt(r7.cpuPerThousandComplete, 2)} s/1000 complete (one process ${fmt(o7?.cpuPerThousandComplete ?? NaN, 2)}), peak RSS ${fmt(replicas7?.peakRssMb ?? NaN, 0)} MB summed` : 'n/a'}`);
  return out;
}

type Measured = (f: Figures | null) => Figures | null;

/**
 * A contender's run of scenario 7 or 7b with its figures (its first, or the given round of scenario 7), or null when
 * it did not run or answered nothing.
 */
function gatewayCostRun(results: BenchResults, measured: Measured, id: ScenarioId, contender: ContenderName, round?: number) {
  const run = results.runs.find((r) => r.scenario === id && r.contender === contender && r.round === round);
  const f = run ? measured(figuresOf(run)) : null;
  return run && f ? { run, f, c: costFiguresOf(run)!, cost: run.load!.gatewayCost! } : null;
}

/** The bars of the read-path-under-load issue (s7 at 50 connections, s7b at 200) and of the gateway-cost issue (s7). */
function gatewayCostBars(results: BenchResults, measured: Measured): Bar[] {
  const out: Bar[] = [];
  const check = (ok: boolean | null, text: string) => out.push({ met: ok, text });
  const costOf = (id: ScenarioId, contender: ContenderName) => gatewayCostRun(results, measured, id, contender);
  const ours = costOf('s7', 'ours');
  const sync = costOf('s7', 'sync');
  const hive = costOf('s7', 'hive');
  const router = costOf('s7', 'hive-router');
  check(ours ? ours.cost.complete === ours.run.load!.requests && ours.cost.degraded === 0 : null,
    `#11 s7 (50 connections) every answer of ours complete and equal to stock's: ${ours ? `${pct(ours.c.complete)} complete, ${ours.cost.degraded} degraded, ${ours.cost.shed} shed` : 'n/a'}`);
  check(ours ? ours.cost.shed === 0 : null, `#11 s7 none of ours' answers shed: ${ours ? `${ours.cost.shed} shed (${pct(ours.c.shed)})` : 'n/a'}`);
  const cpuRatio = ours && sync ? ours.c.cpuPerThousandComplete / sync.c.cpuPerThousandComplete : NaN;
  check(ours && sync ? cpuRatio <= 1 : null,
    `#11 s7 ours' CPU seconds per 1000 complete answers no higher than stock's: ${ours && sync ? `${fmt(cpuRatio, 2)}x (${fmt(ours.c.cpuPerThousandComplete, 2)} vs ${fmt(sync.c.cpuPerThousandComplete, 2)})` : 'n/a'}`);
  const over = costOf('s7b', 'ours');
  check(over ? over.cost.degraded === 0 : null,
    `#11 s7b (200 connections) every admitted answer of ours complete: ${over ? `${pct(over.c.admittedComplete)} of admitted complete, ${over.cost.degraded} degraded, ${over.cost.shed} shed (${pct(over.c.shed)}), ${fmt(over.c.completePerSecond, 1)} complete/s` : 'n/a'}`);
  // Nothing turned away means every request was admitted and answered: the refusal itself was not exercised.
  check(over && over.cost.shed > 0 ? over.cost.shedWithRetryAfter === over.cost.shed : null,
    `#11 s7b what ours turns away is a clean 503 GATEWAY_OVERLOADED with Retry-After: ${over ? over.cost.shed > 0
      ? `${over.cost.shed} shed, ${over.cost.shedWithRetryAfter} with Retry-After`
      : `nothing was turned away in this run (every one of the 200 connections' requests was admitted; p99 ${fmt(over.f.p99)} ms)` : 'n/a'}`);
  check(ours && sync ? cpuRatio <= 1 / 3 : null, `s7 ours' CPU seconds per 1000 complete answers at most 1/3 of stock's: ${ours && sync ? `${fmt(cpuRatio, 2)}x` : 'n/a'}`);
  check(ours && sync ? ours.c.completePerSecond >= 3 * sync.c.completePerSecond : null,
    `s7 ours' complete answers/s at least 3x stock's: ${ours && sync ? `${fmt(ours.c.completePerSecond / sync.c.completePerSecond, 2)}x (${fmt(ours.c.completePerSecond, 1)} vs ${fmt(sync.c.completePerSecond, 1)})` : 'n/a'}`);
  check(ours && router ? ours.c.completePerSecond > router.c.completePerSecond : null,
    `s7 ours ahead of Hive Gateway with its Rust router runtime: ${ours && router ? `${fmt(ours.c.completePerSecond, 1)} vs ${fmt(router.c.completePerSecond, 1)} complete/s (${fmt(ours.c.completePerSecond / router.c.completePerSecond, 2)}x)` : 'n/a'}`);
  check(ours && hive ? ours.f.rssMb <= hive.f.rssMb : null,
    `s7 ours' peak RSS no higher than Hive Gateway's: ${ours && hive ? `${fmt(ours.f.rssMb, 0)} vs ${fmt(hive.f.rssMb, 0)} MB` : 'n/a'}`);
  const workers = costOf('s7', 'ours-workers-2');
  if (workers) {
    // The primary forks the workers: no child process means the cluster did not start, and the figure is one process's.
    out.push({ met: (workers.run.childProcesses ?? 0) === 0 ? false : null, text: (workers.run.childProcesses ?? 0) === 0
      ? `s7 ours with GATEWAY_WORKERS=2 ran as ONE process (no worker was forked): ${fmt(workers.c.completePerSecond, 1)} complete/s, not a two-worker figure`
      : `s7 ours with GATEWAY_WORKERS=2 (${workers.c.processes} processes): ${fmt(workers.c.completePerSecond, 1)} complete/s${sync ? ` (${fmt(workers.c.completePerSecond / sync.c.completePerSecond, 2)}x stock)` : ''}, ${fmt(workers.c.cpuPerThousandComplete, 2)} CPU s/1000 complete, ${fmt(workers.f.rssMb, 0)} MB peak RSS summed` });
  }
  const stockExecutor = costOf('s7', 'ours-stock-executor');
  if (stockExecutor && ours) {
    out.push({ met: null, text: `s7 the compiled executor against stock's over the same read path (GATEWAY_EXECUTOR=stock): ${fmt(ours.c.completePerSecond, 1)} vs ${fmt(stockExecutor.c.completePerSecond, 1)} complete/s (${fmt(ours.c.completePerSecond / stockExecutor.c.completePerSecond, 2)}x), ${fmt(ours.c.cpuPerThousandComplete, 2)} vs ${fmt(stockExecutor.c.cpuPerThousandComplete, 2)} CPU s/1000 complete` });
  }
  return out;
}

/** Scenario 7's rounds in which both ours without inbound dedup and `other` answered: each round's pair of runs. */
function pairedRounds(results: BenchResults, measured: Measured, other: ContenderName) {
  const rounds = [...new Set(results.runs.filter((r) => r.scenario === 's7' && r.contender === 'ours-no-dedup').map((r) => r.round))];
  return rounds.flatMap((round) => {
    const ours = gatewayCostRun(results, measured, 's7', 'ours-no-dedup', round);
    const paired = gatewayCostRun(results, measured, 's7', other, round);
    return ours && paired ? [{ ours, other: paired }] : [];
  });
}

/** The bars of the issue that measures ours against Grafbase's Rust gateway in scenario 7 (issue 27). */
function rustGatewayBars(results: BenchResults, measured: Measured): Bar[] {
  const out: Bar[] = [];
  const check = (ok: boolean | null, text: string) => out.push({ met: ok, text });
  const costOf = (contender: ContenderName) => gatewayCostRun(results, measured, 's7', contender);
  // Each round's runs paired (BENCH_S7_ROUNDS): the bar holds when the middle round's ratio (nearest-rank median) meets it.
  const middle = (ratios: number[]) => percentiles(ratios).p50;
  const rounds = pairedRounds(results, measured, 'grafbase-no-dedup');
  const cpuRatios = rounds.map((r) => r.ours.c.cpuPerThousandComplete / r.other.c.cpuPerThousandComplete);
  check(cpuRatios.length > 0 ? middle(cpuRatios) <= 2.5 : null,
    `#27 s7: ours with one worker and inbound dedup off: CPU per answer at most 2.5x Grafbase's with its dedup off: ${cpuRatios.length > 0
      ? `${fmt(middle(cpuRatios), 2)}x, the median of ${rounds.length} round(s): ${rounds.map((r, i) => `${fmt(cpuRatios[i]!, 2)}x (${fmt(r.ours.c.cpuPerThousandComplete, 2)} vs ${fmt(r.other.c.cpuPerThousandComplete, 2)} CPU s per 1000 complete answers)`).join('; ')}` : 'n/a'}`);
  const stockRounds = pairedRounds(results, measured, 'sync');
  const rssRatios = stockRounds.map((r) => r.ours.f.rssMb / r.other.f.rssMb);
  check(rssRatios.length > 0 ? middle(rssRatios) <= 1 : null,
    `#27 s7: the same (one worker, inbound dedup off): peak RSS no more than stock's (sync) in the same run: ${rssRatios.length > 0
      ? `${fmt(middle(rssRatios), 2)}x stock's, the median of ${stockRounds.length} round(s): ${stockRounds.map((r) => `${fmt(r.ours.f.rssMb, 0)} vs ${fmt(r.other.f.rssMb, 0)} MB`).join('; ')}` : 'n/a'}`);
  const ours = costOf('ours');
  const grafbase = costOf('grafbase');
  if (ours && grafbase) {
    out.push({ met: null, text: `#27 s7 both with dedup on (their defaults): ours ${fmt(ours.c.completePerSecond, 1)} complete/s, ${fmt(ours.c.cpuPerThousandComplete, 2)} CPU s/1000, ${fmt(ours.f.rssMb, 0)} MB; Grafbase ${fmt(grafbase.c.completePerSecond, 1)} complete/s, ${fmt(grafbase.c.cpuPerThousandComplete, 2)} CPU s/1000, ${fmt(grafbase.f.rssMb, 0)} MB` });
  }
  // Each contender's answers: all complete (equal to stock's, no errors), or how many were not; n/a if it did not run.
  const answers = (['ours', 'ours-no-dedup', 'grafbase', 'grafbase-no-dedup'] as ContenderName[]).map((contender) => {
    const run = costOf(contender);
    const equal = run ? run.cost.complete === run.run.load!.requests && run.cost.degraded === 0 : null;
    return { equal, text: `${contender} ${run ? `${run.cost.complete} of ${run.run.load!.requests} complete, ${run.cost.differentData} with other data, ${run.cost.degraded} degraded` : 'n/a'}` };
  });
  check(answers.some((a) => a.equal === false) ? false : answers.some((a) => a.equal === null) ? null : true,
    `#27 s7: every answer equal to stock's: ${answers.map((a) => a.text).join('; ')}`);
  return out;
}

// ---- chart: small multiples, requests/s (top row) and p99 ms (bottom row) per scenario, one bar per contender
const COLOURS: Record<string, string> = { sync: '#888888', ours: '#1f77b4', 'ours-2-replicas-redis': '#9ecae1', 'ours-workers-2': '#3182bd', 'ours-stock-executor': '#6baed6', hive: '#ff7f0e', 'hive-cache': '#ffbb78', 'hive-router': '#d62728', grafbase: '#9467bd', 'grafbase-no-dedup': '#c5b0d5', 'ours-no-dedup': '#17becf', 'gigs-only': '#2ca02c', 'ours-no-client-details': '#98df8a' };

export function chart(results: BenchResults): string {
  // Scenario 8 is about pushes and edits, not requests: its table says it.
  const ids = (Object.keys(results.scenarios) as ScenarioId[]).filter((id) => results.runs.some((r) => r.scenario === id && !r.load?.live) && id !== 's8' && id !== 's8b');
  const panelW = 190;
  const panelH = 170;
  const top = 60;
  const width = Math.max(1, ids.length) * panelW + 40;
  const height = top + 2 * (panelH + 50) + 40;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="10">`);
  parts.push(`<rect width="100%" height="100%" fill="white"/>`);
  parts.push(`<text x="20" y="22" font-size="14" font-weight="bold">Hybrid read path benchmark (${results.mode} run, ${results.startedAt.slice(0, 16)}Z)</text>`);
  let lx = 20;
  for (const [name, colour] of Object.entries(COLOURS)) {
    parts.push(`<rect x="${lx}" y="34" width="10" height="10" fill="${colour}"/><text x="${lx + 14}" y="43">${name}</text>`);
    lx += 90;
  }
  const rows: { label: string; value: (f: Figures) => number }[] = [
    { label: 'requests/s (higher is better)', value: (f) => f.rps },
    { label: 'p99 latency ms (lower is better)', value: (f) => f.p99 },
  ];
  rows.forEach((row, ri) => {
    const y0 = top + ri * (panelH + 50);
    ids.forEach((id, ci) => {
      const x0 = 20 + ci * panelW;
      // One bar per contender: scenario 7's later rounds are in its table.
      const runs = results.runs.filter((r) => r.scenario === id && !r.round);
      const values = runs.map((r) => ({ name: r.contender, v: figuresOf(r) ? row.value(figuresOf(r)!) : NaN }));
      const max = Math.max(1e-9, ...values.map((v) => (Number.isFinite(v.v) ? v.v : 0)));
      parts.push(`<text x="${x0}" y="${y0 + 12}" font-weight="bold">${id}: ${row.label}</text>`);
      const barW = (panelW - 30) / Math.max(1, values.length);
      values.forEach((v, i) => {
        const h = Number.isFinite(v.v) ? (v.v / max) * (panelH - 40) : 0;
        const bx = x0 + i * barW;
        const by = y0 + panelH - h;
        parts.push(`<rect x="${bx.toFixed(1)}" y="${by.toFixed(1)}" width="${(barW - 4).toFixed(1)}" height="${h.toFixed(1)}" fill="${COLOURS[v.name] ?? '#444'}"/>`);
        parts.push(`<text x="${(bx + (barW - 4) / 2).toFixed(1)}" y="${(by - 3).toFixed(1)}" text-anchor="middle">${Number.isFinite(v.v) ? (v.v >= 100 ? v.v.toFixed(0) : v.v.toFixed(1)) : 'failed'}</text>`);
      });
      parts.push(`<line x1="${x0}" y1="${y0 + panelH}" x2="${x0 + panelW - 30}" y2="${y0 + panelH}" stroke="#333"/>`);
    });
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

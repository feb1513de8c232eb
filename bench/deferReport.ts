/**
 * The deferred gig page's part of results.md (scenarios 2d and 4d, bench/deferLoad.ts): a table of when the parts
 * came and what became of the top clients, and the bars of the issue "@defer: a page never waits for its slowest
 * source": the first payload's p99 at most 1.1x the p99 of the page without the top clients' details in the same run, the top
 * clients' part when topclients answers or its budget ends, every page whose gig was served counted as served.
 */
import type { Bar, BenchResults, RunRecord, ScenarioId } from './report.js';

/** The deferred page and its baseline, both on ours (run.ts's DEFERRED), and both at once on one gateway. */
const PAGE = 'ours';
const BASELINE = 'ours-no-client-details';
const MIXED = 'ours-mixed';
/** The issue's bar: the first payload's p99 against the baseline's. */
const FIRST_PAYLOAD_BAR = 1.1;

const fmt = (v: number | null | undefined, digits = 1) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : 'n/a');
const pct = (n: number, of: number) => (of > 0 ? `${fmt((100 * n) / of)}%` : 'n/a');
const codes = (counts: Record<string, number>) => Object.entries(counts).map(([code, n]) => `${code} x${n}`).join(', ');

function runOf(results: BenchResults, id: ScenarioId, contender: string): RunRecord | undefined {
  return results.runs.find((r) => r.scenario === id && r.contender === contender && r.load?.defer && !r.error);
}

/** Pages whose top clients never arrived (an error came instead, or nothing). */
export function lostTopClients(run: RunRecord): number {
  const t = run.load!.defer!.topClients;
  return t.failed + t.missing;
}

/** The scenario's table of parts, under its table of figures. */
export function deferSection(runs: RunRecord[]): string[] {
  const measured = runs.filter((r) => r.load?.defer);
  if (measured.length === 0) return [];
  const base = measured.find((r) => r.contender === BASELINE)?.load?.latencyMs.p99;
  const lines = ['', 'Read part by part (bench/deferLoad.ts; in the table above p50/p99 are the time to the last part). '
    + '"first payload" = its JSON arrived whole; "delimited" = the delimiter after it arrived, when a reader that splits on the boundary '
    + '(Apollo Client\'s HttpLink) hands it over; "top clients after the first" = from the first payload to the part carrying the top clients '
    + 'or their error; "lost" = pages whose top clients did not arrive (failed or missing). (Nx) = ratio to the p99 of the page without the top clients\' details '
    + '(for ours-mixed, to that page asked on the same gateway at the same time; its req/s and CPU count the deferred pages only). '
    + '"reader lag" = the load process\'s own event-loop delay, p99: a part it read late is timed late by as much.', ''];
  lines.push('| contender | pages | multipart | in one piece though top clients to show | first payload p50 | p99 | delimited p50 | p99 | last part p50 | p99 | top clients after the first p50 | p99 | served | top clients delivered | none to show | failed | missing | lost | reader lag |');
  lines.push(`| --- | ${'--- | '.repeat(18)}`);
  for (const run of measured) {
    const load = run.load!;
    const d = load.defer!;
    // Mixed: against the page without the top clients' details asked on the same gateway at the same time.
    const against = d.besideFirstPayloadMs?.p99 ?? base;
    const ratio = (v: number) => (against && run.contender !== BASELINE && Number.isFinite(v) ? ` (${fmt(v / against, 2)}x)` : '');
    const deferred = run.contender !== BASELINE;
    const label = !deferred ? 'no client details' : d.besideFirstPayloadMs ? `deferred page; beside it, the page without the top clients' details: p50 ${fmt(d.besideFirstPayloadMs.p50)}, p99 ${fmt(d.besideFirstPayloadMs.p99)}` : 'deferred page';
    lines.push(`| ${run.contender} (${label}) | ${load.requests} | ${d.multipart} | ${deferred ? d.notDeferred : '-'} | ${fmt(d.firstPayloadMs.p50)} | ${fmt(d.firstPayloadMs.p99)}${ratio(d.firstPayloadMs.p99)} | `
      + `${fmt(d.firstDelimitedMs.p50)} | ${fmt(d.firstDelimitedMs.p99)}${ratio(d.firstDelimitedMs.p99)} | ${fmt(d.lastPartMs.p50)} | ${fmt(d.lastPartMs.p99)} | `
      + `${fmt(d.topClientsAfterFirstMs.p50)} | ${fmt(d.topClientsAfterFirstMs.p99)} | ${pct(d.served, load.requests)} | `
      + (deferred
        ? `${pct(d.topClients.delivered, load.requests)} (${d.topClients.delivered}) | ${d.topClients.none} | ${d.topClients.failed}${d.topClients.failed ? ` (${codes(d.topClientsErrorCodes)})` : ''} | ${d.topClients.missing} | ${lostTopClients(run)} |`
        : '- | - | - | - | - |') + ` ${d.readerLagMs ? fmt(d.readerLagMs.p99) : 'n/a'} |`);
  }
  return lines;
}

/** The issue's bars, for each of 4d (topclients slow) and 2d (cold burst) that was measured. */
export function deferBars(results: BenchResults): Bar[] {
  const out: Bar[] = [];
  const budget = results.settings.topclientsEntityTimeoutMs;
  const check = (met: boolean | null, text: string) => out.push({ met, text });
  for (const id of ['s4d', 's2d'] as const) {
    const page = runOf(results, id, PAGE);
    const base = runOf(results, id, BASELINE);
    const d = page?.load?.defer;
    const baseP99 = base?.load?.latencyMs.p99;
    const against = (v: number | undefined) => (d && baseP99 ? `${fmt(v! / baseP99, 2)}x (${fmt(v)} vs ${fmt(baseP99)} ms)` : 'n/a');
    const within = (v: number | undefined) => (d && baseP99 && typeof v === 'number' ? v <= FIRST_PAYLOAD_BAR * baseP99 : null);
    check(d ? d.notDeferred === 0 : null,
      `@defer ${id} the deferred page is answered in parts wherever there are top clients to show: ${d ? `${d.notDeferred} of ${page!.load!.requests - d.topClients.none} such pages answered in one piece` : 'n/a'}`);
    check(within(d?.firstPayloadMs.p99),
      `@defer ${id} first payload p99 at most ${FIRST_PAYLOAD_BAR}x the p99 of the page without the top clients' details: ${against(d?.firstPayloadMs.p99)}`);
    check(within(d?.firstDelimitedMs.p99),
      `@defer ${id} the same, as a reader that splits on the boundary (Apollo Client's HttpLink) gets the first payload: ${against(d?.firstDelimitedMs.p99)}`);
    check(d ? d.served === page!.load!.requests : null,
      `@defer ${id} every page served (the gig in its first payload): ${d ? `${pct(d.served, page!.load!.requests)} (${d.served} of ${page!.load!.requests})` : 'n/a'}`);
    const mixed = runOf(results, id, MIXED)?.load?.defer;
    const beside = mixed?.besideFirstPayloadMs?.p99;
    check(mixed && beside ? mixed.firstDelimitedMs.p99 <= FIRST_PAYLOAD_BAR * beside : null,
      `@defer ${id} on one gateway at the same time, the deferred page's first payload (delimited) p99 at most ${FIRST_PAYLOAD_BAR}x the p99 of the page without the top clients' details: `
      + `${mixed && beside ? `${fmt(mixed.firstDelimitedMs.p99 / beside, 2)}x (${fmt(mixed.firstDelimitedMs.p99)} vs ${fmt(beside)} ms)` : 'n/a'}`);
    if (id === 's4d') {
      // The top clients' part has a budget of its own from when it starts: topclients' entity timeout.
      const after = d?.topClientsAfterFirstMs.p99;
      check(d && typeof after === 'number' ? after <= budget + 10 : null,
        `@defer s4d the top clients' part arrives when topclients answers or its budget (${budget} ms) ends, + 10 ms, p99 after the first payload: ${fmt(after)} ms; `
        + `${d ? `top clients delivered on ${pct(d.topClients.delivered, page!.load!.requests)}, failed on ${pct(d.topClients.failed, page!.load!.requests)}${d.topClients.failed ? ` (${codes(d.topClientsErrorCodes)})` : ''}, missing on ${d.topClients.missing}` : 'n/a'}`);
    } else {
      check(d ? lostTopClients(page!) === 0 : null,
        `@defer s2d no page of the cold burst loses its top clients: ${d ? `${lostTopClients(page!)} of ${page!.load!.requests} lost (${d.topClients.failed} failed${d.topClients.failed ? `: ${codes(d.topClientsErrorCodes)}` : ''}, ${d.topClients.missing} missing), ${d.topClients.delivered} delivered, ${d.topClients.none} with none to show` : 'n/a'}`);
    }
  }
  return out;
}

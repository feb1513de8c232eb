/**
 * The deferred gig page's part of results.md (scenarios 2d and 4d, bench/deferLoad.ts): a table of when the parts
 * came and what became of the top clients, and the bars of the issue "@defer: a page never waits for its slowest
 * source": the first payload's p99 at most 1.1x the p99 of the page without the top clients' details in the same run, the top
 * clients' part when topclients answers or its budget ends, every page whose gig was served counted as served.
 *
 * The two pages on separate gateways run in rounds (run.ts's DEFERRED): a ratio is taken between the runs of one
 * round, and a bar on it holds when the middle round's ratio (nearest-rank median) meets it, as scenario 7's bars do.
 */
import { labelOf, type Bar, type BenchResults, type RunRecord, type ScenarioId } from './report.js';
import { percentiles } from './stats.js';

/** The deferred page and its baseline, both on ours (run.ts's DEFERRED), and both at once on one gateway. */
const PAGE = 'ours';
const BASELINE = 'ours-no-client-details';
const MIXED = 'ours-mixed';
/** The issue's bar: the first payload's p99 against the baseline's. */
const FIRST_PAYLOAD_BAR = 1.1;

const fmt = (v: number | null | undefined, digits = 1) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : 'n/a');
const pct = (n: number, of: number) => (of > 0 ? `${fmt((100 * n) / of)}%` : 'n/a');
const codes = (counts: Record<string, number>) => Object.entries(counts).map(([code, n]) => `${code} x${n}`).join(', ');

function runOf(results: BenchResults, id: ScenarioId, contender: string, round?: number): RunRecord | undefined {
  return results.runs.find((r) => r.scenario === id && r.contender === contender && r.round === round && r.load?.defer && !r.error);
}

/** The deferred page's run and its baseline's of the same round, for every round in which both were measured. */
function pairedRounds(results: BenchResults, id: ScenarioId): { page: RunRecord; base: RunRecord }[] {
  const rounds = [...new Set(results.runs.filter((r) => r.scenario === id && r.contender === PAGE).map((r) => r.round))];
  return rounds.flatMap((round) => {
    const page = runOf(results, id, PAGE, round);
    const base = runOf(results, id, BASELINE, round);
    return page && base ? [{ page, base }] : [];
  });
}

const middle = (values: number[]) => percentiles(values).p50;

/** Pages whose top clients never arrived (an error came instead, or nothing). */
function lostTopClients(run: RunRecord): number {
  const t = run.load!.defer!.topClients;
  return t.failed + t.missing;
}

/** The scenario's table of parts, under its table of figures. */
export function deferSection(runs: RunRecord[]): string[] {
  const measured = runs.filter((r) => r.load?.defer);
  if (measured.length === 0) return [];
  // A run's ratios are to the baseline's run of the same round.
  const baseOf = (run: RunRecord) => measured.find((r) => r.contender === BASELINE && r.round === run.round)?.load?.latencyMs.p99;
  const lines = ['', 'Read part by part (bench/deferLoad.ts; in the table above p50/p99 are the time to the last part). '
    + '"first payload" = its JSON arrived whole; "delimited" = the delimiter after it arrived, when a reader that splits on the boundary '
    + '(Apollo Client\'s HttpLink) hands it over; "top clients after the first" = from the first payload to the part carrying the top clients '
    + 'or their error; "lost" = pages whose top clients did not arrive (failed or missing). (Nx) = ratio to the p99 of the page without the top clients\' details '
    + 'of the same round (for ours-mixed, to that page asked on the same gateway at the same time; its req/s and CPU count the deferred pages only). '
    + '"reader lag" = the load process\'s own event-loop delay, p99: a part it read late is timed late by as much. '
    + '"machine" = the cores busy on average over the measured part, every process of the machine (2 cores: gateway, subgraphs, load); '
    + '"scavenges" and "mark-compacts" = the gateway\'s garbage collections then (count, seconds paused in all), "loop delay" = its event loop\'s delay, p99 / max (its own /metrics); '
    + '"turned away" = the pages its admission control refused with 503, by the rule that did (its own /metrics).', ''];
  lines.push('| contender | pages | multipart | in one piece though top clients to show | first payload p50 | p99 | delimited p50 | p99 | last part p50 | p99 | top clients after the first p50 | p99 | served | top clients delivered | none to show | failed | missing | lost | reader lag | machine | scavenges | mark-compacts | loop delay | turned away, by reason |');
  lines.push(`| --- | ${'--- | '.repeat(23)}`);
  for (const run of measured) {
    const load = run.load!;
    const d = load.defer!;
    // Mixed: against the page without the top clients' details asked on the same gateway at the same time.
    const against = d.besideFirstPayloadMs?.p99 ?? baseOf(run);
    const ratio = (v: number) => (against && run.contender !== BASELINE && Number.isFinite(v) ? ` (${fmt(v / against, 2)}x)` : '');
    const deferred = run.contender !== BASELINE;
    const label = !deferred ? 'no client details' : d.besideFirstPayloadMs ? `deferred page; beside it, the page without the top clients' details: p50 ${fmt(d.besideFirstPayloadMs.p50)}, p99 ${fmt(d.besideFirstPayloadMs.p99)}` : 'deferred page';
    lines.push(`| ${labelOf(run)} (${label}) | ${load.requests} | ${d.multipart} | ${deferred ? d.notDeferred : '-'} | ${fmt(d.firstPayloadMs.p50)} | ${fmt(d.firstPayloadMs.p99)}${ratio(d.firstPayloadMs.p99)} | `
      + `${fmt(d.firstDelimitedMs.p50)} | ${fmt(d.firstDelimitedMs.p99)}${ratio(d.firstDelimitedMs.p99)} | ${fmt(d.lastPartMs.p50)} | ${fmt(d.lastPartMs.p99)} | `
      + `${fmt(d.topClientsAfterFirstMs.p50)} | ${fmt(d.topClientsAfterFirstMs.p99)} | ${pct(d.served, load.requests)} | `
      + (deferred
        ? `${pct(d.topClients.delivered, load.requests)} (${d.topClients.delivered}) | ${d.topClients.none} | ${d.topClients.failed}${d.topClients.failed ? ` (${codes(d.topClientsErrorCodes)})` : ''} | ${d.topClients.missing} | ${lostTopClients(run)} |`
        : '- | - | - | - | - |') + ` ${d.readerLagMs ? fmt(d.readerLagMs.p99) : 'n/a'} | ${windowCells(run)} |`);
  }
  return lines;
}

/** The machine's busy cores, the gateway's pauses and what its admission turned away, over the run's measured part. */
function windowCells(run: RunRecord): string {
  const machine = run.window ? `${fmt(run.window.machineBusyCores, 2)} cores` : 'n/a';
  const g = run.window?.gateway;
  if (!g) return `${machine} | n/a | n/a | n/a | n/a`;
  // Runs recorded before the gateway counted its refusals by reason have none to show.
  const refused = g.refused ? Object.entries(g.refused).map(([reason, n]) => `${reason} ${n}`).join(', ') || 'none' : 'n/a';
  return `${machine} | ${g.scavenges} (${fmt(g.scavengeSeconds, 2)} s) | ${g.markCompacts} (${fmt(g.markCompactSeconds, 2)} s) | ${fmt(g.loopDelayP99Ms)} / ${fmt(g.loopDelayMaxMs)} ms | ${refused}`;
}

/** The issue's bars, for each of 4d (topclients slow) and 2d (cold burst) that was measured. */
export function deferBars(results: BenchResults): Bar[] {
  const out: Bar[] = [];
  const budget = results.settings.topclientsEntityTimeoutMs;
  const check = (met: boolean | null, text: string) => out.push({ met, text });
  for (const id of ['s4d', 's2d'] as const) {
    const rounds = pairedRounds(results, id);
    const measured = rounds.length > 0 ? rounds : null;
    const sum = (of: (run: RunRecord) => number) => rounds.reduce((total, { page }) => total + of(page), 0);
    const pages = sum((run) => run.load!.requests);
    /** The middle round's ratio of a first-payload figure to the baseline's p99, and every round's. */
    const paired = (figure: (run: RunRecord) => number) => {
      const ratios = rounds.map(({ page, base }) => figure(page) / base.load!.latencyMs.p99);
      const each = rounds.map(({ page, base }, i) => `${fmt(ratios[i], 2)}x (${fmt(figure(page))} vs ${fmt(base.load!.latencyMs.p99)} ms)`);
      return { met: measured ? middle(ratios) <= FIRST_PAYLOAD_BAR : null, text: measured ? `${fmt(middle(ratios), 2)}x, the median of ${rounds.length} round(s): ${each.join('; ')}` : 'n/a' };
    };
    const inOnePiece = sum((run) => run.load!.defer!.notDeferred);
    const withTopClients = sum((run) => run.load!.requests - run.load!.defer!.topClients.none);
    check(measured ? inOnePiece === 0 : null,
      `@defer ${id} the deferred page is answered in parts wherever there are top clients to show: ${measured ? `${inOnePiece} of ${withTopClients} such pages answered in one piece` : 'n/a'}`);
    const first = paired((run) => run.load!.defer!.firstPayloadMs.p99);
    check(first.met, `@defer ${id} first payload p99 at most ${FIRST_PAYLOAD_BAR}x the p99 of the page without the top clients' details: ${first.text}`);
    const delimited = paired((run) => run.load!.defer!.firstDelimitedMs.p99);
    check(delimited.met, `@defer ${id} the same, as a reader that splits on the boundary (Apollo Client's HttpLink) gets the first payload: ${delimited.text}`);
    const served = sum((run) => run.load!.defer!.served);
    check(measured ? served === pages : null,
      `@defer ${id} every page served (the gig in its first payload): ${measured ? `${pct(served, pages)} (${served} of ${pages})` : 'n/a'}`);
    const mixed = runOf(results, id, MIXED)?.load?.defer;
    const beside = mixed?.besideFirstPayloadMs?.p99;
    check(mixed && beside ? mixed.firstDelimitedMs.p99 <= FIRST_PAYLOAD_BAR * beside : null,
      `@defer ${id} on one gateway at the same time, the deferred page's first payload (delimited) p99 at most ${FIRST_PAYLOAD_BAR}x the p99 of the page without the top clients' details: `
      + `${mixed && beside ? `${fmt(mixed.firstDelimitedMs.p99 / beside, 2)}x (${fmt(mixed.firstDelimitedMs.p99)} vs ${fmt(beside)} ms)` : 'n/a'}`);
    const outcome = (key: 'delivered' | 'failed' | 'missing') => sum((run) => run.load!.defer!.topClients[key]);
    const errorCodes: Record<string, number> = {};
    for (const { page } of rounds) for (const [code, n] of Object.entries(page.load!.defer!.topClientsErrorCodes)) errorCodes[code] = (errorCodes[code] ?? 0) + n;
    if (id === 's4d') {
      // The top clients' part has a budget of its own from when it starts: topclients' entity timeout.
      const afters = rounds.map(({ page }) => page.load!.defer!.topClientsAfterFirstMs.p99);
      check(measured ? middle(afters) <= budget + 10 : null,
        `@defer s4d the top clients' part arrives when topclients answers or its budget (${budget} ms) ends, + 10 ms, p99 after the first payload: `
        + `${measured ? `${fmt(middle(afters))} ms, the median of ${rounds.length} round(s): ${afters.map((v) => `${fmt(v)} ms`).join('; ')}; `
          + `top clients delivered on ${pct(outcome('delivered'), pages)}, failed on ${pct(outcome('failed'), pages)}${outcome('failed') ? ` (${codes(errorCodes)})` : ''}, missing on ${outcome('missing')}` : 'n/a'}`);
    } else {
      const lost = outcome('failed') + outcome('missing');
      check(measured ? lost === 0 : null,
        `@defer s2d no page of the cold burst loses its top clients: ${measured ? `${lost} of ${pages} lost (${outcome('failed')} failed${outcome('failed') ? `: ${codes(errorCodes)}` : ''}, ${outcome('missing')} missing), ${outcome('delivered')} delivered, ${sum((run) => run.load!.defer!.topClients.none)} with none to show` : 'n/a'}`);
    }
  }
  return out;
}

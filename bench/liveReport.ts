/**
 * Scenario 8's part of results.md: live gig pages and propagation subscriptions on ours, the same pages polled on
 * stock, and issue 26's bars. Figures come from bench/liveLoad.ts (LiveResult), measured over the edits' window.
 */
import type { Bar, RunRecord } from './report.js';

const fmt = (v: number, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');
const ratio = (v: number, base: number | undefined) => (base && Number.isFinite(v) && Number.isFinite(base) && base !== 0 ? ` (${fmt(v / base, 2)}x)` : '');

/** Requests per second to a subgraph over the window; topclients without the editor's own mutations (one an edit). */
function perSecond(run: RunRecord, name: string): number {
  const live = run.load!.live!;
  const requests = (live.window.subgraphRequests[name] ?? 0) - (name === 'topclients' ? live.window.editorMutations : 0);
  return requests / live.window.seconds;
}

export function liveSection(runs: RunRecord[]): string[] {
  const lines: string[] = [];
  const withLive = runs.filter((r) => r.load?.live && !r.error);
  lines.push('Ours: live pages (`@live` gig page) and propagation subscriptions (`gigPagesUpdated`) over graphql-ws, ten to a '
    + 'WebSocket; stock (sync): one poller a page, POST once a second, one request in flight, the pollers sharing keep-alive connections '
    + 'as a load balancer\'s upstream would. The editor changes one of the '
    + 'edited sellers\' lists a second through the contender (adds a client no page showed; removed after the measurement). "edit-to-push" = '
    + 'from the mutation\'s answer to each push that shows the edit, on every page and subscription of that seller (stock: '
    + 'to each poller\'s first answer that shows it); "delivered" = those that came (stock: "seen"). "topclients `_entities` '
    + 'per edit" = calls counted at topclients\' proxy between an edit and the next (the mutation is not one). Subgraph '
    + 'requests/s over the edits\' window (topclients without the editor\'s mutations); CPU s = the gateway\'s over that '
    + 'window (setup and teardown excluded); peak RSS = VmHWM, setup included. (Nx) = ratio to stock in the same scenario.', '');
  lines.push('| contender | viewers | edits | edit-to-push p50 | p95 | p99 | max | p99 from sending | delivered / expected | topclients `_entities` per edit: mean, max | gigs req/s | users req/s | topclients req/s | CPU s | CPU s idle/s | peak RSS MB | RSS at end MB | loadavg |');
  lines.push(`| --- | ${'--- | '.repeat(17)}`);
  for (const run of runs) {
    const live = run.load?.live;
    if (!live || run.error) {
      lines.push(`| ${run.contender} | failed: ${(run.error ?? 'no scenario-8 figures').split('\n')[0]!.replace(/\|/g, '/')} |${' |'.repeat(16)}`);
      continue;
    }
    const base = withLive.find((r) => r.contender === 'sync');
    const calls = live.topclientsCallsPerEdit;
    const viewers = live.mode === 'stream'
      ? `${live.viewers} pages (${live.distinctGigs} gigs) + ${live.subscriptions} subscriptions (${live.distinctSubscribedSellers} sellers), ${live.sockets.pages + live.sockets.subscriptions} sockets`
      : `${live.viewers} pollers (${live.distinctGigs} gigs) over ${live.pollConnections ?? live.viewers} connections`;
    lines.push(`| ${run.contender} | ${viewers} | ${live.edits.acknowledged}/${live.edits.sent} | ${fmt(live.editToPushMs.p50)} | ${fmt(live.editToPushMs.p95)} | ${fmt(live.editToPushMs.p99)}${ratio(live.editToPushMs.p99, base?.load?.live?.editToPushMs.p99)} | ${fmt(live.editToPushMs.max)} | ${fmt(live.editToPushFromSendMs.p99)} | `
      + `${live.delivered} / ${live.expected} | ${live.mode === 'stream' ? `${fmt(calls.mean, 2)}, ${calls.max}` : `(polled: ${fmt(perSecond(run, 'topclients'), 0)} calls/s)`} | `
      + `${['gigs', 'users', 'topclients'].map((n) => `${fmt(perSecond(run, n), 1)}${base && base !== run ? ratio(perSecond(run, n), perSecond(base, n)) : ''}`).join(' | ')} | `
      + `${fmt(run.cpuSeconds ?? NaN, 2)}${base && base !== run ? ratio(run.cpuSeconds ?? NaN, base.cpuSeconds) : ''} | ${fmt(live.idleGatewayCpuPerSecond ?? NaN, 3)} | `
      + `${fmt(run.peakRssMb ?? NaN, 0)}${base && base !== run ? ratio(run.peakRssMb ?? NaN, base.peakRssMb) : ''} | ${fmt(live.gateway.rssAtEndMb, 0)} | ${run.loadavgAtStart[0]?.toFixed(1)} |`);
  }
  for (const run of withLive) {
    const live = run.load!.live!;
    const kinds = Object.entries(live.byKind).map(([kind, k]) => `${kind}s ${k!.delivered}/${k!.expected}, p50 ${fmt(k!.ms.p50)} p99 ${fmt(k!.ms.p99)} max ${fmt(k!.ms.max)} ms`).join('; ');
    const closed = Object.entries(live.socketsClosed).filter(([code]) => code !== '1000');
    lines.push('', `**${run.contender}, ${live.viewers} viewers**: ${kinds}. Page: ${live.pageOperation ?? 'n/a'}. Every gig page served once first (${live.prewarm.pages} pages in ${fmt(live.prewarm.seconds)} s, ${live.prewarm.notComplete} not complete). `
      + `Setup ${fmt(live.setup.seconds)} s (${live.setup.pagesAnswered}/${live.viewers} pages answered, ${live.setup.streamErrors} streams ended with an error by then; `
      + `over the whole run ${live.streamsEnded.errors} ended with an error, ${live.streamsEnded.completed} completed${live.setup.errorSamples.length ? `: ${live.setup.errorSamples.join('; ').replace(/\|/g, '/')}` : ''}); warm-up ${live.warmup.edits} edits, `
      + `${live.warmup.delivered}/${live.warmup.expected} delivered. Edited sellers ${live.editedSellers.join(', ')}: ${live.edits.adds} adds (${live.edits.freshAdds} of a client no page had shown; ${live.edits.freshClients} such clients at the start)`
      + `${live.edits.failed ? `, ${live.edits.failed} failed (${live.edits.errorSamples.join('; ').replace(/\|/g, '/')})` : ''}; the mutation took p50 ${fmt(live.mutationMs.p50)} p99 ${fmt(live.mutationMs.p99)} ms. `
      + `topclients \`_entities\` calls per edit, how many edits had each count: ${Object.entries(live.topclientsCallsPerEdit.histogram).map(([calls, n]) => `${calls} call(s): ${n}`).join(', ')}. `
      + (live.mode === 'stream'
        ? `Pushes before the mutation's answer ${live.beforeAck}; pushes that showed no edit ${live.otherPushes}${live.gatewayPushes ? `; the gateway counted ${Object.entries(live.gatewayPushes).map(([k, n]) => `${n} ${k} pushes`).join(' and ')} in the window` : ''}. `
        : `Polls ${live.polls!.answered} answered in ${fmt(live.window.seconds)} s (${fmt(live.polls!.perSecond, 0)}/s of ${fmt(live.polls!.askedPerSecond, 0)}/s asked; ${live.polls!.failed} failed), `
          + `each answered in p50 ${fmt(live.polls!.latencyMs.p50)} p99 ${fmt(live.polls!.latencyMs.p99)} ms. `)
      + `Sockets closed other than normally: ${closed.length ? closed.map(([code, n]) => `${code} x${n}`).join(', ') : 'none'}. Load process event-loop delay p99 ${fmt(live.loaderLagMs.p99)} ms (max ${fmt(live.loaderLagMs.max)}).`);
  }
  return lines;
}

/** Issue 26's bars: ours' live pages at s8's size, its topclients calls at both viewer counts, stock polled beside it. */
export function liveBars(runs: RunRecord[]): Bar[] {
  const out: Bar[] = [];
  const check = (met: boolean | null, text: string) => out.push({ met, text });
  const liveOf = (scenario: string, contender: string) => runs.find((r) => r.scenario === scenario && r.contender === contender && r.load?.live && !r.error);
  const ours = liveOf('s8', 'ours');
  const small = liveOf('s8b', 'ours');
  const stock = liveOf('s8', 'sync');
  const o = ours?.load?.live;
  const size = o ? `${o.viewers} live pages + ${o.subscriptions} subscriptions` : '';
  check(o ? o.expected > 0 && o.editToPushMs.p99 <= 300 : null,
    `#26 s8 edit-to-push p99 at most 300 ms (${size}, one edit a second): ${o ? `${fmt(o.editToPushMs.p99)} ms (p50 ${fmt(o.editToPushMs.p50)}, max ${fmt(o.editToPushMs.max)}; pages p99 ${fmt(o.byKind.page?.ms.p99 ?? NaN)}, subscriptions p99 ${fmt(o.byKind.subscription?.ms.p99 ?? NaN)})` : 'n/a'}`);
  check(o ? o.expected > 0 && o.delivered === o.expected && o.edits.failed === 0 && o.streamsEnded.errors === 0 : null,
    `#26 s8 every push delivered: ${o ? `${o.delivered} of ${o.expected} expected (${o.edits.acknowledged} of ${o.edits.sent} edits acknowledged; ${o.streamsEnded.errors} streams ended with an error, ${o.setup.pagesAnswered} of ${o.viewers} pages answered at setup)` : 'n/a'}`);
  const callsText = (run: RunRecord | undefined) => {
    const l = run?.load?.live;
    const c = l?.topclientsCallsPerEdit;
    return l && c ? `${l.viewers} pages + ${l.subscriptions} subscriptions: ${fmt(c.freshMean, 2)} per edit over ${c.freshEdits} edits adding a client no page had shown (max ${c.freshMax}; edits by calls: ${Object.entries(c.histogram).map(([n, e]) => `${n}: ${e}`).join(', ')})` : 'n/a';
  };
  // Each edit adds a client the gateway never fetched: showing it takes one call, however many viewers show it.
  const oneCall = (run: RunRecord | undefined) => {
    const c = run?.load?.live?.topclientsCallsPerEdit;
    return c && c.freshEdits > 0 ? c.freshMax === 1 && c.freshMean === 1 : null;
  };
  const both = [oneCall(ours), oneCall(small)];
  check(both.includes(false) ? false : both.includes(null) ? null : true,
    `#26 one topclients call per edit whatever the number of viewers (exactly one for every edit adding a client no page had shown, at both viewer counts): ${callsText(ours)}; ${callsText(small)}`);
  if (o) {
    out.push({ met: null, text: `#26 s8 ours' cost: ${fmt(ours!.cpuSeconds ?? NaN, 2)} CPU s over the ${fmt(o.window.seconds, 1)} s of edits (${fmt((ours!.cpuSeconds ?? NaN) / o.window.seconds, 3)} s/s; idle with every stream open ${fmt(o.idleGatewayCpuPerSecond ?? NaN, 3)} s/s), peak RSS ${fmt(ours!.peakRssMb ?? NaN, 0)} MB (${fmt(o.gateway.rssAtEndMb, 0)} MB at the end); subgraph requests/s gigs ${fmt(perSecond(ours!, 'gigs'))}, users ${fmt(perSecond(ours!, 'users'))}, topclients ${fmt(perSecond(ours!, 'topclients'))}` });
  }
  const st = stock?.load?.live;
  if (st) {
    const perPoll = (name: string) => (perSecond(stock!, name) * st.window.seconds) / Math.max(1, st.polls!.answered);
    out.push({ met: null, text: `#26 s8 beside it, stock polled by ${st.viewers} pages once a second: ${fmt(st.polls!.perSecond, 0)} polls/s answered of ${fmt(st.polls!.askedPerSecond, 0)} asked; subgraph requests/s gigs ${fmt(perSecond(stock!, 'gigs'))}, users ${fmt(perSecond(stock!, 'users'))}, topclients ${fmt(perSecond(stock!, 'topclients'))}`
      + ` (per poll answered ${fmt(perPoll('gigs'), 2)} / ${fmt(perPoll('users'), 2)} / ${fmt(perPoll('topclients'), 2)}: at the ${fmt(st.polls!.askedPerSecond, 0)} polls/s asked, ${fmt(perPoll('gigs') * st.polls!.askedPerSecond, 0)} / ${fmt(perPoll('users') * st.polls!.askedPerSecond, 0)} / ${fmt(perPoll('topclients') * st.polls!.askedPerSecond, 0)} req/s)`
      + `${o ? ` (ours: ${fmt(perSecond(ours!, 'gigs'))} / ${fmt(perSecond(ours!, 'users'))} / ${fmt(perSecond(ours!, 'topclients'))})` : ''}; CPU ${fmt(stock!.cpuSeconds ?? NaN, 2)} s${o ? ` (ours ${fmt((ours!.cpuSeconds ?? NaN) / (stock!.cpuSeconds ?? NaN), 2)}x)` : ''}, peak RSS ${fmt(stock!.peakRssMb ?? NaN, 0)} MB; `
      + `edit-to-visible p50 ${fmt(st.editToPushMs.p50)} p99 ${fmt(st.editToPushMs.p99)} max ${fmt(st.editToPushMs.max)} ms from the mutation's answer, p99 ${fmt(st.editToPushFromSendMs.p99)} ms from its sending (the mutation itself p50 ${fmt(st.mutationMs.p50)} p99 ${fmt(st.mutationMs.p99)} ms through stock); ${st.delivered} of ${st.expected} pollers saw each edit` });
  }
  const smallStock = liveOf('s8b', 'sync')?.load?.live;
  if (st && smallStock && small?.load?.live) {
    const s = small.load.live;
    out.push({ met: null, text: `#26 s8b with ${s.viewers} viewers: ours edit-to-push p99 ${fmt(s.editToPushMs.p99)} ms, ${s.delivered}/${s.expected} delivered, gigs ${fmt(perSecond(small, 'gigs'))} req/s; stock polled by ${smallStock.viewers}: gigs ${fmt(perSecond(liveOf('s8b', 'sync')!, 'gigs'))} req/s (at ${st.viewers}: ${fmt(perSecond(stock!, 'gigs'))})` });
  }
  return out;
}

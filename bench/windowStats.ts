/**
 * What the whole machine and our gateway's runtime did over a run's measured part, beside its latencies: on 2 cores
 * shared by the gateway, the subgraphs and the load, a tail grows with everything else that runs, not only with the
 * gateway's own work. Read at the measured part's two ends:
 *
 * - the machine's CPU: the cores busy on average, from /proc/stat (every process, ours or not);
 * - the gateway's pauses, from its own /metrics (prom-client's process metrics): garbage collections by kind (count
 *   and seconds) and its event loop's delay, p99 and max. prom-client resets its delay histogram at every scrape, so
 *   the scrape at the start makes the one at the end cover the measured part alone;
 * - the operations it turned away (503 GATEWAY_OVERLOADED), by the admission rule that refused them.
 */
import { readFileSync } from 'node:fs';
import { request } from 'undici';

export interface MachineCpu {
  busy: number;
  total: number;
}

/** The machine's CPU ticks so far, busy and in all (the first line of /proc/stat, every core). */
export function machineCpu(): MachineCpu {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).map(Number);
  // user nice system idle iowait irq softirq steal: idle and iowait are the only idle ones.
  const total = ticks.slice(0, 8).reduce((sum, t) => sum + t, 0);
  return { busy: total - ticks[3]! - ticks[4]!, total };
}

/** The cores busy on average between two readings. */
export function busyCores(before: MachineCpu, after: MachineCpu, cpus: number): number {
  const total = after.total - before.total;
  return total > 0 ? ((after.busy - before.busy) / total) * cpus : NaN;
}

export interface RuntimeSnapshot {
  gc: Record<'minor' | 'major', { count: number; seconds: number }>;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  /** Operations turned away so far, by reason (gateway_operations_overloaded_total). */
  refused: Record<string, number>;
}

/** The gateway's pauses, and the operations it turned away, over the measured part. */
export interface GatewayPauses {
  scavenges: number;
  scavengeSeconds: number;
  markCompacts: number;
  markCompactSeconds: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  /** By reason; only the reasons that turned any away (absent from runs recorded before the gateway counted them). */
  refused?: Record<string, number>;
}

/** Reads our gateway's /metrics (next to its /graphql); null when it has none to read. */
export async function runtimeSnapshot(graphqlUrl: string): Promise<RuntimeSnapshot | null> {
  const response = await request(new URL('/metrics', graphqlUrl), { headersTimeout: 5_000, bodyTimeout: 5_000 }).catch(() => null);
  if (!response) return null;
  const text = await response.body.text();
  if (response.statusCode !== 200) return null;
  const value = (name: string) => {
    const match = new RegExp(`^gateway_${name} (\\S+)$`, 'm').exec(text);
    return match ? Number(match[1]) : NaN;
  };
  const gc = (kind: 'minor' | 'major') => ({
    count: value(`nodejs_gc_duration_seconds_count\\{kind="${kind}"\\}`) || 0,
    seconds: value(`nodejs_gc_duration_seconds_sum\\{kind="${kind}"\\}`) || 0,
  });
  const refused: Record<string, number> = {};
  for (const [, reason, count] of text.matchAll(/^gateway_operations_overloaded_total\{reason="([^"]+)"\} (\S+)$/gm)) refused[reason!] = Number(count);
  return {
    refused,
    gc: { minor: gc('minor'), major: gc('major') },
    loopDelayP99Ms: value('nodejs_eventloop_lag_p99_seconds') * 1000,
    loopDelayMaxMs: value('nodejs_eventloop_lag_max_seconds') * 1000,
  };
}

export function pausesBetween(before: RuntimeSnapshot, after: RuntimeSnapshot): GatewayPauses {
  return {
    scavenges: after.gc.minor.count - before.gc.minor.count,
    scavengeSeconds: after.gc.minor.seconds - before.gc.minor.seconds,
    markCompacts: after.gc.major.count - before.gc.major.count,
    markCompactSeconds: after.gc.major.seconds - before.gc.major.seconds,
    loopDelayP99Ms: after.loopDelayP99Ms,
    loopDelayMaxMs: after.loopDelayMaxMs,
    refused: Object.fromEntries(Object.entries(after.refused).flatMap(([reason, n]) => {
      const since = n - (before.refused[reason] ?? 0);
      return since > 0 ? [[reason, since]] : [];
    })),
  };
}

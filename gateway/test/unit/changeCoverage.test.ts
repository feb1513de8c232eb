import { describe, expect, it } from 'vitest';
import { ChangeCoverage } from '../../src/events/changeCoverage.js';
import { GatewayMetrics } from '../../src/metrics/registry.js';
import { ManualClock } from '../support/manualClock.js';

function coverage() {
  const clock = new ManualClock();
  const lines: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
  const at = (level: string) => (msg: string, fields?: Record<string, unknown>) => void lines.push({ level, msg, ...(fields ? { fields } : {}) });
  const metrics = new GatewayMetrics();
  const changes = new ChangeCoverage({ clock, logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, metrics });
  return { clock, lines, metrics, changes };
}

describe('ChangeCoverage', () => {
  it('without any source it is covered and ready, and vouches for every evictable entry', () => {
    const { changes, clock } = coverage();
    expect(changes.covered).toBe(true);
    expect(changes.ready).toBe(true);
    expect(changes.mustRevalidate({ storedAtMs: clock.now(), evictable: true })).toBe(false);
    expect(changes.mayStore(clock.now())).toBe(true);
  });

  it('until every source has a position nothing is judged (max-age rules); the first cut makes everything stored before it suspect', async () => {
    const { changes, clock, lines } = coverage();
    const feed = changes.source('feed a');
    expect(changes.covered).toBe(false);
    const before = { storedAtMs: clock.now(), evictable: false };
    expect(changes.mustRevalidate(before)).toBe(false);
    clock.advance(10);
    const fetchStartedAt = clock.now();
    clock.advance(10);
    feed.cut('feed id 41', 'start');
    expect(changes.covered).toBe(true);
    expect(changes.mustRevalidate(before)).toBe(true);
    expect(changes.mustRevalidate({ storedAtMs: clock.now(), evictable: true })).toBe(true);
    expect(changes.mayStore(fetchStartedAt)).toBe(false);
    clock.advance(1);
    expect(changes.mustRevalidate({ storedAtMs: clock.now(), evictable: true })).toBe(false);
    expect(changes.mustRevalidate({ storedAtMs: clock.now(), evictable: false })).toBe(true);
    expect(changes.mayStore(clock.now())).toBe(true);
    expect(lines).toEqual([{ level: 'info', msg: 'following change events; answers cached before are revalidated', fields: { source: 'feed a', position: 'feed id 41' } }]);
  });

  it('behind keeps the position and the trust (what it missed is replayed); lost forgets the position until the next cut', () => {
    const { changes, clock, lines } = coverage();
    const stream = changes.source('nats S s.>');
    stream.cut('stream S seq 3', 'start');
    clock.advance(5);
    const stored = { storedAtMs: clock.now(), evictable: true };
    stream.behind('disconnected from NATS');
    expect(changes.covered).toBe(true);
    expect(changes.mustRevalidate(stored)).toBe(false);
    expect(changes.report()['nats S s.>']).toEqual({ state: 'behind', position: 'stream S seq 3', gatesReadiness: true, cuts: 1, reason: 'disconnected from NATS' });
    stream.following('stream S seq 9');
    expect(changes.report()['nats S s.>']).toEqual({ state: 'following', position: 'stream S seq 9', gatesReadiness: true, cuts: 1 });

    const redis = changes.source('redis evictions', { gatesReadiness: false });
    redis.cut('channel x', 'start');
    redis.lost('the connection to Redis closed');
    // Every failed reconnect reports the loss again; the log says it once.
    redis.lost('the connection to Redis closed');
    expect(lines.filter((line) => line.level === 'warn')).toEqual([{
      level: 'warn',
      msg: 'stopped hearing change events; what is cached until they are heard again will be revalidated',
      fields: { source: 'redis evictions', reason: 'the connection to Redis closed' },
    }]);
    expect(changes.covered).toBe(false);
    expect(changes.report()['redis evictions']).toMatchObject({ state: 'waiting', position: null, reason: 'the connection to Redis closed' });
    clock.advance(5);
    redis.cut('channel x', 'resubscribed');
    expect(changes.mustRevalidate(stored)).toBe(true);
  });

  it('a gap it cannot replay is a warning and counted by reason; a source cannot follow before its first cut', async () => {
    const { changes, lines, metrics } = coverage();
    const feed = changes.source('feed a');
    expect(() => feed.following('feed id 1')).toThrow(/must cut first/);
    feed.behind('fetch failed');
    expect(changes.report()['feed a']).toMatchObject({ state: 'waiting', reason: 'fetch failed' });
    feed.cut('feed id 1', 'start');
    feed.cut('feed id 0', 'source_replaced');
    expect(lines.at(-1)).toEqual({
      level: 'warn',
      msg: 'missed change events that cannot be replayed; every answer cached before is revalidated',
      fields: { source: 'feed a', position: 'feed id 0', reason: 'source_replaced' },
    });
    const text = await metrics.text();
    expect(text).toContain('gateway_change_gaps_total{source="feed a",reason="start"} 1');
    expect(text).toContain('gateway_change_gaps_total{source="feed a",reason="source_replaced"} 1');
    expect(text).toContain('gateway_change_source_state{source="feed a"} 0');
    expect(() => changes.source('feed a')).toThrow(/registered twice/);
  });

  it('is ready once every gating source has followed once, and stays ready when one falls behind later', async () => {
    const { changes } = coverage();
    const a = changes.source('feed a');
    const b = changes.source('feed b');
    changes.source('redis evictions', { gatesReadiness: false });
    let ready = false;
    const readiness = changes.whenReady().then(() => (ready = true));
    a.cut('feed id 1', 'start');
    await Promise.resolve();
    expect(ready).toBe(false);
    b.cut('feed id 7', 'start');
    await readiness;
    expect(changes.ready).toBe(true);
    a.behind('fetch failed');
    expect(changes.ready).toBe(true);
    expect(changes.covered).toBe(false);
  });
});

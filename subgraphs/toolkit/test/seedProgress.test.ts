import { describe, expect, it } from 'vitest';
import { describeParts, trackSeed, type SeedProgressEvent } from '../seedProgress.js';

describe('seed progress', () => {
  it('names what is written, counts rows batch by batch, and reports the time when finished', () => {
    const events: SeedProgressEvent[] = [];
    let now = 1_000;
    const tracker = trackSeed((e) => events.push(e), () => now);
    tracker.plan([{ rows: 3_000, noun: 'clients' }, { rows: 6_489, noun: 'seller lists' }]);
    tracker.rows(3_000);
    tracker.rows(5_000);
    tracker.rows(5_000); // never past the total
    now = 3_500;
    tracker.finish();
    const what = '3,000 clients, 6,489 seller lists';
    expect(events).toEqual([
      { phase: 'seeding', what, done: 0, total: 9_489 },
      { phase: 'seeding', what, done: 3_000, total: 9_489 },
      { phase: 'seeding', what, done: 8_000, total: 9_489 },
      { phase: 'seeding', what, done: 9_489, total: 9_489 },
      { phase: 'seeded', what, total: 9_489, durationMs: 2_500 },
    ]);
  });

  it('describes parts with thousands separators', () => {
    expect(describeParts([{ rows: 50_000, noun: 'gigs' }])).toBe('50,000 gigs');
  });
});

/**
 * How far a service's first-start seeding is. A service's `seed()` says what it will write (`plan`), then counts
 * rows as its batches land (`rows`); `trackSeed` turns that into events, which subgraphs/main.ts logs as JSON
 * lines (`"msg":"seeding"`, `"msg":"seeded"`) and `npm start` draws as a progress bar per service.
 */

export interface SeedPart {
  rows: number;
  /** What the rows are, plural: "clients", "seller lists". */
  noun: string;
}

export type SeedProgressEvent =
  | { phase: 'seeding'; what: string; done: number; total: number }
  | { phase: 'seeded'; what: string; total: number; durationMs: number };

export interface SeedProgress {
  plan(parts: readonly SeedPart[]): void;
  rows(count: number): void;
}

export interface SeedTracker extends SeedProgress {
  /** Called once the seed's transaction has committed. */
  finish(): void;
}

/** "3,000 clients, 6,512 seller lists" */
export function describeParts(parts: readonly SeedPart[]): string {
  return parts.map((p) => `${p.rows.toLocaleString('en-US')} ${p.noun}`).join(', ');
}

export function trackSeed(listener: (event: SeedProgressEvent) => void, now: () => number = () => performance.now()): SeedTracker {
  const startedAt = now();
  let what = '';
  let total = 0;
  let done = 0;
  return {
    plan(parts) {
      what = describeParts(parts);
      total = parts.reduce((sum, p) => sum + p.rows, 0);
      listener({ phase: 'seeding', what, done, total });
    },
    rows(count) {
      done = Math.min(total, done + count);
      listener({ phase: 'seeding', what, done, total });
    },
    finish() {
      listener({ phase: 'seeded', what, total, durationMs: Math.round(now() - startedAt) });
    },
  };
}

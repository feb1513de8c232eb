/**
 * Change sources that record what a listener reports (cut, following, behind, lost), so a test awaits the report
 * it expects instead of polling or sleeping.
 */
import type { ChangeSource } from '../../src/events/changeCoverage.js';

export interface SourceReport {
  source: string;
  kind: 'cut' | 'following' | 'behind' | 'lost';
  /** The position (cut, following) or the reason (behind, lost). */
  detail: string;
  /** A cut's reason. */
  reason?: string;
}

export class RecordedSources {
  readonly reports: SourceReport[] = [];
  private waiters: { matches: (report: SourceReport) => boolean; from: number; resolve: (report: SourceReport) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }[] = [];

  source(name: string): ChangeSource {
    const record = (report: SourceReport) => {
      this.reports.push(report);
      for (const waiter of [...this.waiters]) this.check(waiter);
    };
    return {
      cut: (position, reason) => record({ source: name, kind: 'cut', detail: position, reason }),
      following: (position) => record({ source: name, kind: 'following', detail: position }),
      behind: (reason) => record({ source: name, kind: 'behind', detail: reason }),
      lost: (reason) => record({ source: name, kind: 'lost', detail: reason }),
    };
  }

  /** How many reports so far: pass it to `next` to wait only for what comes after. */
  get mark(): number {
    return this.reports.length;
  }

  /** The first report from index `from` on that matches; waits for it (at most `timeoutMs`). */
  next(matches: Partial<SourceReport> | ((report: SourceReport) => boolean), from = 0, timeoutMs = 15_000): Promise<SourceReport> {
    const test = typeof matches === 'function' ? matches : (report: SourceReport) => Object.entries(matches).every(([key, value]) => report[key as keyof SourceReport] === value);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no report matching ${typeof matches === 'function' ? 'the predicate' : JSON.stringify(matches)} within ${timeoutMs} ms; reports: ${JSON.stringify(this.reports.slice(from))}`));
      }, timeoutMs);
      const waiter = { matches: test, from, resolve, reject, timer };
      this.waiters.push(waiter);
      this.check(waiter);
    });
  }

  /** The reports of one kind, in order. */
  of(kind: SourceReport['kind']): SourceReport[] {
    return this.reports.filter((r) => r.kind === kind);
  }

  private check(waiter: (typeof this.waiters)[number]): void {
    const found = this.reports.slice(waiter.from).find(waiter.matches);
    if (!found) return;
    clearTimeout(waiter.timer);
    this.waiters = this.waiters.filter((w) => w !== waiter);
    waiter.resolve(found);
  }
}

/**
 * What `npm start` shows while the services seed the demo data on a first start: on a terminal, one progress bar
 * per service, redrawn in place (other output scrolls above them); otherwise plain lines at every quarter, e.g.
 * `topclients: seeding 3,000 clients, 6,489 seller lists, 29,091 list entries ... 50%`. The services report with
 * JSON lines (`"msg":"seeding"` / `"msg":"seeded"`, subgraphs/toolkit/seedProgress.ts).
 */

export type SeedLine =
  | { msg: 'seeding'; what: string; done: number; total: number }
  | { msg: 'seeded'; what: string; total: number; durationMs: number };

/** A service's progress line, or null for any other output. */
export function parseSeedLine(line: string): SeedLine | null {
  if (!line.startsWith('{') || !line.includes('"msg":"seed')) return null;
  try {
    const value = JSON.parse(line) as Record<string, unknown>;
    if (typeof value.what !== 'string' || typeof value.total !== 'number') return null;
    if (value.msg === 'seeding' && typeof value.done === 'number') return { msg: 'seeding', what: value.what, done: value.done, total: value.total };
    if (value.msg === 'seeded' && typeof value.durationMs === 'number') return { msg: 'seeded', what: value.what, total: value.total, durationMs: value.durationMs };
  } catch {
    // not JSON after all
  }
  return null;
}

export function percent(line: SeedLine): number {
  if (line.msg === 'seeded') return 100;
  return line.total === 0 ? 100 : Math.floor((line.done / line.total) * 100);
}

export function bar(fraction: number, width: number): string {
  const filled = Math.round(Math.max(0, Math.min(1, fraction)) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

export function plainLine(service: string, line: SeedLine): string {
  return line.msg === 'seeded'
    ? `${service}: seeded ${line.what} in ${(line.durationMs / 1000).toFixed(1)} s`
    : `${service}: seeding ${line.what} ... ${percent(line)}%`;
}

export function barLine(service: string, line: SeedLine, width = 24): string {
  const state = line.msg === 'seeded' ? `done in ${(line.durationMs / 1000).toFixed(1)} s` : `${String(percent(line)).padStart(3)}%`;
  return `  ${service.padEnd(11)} ${bar(percent(line) / 100, width)} ${state.padEnd(14)} ${line.what}`;
}

export interface Output {
  write(text: string): unknown;
  isTTY?: boolean;
  /** Terminal width: a bar line is cut to it, since a wrapped line would throw off the redraw's line count. */
  columns?: number;
}

export class SeedProgressDisplay {
  private readonly shown = new Map<string, SeedLine>();
  /** Last quarter printed per service (plain mode). */
  private readonly quarters = new Map<string, number>();
  private drawnLines = 0;
  private headerShown = false;

  constructor(private readonly out: Output, private readonly tty = out.isTTY === true) {}

  update(service: string, line: SeedLine): void {
    if (!this.tty) {
      const quarter = line.msg === 'seeded' ? 5 : Math.floor(percent(line) / 25);
      if (quarter === this.quarters.get(service)) return;
      this.quarters.set(service, quarter);
      this.out.write(`${plainLine(service, line)}\n`);
      return;
    }
    if (!this.headerShown) this.out.write('seeding the demo data (first start):\n');
    this.headerShown = true;
    this.shown.set(service, line);
    this.redraw('');
    // Once every bar is full the block stays as it is, and output goes on below it.
    if ([...this.shown.values()].every((l) => l.msg === 'seeded')) {
      this.shown.clear();
      this.drawnLines = 0;
    }
  }

  /** Any other output line: on a terminal it goes above the bars. */
  print(text: string): void {
    if (this.tty && this.drawnLines > 0) this.redraw(`${text}\n`);
    else this.out.write(`${text}\n`);
  }

  private redraw(before: string): void {
    const up = this.drawnLines > 0 ? `\x1b[${this.drawnLines}A\r\x1b[J` : '';
    const width = Math.max(20, (this.out.columns ?? 80) - 1);
    const lines = [...this.shown].map(([service, line]) => `${barLine(service, line).slice(0, width)}\n`);
    this.out.write(`${up}${before}${lines.join('')}`);
    this.drawnLines = lines.length;
  }
}

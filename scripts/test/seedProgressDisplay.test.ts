import { describe, expect, it } from 'vitest';
import { bar, parseSeedLine, SeedProgressDisplay } from '../seedProgressDisplay.js';

function recorder(tty: boolean, columns = 200) {
  let text = '';
  return { out: { write: (s: string) => (text += s), isTTY: tty, columns }, text: () => text };
}

const seeding = (done: number) => JSON.stringify({ level: 'info', service: 'topclients', msg: 'seeding', what: '3,000 clients', done, total: 3_000 });
const seeded = JSON.stringify({ level: 'info', service: 'topclients', msg: 'seeded', what: '3,000 clients', total: 3_000, durationMs: 1_234 });

describe('seeding progress display', () => {
  it('reads the services\' progress lines and nothing else', () => {
    expect(parseSeedLine(seeding(1_200))).toEqual({ msg: 'seeding', what: '3,000 clients', done: 1_200, total: 3_000 });
    expect(parseSeedLine(seeded)).toEqual({ msg: 'seeded', what: '3,000 clients', total: 3_000, durationMs: 1_234 });
    expect(parseSeedLine('{"level":"info","msg":"listening"}')).toBeNull();
    expect(parseSeedLine('{"msg":"seeding" broken')).toBeNull();
  });

  it('without a terminal prints a plain line at each quarter and when done', () => {
    const { out, text } = recorder(false);
    const display = new SeedProgressDisplay(out);
    for (const done of [0, 300, 800, 1_200, 2_999, 3_000]) display.update('topclients', parseSeedLine(seeding(done))!);
    display.update('topclients', parseSeedLine(seeded)!);
    expect(text()).toBe([
      'topclients: seeding 3,000 clients ... 0%',
      'topclients: seeding 3,000 clients ... 26%',
      'topclients: seeding 3,000 clients ... 99%',
      'topclients: seeding 3,000 clients ... 100%',
      'topclients: seeded 3,000 clients in 1.2 s',
      '',
    ].join('\n'));
  });

  it('on a terminal redraws one bar per service in place, with other output above the bars', () => {
    const { out, text } = recorder(true);
    const display = new SeedProgressDisplay(out);
    display.update('gigs', { msg: 'seeding', what: '50,000 gigs', done: 0, total: 50_000 });
    display.update('users', { msg: 'seeding', what: '10,000 sellers', done: 5_000, total: 10_000 });
    display.print('[users] hello');
    display.update('gigs', { msg: 'seeded', what: '50,000 gigs', total: 50_000, durationMs: 2_000 });
    display.update('users', { msg: 'seeded', what: '10,000 sellers', total: 10_000, durationMs: 900 });
    display.print('[gateway] after');
    const screen = text();
    expect(screen.startsWith('seeding the demo data (first start):\n')).toBe(true);
    expect(screen).toContain(`\x1b[2A\r\x1b[J[users] hello\n  gigs        ${bar(0, 24)}`);
    expect(screen).toContain(`users       ${bar(0.5, 24)}  50%`);
    expect(screen.endsWith(`  users       ${bar(1, 24)} done in 0.9 s  10,000 sellers\n[gateway] after\n`)).toBe(true);
  });

  it('cuts a bar line to the terminal width, so a redraw never counts a wrapped line as one', () => {
    const { out, text } = recorder(true, 60);
    new SeedProgressDisplay(out).update('topclients', { msg: 'seeding', what: '3,000 clients, 10,000 sellers, 6,489 seller lists', done: 0, total: 1 });
    const lines = text().split('\n').filter(Boolean);
    expect(lines.map((l) => l.length <= 59)).toEqual([true, true]);
  });
});

/**
 * Admission control on a manual clock with an event-loop lag the test sets: a limit on operations in progress, a
 * short FIFO queue, a clean refusal (with Retry-After) for what would wait too long, and a limit that follows
 * the lag.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AdmissionControl, type Admission, type AdmissionOptions, type LoopLag } from '../../src/admission/admissionControl.js';
import { ManualClock } from '../support/manualClock.js';
import { endOfTurn, watch } from '../support/heldDispatch.js';

const OPTIONS: AdmissionOptions = { maxInFlight: 2, minInFlight: 1, maxQueueMs: 1_000, targetLagMs: 50 };
/** The window over which the limit is adjusted (admissionControl.ts). */
const WINDOW_MS = 100;

let running: AdmissionControl[] = [];
afterEach(() => {
  for (const control of running) control.stop();
  running = [];
});

function setup(options: Partial<AdmissionOptions> = {}) {
  const clock = new ManualClock();
  const lag = { ms: 0 };
  const loopLag: LoopLag = { read: () => lag.ms, stop: () => undefined };
  const control = new AdmissionControl({ ...OPTIONS, ...options }, clock, loopLag);
  running.push(control);
  return { clock, lag, control };
}

const admitted = (admission: Admission | undefined) => {
  if (admission?.kind !== 'admitted') throw new Error(`expected an admission, got ${JSON.stringify(admission)}`);
  return admission;
};

describe('admission control', () => {
  it('admits up to the limit, queues the rest in arrival order, and each release admits the next', async () => {
    const { control } = setup();
    const first = admitted(await control.admit());
    const second = admitted(await control.admit());
    const third = watch(control.admit());
    const fourth = watch(control.admit());
    await endOfTurn();
    expect([third.state, fourth.state]).toEqual(['pending', 'pending']);
    expect(control.queued).toBe(2);

    first.release();
    await endOfTurn();
    expect(third.value?.kind).toBe('admitted');
    expect(fourth.state).toBe('pending');
    second.release();
    await endOfTurn();
    expect(fourth.value?.kind).toBe('admitted');
    expect(control.inProgress).toBe(2);
    expect(control.queued).toBe(0);
  });

  it('turns away a queued operation once it has waited maxQueueMs, with a Retry-After of at least 1 s', async () => {
    const { clock, control } = setup({ maxInFlight: 1 });
    admitted(await control.admit());
    const queued = watch(control.admit());
    clock.advance(999);
    await endOfTurn();
    expect(queued.state).toBe('pending');
    clock.advance(1);
    await endOfTurn();
    expect(queued.value).toEqual({ kind: 'overloaded', retryAfterSeconds: 1, reason: 'waited' });
    expect(control.queued).toBe(0);
  });

  it('with maxQueueMs 0, refuses at once when the limit is reached', async () => {
    const { control } = setup({ maxInFlight: 1, maxQueueMs: 0 });
    admitted(await control.admit());
    expect(await control.admit()).toEqual({ kind: 'overloaded', retryAfterSeconds: 1, reason: 'no_queue' });
    expect(control.queued).toBe(0);
  });

  it('shrinks the limit by a tenth each window while the loop lags above target with operations in progress, never below the minimum', async () => {
    const { clock, lag, control } = setup({ maxInFlight: 100, minInFlight: 4 });
    expect(control.limit).toBe(16);
    admitted(await control.admit());
    lag.ms = 80;
    const limits: number[] = [];
    for (let i = 0; i < 11; i++) {
      clock.advance(WINDOW_MS);
      limits.push(control.limit);
    }
    expect(limits).toEqual([14, 12, 10, 9, 8, 7, 6, 5, 4, 4, 4]);
  });

  it('keeps the limit while the loop lags with no operation in progress or waiting (start-up, idle work)', async () => {
    const { clock, lag, control } = setup({ maxInFlight: 100, minInFlight: 4 });
    lag.ms = 200;
    clock.advance(5 * WINDOW_MS);
    expect(control.limit).toBe(16);
    // An operation that came and went within a window was in progress in it: that window's lag counts.
    admitted(await control.admit()).release();
    clock.advance(WINDOW_MS);
    expect(control.limit).toBe(14);
  });

  it('near the target, grows the limit by one each window while operations wait, never above the maximum', async () => {
    const { clock, lag, control } = setup({ maxInFlight: 18, minInFlight: 1 });
    lag.ms = 30;
    for (let i = 0; i < 16; i++) admitted(await control.admit());
    const waiting = [watch(control.admit()), watch(control.admit()), watch(control.admit())];
    clock.advance(WINDOW_MS);
    await endOfTurn();
    expect(control.limit).toBe(17);
    expect(waiting.map((w) => w.state)).toEqual(['fulfilled', 'pending', 'pending']);
    for (let i = 0; i < 3; i++) clock.advance(WINDOW_MS);
    await endOfTurn();
    expect(control.limit).toBe(18);
    expect(waiting.map((w) => w.state)).toEqual(['fulfilled', 'fulfilled', 'pending']);
  });

  it('under half the target, admits as many more as wait each window, at most doubling the limit (a burst runs wide at once)', async () => {
    const { clock, lag, control } = setup({ maxInFlight: 256, minInFlight: 1 });
    lag.ms = 10;
    for (let i = 0; i < 16; i++) admitted(await control.admit());
    const waiting = Array.from({ length: 40 }, () => watch(control.admit()));
    clock.advance(WINDOW_MS);
    await endOfTurn();
    expect(control.limit).toBe(32);
    expect(waiting.filter((w) => w.state === 'fulfilled')).toHaveLength(16);
    clock.advance(WINDOW_MS);
    await endOfTurn();
    expect(control.limit).toBe(56);
    expect(waiting.every((w) => w.value?.kind === 'admitted')).toBe(true);
    expect(control.queued).toBe(0);
  });

  it('keeps the limit while the loop is below target and nothing waits', () => {
    const { clock, control } = setup({ maxInFlight: 100 });
    clock.advance(10 * WINDOW_MS);
    expect(control.limit).toBe(16);
  });

  it('once it has measured how fast the queue drains, refuses at once an arrival that would wait twice maxQueueMs', async () => {
    const { clock, control } = setup({ maxInFlight: 1, maxQueueMs: 150 });
    const first = admitted(await control.admit());
    const second = watch(control.admit());
    const waiting = [watch(control.admit()), watch(control.admit()), watch(control.admit())];
    first.release();
    // One operation left the queue in this window: a drain rate of one per 100 ms.
    clock.advance(WINDOW_MS);
    await endOfTurn();
    expect(second.value?.kind).toBe('admitted');
    expect(waiting.map((w) => w.state)).toEqual(['pending', 'pending', 'pending']);
    // Behind the three queued it would wait about 400 ms, more than twice 150: hopeless, refused at once.
    expect(await control.admit()).toEqual({ kind: 'overloaded', retryAfterSeconds: 1, reason: 'hopeless' });
    expect(control.queued).toBe(3);
  });

  it('turns nobody away at once on a rate measured over fewer completions than the limit (a cold burst\'s first slow window), then does once they have completed', async () => {
    const { clock, control } = setup({ maxInFlight: 4, maxQueueMs: 150 });
    const inProgress = await Promise.all([control.admit(), control.admit(), control.admit(), control.admit()]);
    const queued = Array.from({ length: 4 }, () => watch(control.admit()));
    // One of four done in this window: at one per 100 ms, an arrival behind the three queued would wait 400 ms,
    // more than twice maxQueueMs, but one completion says little about the pace: it is queued.
    admitted(inProgress[0]).release();
    clock.advance(WINDOW_MS);
    await endOfTurn();
    const arrival = watch(control.admit());
    await endOfTurn();
    expect(arrival.state).toBe('pending');
    // Three more done in the next window: four in two windows, a limit's worth, at two per 100 ms.
    for (const admission of inProgress.slice(1)) admitted(admission).release();
    clock.advance(WINDOW_MS);
    await endOfTurn();
    expect(queued.map((q) => q.value?.kind)).toEqual(['admitted', 'admitted', 'admitted', 'admitted']);
    expect(control.queued).toBe(1);
    // Settled at two per 100 ms: five more are queued (the last 300 ms away); one behind six would wait 350 ms.
    const more = [watch(control.admit()), watch(control.admit()), watch(control.admit()), watch(control.admit()), watch(control.admit())];
    await endOfTurn();
    expect(more.map((m) => m.state)).toEqual(['pending', 'pending', 'pending', 'pending', 'pending']);
    expect(await control.admit()).toEqual({ kind: 'overloaded', retryAfterSeconds: 1, reason: 'hopeless' });
  });

  it('leaves an arrival whose estimated wait is near maxQueueMs to the queue, which admits it in time', async () => {
    const { clock, control } = setup({ maxInFlight: 1, maxQueueMs: 150 });
    const first = admitted(await control.admit());
    const second = watch(control.admit());
    first.release();
    clock.advance(WINDOW_MS);
    await endOfTurn();
    // About 200 ms by the estimate, more than 150 but not twice: queued, not refused.
    const third = watch(control.admit());
    const fourth = watch(control.admit());
    await endOfTurn();
    expect([third.state, fourth.state]).toEqual(['pending', 'pending']);
    admitted(second.value!).release();
    await endOfTurn();
    expect(third.value?.kind).toBe('admitted');
  });

  it('counts a release only once, however often it is called', async () => {
    const { control } = setup({ maxInFlight: 1 });
    const first = admitted(await control.admit());
    const second = watch(control.admit());
    const third = watch(control.admit());
    first.release();
    first.release();
    await endOfTurn();
    expect(second.value?.kind).toBe('admitted');
    expect(third.state).toBe('pending');
    expect(control.inProgress).toBe(1);
  });
});

/**
 * The gateway's front door: which operations run, when, and which share an identical one's run (traffic shaping,
 * as peers call it).
 *
 * Admission control. An operation runs only when the gateway can finish it: at most
 * `limit` operations in progress, the rest wait in a short FIFO queue; one still waiting after `maxQueueMs` (or
 * arriving at a queue that, by its recent drain rate over at least a limit's worth of completions, would take twice
 * that) is turned away with 503
 * GATEWAY_OVERLOADED and a Retry-After, before anything is planned or sent. Once admitted, an operation's fetches are never cut
 * short because the gateway is busy: this is where the gateway says it is busy.
 *
 * The limit adapts, as Envoy's adaptive concurrency filter and Netflix's concurrency-limits do, but steered by the
 * gateway's own event-loop lag rather than by latency (which a slow subgraph would raise): every window, a lag
 * above target while operations ran shrinks the limit (x0.9); with operations queued, a lag below target grows it,
 * by one near the target and, under half of it, by as many as wait (at most doubling it), as TCP's slow start does.
 * Operations that wait on subgraphs cost no lag, so I/O-bound traffic runs wide at once (a burst on a gateway just
 * started, say); CPU-bound traffic runs as wide as the cores allow. A lag with no operation in progress (start-up,
 * an idle loop's own work) says nothing about how many may run, and leaves the limit as it is.
 *
 * Inbound deduplication (INBOUND_DEDUP, on by default), as Hive Router and Cosmo do: identical operations in flight
 * are executed once, and every request that arrived while it ran is answered with the same answer.
 *
 * Identical means the same parameters (document or persisted id, operation name, variables, extensions), the same
 * caller (its answer may be private) and the same Accept header (the answer's media type and whether it may come in
 * parts). Never shared:
 * - a request that asks for `Cache-Control: no-cache` (or `Pragma: no-cache`): it wants its own, revalidated answer;
 * - a batch (several operations in one body);
 * - a mutation (or subscription): a request that waited for one runs its own once it is done, so each mutation sent
 *   runs once per request, as without deduplication;
 * - an answer in parts (`@defer`): the waiters run their own, as each reads its own stream.
 *
 * The execution is cancelled only when every request waiting for it has gone: a client that hangs up does not
 * null the fields of the identical requests that share its execution.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { ApolloServerPlugin, GraphQLRequestListener, HTTPGraphQLResponse } from '@apollo/server';
import type { Clock, Timer } from '../clock.js';
import { onHangUp, sendRequestError } from '../http.js';
import type { GatewayMetrics } from '../metrics/registry.js';
import type { GatewayFeature, IncomingOperation } from '../feature.js';
import { Cancellation, asksNoCache, gatewayRequestOf, type GatewayContext, type GatewayRequest } from '../request.js';
import { boolean, integer, type SettingGroup, type SettingValues } from '../settings.js';

export interface AdmissionOptions {
  /** The most operations in progress at once, whatever the lag. */
  maxInFlight: number;
  /** The fewest the limit shrinks to. */
  minInFlight: number;
  /** The longest an operation may wait to be admitted. */
  maxQueueMs: number;
  /** Event-loop lag (90th percentile per window) above which the limit shrinks. */
  targetLagMs: number;
}

export type Admission =
  | { kind: 'admitted'; /** Call exactly once when the operation's answer is sent or abandoned. */ release: () => void }
  | { kind: 'overloaded'; retryAfterSeconds: number; reason: RefusalReason };

/**
 * Why an operation was turned away, counted apart in /metrics: a queue that would not drain in time is a different
 * problem (too little capacity, or a limit too low) from one the settings allow no wait in.
 * - `no_queue`: the limit was reached and ADMISSION_MAX_QUEUE_MS is 0;
 * - `hopeless`: by the settled drain rate it would have waited twice ADMISSION_MAX_QUEUE_MS, so it was not queued;
 * - `waited`: it waited ADMISSION_MAX_QUEUE_MS in the queue without a slot.
 */
export const REFUSAL_REASONS = ['no_queue', 'hopeless', 'waited'] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

interface Queued {
  resolve: (admission: Admission) => void;
  timer: Timer;
}

const WINDOW_MS = 100;

export class AdmissionControl {
  private inFlight = 0;
  private limitNow: number;
  private readonly queue: Queued[] = [];
  private completedInWindow = 0;
  /** Whether any operation was in progress or waiting during the window: only then does its lag tell about them. */
  private activeInWindow = false;
  /** Completions per ms while operations were queued, smoothed over windows; 0 until measured. */
  private drainRate = 0;
  /** Completions and windows the drain rate was measured over, until it is settled. */
  private measured = { completions: 0, windows: 0 };
  /** The drain rate rests on at least a limit's worth of completions: only then may it turn an arrival away. */
  private drainSettled = false;
  private windowTimer: Timer;
  private stopped = false;

  constructor(private readonly options: AdmissionOptions, private readonly clock: Clock, private readonly lag: LoopLag) {
    if (options.minInFlight > options.maxInFlight) {
      throw new RangeError(`ADMISSION_MIN_IN_FLIGHT (${options.minInFlight}) is above ADMISSION_MAX_IN_FLIGHT (${options.maxInFlight})`);
    }
    this.limitNow = Math.max(options.minInFlight, Math.min(options.maxInFlight, 16));
    this.windowTimer = clock.setTimer(WINDOW_MS, () => this.adjust());
  }

  get limit(): number {
    return this.limitNow;
  }

  get inProgress(): number {
    return this.inFlight;
  }

  get queued(): number {
    return this.queue.length;
  }

  admit(): Promise<Admission> {
    this.activeInWindow = true;
    if (this.inFlight < this.limitNow && this.queue.length === 0) return Promise.resolve(this.grant());
    // Turned away at once only when the queue is clearly hopeless (twice the longest wait by a settled drain rate):
    // an estimate near the limit, or one measured on a handful of completions (a cold burst's first pages, slow
    // while the subgraphs warm up), is left to the queue's own timer, so noise in the estimate sheds nothing.
    const expectedWaitMs = this.drainSettled ? (this.queue.length + 1) / this.drainRate : 0;
    if (this.options.maxQueueMs === 0) return Promise.resolve(this.refusal(0, 'no_queue'));
    if (expectedWaitMs > 2 * this.options.maxQueueMs) return Promise.resolve(this.refusal(expectedWaitMs, 'hopeless'));
    return new Promise((resolve) => {
      const entry: Queued = {
        resolve,
        timer: this.clock.setTimer(this.options.maxQueueMs, () => {
          const at = this.queue.indexOf(entry);
          if (at === -1) return;
          this.queue.splice(at, 1);
          resolve(this.refusal(this.options.maxQueueMs, 'waited'));
        }),
      };
      this.queue.push(entry);
    });
  }

  stop(): void {
    this.stopped = true;
    this.windowTimer.cancel();
    this.lag.stop();
  }

  private grant(): Admission {
    this.inFlight++;
    this.activeInWindow = true;
    let released = false;
    return {
      kind: 'admitted',
      release: () => {
        if (released) return;
        released = true;
        this.inFlight--;
        this.completedInWindow++;
        this.drain();
      },
    };
  }

  private drain(): void {
    while (this.inFlight < this.limitNow && this.queue.length > 0) {
      const next = this.queue.shift()!;
      next.timer.cancel();
      next.resolve(this.grant());
    }
  }

  private refusal(waitMs: number, reason: RefusalReason): Admission {
    return { kind: 'overloaded', retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)), reason };
  }

  private adjust(): void {
    if (this.stopped) return;
    // Only a window with operations waiting measures how fast the gateway drains its queue; an idle one says nothing.
    // The rate is the average over the windows measured until a limit's worth of operations has completed in them
    // (one page done in a cold burst's first window is not the gateway's pace), then smoothed over about a second
    // (alpha 0.1 per 100 ms window): one slow window, a GC pause say, must not make the queue look longer than it is
    // and turn away operations that would have been admitted in time.
    if (this.queue.length > 0 && this.completedInWindow > 0) {
      if (this.drainSettled) {
        this.drainRate = 0.9 * this.drainRate + 0.1 * (this.completedInWindow / WINDOW_MS);
      } else {
        this.measured.completions += this.completedInWindow;
        this.measured.windows += 1;
        this.drainRate = this.measured.completions / (this.measured.windows * WINDOW_MS);
        this.drainSettled = this.measured.completions >= this.limitNow;
      }
    }
    this.completedInWindow = 0;
    const active = this.activeInWindow || this.inFlight > 0 || this.queue.length > 0;
    this.activeInWindow = false;
    const lagMs = this.lag.read();
    if (lagMs > this.options.targetLagMs) {
      if (active) this.limitNow = Math.max(this.options.minInFlight, Math.floor(this.limitNow * 0.9));
    } else if (this.queue.length > 0 || this.inFlight >= this.limitNow) {
      // Well under target, the loop has room for every operation waiting: they are waiting on slots, not on it.
      const step = lagMs < this.options.targetLagMs / 2 ? Math.max(1, Math.min(this.limitNow, this.queue.length)) : 1;
      this.limitNow = Math.min(this.options.maxInFlight, this.limitNow + step);
      this.drain();
    }
    this.windowTimer = this.clock.setTimer(WINDOW_MS, () => this.adjust());
  }
}

/**
 * How busy the gateway's own event loop is: the delay a short timer suffers (Node's monitorEventLoopDelay). A
 * loop that runs late answers every socket late, so this is the signal admission control steers by; a subgraph
 * that is slow to answer does not raise it.
 */
export interface LoopLag {
  /** The 90th percentile delay in ms since the last reading; the next reading starts afresh. */
  read(): number;
  stop(): void;
}

export function eventLoopLag(resolutionMs = 10): LoopLag {
  const histogram = monitorEventLoopDelay({ resolution: resolutionMs });
  histogram.enable();
  return {
    read() {
      const ms = histogram.count > 0 ? histogram.percentile(90) / 1e6 : 0;
      histogram.reset();
      return ms;
    },
    stop: () => histogram.disable(),
  };
}

/**
 * The front door as a feature: an operation waits here for a slot before its body is read, and gives the slot back
 * when its answer is sent (an answer in parts: its first part) or its caller goes away. Nothing is read, planned or sent for an operation the gateway
 * could not finish in time.
 */
export function useAdmission(options: AdmissionOptions, clock: Clock, metrics: GatewayMetrics): GatewayFeature {
  const control = new AdmissionControl(options, clock, eventLoopLag());
  /** The slot of each answer not yet sent, so an answer in parts gives it back with its first part. */
  const slots = new WeakMap<ServerResponse, () => void>();
  metrics.gauge('gateway_operations_in_progress', 'Operations admitted and not yet answered', () => control.inProgress);
  metrics.gauge('gateway_operations_queued', 'Operations waiting to be admitted', () => control.queued);
  // Every reason is exported from the start, at 0: a rate over a series that appears only with its first refusal misses it.
  for (const reason of REFUSAL_REASONS) metrics.overloaded.inc({ reason }, 0);
  metrics.gauge('gateway_admission_limit', 'Operations allowed in progress at once (adapts to event-loop lag)', () => control.limit);
  return {
    name: 'admission',
    async onRequest(_req: IncomingMessage, res: ServerResponse) {
      // Listened for before queueing: a caller may go away while it waits to be admitted, and 'close' fires once.
      let closed = false;
      let release = () => {};
      res.once('close', () => {
        closed = true;
        release();
      });
      const admission = await control.admit();
      if (admission.kind === 'overloaded') {
        metrics.overloaded.inc({ reason: admission.reason });
        sendRequestError(res, 503, 'GATEWAY_OVERLOADED', `The gateway is at capacity; retry in ${admission.retryAfterSeconds} s`, { 'retry-after': String(admission.retryAfterSeconds) });
        return 'answered';
      }
      release = admission.release;
      // Nobody is left to answer: the slot goes straight to the next operation in the queue.
      if (closed) {
        release();
        return 'answered';
      }
      res.once('finish', release);
      slots.set(res, release);
    },
    onResponse(operation, request) {
      // An answer in parts (@defer) has done what its budget was for once its first part leaves: its deferred parts
      // run on budgets of their own, waiting mostly on subgraphs, and the loop lag they cause still shrinks the limit.
      if (request.incrementalAnswer) slots.get(operation.res)?.();
    },
    stop: () => control.stop(),
  };
}

/** ADMISSION_*: how many operations run at once and wait to run (checked together: the floor is under the ceiling). */
export const ADMISSION_SETTINGS = {
  maxInFlight: integer('ADMISSION_MAX_IN_FLIGHT', { default: 256, min: 1, max: 100_000, unit: 'operations', doc: 'the most operations in progress at once; the limit adapts between this and ADMISSION_MIN_IN_FLIGHT: it shrinks when the event loop lags past ADMISSION_TARGET_LAG_MS while operations run, and grows back while operations wait and it does not (at once by as many as wait, up to doubling, while the lag is under half the target)' }),
  minInFlight: integer('ADMISSION_MIN_IN_FLIGHT', { default: 8, min: 1, max: 100_000, unit: 'operations', doc: 'the floor of the adaptive limit on operations in progress' }),
  maxQueueMs: integer('ADMISSION_MAX_QUEUE_MS', { default: 2_000, min: 0, max: 600_000, unit: 'ms', formerly: ['ADMISSION_QUEUE_MS'], doc: 'the longest an operation waits to be admitted; one that would wait longer gets 503 GATEWAY_OVERLOADED with Retry-After, before anything runs' }),
  targetLagMs: integer('ADMISSION_TARGET_LAG_MS', { default: 100, min: 1, max: 10_000, unit: 'ms', doc: 'the event-loop lag above which the limit on operations in progress shrinks' }),
} satisfies SettingGroup;

export function admissionOptions(values: SettingValues<typeof ADMISSION_SETTINGS>, problem: (message: string) => void): AdmissionOptions {
  if (values.minInFlight > values.maxInFlight) {
    problem(`ADMISSION_MIN_IN_FLIGHT (${values.minInFlight}) must not be more than ADMISSION_MAX_IN_FLIGHT (${values.maxInFlight})`);
  }
  return values;
}

export const INBOUND_DEDUP_SETTINGS = {
  enabled: boolean('INBOUND_DEDUP', { default: true, doc: 'identical operations in flight (same parameters, caller and Accept header; not mutations, not `no-cache` requests) run once and every waiting request gets the answer; `off` runs each request on its own' }),
} satisfies SettingGroup;

/** One operation run for a request: its answer, the request it ran as (cache tags, stale parts, parts), and what cancels it. */
export interface Execution {
  request: GatewayRequest;
  response: HTTPGraphQLResponse;
  cancellation: Cancellation;
}

/** An execution, and whether it was another request's whose answer this one shares. */
export interface Answer extends Execution {
  shared: boolean;
}

export interface InboundDedupFeature extends GatewayFeature {
  /**
   * Runs `execute`, or, when an identical operation is in flight, waits for its answer. `clientGone` is aborted
   * when this request's client hangs up; `execute` is given what cancels its execution.
   */
  answer(operation: IncomingOperation, clientGone: Cancellation, execute: (cancellation: Cancellation) => Promise<Execution>): Promise<Answer>;
}

export function useInboundDedup(metrics: GatewayMetrics): InboundDedupFeature {
  const flights = new Map<string, Flight>();
  let awaiting = 0;
  metrics.gauge('gateway_operations_awaiting_identical', 'Requests waiting for the answer of an identical operation in flight (INBOUND_DEDUP)', () => awaiting);
  return {
    name: 'inbound deduplication',
    apolloPlugins: [operationTypeRecorder],
    async answer(operation, clientGone, execute) {
      const key = keyOf(operation);
      if (key === null) return answerOf(await execute(clientGone), false);
      const inFlight = flights.get(key);
      if (inFlight) {
        inFlight.waitFor(operation.res);
        awaiting += 1;
        const led = await inFlight.done;
        awaiting -= 1;
        if (led && shareable(led)) {
          metrics.deduplicated.inc();
          return answerOf(led, true);
        }
        return answerOf(await execute(clientGone), false);
      }
      const flight = new Flight();
      flights.set(key, flight);
      flight.waitFor(operation.res);
      let execution: Execution | null = null;
      try {
        execution = await execute(flight.cancellation);
        return answerOf(execution, false);
      } finally {
        // Gone from the map before anyone is told: a request arriving from now on starts its own execution.
        flights.delete(key);
        flight.settle(execution);
      }
    },
  };
}

/**
 * Written out field by field: V8 (Node 20) gives the copy of a spread (`{ ...execution, shared }`) a map outside its
 * transition tree, so adding a field to it makes a new hidden class, in the old generation, for every answer
 * (docs/APOLLO-NOTES.md, section 5).
 */
export function answerOf({ request, response, cancellation }: Execution, shared: boolean): Answer {
  return { request, response, cancellation, shared };
}

/** Null: this request is never shared. */
function keyOf({ req, params, caller }: IncomingOperation): string | null {
  if (Array.isArray(params.body)) return null;
  if (asksNoCache(req.headers)) return null;
  return JSON.stringify([caller?.identity ?? null, req.headers.accept ?? '', params.method, params.search, params.body ?? null]);
}

/** An answer in parts is shared too: each request sharing it reads its parts from the first (deferredRun.ts). */
function shareable({ request, response }: Execution): boolean {
  return response.body.kind === 'complete' && request.operationType !== 'mutation' && request.operationType !== 'subscription';
}

/** One execution, and the requests waiting for it: cancelled once none is left. */
class Flight {
  readonly cancellation = new Cancellation();
  private waiting = 0;
  private settled!: (execution: Execution | null) => void;
  /** Null: the execution failed (threw); every waiter then runs its own. */
  readonly done = new Promise<Execution | null>((resolve) => {
    this.settled = resolve;
  });

  /** Hears the hang-up from the response, not through an AbortSignal: on Node 20 each one made costs hidden classes. */
  waitFor(res: ServerResponse): void {
    this.waiting += 1;
    onHangUp(res, () => {
      this.waiting -= 1;
      if (this.waiting === 0) this.cancellation.abort();
    });
  }

  settle(execution: Execution | null): void {
    this.settled(execution);
  }
}

/** Records each operation's type on its request once Apollo Server has resolved it: a mutation is never shared. */
const operationTypeHooks: GraphQLRequestListener<GatewayContext> = {
  async didResolveOperation({ operation, contextValue }) {
    const request = gatewayRequestOf(contextValue);
    if (request && operation) request.operationType = operation.operation;
  },
};
const operationTypeRecorder: ApolloServerPlugin<GatewayContext> = {
  async requestDidStart() {
    return operationTypeHooks;
  },
};

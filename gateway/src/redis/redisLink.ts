/**
 * The gateway's one connection to Redis (REDIS_URL), guarded so that Redis can never fail a page: every command
 * runs under a deadline on the gateway's clock, and a small breaker takes Redis out of use when it is down, slow
 * or cut. While it is out of use, commands are not sent at all (the caller hears "no answer" at once and goes on
 * with its first cache level and the subgraphs); a PING probes it again every `retryAfterMs`, and as soon as the
 * client reconnects. One log line when Redis goes, one when it is back; `gateway_redis_up` and
 * `gateway_redis_operations_total` say the same on /metrics.
 *
 *   up ──(failuresInRow ≥ threshold, or the connection closes)──▶ down ──(PING answered in time)──▶ up
 *
 * It starts `down` (silently) and comes up with its first answered PING, so a gateway whose Redis is missing at
 * start-up serves from its first level from the first request on.
 */
import { Redis } from 'ioredis';
import type { Clock, Timer } from '../clock.js';
import type { GatewayFeature } from '../feature.js';
import type { Logger } from '../logger.js';
import type { GatewayMetrics } from '../metrics/registry.js';
import { integer, text, type SettingGroup } from '../settings.js';
import { inClientSpan } from '../telemetry/tracing.js';

export interface RedisLinkOptions {
  url: string;
  /** The longest the gateway waits for one command before going on without Redis (REDIS_TIMEOUT_MS). */
  timeoutMs: number;
  /** Failed or late commands in a row that take Redis out of use. */
  failureThreshold?: number;
  /** While out of use, how often a PING asks whether Redis is back. */
  retryAfterMs?: number;
  clock: Clock;
  logger: Logger;
  metrics: GatewayMetrics;
}

export type RedisLinkState = 'up' | 'down';

/**
 * Told when a subscription hears its channel (subscribed, at first and after every reconnect) and when it stops
 * hearing it (the connection closed): what is published in between never reaches this process.
 */
export interface SubscriptionWatcher {
  subscribed(): void;
  lost(reason: string): void;
}

/** A command's result, or `undefined` when Redis did not answer (out of use, error or deadline). */
export type Answer<T> = { ok: true; value: T } | { ok: false };

const NO_ANSWER: Answer<never> = { ok: false };
const TIMED_OUT = Symbol('timed out');

export class RedisLink {
  readonly client: Redis;
  private subscriber: Redis | null = null;
  private readonly channelListeners = new Map<string, Set<(message: string) => void>>();
  private state: RedisLinkState = 'down';
  /** What the logs last said, so each outage is one line going and one coming back. */
  private announced: 'nothing' | RedisLinkState = 'nothing';
  private failuresInRow = 0;
  private probing = false;
  private probeTimer: Timer | null = null;
  private closed = false;
  private readonly failureThreshold: number;
  private readonly retryAfterMs: number;
  private lastError = '';
  private readonly subscriptions: Promise<unknown>[] = [];
  private readonly watchers = new Set<SubscriptionWatcher>();
  private readonly waiters = new Set<{ state: RedisLinkState; resolve: () => void }>();

  constructor(private readonly options: RedisLinkOptions) {
    this.failureThreshold = options.failureThreshold ?? 3;
    this.retryAfterMs = options.retryAfterMs ?? 1_000;
    this.client = new Redis(options.url, {
      // A command while disconnected fails at once instead of queueing: the page must not wait for a reconnect.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: Math.max(1_000, options.timeoutMs * 10),
      // Reconnect forever, at most every 2 s: Redis is optional, the gateway keeps asking.
      retryStrategy: (attempt) => Math.min(100 * attempt, 2_000),
      connectionName: 'gateway',
    });
    // ioredis emits 'error' on every failed (re)connection; the breaker decides what is worth a log line.
    this.client.on('error', (error: Error) => {
      this.lastError = error.message;
    });
    this.client.on('ready', () => void this.probe());
    this.client.on('close', () => {
      if (this.state === 'up') this.goDown('connection closed');
    });
    options.metrics.gauge('gateway_redis_up', 'Whether the gateway uses Redis (1) or goes on with its first cache level only (0)', () => (this.state === 'up' ? 1 : 0));
    this.scheduleProbe();
  }

  /** Whether commands are sent to Redis now. */
  get status(): RedisLinkState {
    return this.state;
  }

  /** Resolves when Redis is (or next becomes) `state`: tests and callers await it instead of polling. */
  whenStatus(state: RedisLinkState): Promise<void> {
    if (this.state === state) return Promise.resolve();
    return new Promise((resolve) => this.waiters.add({ state, resolve }));
  }

  /**
   * Runs one use of Redis under the deadline. Never rejects: any trouble is `{ ok: false }`, counted on /metrics
   * with `operation` and the outcome (`outcomeOf` names a success: hit, miss, ok).
   */
  async run<T>(operation: string, command: (redis: Redis) => Promise<T>, outcomeOf: (value: T) => string = () => 'ok'): Promise<Answer<T>> {
    const count = (outcome: string) => this.options.metrics.redisOperations.inc({ operation, outcome });
    if (this.state !== 'up') {
      count('skipped');
      return NO_ANSWER;
    }
    const result = await this.withDeadline(inClientSpan(`redis ${operation}`, { 'db.system.name': 'redis', 'db.operation.name': operation }, () => command(this.client)));
    if (result === TIMED_OUT || result instanceof Error) {
      count(result === TIMED_OUT ? 'timeout' : 'error');
      this.failed(result === TIMED_OUT ? `no answer within ${this.options.timeoutMs} ms` : result.message);
      return NO_ANSWER;
    }
    this.failuresInRow = 0;
    count(outcomeOf(result.value));
    return { ok: true, value: result.value };
  }

  /**
   * Calls `listener` with every message published on `channel`, on a connection of its own (a subscribed
   * connection can do nothing else). It resubscribes by itself after a reconnect; `watcher` hears when the
   * subscription is live and when it is lost.
   */
  subscribe(channel: string, listener: (message: string) => void, watcher?: SubscriptionWatcher): void {
    if (this.closed) return;
    if (!this.subscriber) {
      // The subscription may wait for a connection: queueing it costs no page anything.
      const subscriber = this.client.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null, connectionName: 'gateway-evictions' });
      this.subscriber = subscriber;
      subscriber.on('error', () => undefined);
      subscriber.on('message', (from: string, message: string) => {
        for (const listener of this.channelListeners.get(from) ?? []) listener(message);
      });
      subscriber.on('close', () => {
        for (const watching of this.watchers) watching.lost('the connection to Redis closed');
      });
      // ioredis resubscribes on every (re)connect before 'ready'; a SUBSCRIBE sent now is answered after it, so
      // its answer says every channel is heard again.
      subscriber.on('ready', () => {
        void subscriber.subscribe(...this.channelListeners.keys()).then(() => {
          for (const watching of this.watchers) watching.subscribed();
        }, () => undefined);
      });
    }
    if (watcher) this.watchers.add(watcher);
    const listeners = this.channelListeners.get(channel);
    if (listeners) {
      listeners.add(listener);
      return;
    }
    this.channelListeners.set(channel, new Set([listener]));
    this.subscriptions.push(this.subscriber.subscribe(channel).catch(() => undefined));
  }

  /** Resolves once every channel asked for is subscribed (it waits for Redis to be reachable). */
  async subscribed(): Promise<void> {
    await Promise.all(this.subscriptions);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.probeTimer?.cancel();
    this.state = 'down';
    await Promise.all([this.client, this.subscriber].map(async (connection) => {
      if (!connection) return;
      // QUIT when connected (lets Redis finish what was sent), otherwise just stop reconnecting.
      if (connection.status === 'ready') await connection.quit().catch(() => connection.disconnect());
      else connection.disconnect();
    }));
  }

  private failed(reason: string): void {
    this.failuresInRow++;
    if (this.state === 'up' && this.failuresInRow >= this.failureThreshold) this.goDown(reason);
  }

  private enter(state: RedisLinkState): void {
    this.state = state;
    this.options.metrics.redisTransitions.inc({ state });
    for (const waiter of [...this.waiters]) {
      if (waiter.state !== state) continue;
      this.waiters.delete(waiter);
      waiter.resolve();
    }
  }

  private goDown(reason: string): void {
    this.enter('down');
    if (this.announced !== 'down' && !this.closed) {
      this.options.logger.warn('Redis unavailable: going on with the first cache level only', { reason });
      this.announced = 'down';
    }
    this.scheduleProbe();
  }

  private scheduleProbe(): void {
    if (this.closed) return;
    this.probeTimer?.cancel();
    this.probeTimer = this.options.clock.setTimer(this.retryAfterMs, () => void this.probe());
  }

  /** Brings Redis back into use when a PING is answered in time; otherwise tries again later. */
  private async probe(): Promise<void> {
    if (this.closed || this.state === 'up' || this.probing) return;
    this.probing = true;
    try {
      const answer = this.client.status === 'ready' ? await this.withDeadline(this.client.ping()) : new Error(this.lastError || `connection ${this.client.status}`);
      if (this.closed) return;
      if (answer !== TIMED_OUT && !(answer instanceof Error)) {
        this.failuresInRow = 0;
        this.enter('up');
        this.options.logger.info(this.announced === 'down' ? 'Redis available again: using it' : 'Redis connected: using it as the shared cache level');
        this.announced = 'up';
        this.probeTimer?.cancel();
        return;
      }
      if (this.announced === 'nothing') {
        this.options.logger.warn('Redis unavailable: going on with the first cache level only', {
          reason: answer === TIMED_OUT ? `no answer within ${this.options.timeoutMs} ms` : answer.message,
        });
        this.announced = 'down';
      }
      this.scheduleProbe();
    } finally {
      this.probing = false;
    }
  }

  /** The command's value, its error, or TIMED_OUT; a late answer or rejection is dropped, never unhandled. */
  private withDeadline<T>(pending: Promise<T>): Promise<{ value: T } | Error | typeof TIMED_OUT> {
    return new Promise((resolve) => {
      const timer = this.options.clock.setTimer(this.options.timeoutMs, () => resolve(TIMED_OUT));
      pending.then(
        (value) => {
          timer.cancel();
          resolve({ value });
        },
        (error: unknown) => {
          timer.cancel();
          resolve(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  }
}

/** Redis (optional): the shared second cache level, evictions for every process, APQ registrations. */
/** Redis as a feature: closed last but one, after everything that uses it (the shared cache first). */
export function useRedis(link: RedisLink, sharedCache: { close(): void } | null): GatewayFeature {
  return {
    name: 'redis',
    async stop() {
      sharedCache?.close();
      await link.close();
    },
  };
}

export const REDIS_SETTINGS = {
  url: text('REDIS_URL', {
    default: null, defaultText: 'unset (none)', values: 'redis://[user:password@]host:port[/db] or rediss://', secret: true,
    check: (url) => (/^rediss?:\/\/[^\s]+$/.test(url) ? null : 'must be redis://[user:password@]host:port[/db] (or rediss://)'),
    doc: 'the cache level every gateway process and replica shares, the channel evictions reach them all by, and APQ registrations; without it, or while it is in trouble, each process has its own cache only',
  }),
  timeoutMs: integer('REDIS_TIMEOUT_MS', { default: 50, min: 1, max: 60_000, unit: 'ms', doc: 'the longest the gateway waits for Redis on one command before going on without it' }),
  keyPrefix: text('REDIS_KEY_PREFIX', { default: 'gateway:', values: 'any text', doc: 'prepended to every Redis key and to the eviction channel, so several deployments can share one Redis' }),
} satisfies SettingGroup;

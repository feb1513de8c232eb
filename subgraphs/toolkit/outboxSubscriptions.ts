/**
 * GraphQL subscriptions fed by a service's own outbox: the events it commits are what its subscribers hear, so a
 * subscriber hears of a change exactly when it is readable here, never before (the same reason the gateway evicts
 * on the page subgraphs' applied events, docs/WRITE-PATH.md).
 *
 * One tailer per service process, however many subscribers: it starts at the outbox's head when the first one
 * arrives, reads what commits after it (woken in-process by the outbox signal after each commit, and every second
 * for rows another process of the same service wrote, which nothing here is told of), hands each event to the
 * subscribers whose filter takes it, and stops reading when the last one leaves. Each subscriber holds at most
 * `maxQueued` events it has not taken yet; one that falls further behind is ended with an error, so a stalled
 * client costs a bounded amount of memory and the others carry on.
 */
import { EventEmitter } from 'node:events';
import type { ChangeEvent } from './events.js';
import { nextBackoffMs, type EventLog } from './eventLog.js';
import { outboxHead, outboxSignal, readOutbox } from './outbox.js';
import type { Database } from './storage.js';

/** How often the outbox is re-read while this process writes nothing (rows another process wrote). */
const POLL_INTERVAL_MS = 1_000;
const BATCH_SIZE = 100;

export class SlowSubscriber extends Error {
  override name = 'SlowSubscriber';
}

export interface OutboxSubscriptionsOptions {
  log: EventLog;
  /** Events a subscriber may have waiting before it is ended with SlowSubscriber (100). */
  maxQueued?: number;
}

/**
 * The tailer of one service's outbox. Emits `change` whenever a subscriber is placed or leaves and when the tailer
 * stops reading, so whoever watches `subscriberCount` and `tailing` (a test) need not poll.
 */
export class OutboxSubscriptions extends EventEmitter {
  private readonly subscribers = new Set<Subscriber>();
  /** Subscribers waiting for the first read of the head; the tailer keeps going for them too. */
  private pending = 0;
  /** The newest outbox id handed out; null while the tailer is not running. */
  private position: number | null = null;
  private starting: Promise<void> | null = null;
  private tail: Promise<void> | null = null;
  private stopped = false;
  /** Set when the tailer is to read again at once (a commit here, a subscriber gone, stop). */
  private nudged = false;
  private wake: (() => void) | null = null;
  private readonly maxQueued: number;

  constructor(private readonly db: Database, private readonly options: OutboxSubscriptionsOptions) {
    super();
    this.maxQueued = options.maxQueued ?? 100;
  }

  /** Subscribers placed now. */
  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** Whether the tailer reads the outbox: exactly while someone subscribes. */
  get tailing(): boolean {
    return this.position !== null;
  }

  /**
   * The events `accept` takes, among every event committed after this resolves (and possibly a few committed
   * just before, when the tailer was already running). Its iterator ends when `return()` is called and when the
   * service stops.
   */
  async subscribe(accept: (event: ChangeEvent) => boolean): Promise<AsyncIterableIterator<ChangeEvent>> {
    if (this.stopped) throw new Error('the service is stopping');
    if (this.position === null) {
      this.pending += 1;
      try {
        await (this.starting ??= this.start());
      } finally {
        this.pending -= 1;
      }
      if (this.stopped) throw new Error('the service is stopping');
    }
    const subscriber = new Subscriber(accept, this.maxQueued, () => this.leave(subscriber));
    this.subscribers.add(subscriber);
    this.emit('change');
    return subscriber;
  }

  /** Ends every subscriber and waits for the tailer's last read, so the database can be closed after. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const subscriber of [...this.subscribers]) subscriber.end();
    this.nudge();
    await this.starting?.catch(() => undefined);
    await this.tail;
  }

  private async start(): Promise<void> {
    try {
      this.position = await outboxHead(this.db);
    } catch (error) {
      this.starting = null;
      throw error;
    }
    this.tail = this.follow();
  }

  private async follow(): Promise<void> {
    const signal = outboxSignal(this.db);
    signal.on('written', this.nudge);
    let backoffMs = 0;
    let failures = 0;
    try {
      while (!this.stopped && (this.subscribers.size > 0 || this.pending > 0)) {
        try {
          const events = await readOutbox(this.db, this.position!, BATCH_SIZE);
          for (const event of events) {
            this.position = Number(event.id);
            for (const subscriber of this.subscribers) if (subscriber.accept(event)) subscriber.push(event);
          }
          if (failures > 0) this.options.log('info', 'outbox readable again for subscriptions', { failures });
          backoffMs = failures = 0;
          if (events.length < BATCH_SIZE) await this.pause(POLL_INTERVAL_MS);
        } catch (error) {
          // The position is kept: once the database answers again, subscribers get what they missed meanwhile.
          backoffMs = nextBackoffMs(backoffMs);
          failures += 1;
          if (failures === 1 || failures % 20 === 0) {
            this.options.log('warn', 'reading the outbox for subscriptions failed; retrying', { error: String((error as Error)?.message ?? error), failures, retryInMs: backoffMs });
          }
          await this.pause(backoffMs);
        }
      }
    } finally {
      // In the same turn as the last check: a subscriber arriving now starts a new tailer from the head.
      signal.off('written', this.nudge);
      this.position = null;
      this.starting = null;
      this.tail = null;
      this.emit('change');
    }
  }

  private readonly nudge = (): void => {
    this.nudged = true;
    this.wake?.();
  };

  /** Waits `ms`, or less when nudged; a nudge that came while reading counts, so no commit waits for the poll. */
  private async pause(ms: number): Promise<void> {
    if (!this.nudged) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.wake = done;
      });
      this.wake = null;
    }
    this.nudged = false;
  }

  private leave(subscriber: Subscriber): void {
    if (!this.subscribers.delete(subscriber)) return;
    if (this.subscribers.size === 0) this.nudge();
    this.emit('change');
  }
}

/** One subscriber's events, as an iterator whose `return()` ends it at once, even while a `next()` waits. */
class Subscriber implements AsyncIterableIterator<ChangeEvent> {
  private readonly queue: ChangeEvent[] = [];
  private waiting: { resolve: (result: IteratorResult<ChangeEvent>) => void; reject: (error: Error) => void } | null = null;
  private ended = false;
  private error: Error | null = null;

  constructor(
    readonly accept: (event: ChangeEvent) => boolean,
    private readonly maxQueued: number,
    private readonly onEnd: () => void,
  ) {}

  push(event: ChangeEvent): void {
    if (this.ended) return;
    if (this.waiting) {
      const { resolve } = this.waiting;
      this.waiting = null;
      resolve({ value: event, done: false });
    } else if (this.queue.length >= this.maxQueued) {
      this.end(new SlowSubscriber(`the subscriber fell more than ${this.maxQueued} events behind; subscribe again`));
    } else {
      this.queue.push(event);
    }
  }

  end(error?: Error): void {
    if (this.ended) return;
    this.ended = true;
    // What it has not taken goes with it (after an error, the error says it missed events).
    this.queue.length = 0;
    this.error = error ?? null;
    this.onEnd();
    const waiting = this.waiting;
    this.waiting = null;
    if (waiting && this.error) {
      waiting.reject(this.error);
      this.error = null;
    } else {
      waiting?.resolve({ value: undefined, done: true });
    }
  }

  /** One `next()` at a time, as `for await` and graphql-js call it. */
  next(): Promise<IteratorResult<ChangeEvent>> {
    const event = this.queue.shift();
    if (event) return Promise.resolve({ value: event, done: false });
    if (this.error) {
      const error = this.error;
      this.error = null;
      return Promise.reject(error);
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<ChangeEvent>> {
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<ChangeEvent> {
    return this;
  }
}

/**
 * One source, many subscribers. Clients that stream the same thing (the same subscription with the same variables
 * for the same caller, or the same live query) share one group: one upstream subscription or one re-run serves them
 * all, however many they are, and each gets its own iterator of the group's results.
 *
 * Each subscriber's iterator holds at most `maxQueued` results it has not taken yet; one that falls further behind
 * is ended with an error instead of holding memory without bound (the others carry on). The source stops when its
 * last subscriber leaves.
 */

/** Starts a group's source: it calls `emit` with each result and `end` once, when it has no more; returns its stop. */
export type StartSource<T> = (emit: (value: T) => void, end: (error?: Error) => void) => () => void;

export class SlowConsumer extends Error {
  override name = 'SlowConsumer';
  /** What the client is told (a transport turns the error into a GraphQL error with these extensions). */
  readonly extensions = { code: 'STREAM_ENDED' };
}

interface Group<T> {
  members: Set<PushIterator<T>>;
  stop: (() => void) | null;
  /** The newest result, for a subscriber that joins later (live queries: the answer as it is now). */
  last: { value: T } | null;
}

export class SharedStreams<T> {
  private readonly groups = new Map<string, Group<T>>();

  constructor(private readonly options: { maxQueued: number; onSlowConsumer?: () => void; onDelivered?: (subscribers: number) => void }) {}

  /** Groups with a source running now. */
  get size(): number {
    return this.groups.size;
  }

  /**
   * A subscriber of the group `key`, started with `start` if it is the first. With `replayLast`, a subscriber
   * that joins a running group gets the group's newest result first.
   */
  join(key: string, start: StartSource<T>, options: { replayLast: boolean; onLeave?: () => void }): PushIterator<T> {
    let group = this.groups.get(key);
    const fresh = !group;
    if (!group) {
      group = { members: new Set(), stop: null, last: null };
      this.groups.set(key, group);
    }
    const joined = group;
    const member = new PushIterator<T>(this.options.maxQueued, () => {
      this.leave(key, joined, member);
      options.onLeave?.();
    }, () => this.options.onSlowConsumer?.());
    joined.members.add(member);
    if (options.replayLast && joined.last) member.push(joined.last.value);
    if (fresh) {
      let ended = false;
      const stop = start(
        (value) => {
          if (ended) return;
          joined.last = { value };
          this.options.onDelivered?.(joined.members.size);
          for (const m of [...joined.members]) m.push(value);
        },
        (error) => {
          if (ended) return;
          ended = true;
          joined.stop = null;
          if (this.groups.get(key) === joined) this.groups.delete(key);
          for (const m of [...joined.members]) m.end(error);
        },
      );
      // The source may have ended (or every member left) while starting.
      if (ended || joined.members.size === 0) stop();
      else joined.stop = stop;
    }
    return member;
  }

  /** Ends every subscriber of every group with `error` (a shutdown), and stops every source. */
  endAll(error: Error): void {
    for (const [key, group] of [...this.groups]) {
      this.groups.delete(key);
      for (const member of [...group.members]) member.end(error);
      const stop = group.stop;
      group.stop = null;
      stop?.();
    }
  }

  private leave(key: string, group: Group<T>, member: PushIterator<T>): void {
    group.members.delete(member);
    if (group.members.size > 0) return;
    if (this.groups.get(key) === group) this.groups.delete(key);
    const stop = group.stop;
    group.stop = null;
    stop?.();
  }
}

/**
 * An async generator fed from outside: `push` queues a value (or hands it to a waiting `next`), `end` finishes it
 * after what is queued, with an error thrown once the queue is drained. Either way, and on `return()` (the client
 * went away), it leaves its group at once.
 */
export class PushIterator<T> implements AsyncGenerator<T, void, undefined> {
  private readonly queue: T[] = [];
  private waiting: { resolve: (result: IteratorResult<T, void>) => void; reject: (error: unknown) => void } | null = null;
  private finished = false;
  private failure: Error | null = null;
  private left = false;

  constructor(private readonly maxQueued: number, private readonly onLeave: () => void, private readonly onSlow: () => void) {}

  push(value: T): void {
    if (this.finished) return;
    if (this.waiting) {
      const { resolve } = this.waiting;
      this.waiting = null;
      resolve({ value, done: false });
      return;
    }
    this.queue.push(value);
    if (this.queue.length > this.maxQueued) {
      this.onSlow();
      this.queue.length = 0;
      this.end(new SlowConsumer(`the client took too long to read its results (more than ${this.maxQueued} waiting): the stream was ended`));
    }
  }

  /** Ends the stream (after what is queued) and leaves the group; from the source, a shutdown or a token's expiry. */
  end(error?: Error): void {
    this.leave();
    if (this.finished) return;
    this.finished = true;
    this.failure = error ?? null;
    if (this.waiting) {
      const { resolve, reject } = this.waiting;
      this.waiting = null;
      if (this.failure) reject(this.failure);
      else resolve({ value: undefined, done: true });
      this.failure = null;
    }
  }

  next(): Promise<IteratorResult<T, void>> {
    if (this.queue.length > 0) return Promise.resolve({ value: this.queue.shift()!, done: false });
    if (this.failure) {
      const failure = this.failure;
      this.failure = null;
      return Promise.reject(failure);
    }
    if (this.finished) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<T, void>> {
    this.queue.length = 0;
    this.failure = null;
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error: unknown): Promise<IteratorResult<T, void>> {
    void this.return();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    return this;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.return();
  }

  private leave(): void {
    if (this.left) return;
    this.left = true;
    this.onLeave();
  }
}

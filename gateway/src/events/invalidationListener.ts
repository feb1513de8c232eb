/**
 * Listens to the change events of every source that publishes and reports the entities they name, so the entity
 * cache can evict them and an edit shows in well under max-age. A subgraph that keeps a copy of another's data
 * publishes when IT applied a change, so listening to every publisher means an entry is evicted after the copy it
 * will be read from again holds the change. Two kinds of source, as for the subgraphs: change feeds (one
 * long-polling loop per feed, feedListener.ts) or NATS JetStream (one ordered, ephemeral consumer per stream and
 * subject, per gateway process, streamListener.ts: every process sees every event and keeps no state at the broker).
 *
 * Each feed and each subject is a source of the gateway's change coverage (changeCoverage.ts): it says when it
 * follows, when it is behind (its missed events are replayed from its position when it is back), and when it has
 * to start again without what came before (its first position, or a gap it cannot bridge), which makes every
 * answer cached before it be revalidated. Failures are logged and retried, never fatal.
 */
import { systemClock, type Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { ChangeSource } from './changeCoverage.js';
import { entityChangeFrom } from './entityChange.js';
import { listenToFeed } from './feedListener.js';
import { listenToStreams, type NatsSubscription } from './streamListener.js';

export type { NatsSubscription } from './streamListener.js';

/** Where change events come from (the gateway's config). */
export type InvalidationSource = (
  | { kind: 'feed'; /** every publisher's feed, e.g. http://127.0.0.1:4003/events */ urls: readonly string[]; waitMs?: number }
  | { kind: 'nats'; servers: string; subscriptions: readonly NatsSubscription[] }
) & {
  /** Event types that evict; without a list, every event that names an entity does. */
  eventTypes?: readonly string[];
};

export type InvalidationOptions = InvalidationSource & { logger?: Logger; clock?: Clock };

export type OnEntityChange = (typename: string, keyFields: Record<string, unknown>) => void;

export interface RunningInvalidationListener {
  stop(): Promise<void>;
}

/** Where each feed or subject reports how it stands: the gateway's ChangeCoverage. */
export interface ChangeSources {
  source(name: string): ChangeSource;
}

/** Starts listening at once (sources that cannot be reached yet are retried); `coverage` hears how each one stands. */
export function startInvalidationListener(options: InvalidationOptions, coverage: ChangeSources, onChange: OnEntityChange): RunningInvalidationListener {
  const types = options.eventTypes ? new Set(options.eventTypes) : null;
  const clock = options.clock ?? systemClock;
  const deliver = (raw: unknown) => {
    const change = entityChangeFrom(raw);
    if (!change || (types && !types.has(change.type))) return;
    try {
      onChange(change.typename, change.keyFields);
    } catch (error) {
      options.logger?.warn('cache invalidation failed', { typename: change.typename, error: String((error as Error)?.message ?? error) });
    }
  };
  if (options.kind === 'nats') {
    return listenToStreams({
      servers: options.servers,
      subscriptions: options.subscriptions.map((s) => ({ ...s, source: coverage.source(`nats ${s.stream} ${s.subject}`) })),
      clock,
      ...(options.logger ? { logger: options.logger } : {}),
    }, deliver);
  }
  const feeds = options.urls.map((url) => listenToFeed(url, {
    waitMs: options.waitMs ?? 20_000,
    clock,
    source: coverage.source(`feed ${url}`),
    ...(options.logger ? { logger: options.logger } : {}),
  }, deliver));
  return {
    async stop() {
      await Promise.all(feeds.map((feed) => feed.stop()));
    },
  };
}

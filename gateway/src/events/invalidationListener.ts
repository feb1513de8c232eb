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
import type { GatewayFeature } from '../feature.js';
import type { Logger } from '../logger.js';
import { text, type SettingGroup } from '../settings.js';
import type { ChangeSource } from './changeCoverage.js';
import { entityChangeFrom, type EntityChange } from './entityChange.js';
import { inMessageSpan } from '../telemetry/tracing.js';
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

export type OnEntityChange = (typename: string, keyFields: Record<string, unknown>, change: EntityChange) => void;

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
      onChange(change.typename, change.keyFields, change);
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

/**
 * Change events as a feature: listening starts with the gateway (before its supergraph loads) and stops with it.
 * `cache` evicts what an event names.
 */
export function useChangeEvents(source: InvalidationSource, coverage: ChangeSources, cache: { invalidateEntity(typename: string, keyFields: Record<string, unknown>): number }, options: { logger: Logger; clock: Clock }): GatewayFeature {
  let listener: RunningInvalidationListener | null = null;
  return {
    name: 'change events',
    start() {
      listener = startInvalidationListener({ ...source, ...options }, coverage, (typename, keyFields, change) => {
        // In the trace of the change, when its event carries one (telemetry/tracing.ts).
        inMessageSpan(`evict ${change.type}`, change.traceparent, { 'event.type': change.type, 'gateway.entity.typename': typename }, (span) => {
          const evicted = cache.invalidateEntity(typename, keyFields);
          span?.setAttribute('gateway.evicted', evicted);
          options.logger.debug('change event heard', { typename, keyFields, evicted });
        });
      });
    },
    stop: () => listener?.stop(),
  };
}

/** Where change events come from: every publisher's feed, or JetStream subjects (see config.ts for how they combine). */
export const INVALIDATION_SETTINGS = {
  feedUrl: text('INVALIDATION_FEED_URL', { default: null, defaultText: 'unset', values: 'http(s) URLs, comma-separated', doc: 'evict cached entities from these change feeds, one listener each (npm start: topclients\', gigs\' and users\' /events)' }),
  natsUrl: text('INVALIDATION_NATS_URL', { default: null, defaultText: 'unset', values: 'nats://host:port, comma-separated', doc: 'or from NATS JetStream: one ordered consumer per subject, per gateway process' }),
  natsStream: text('INVALIDATION_NATS_STREAM', { default: null, defaultText: 'required with INVALIDATION_NATS_URL', values: 'stream names, comma-separated', doc: 'one stream for every subject, or one per subject (in the same order)' }),
  natsSubject: text('INVALIDATION_NATS_SUBJECT', { default: null, defaultText: 'required with INVALIDATION_NATS_URL', values: 'subjects (wildcards allowed), comma-separated', doc: 'the subjects of the change events: one ordered consumer each' }),
  eventTypes: text('INVALIDATION_EVENT_TYPES', { default: null, defaultText: 'every event that names an entity', values: 'event types, comma-separated', doc: 'the event types that evict the entity they name (npm start: client-updated,client-removed,seller-client-ids-applied)' }),
} satisfies SettingGroup;

/**
 * Listens to the change events of every source that publishes and reports the entities they name, so the entity
 * cache can evict them and an edit shows in well under max-age. A subgraph that keeps a copy of another's data
 * publishes when IT applied a change, so listening to every publisher means an entry is evicted after the copy it
 * will be read from again holds the change. Two kinds of source, as for the subgraphs: change feeds (one
 * long-polling `GET <feed>?after=<id>` loop per feed) or NATS JetStream (one ordered, ephemeral consumer per
 * stream and subject, per gateway replica: every replica sees every event and keeps no state at the broker).
 *
 * It starts at the source's current end: what happened before the gateway started is not in its cache. Missing
 * an event while the source is unreachable costs freshness up to max-age, never correctness, so failures are
 * logged and retried, never fatal.
 */
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../logger.js';
import { entityChangeFrom } from './entityChange.js';

/** One stream's change events: `subject` filters them (wildcards allowed). */
export interface NatsSubscription {
  stream: string;
  subject: string;
}

/** Where change events come from (the gateway's config). */
export type InvalidationSource = (
  | { kind: 'feed'; /** every publisher's feed, e.g. http://127.0.0.1:4003/events */ urls: readonly string[]; waitMs?: number }
  | { kind: 'nats'; servers: string; subscriptions: readonly NatsSubscription[] }
) & {
  /** Event types that evict; without a list, every event that names an entity does. */
  eventTypes?: readonly string[];
};

export type InvalidationOptions = InvalidationSource & { logger?: Logger };

export type OnEntityChange = (typename: string, keyFields: Record<string, unknown>) => void;

export interface RunningInvalidationListener {
  stop(): Promise<void>;
}

export async function startInvalidationListener(options: InvalidationOptions, onChange: OnEntityChange): Promise<RunningInvalidationListener> {
  const types = options.eventTypes ? new Set(options.eventTypes) : null;
  const deliver = (raw: unknown) => {
    const change = entityChangeFrom(raw);
    if (!change || (types && !types.has(change.type))) return;
    try {
      onChange(change.typename, change.keyFields);
    } catch (error) {
      options.logger?.warn('cache invalidation failed', { typename: change.typename, error: String((error as Error)?.message ?? error) });
    }
  };
  if (options.kind === 'nats') return listenToNats(options, deliver);
  const feeds = options.urls.map((url) => listenToFeed(url, options, deliver));
  return {
    async stop() {
      await Promise.all(feeds.map((feed) => feed.stop()));
    },
  };
}

function listenToFeed(url: string, options: Extract<InvalidationOptions, { kind: 'feed' }>, deliver: (raw: unknown) => void): RunningInvalidationListener {
  const controller = new AbortController();
  const { signal } = controller;
  const waitMs = options.waitMs ?? 20_000;
  let after: number | null = null;
  const loop = (async () => {
    let failures = 0;
    while (!signal.aborted) {
      try {
        if (after === null) {
          const head = await fetch(`${url.replace(/\/$/, '')}/head`, { signal });
          if (!head.ok) throw new Error(`HTTP ${head.status} from ${url}/head`);
          after = ((await head.json()) as { head: number }).head;
        }
        const target = new URL(url);
        target.searchParams.set('after', String(after));
        target.searchParams.set('waitMs', String(waitMs));
        target.searchParams.set('limit', '500');
        const response = await fetch(target, { signal });
        if (!response.ok) throw new Error(`HTTP ${response.status} from ${url}`);
        const page = (await response.json()) as { events?: { id?: unknown }[]; head?: unknown };
        // A source whose outbox restarted (new database) reuses ids we passed: follow it from its new end.
        if (typeof page.head === 'number' && page.head < after) after = page.head;
        for (const event of page.events ?? []) {
          deliver(event);
          const id = Number(event.id);
          if (Number.isSafeInteger(id) && id > after) after = id;
        }
        if (failures > 0) options.logger?.info('invalidation feed reachable again', { url });
        failures = 0;
      } catch (error) {
        if (signal.aborted) break;
        failures += 1;
        if (failures === 1 || failures % 20 === 0) {
          options.logger?.warn('invalidation feed unreachable; cached entities expire by max-age meanwhile', {
            url, error: String((error as Error)?.message ?? error), failures,
          });
        }
        await pause(Math.min(5_000, 100 * 2 ** Math.min(failures, 6)), signal);
      }
    }
  })();
  return {
    async stop() {
      controller.abort();
      await loop;
    },
  };
}

async function listenToNats(options: Extract<InvalidationOptions, { kind: 'nats' }>, deliver: (raw: unknown) => void): Promise<RunningInvalidationListener> {
  const nc: NatsConnection = await connect({
    servers: options.servers.split(',').map((s) => s.trim()),
    name: 'gateway-invalidation',
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
  });
  const consumers = options.subscriptions.map((subscription) => consumeOrdered(nc, subscription, options, deliver));
  return {
    async stop() {
      await Promise.all(consumers.map((consumer) => consumer.stop()));
      await nc.close().catch(() => undefined);
    },
  };
}

/** One ordered consumer: created by the client, in order, recreated by itself after a gap or a broker restart. */
function consumeOrdered(nc: NatsConnection, { stream, subject }: NatsSubscription, options: InvalidationOptions, deliver: (raw: unknown) => void): RunningInvalidationListener {
  let stopped = false;
  let messages: { stop(): void } | null = null;
  const wake = new AbortController();
  const loop = (async () => {
    let failures = 0;
    while (!stopped) {
      try {
        const consumer = await jetstream(nc).consumers.get(stream, { filter_subjects: subject, deliver_policy: DeliverPolicy.New });
        const iterator = await consumer.consume();
        messages = iterator;
        if (stopped) iterator.stop();
        failures = 0;
        for await (const message of iterator) deliver(message.data);
      } catch (error) {
        if (stopped) break;
        failures += 1;
        if (failures === 1 || failures % 20 === 0) {
          options.logger?.warn('invalidation stream unavailable; cached entities expire by max-age meanwhile', {
            stream, subject, error: String((error as Error)?.message ?? error), failures,
          });
        }
        await pause(Math.min(5_000, 100 * 2 ** Math.min(failures, 6)), wake.signal);
      }
    }
  })();
  return {
    async stop() {
      stopped = true;
      messages?.stop();
      wake.abort();
      await loop;
    },
  };
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

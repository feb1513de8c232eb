/**
 * Follows NATS JetStream subjects, the scaled-out transport: one connection, and per stream and subject one ordered
 * consumer (ephemeral, in memory at the broker: every gateway process hears every event and keeps no state there).
 *
 * Its position is the stream sequence of the last message it heard. The first one is the stream's last sequence
 * when the listener first reaches it (a cut: what came before is not in any answer it can vouch for); the consumer
 * starts right after it. Whenever the consumer is lost (the broker restarted, the connection broke for long, the
 * consumer was deleted) it is made again from the position, so what was published meanwhile is heard, late. A
 * stream that cannot give that back is a gap: one made anew (its creation time changed, or its last sequence fell
 * behind the position) or truncated past the position (its first sequence is beyond it, by limits or a purge).
 * The listener then starts from the stream's new end, which is a cut too.
 *
 * A subject is followed once its consumer has delivered everything the stream held for it; while the connection is
 * down, or while a new consumer replays, it is behind.
 */
import { DeliverPolicy, JetStreamApiCodes, JetStreamApiError, jetstream, jetstreamManager, type Consumer, type ConsumerMessages, type StreamInfo } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { ChangeSource } from './changeCoverage.js';
import { afterFailure } from './retry.js';

/** One stream's change events: `subject` filters them (wildcards allowed). */
export interface NatsSubscription {
  stream: string;
  subject: string;
}

export interface StreamListenerOptions {
  /** nats://host:port, comma-separated for several. */
  servers: string;
  /** One per subscription, in the same order. */
  subscriptions: readonly (NatsSubscription & { source: ChangeSource })[];
  clock: Clock;
  logger?: Logger;
}

export interface RunningStreamListener {
  stop(): Promise<void>;
}

export function listenToStreams(options: StreamListenerOptions, deliver: (raw: unknown) => void): RunningStreamListener {
  const stopping = new AbortController();
  const { signal } = stopping;
  let nc: NatsConnection | null = null;
  const run = (async () => {
    nc = await connectUntilStopped(options, signal);
    if (!nc) return;
    const connection = nc;
    const subjects = options.subscriptions.map((subscription) => followSubject(connection, subscription, options, signal, deliver));
    void (async () => {
      for await (const status of connection.status()) {
        if (status.type === 'disconnect') for (const subject of subjects) subject.disconnected();
        if (status.type === 'reconnect') for (const subject of subjects) void subject.reconnected();
      }
    })().catch(() => undefined);
    await Promise.all(subjects.map((subject) => subject.done));
  })();
  return {
    async stop() {
      stopping.abort();
      await run;
      await (nc as NatsConnection | null)?.close().catch(() => undefined);
    },
  };
}

/** The first connection is retried here; once connected, the client reconnects by itself for ever. */
async function connectUntilStopped(options: StreamListenerOptions, signal: AbortSignal): Promise<NatsConnection | null> {
  for (let failures = 1; !signal.aborted; failures++) {
    try {
      const nc = await connect({
        servers: options.servers.split(',').map((s) => s.trim()),
        name: 'gateway-invalidation',
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
      });
      if (!signal.aborted) return nc;
      await nc.close();
    } catch (error) {
      await afterFailure({
        failures, error, sources: options.subscriptions.map((s) => s.source), clock: options.clock, signal,
        log: (reason) => options.logger?.warn('NATS not reached yet; answers cached meanwhile are revalidated once it is', { servers: options.servers, error: reason, failures }),
      });
    }
  }
  return null;
}

/**
 * Left to itself, the client misses a consumer lost between two pulls: a pull for a consumer that no longer exists
 * gets no answer at all, so it would stall until two idle heartbeats (30 s) are missed, and then make the consumer
 * again on whatever stream now has the name, so a stream made anew meanwhile would go unnoticed. So after each pull
 * the consumer is looked up (the broker reads the lookup after the pull, on the same connection), and the iteration
 * ends when the consumer is gone or the client says it is lost or about to be remade; the loop then checks the stream
 * before it makes the consumer again.
 */
const CONSUMER_LOST = new Set(['no_responders', 'consumer_deleted', 'consumer_not_found', 'stream_not_found', 'reset']);

async function endWhenConsumerLost(messages: ConsumerMessages, consumer: Consumer): Promise<void> {
  for await (const notice of messages.status()) {
    if (notice.type === 'next' ? await isGone(consumer) : CONSUMER_LOST.has(notice.type)) {
      messages.stop();
      return;
    }
  }
}

async function isGone(consumer: Consumer): Promise<boolean> {
  try {
    await consumer.info();
    return false;
  } catch (error) {
    // Anything but "not found" (a timeout, a broken connection) is the connection's business, handled elsewhere.
    return error instanceof JetStreamApiError
      && (error.code === JetStreamApiCodes.ConsumerNotFound || error.code === JetStreamApiCodes.StreamNotFound);
  }
}

interface FollowedSubject {
  done: Promise<void>;
  disconnected(): void;
  reconnected(): Promise<void>;
}

function followSubject(
  nc: NatsConnection,
  { stream, subject, source }: NatsSubscription & { source: ChangeSource },
  options: StreamListenerOptions,
  signal: AbortSignal,
  deliver: (raw: unknown) => void,
): FollowedSubject {
  const js = jetstream(nc);
  let position: number | null = null;
  /** The stream's creation time: a stream made anew under the same name has another. */
  let created: string | null = null;
  let messages: ConsumerMessages | null = null;
  let current: Consumer | null = null;
  signal.addEventListener('abort', () => messages?.stop(), { once: true });
  const at = () => `stream ${stream} seq ${position}`;

  const gapIn = (info: StreamInfo): string | null => {
    if (position === null) return 'start';
    if (info.created !== created) return 'source_replaced';
    if (info.state.last_seq < position) return 'source_reset';
    if (info.state.first_seq > position + 1) return 'truncated';
    return null;
  };

  const done = (async () => {
    let failures = 0;
    while (!signal.aborted) {
      try {
        const info = await (await jetstreamManager(nc)).streams.info(stream);
        const gap = gapIn(info);
        if (gap) {
          position = info.state.last_seq;
          created = info.created;
        }
        const consumer = await js.consumers.get(stream, { filter_subjects: subject, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: position! + 1 });
        current = consumer;
        // A missing consumer or stream ends the iteration, so it is made again here, from the position.
        const iterator = await consumer.consume({ abort_on_missing_resource: true });
        messages = iterator;
        if (signal.aborted) iterator.stop();
        void endWhenConsumerLost(iterator, consumer);
        if (gap) source.cut(at(), gap);
        if ((await consumer.info(true)).num_pending === 0) source.following(at());
        else source.behind(`replaying from ${at()}`);
        if (failures > 0) options.logger?.info('invalidation stream reachable again; replaying what it missed', { stream, subject, position });
        failures = 0;
        for await (const message of iterator) {
          deliver(message.data);
          position = message.info.streamSequence;
          if (message.info.pending === 0) source.following(at());
        }
      } catch (error) {
        if (signal.aborted) break;
        failures += 1;
        await afterFailure({
          failures, error, sources: [source], clock: options.clock, signal,
          log: (reason) => options.logger?.warn(position === null
            ? 'invalidation stream not reached yet; answers cached meanwhile are revalidated once it is'
            : 'invalidation stream unavailable; what it misses is replayed once it is back', { stream, subject, error: reason, failures }),
        });
      }
    }
  })();

  return {
    done,
    disconnected: () => source.behind('disconnected from NATS'),
    async reconnected() {
      // The consumer resumes by itself (or, if the broker lost it, ends and is made again above).
      const consumer = current;
      if (position === null || !consumer) return;
      try {
        if ((await consumer.info()).num_pending === 0 && current === consumer) source.following(at());
      } catch {
        // Gone: the consume loop makes it again and reports.
      }
    },
  };
}

/**
 * The scaled-out transport: NATS JetStream. One stream per source (`<prefix>.>`), subjects keyed by the entity
 * (`topclients.seller.<sellerId>`, `topclients.client.<clientId>`; gigs' and users' applied lists on
 * `gigs.seller.<sellerId>`, `users.seller.<sellerId>` in streams GIGS, USERS) so one seller's events stay in order on their
 * subject; the outbox row id is the message id, so JetStream drops a row the relay publishes twice within the
 * stream's duplicate window; consumers are durable, with explicit acks and redelivery.
 */
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JetStreamClient, type JsMsg } from '@nats-io/jetstream';
import { connect, headers, nanos, type NatsConnection } from '@nats-io/transport-node';
import { SpanKind } from '@opentelemetry/api';
import { activeTraceparent, inMessageSpan } from '../../../gateway/src/telemetry/tracing.js';
import type { ConsumerTransport } from '../consumerTransport.js';
import { nextBackoffMs, sleep, type EventLog } from '../eventLog.js';
import type { ChangeEvent } from '../events.js';

export interface JetStreamSettings {
  /** nats://host:port, comma-separated for several. */
  servers: string;
  stream: string;
  /** Subjects are `<subjectPrefix>.seller.<id>` and `<subjectPrefix>.client.<id>`. */
  subjectPrefix: string;
}

/** Connects and keeps reconnecting for ever: a broker restart pauses the flow, it does not end it. */
export async function connectNats(servers: string, name: string, log: EventLog): Promise<NatsConnection> {
  const nc = await connect({
    servers: servers.split(',').map((s) => s.trim()),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    waitOnFirstConnect: false,
  });
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect' || status.type === 'reconnect') log('info', `nats ${status.type}`, { server: status.server });
    }
  })().catch(() => undefined);
  return nc;
}

/** Creates the source's stream if it is missing (file storage: it outlives a broker restart). */
export async function ensureStream(nc: NatsConnection, settings: Pick<JetStreamSettings, 'stream' | 'subjectPrefix'>, duplicateWindowMs = 120_000): Promise<void> {
  const jsm = await jetstreamManager(nc);
  try {
    await jsm.streams.info(settings.stream);
    return;
  } catch {
    // not there yet
  }
  try {
    await jsm.streams.add({ name: settings.stream, subjects: [`${settings.subjectPrefix}.>`], duplicate_window: nanos(duplicateWindowMs) });
  } catch (error) {
    // Another process (the relay, another consumer) created it first.
    await jsm.streams.info(settings.stream).catch(() => {
      throw error;
    });
  }
}

/** Subject tokens may not hold `.`, `*`, `>` or whitespace; ids that do are percent-encoded. */
function token(value: string): string {
  return value.replace(/[.*>\s%]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase()}`);
}

/**
 * The relay does not judge events (consumers park what they cannot read), so a row with a broken payload still
 * gets a subject, `_` standing for the missing id, and reaches the consumers, who park it.
 */
export function subjectFor(subjectPrefix: string, event: ChangeEvent): string {
  const payload = (event.payload ?? {}) as Record<string, unknown>;
  const id = (value: unknown) => (typeof value === 'string' && value !== '' ? token(value) : '_');
  return event.type === 'seller-client-ids-changed' || event.type === 'seller-client-ids-applied'
    ? `${subjectPrefix}.seller.${id(payload.sellerId)}`
    : `${subjectPrefix}.client.${id(payload.clientId)}`;
}

export type EventPublisher = (event: ChangeEvent) => Promise<{ duplicate: boolean; seq: number }>;

/**
 * How long the relay waits for the broker's ack before it publishes the row again. A publish sent while the broker
 * restarts can lose its ack; waiting long for it delays every event behind it, and publishing again costs nothing
 * (the broker drops the duplicate by message id), so the wait is short.
 */
const PUBLISH_ACK_TIMEOUT_MS = 1_000;

export function jetStreamPublisher(nc: NatsConnection, settings: Pick<JetStreamSettings, 'stream' | 'subjectPrefix'>): EventPublisher {
  const js: JetStreamClient = jetstream(nc);
  // In the trace of the change the event carries (tracing on): the message's headers name the publish.
  return (event) => inMessageSpan(`publish ${event.type}`, event.traceparent, { 'messaging.system': 'nats', 'messaging.destination.name': settings.stream, 'messaging.message.id': event.id }, async () => {
    const traceparent = activeTraceparent();
    const messageHeaders = traceparent ? headers() : undefined;
    messageHeaders?.set('traceparent', traceparent!);
    const ack = await js.publish(subjectFor(settings.subjectPrefix, event), JSON.stringify(event), {
      msgID: event.id,
      expect: { streamName: settings.stream },
      timeout: PUBLISH_ACK_TIMEOUT_MS,
      ...(messageHeaders ? { headers: messageHeaders } : {}),
    });
    return { duplicate: ack.duplicate, seq: ack.seq };
  }, SpanKind.PRODUCER);
}

export interface JetStreamConsumerOptions {
  nc: NatsConnection;
  stream: string;
  subjectPrefix: string;
  /** The durable consumer's name: one per consuming service ("gigs"), shared by its replicas. */
  durable: string;
  /** Page subgraphs need the seller lists only. */
  filterSubject: string;
  /** How long an unacked message waits before JetStream delivers it again. */
  ackWaitMs?: number;
  log: EventLog;
}

export function jetStreamTransport(options: JetStreamConsumerOptions): ConsumerTransport {
  const { nc, stream, durable, log } = options;
  const js = jetstream(nc);
  async function durableConsumer() {
    await ensureStream(nc, options);
    const jsm = await jetstreamManager(nc);
    try {
      await jsm.consumers.info(stream, durable);
    } catch {
      await jsm.consumers.add(stream, {
        durable_name: durable,
        ack_policy: AckPolicy.Explicit,
        ack_wait: nanos(options.ackWaitMs ?? 10_000),
        deliver_policy: DeliverPolicy.All,
        filter_subject: options.filterSubject,
        max_deliver: -1,
      });
    }
    return js.consumers.get(stream, durable);
  }
  return {
    kind: 'nats',
    start(handle) {
      let stopped = false;
      let messages: { stop(): void } | null = null;
      const wake = new AbortController();
      const loop = (async () => {
        let backoffMs = 0;
        while (!stopped) {
          try {
            const consumer = await durableConsumer();
            const iterator = await consumer.consume({ max_messages: 200 });
            messages = iterator;
            if (stopped) iterator.stop();
            for await (const message of iterator) {
              await deliver(message);
              backoffMs = 0;
            }
          } catch (error) {
            if (stopped) break;
            backoffMs = nextBackoffMs(backoffMs);
            log('warn', 'jetstream consume failed; retrying', { stream, durable, error: String((error as Error)?.message ?? error), retryInMs: backoffMs });
            await sleep(backoffMs, wake.signal);
          }
        }
      })();
      async function deliver(message: JsMsg) {
        try {
          await handle([{ position: message.seq, raw: message.string() }]);
        } catch (error) {
          // Not committed: ask for it again shortly. Versions keep a late redelivery harmless.
          message.nak(500);
          log('warn', 'event not applied; asked for redelivery', { stream, position: message.seq, error: String((error as Error)?.message ?? error) });
          return;
        }
        message.ack();
      }
      return {
        async stop() {
          stopped = true;
          messages?.stop();
          wake.abort();
          await loop;
          await nc.flush().catch(() => undefined);
        },
      };
    },
    async pending() {
      try {
        const info = await (await jetstreamManager(nc, { timeout: 2_000 })).consumers.info(stream, durable);
        return info.num_pending + info.num_ack_pending;
      } catch {
        return null;
      }
    },
  };
}

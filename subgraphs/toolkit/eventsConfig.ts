/** How topclients' change events travel; read from the environment by config.ts. */
import type { JetStreamSettings } from './transports/jetstream.js';

export type EventsConfig =
  /** Embedded default: consumers pull topclients' outbox over HTTP. */
  | { transport: 'feed'; feedUrl: string }
  /** NATS JetStream: topclients relays its outbox to the stream; consumers are durable JetStream consumers. */
  | { transport: 'nats'; feedUrl: string; nats: JetStreamSettings };

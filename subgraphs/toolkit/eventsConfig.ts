/** How change events travel; read from the environment by config.ts. */
import type { JetStreamSettings } from './transports/jetstream.js';

/** A publisher's own stream: `<subjectPrefix>.>` in `stream`. */
export type OwnStream = Pick<JetStreamSettings, 'stream' | 'subjectPrefix'>;

export type EventsConfig =
  /** Embedded default: consumers pull topclients' outbox over HTTP; every publisher serves its own feed. */
  | { transport: 'feed'; feedUrl: string }
  /**
   * NATS JetStream: topclients relays its outbox to `nats` (its stream); consumers are durable JetStream consumers
   * of it. A page subgraph relays the lists it applied to `ownStream` (default: stream `<NAME>`, prefix `<name>`).
   */
  | { transport: 'nats'; feedUrl: string; nats: JetStreamSettings; ownStream?: OwnStream };

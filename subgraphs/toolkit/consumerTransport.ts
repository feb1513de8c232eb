/**
 * The seam between a consumer and the transport that brings it events. Both transports (the embedded change
 * feed, NATS JetStream) deliver batches in source order; a batch counts as consumed when `handle` resolves (the
 * consumer has committed it), and is delivered again when `handle` throws.
 */
export interface DeliveredEvent {
  /** Where the event sits in the source: the outbox id (feed) or the stream sequence (JetStream). */
  position: number;
  /** The event as it came off the wire, unparsed, so an unreadable one can be parked exactly as received. */
  raw: string;
}

export interface ConsumerTransport {
  readonly kind: 'feed' | 'nats';
  /**
   * Delivers batches to `handle` until the returned `stop` is called. `storedPosition` reads the position the
   * consumer last committed (the feed resumes after it; JetStream keeps its own cursor in the durable consumer).
   */
  start(handle: (events: DeliveredEvent[]) => Promise<void>, storedPosition: () => Promise<number>): { stop(): Promise<void> };
  /** How many events the source holds that the consumer has not yet consumed (null when the source is unreachable). */
  pending(storedPosition: number): Promise<number | null>;
}

/**
 * The gateway's side of a subscription to a subgraph, in the protocol the subgraph speaks (SUBGRAPH_<NAME>_SUBSCRIPTIONS):
 *  - `ws` (the default): graphql-ws (`graphql-transport-ws`) at the subgraph's own URL with a ws: scheme (a routing
 *    URL `http://host:4003/graphql` is subscribed to at `ws://host:4003/graphql`). One WebSocket per subgraph and
 *    caller carries every subscription made for that caller (graphql-ws multiplexes); the caller's identity is
 *    signed in the `connection_init` payload (`{ headers: { <identity header>: <token> } }`).
 *  - `sse`: GraphQL over SSE (graphql-sse, distinct connections) at the subgraph's URL, one request per subscription,
 *    the caller's identity signed in its headers as for a query.
 * Either way the identity is signed anew on every (re)connection. A connection that drops is re-opened with backoff
 * (SUBSCRIPTION_UPSTREAM_RETRIES times) and its subscriptions made again; events the subgraph sent meanwhile are not
 * replayed (subgraphs keep no history for a subscription). When it cannot be re-opened, each of its subscriptions
 * ends with an error. A caller's client is let go with its last subscription.
 */
import { createClient as createSseClient } from 'graphql-sse';
import { createClient, type ExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { Caller } from '../request.js';

export interface UpstreamOperation {
  query: string;
  operationName?: string;
  variables: Record<string, unknown>;
}

export interface UpstreamSink {
  next(result: ExecutionResult): void;
  /** The subscription was lost and could not be made again (or the subgraph refused it). */
  error(error: Error): void;
  complete(): void;
}

export interface UpstreamOptions {
  /** Where a subgraph is reached over HTTP; null when the supergraph has no such subgraph. */
  urlOf(subgraph: string): string | undefined;
  clock: Clock;
  logger: Logger;
  /** Re-connections tried after a connection drops, before its subscriptions end with an error. */
  retries: number;
  /** The first wait before re-connecting; it doubles each time, up to 30 s, with jitter. */
  retryBaseMs: number;
  /** The protocol a subgraph's subscriptions are made in. */
  protocolOf(subgraph: string): SubscriptionProtocol;
}

export type SubscriptionProtocol = 'ws' | 'sse';

/** What both protocols' clients offer (graphql-ws's and graphql-sse's have the same shape). */
interface ProtocolClient {
  subscribe(operation: UpstreamOperation, sink: { next(value: unknown): void; error(error: unknown): void; complete(): void }): () => void;
  dispose(): void | Promise<void>;
}

/** Where a subgraph's subscriptions are made: its URL with the ws(s): scheme. */
export function subscriptionUrl(httpUrl: string): string {
  const url = new URL(httpUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

/** One connection to a subgraph for one caller, and the subscriptions it carries now. */
interface Connection {
  client: ProtocolClient;
  subscriptions: number;
}

export class UpstreamSubscriptions {
  private readonly connections = new Map<string, Connection>();

  constructor(private readonly options: UpstreamOptions) {}

  /** Connections held now (one per subgraph and caller with a subscription). */
  get size(): number {
    return this.connections.size;
  }

  /** Subscribes to `subgraph` as `caller`; returns the unsubscribe. */
  open(subgraph: string, operation: UpstreamOperation, caller: Caller | null, sink: UpstreamSink): () => void {
    const key = `${subgraph}\u0000${caller?.identity ?? ''}`;
    const connection = this.connections.get(key) ?? this.connect(key, subgraph, caller);
    if (!connection) {
      sink.error(new Error(`subgraph ${subgraph} has no URL to subscribe at`));
      return () => undefined;
    }
    connection.subscriptions += 1;
    let released = false;
    // A caller's connection is let go with its last subscription: a gateway seeing many callers holds none of theirs idle.
    const release = () => {
      if (released) return;
      released = true;
      if (--connection.subscriptions > 0 || this.connections.get(key) !== connection) return;
      this.connections.delete(key);
      void connection.client.dispose();
    };
    const unsubscribe = connection.client.subscribe(operation, {
      next: (result) => sink.next(result as ExecutionResult),
      error: (error) => {
        release();
        sink.error(describe(subgraph, error));
      },
      complete: () => {
        release();
        sink.complete();
      },
    });
    return () => {
      unsubscribe();
      release();
    };
  }

  /** Closes every connection (their subscriptions end). */
  async close(): Promise<void> {
    const connections = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(connections.map(({ client }) => client.dispose()));
  }

  private connect(key: string, subgraph: string, caller: Caller | null): Connection | null {
    const httpUrl = this.options.urlOf(subgraph);
    if (!httpUrl) return null;
    const { clock, logger, retries, retryBaseMs } = this.options;
    const retryWait = (attempt: number) => new Promise<void>((resolve) => {
      const ms = Math.min(30_000, retryBaseMs * 2 ** attempt);
      clock.setTimer(ms / 2 + Math.random() * (ms / 2), () => resolve());
    });
    // Signed at each connection, so a re-connection an hour later carries a fresh token.
    const identityHeaders = () => (caller ? caller.signer.headersFor(caller.identity) : {});
    const connection: Connection = { client: this.options.protocolOf(subgraph) === 'sse'
      ? createSseClient({ url: httpUrl, headers: identityHeaders, retryAttempts: retries, retry: retryWait })
      : this.webSocketClient(subgraph, httpUrl, identityHeaders, retryWait), subscriptions: 0 };
    this.connections.set(key, connection);
    return connection;
  }

  private webSocketClient(subgraph: string, httpUrl: string, identityHeaders: () => Record<string, string>, retryWait: (attempt: number) => Promise<void>): ProtocolClient {
    const { logger, retries } = this.options;
    let connectedBefore = false;
    return createClient({
      url: subscriptionUrl(httpUrl),
      webSocketImpl: WebSocket,
      // Connected when its first subscription is made; disposed of with its last one.
      lazy: true,
      retryAttempts: retries,
      // A refused connection (the subgraph restarting) is worth another try too, not only a dropped one.
      shouldRetry: () => true,
      retryWait,
      connectionParams: () => ({ headers: identityHeaders() }),
      on: {
        connected: () => {
          if (connectedBefore) logger.info('subgraph subscriptions re-connected', { subgraph });
          connectedBefore = true;
        },
        closed: (event) => {
          const { code, reason } = (event ?? {}) as { code?: number; reason?: string };
          // 1000: closed on purpose, by us (no subscription left) or by the subgraph.
          if (code !== 1000) logger.warn('subgraph subscriptions connection closed', { subgraph, code, reason: String(reason ?? '') });
        },
      },
    });
  }
}

/** What ended an upstream subscription, in words: a close event, a refused subscription's errors, or an error. */
function describe(subgraph: string, error: unknown): Error {
  if (Array.isArray(error)) return new Error(`subgraph ${subgraph} refused the subscription: ${error.map((e) => (e as { message?: string }).message).join('; ')}`);
  const { code, reason, message } = (error ?? {}) as { code?: number; reason?: string; message?: string };
  if (typeof code === 'number') return new Error(`the subscription to subgraph ${subgraph} was lost (close code ${code}${reason ? `: ${reason}` : ''}) and could not be re-opened`);
  return new Error(`the subscription to subgraph ${subgraph} was lost${message ? ` (${message})` : ''} and could not be re-opened`);
}

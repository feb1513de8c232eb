/**
 * Subscriptions and live queries as a feature of the gateway (docs/SUBSCRIPTIONS.md): the graphql-ws protocol on
 * a WebSocket upgrade of /graphql (webSocketTransport.ts), GraphQL over SSE for a request to /graphql that accepts
 * `text/event-stream` (sseTransport.ts), both running operations through operationStreams.ts.
 *
 * Streams hold no admission slot (the runtime hands event-stream requests over before admission, and upgrades never
 * reach it): a stream is waiting, not working, and each event or re-run it causes goes through the read path with a
 * budget of its own. A drain (SIGTERM) ends every stream with a reason the client can act on.
 */
import { GraphQLError } from 'graphql';
import type { Authenticator } from '../auth/authenticator.js';
import type { Clock } from '../clock.js';
import type { GatewayFeature } from '../feature.js';
import type { Logger } from '../logger.js';
import { boolean, choice, family, integer, type SettingGroup, type SettingValues } from '../settings.js';
import { OperationStreams, type OperationStreamsDeps } from './operationStreams.js';
import { sseTransport } from './sseTransport.js';
import { webSocketTransport } from './webSocketTransport.js';

export type StreamsConfig = SettingValues<typeof STREAM_SETTINGS>;

export interface SubscriptionsFeature extends GatewayFeature {
  readonly streams: OperationStreams;
}

export function useSubscriptions(config: StreamsConfig, deps: Omit<OperationStreamsDeps, 'limits' | 'upstream'> & { authenticator: Authenticator; clock: Clock; logger: Logger; maxBodyBytes: number }): SubscriptionsFeature {
  const { authenticator, clock, logger, metrics, maxBodyBytes } = deps;
  const streams = new OperationStreams({
    ...deps,
    limits: { perCaller: config.maxPerCaller, total: config.maxStreams, maxQueued: config.maxQueued, liveMinIntervalMs: config.liveMinIntervalMs, liveRetryMs: config.liveRetryMs },
    upstream: { retries: config.upstreamRetries, retryBaseMs: config.upstreamRetryMs, protocolOf: (subgraph) => config.subgraphProtocols[subgraph.toLowerCase()] ?? 'ws' },
  });
  const webSocket = webSocketTransport({
    streams,
    authenticator,
    clock,
    logger,
    metrics,
    limits: {
      initTimeoutMs: config.initTimeoutMs,
      perConnection: config.maxPerConnection,
      idleTimeoutMs: config.idleTimeoutMs,
      keepAliveMs: config.keepAliveMs,
      maxMessageBytes: maxBodyBytes,
    },
  });
  const eventStreams = sseTransport({ streams, gate: deps.gate, authenticator, clock, maxBodyBytes });
  const shutdown = () => {
    eventStreams.drain();
    void webSocket.close();
    streams.endAll(new GraphQLError('The gateway is stopping: subscribe again (to another replica, or to this one when it is back)', { extensions: { code: 'SHUTTING_DOWN' } }));
  };
  return {
    name: 'subscriptions',
    streams,
    upgrades: { '/graphql': webSocket.upgrade, '/': webSocket.upgrade },
    eventStreams: (req, res) => eventStreams.serve(req, res),
    drain: shutdown,
    async stop() {
      shutdown();
      await streams.close();
    },
  };
}

/** The streaming transports, their limits, and live queries. */
export const STREAM_SETTINGS = {
  enabled: boolean('SUBSCRIPTIONS', { default: true, doc: 'subscriptions and live queries at /graphql over WebSocket (graphql-ws) and SSE (docs/SUBSCRIPTIONS.md); off: upgrades are refused and event-stream requests are answered as any other' }),
  maxStreams: integer('STREAMS_MAX', { default: 10_000, min: 1, max: 1_000_000, unit: 'streams', doc: 'subscriptions and live queries one gateway process serves at once; past it, TOO_MANY_STREAMS for the new one' }),
  maxPerCaller: integer('STREAMS_MAX_PER_CALLER', { default: 100, min: 1, max: 100_000, unit: 'streams', doc: 'streams one identified caller may have open at once in one process (anonymous callers are bounded per connection and in all)' }),
  maxPerConnection: integer('STREAMS_MAX_PER_CONNECTION', { default: 100, min: 1, max: 100_000, unit: 'streams', doc: 'operations one WebSocket connection may carry at once; the one over it gets TOO_MANY_STREAMS, the others carry on' }),
  maxQueued: integer('STREAMS_MAX_QUEUED', { default: 100, min: 1, max: 100_000, doc: 'results a client may leave unread before its stream is ended as too slow' }),
  initTimeoutMs: integer('STREAMS_INIT_TIMEOUT_MS', { default: 3_000, min: 100, max: 60_000, unit: 'ms', doc: 'how long a new WebSocket may take to send connection_init (then closed 4408)' }),
  idleTimeoutMs: integer('STREAMS_IDLE_TIMEOUT_MS', { default: 300_000, min: 1_000, max: 86_400_000, unit: 'ms', doc: 'a WebSocket that carries no operation that long is closed (1000)' }),
  keepAliveMs: integer('STREAMS_KEEPALIVE_MS', { default: 12_000, min: 1_000, max: 600_000, unit: 'ms', doc: 'a WebSocket ping this often; a peer that does not answer in as long is cut' }),
  liveMinIntervalMs: integer('LIVE_QUERY_MIN_INTERVAL_MS', { default: 250, min: 0, max: 3_600_000, unit: 'ms', doc: 'the shortest time between two runs of one live query: changes meanwhile make one run' }),
  liveRetryMs: integer('LIVE_QUERY_RETRY_MS', { default: 2_000, min: 100, max: 60_000, unit: 'ms', doc: 'a live answer with a part that failed at its subgraph is run again after this long, doubling while it keeps failing (up to 60 s), so it fills in once the subgraph is back' }),
  upstreamRetries: integer('SUBSCRIPTION_UPSTREAM_RETRIES', { default: 10, min: 0, max: 1_000, doc: 'times a dropped WebSocket to a subgraph is re-opened (with backoff) before its subscriptions end with SUBGRAPH_UNAVAILABLE' }),
  subgraphProtocols: family('SUBGRAPH_<NAME>_SUBSCRIPTIONS', /^SUBGRAPH_([A-Z0-9_]+?)_SUBSCRIPTIONS$/, choice('SUBGRAPH_<NAME>_SUBSCRIPTIONS', ['ws', 'sse'], { default: 'ws', doc: 'how the gateway subscribes to that subgraph: graphql-ws at its URL with a ws: scheme (ws), or GraphQL over SSE at its URL, one request per subscription (sse, the graphql-sse protocol)' })),
  upstreamRetryMs: integer('SUBSCRIPTION_UPSTREAM_RETRY_MS', { default: 250, min: 10, max: 60_000, unit: 'ms', doc: 'the first wait before re-opening a subgraph\'s WebSocket; it doubles each time, up to 30 s' }),
} satisfies SettingGroup;

/**
 * The graphql-ws protocol (WebSocket subprotocol `graphql-transport-ws`) at /graphql, as Apollo Client's
 * `GraphQLWsLink` and graphql-ws's client speak it; the protocol itself is the `graphql-ws` library's, on the
 * gateway's sockets, logger and clock (webSocketServer.ts).
 *
 * Trust: the caller is authenticated once, at `connection_init`, from its payload (`{ "authorization": "Bearer
 * <token>" }`, or `{ "headers": { "authorization": ... } }`) or else the upgrade request's headers, exactly as an
 * HTTP request is (auth/authenticator.ts). A token that does not verify closes the connection with 4403 and the
 * reason; when the token expires, the connection is closed with 4403 "token expired" (the client connects again
 * with a new one).
 *
 * Limits: the time to send `connection_init` (STREAMS_INIT_TIMEOUT_MS, then 4408), subscriptions per connection
 * (STREAMS_MAX_PER_CONNECTION: an error for the one over it, the others carry on), a connection left with no
 * subscription (STREAMS_IDLE_TIMEOUT_MS, then closed 1000), and heartbeats (a ping every STREAMS_KEEPALIVE_MS; a
 * peer that does not answer in as long is cut). On a graceful shutdown every connection is closed with 1001 "going
 * away", which clients take as a reason to connect again, to this gateway when it is back or to another replica.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { CloseCode, type ConnectionInitMessage, type OperationResult } from 'graphql-ws';
import type { Extra } from 'graphql-ws/use/ws';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { WebSocketServer } from 'ws';
import type { Authenticator } from '../auth/authenticator.js';
import type { Clock, Timer } from '../clock.js';
import type { Logger } from '../logger.js';
import type { GatewayMetrics } from '../metrics/registry.js';
import type { Caller } from '../request.js';
import type { OperationStreams, PreparedStream } from './operationStreams.js';
import { serveGraphQLWs } from './webSocketServer.js';

export interface WebSocketLimits {
  initTimeoutMs: number;
  perConnection: number;
  idleTimeoutMs: number;
  keepAliveMs: number;
  maxMessageBytes: number;
}

/** What the gateway keeps per connection. */
interface Connection {
  caller: Caller | null;
  expiry: Timer | null;
  idle: Timer | null;
}

/** A close reason may be at most 123 bytes (RFC 6455 5.5). */
function closeReason(text: string): string {
  return Buffer.byteLength(text) <= 123 ? text : `${Buffer.from(text).subarray(0, 120).toString('utf8')}...`;
}

export function webSocketTransport(options: {
  streams: OperationStreams;
  authenticator: Authenticator;
  limits: WebSocketLimits;
  clock: Clock;
  logger: Logger;
  metrics: GatewayMetrics;
}): { upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void; close(): Promise<void> } {
  const { streams, authenticator, limits, clock, metrics } = options;
  const server = new WebSocketServer({ noServer: true, maxPayload: limits.maxMessageBytes });
  const connections = new WeakMap<object, Connection>();
  let closing = false;

  /** (Re-)arms the idle timer: when it fires, a connection that carries no subscription then is closed. */
  const watchIdle = (socket: Extra['socket'], connection: Connection, subscriptions: () => number) => {
    connection.idle?.cancel();
    connection.idle = clock.setTimer(limits.idleTimeoutMs, () => {
      if (subscriptions() === 0) socket.close(1000, 'idle: no subscription for a while');
    });
  };

  serveGraphQLWs<ConnectionInitMessage['payload']>({
    connectionInitWaitTimeout: limits.initTimeoutMs,
    async onConnect(ctx) {
      const headers = { ...ctx.extra.request.headers, ...credentialsIn(ctx.connectionParams) };
      const authentication = await authenticator.authenticate(headers);
      if (authentication.kind === 'refused') {
        ctx.extra.socket.close(CloseCode.Forbidden, closeReason(`Forbidden: ${authentication.description}`));
        return false;
      }
      const caller = authentication.kind === 'caller' ? { identity: authentication.identity, signer: authenticator.signer! } : null;
      const connection: Connection = { caller, expiry: null, idle: null };
      if (authentication.kind === 'caller' && authentication.expiresAtMs !== null) {
        // A token's exp is wall-clock time, as its verification reads it.
        connection.expiry = clock.setTimer(authentication.expiresAtMs - Date.now(), () => {
          metrics.streamDrops.inc({ reason: 'token_expired' }, Object.keys(ctx.subscriptions).length);
          ctx.extra.socket.close(CloseCode.Forbidden, 'Forbidden: the token has expired');
        });
      }
      connections.set(ctx.extra.socket, connection);
      watchIdle(ctx.extra.socket, connection, () => Object.keys(ctx.subscriptions).length);
      return true;
    },
    onSubscribe(ctx, _id, payload) {
      const connection = connections.get(ctx.extra.socket)!;
      // The one being subscribed is already counted.
      const open = Object.keys(ctx.subscriptions).length;
      if (open > limits.perConnection) {
        metrics.streamDrops.inc({ reason: 'limit' });
        return [new GraphQLError(`A connection may carry at most ${limits.perConnection} subscriptions at once (STREAMS_MAX_PER_CONNECTION)`, { extensions: { code: 'TOO_MANY_STREAMS' } })];
      }
      const prepared = streams.prepare(payload, connection.caller, 'ws');
      if ('errors' in prepared) return prepared.errors;
      return { schema: undefined as never, document: prepared.document, operationName: prepared.operationName, variableValues: prepared.variables, contextValue: prepared };
    },
    // Results are JSON already (errors formatted): what graphql-ws sends as they are.
    execute: (args) => (args.contextValue as PreparedStream).run() as OperationResult,
    subscribe: (args) => (args.contextValue as PreparedStream).run() as OperationResult,
    // graphql-ws formats errors by calling their toJSON(); a live or one-off query's answer comes from Apollo Server
    // already formatted (plain objects), a subscription event's errors are GraphQLErrors: both are sent formatted.
    onNext: (_ctx, _id, _payload, _args, result) => (result.errors ? { ...result, errors: result.errors.map(formatted) } : undefined),
    onComplete(ctx) {
      const connection = connections.get(ctx.extra.socket);
      if (connection) watchIdle(ctx.extra.socket, connection, () => Object.keys(ctx.subscriptions).length);
    },
    onClose(ctx) {
      const connection = connections.get(ctx.extra.socket);
      connection?.expiry?.cancel();
      connection?.idle?.cancel();
    },
  }, server, { keepAliveMs: limits.keepAliveMs, logger: options.logger });

  return {
    upgrade(req, socket, head) {
      if (closing) {
        socket.end('HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
        return;
      }
      server.handleUpgrade(req, socket, head, (ws) => server.emit('connection', ws, req));
    },
    async close() {
      closing = true;
      for (const client of server.clients) client.close(1001, 'going away: the gateway is stopping; connect again');
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Credentials a `connection_init` payload may carry, as the request headers they stand for. */
function credentialsIn(payload: unknown): Record<string, string> {
  if (payload === null || typeof payload !== 'object') return {};
  const { authorization, headers } = payload as { authorization?: unknown; headers?: unknown };
  const fromHeaders = headers !== null && typeof headers === 'object' ? (headers as Record<string, unknown>) : {};
  const found: Record<string, string> = {};
  for (const [name, value] of Object.entries(fromHeaders)) if (typeof value === 'string') found[name.toLowerCase()] = value;
  if (typeof authorization === 'string') found.authorization = authorization;
  return found;
}

function formatted(error: unknown): GraphQLFormattedError {
  return error instanceof GraphQLError ? error.toJSON() : (error as GraphQLFormattedError);
}

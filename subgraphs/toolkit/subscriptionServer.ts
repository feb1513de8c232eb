/**
 * GraphQL over WebSocket on a subgraph's HTTP server, for its subscriptions: the graphql-transport-ws protocol
 * (graphql-ws's server on `ws`), on the upgrade of `/graphql` and `/`, with the same schema and the same caller as
 * HTTP. The gateway signs the caller as over HTTP and sends it in `connection_init`'s payload
 * (`{ "headers": { "x-gateway-identity": "<jwt>" } }`), or as a header of the upgrade request; it is verified once,
 * when the connection starts, and anything else (missing, forged, expired) makes the connection anonymous, as an
 * unsigned HTTP request is: whatever needs a caller answers UNAUTHENTICATED, the connection stays open.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  createSourceEventStream, execute, GraphQLError, parse, validate,
  type DocumentNode, type ExecutionArgs, type ExecutionResult, type GraphQLSchema,
} from 'graphql';
import type { ApolloServerPlugin } from '@apollo/server';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { GATEWAY_IDENTITY_HEADER, type CallerVerifier } from './gatewayIdentity.js';
import type { RequestContext } from './subgraphServer.js';

/** How long a connection may stay open without `connection_init` (then graphql-ws closes it with 4408). */
const CONNECTION_INIT_TIMEOUT_MS = 5_000;
/** WebSocket close code "going away" (RFC 6455 §7.4.1): the server is stopping. */
const GOING_AWAY = 1001;
const GRAPHQL_PATHS = new Set(['/graphql', '/']);

export interface SubscriptionServerOptions<TContext extends RequestContext> {
  name: string;
  schema: GraphQLSchema;
  context: (base: RequestContext) => TContext;
  callerOf: CallerVerifier;
  /** The largest message accepted, as the largest HTTP body. */
  maxPayloadBytes: number;
  /** After stop() asked them to close, how long connections get before they are cut. */
  graceMs: number;
}

export interface SubscriptionServer {
  /** Closes every WebSocket (1001) and resolves once all are gone; new upgrades are refused meanwhile. */
  stop(): Promise<void>;
}

export function serveSubscriptions<TContext extends RequestContext>(
  server: Server,
  options: SubscriptionServerOptions<TContext>,
): SubscriptionServer {
  const sockets = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes });
  useServer<Record<string, unknown>, { sellerId: string | null }>({
    connectionInitWaitTimeout: CONNECTION_INIT_TIMEOUT_MS,
    onConnect: async (ctx) => {
      ctx.extra.sellerId = await options.callerOf({ [GATEWAY_IDENTITY_HEADER]: identityOf(ctx.connectionParams, ctx.extra.request) });
    },
    // Parsed and validated here so that a bad document is answered with graphql-ws's error message for that
    // operation; graphql-ws's own parse would throw, and a throw closes the whole connection.
    onSubscribe: (ctx, _id, payload) => {
      let document: DocumentNode;
      try {
        document = parse(payload.query);
      } catch (error) {
        if (error instanceof GraphQLError) return [error];
        throw error;
      }
      const errors = validate(options.schema, document);
      if (errors.length > 0) return errors;
      return {
        schema: options.schema,
        document,
        operationName: payload.operationName,
        variableValues: payload.variables,
        contextValue: options.context({ sellerId: ctx.extra.sellerId ?? null }),
      };
    },
    subscribe: (args) => subscribeWithFreshContexts(args, () => options.context({ sellerId: (args.contextValue as RequestContext).sellerId })),
  }, sockets);

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // A client that goes away mid-handshake must not take the process with it.
    socket.on('error', () => socket.destroy());
    if (!GRAPHQL_PATHS.has(pathOf(req))) {
      // Destroyed once the answer is out: the HTTP server keeps sockets half-open, and one left so would hold stop().
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n', () => socket.destroy());
      return;
    }
    sockets.handleUpgrade(req, socket, head, (ws) => sockets.emit('connection', ws, req));
  });

  return {
    async stop() {
      const closed = new Promise<void>((resolve) => sockets.close(() => resolve()));
      for (const ws of sockets.clients) ws.close(GOING_AWAY, `${options.name} is stopping`);
      // A client that does not answer the close is cut, so stop() never waits for it.
      const cut = setTimeout(() => {
        for (const ws of sockets.clients) ws.terminate();
      }, options.graceMs);
      cut.unref();
      await closed;
      clearTimeout(cut);
    },
  };
}

/**
 * For Apollo Server: a subscription sent over HTTP is refused (400, BAD_REQUEST) saying where it is served, since
 * Apollo Server would run it as a query, with no event to resolve.
 */
export const subscriptionsOverWebSocketOnly: ApolloServerPlugin = {
  async requestDidStart() {
    return {
      async didResolveOperation({ operation }) {
        if (operation?.operation !== 'subscription') return;
        throw new GraphQLError('Subscriptions are served over WebSocket (graphql-transport-ws) at this URL, not over HTTP.', {
          extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
        });
      },
    };
  },
};

/** The request's path; an unreadable target (a throw here would end the process) is no path we serve. */
function pathOf(req: IncomingMessage): string {
  try {
    return new URL(req.url ?? '/', 'http://subgraph').pathname;
  } catch {
    return '';
  }
}

/** The signed identity from `connection_init`'s `headers` (any letter case), else from the upgrade request. */
function identityOf(params: Readonly<Record<string, unknown>> | undefined, request: IncomingMessage): string | undefined {
  const headers = params?.headers;
  if (typeof headers === 'object' && headers !== null) {
    for (const [name, value] of Object.entries(headers)) {
      if (name.toLowerCase() === GATEWAY_IDENTITY_HEADER && typeof value === 'string') return value;
    }
  }
  const fromUpgrade = request.headers[GATEWAY_IDENTITY_HEADER];
  return typeof fromUpgrade === 'string' ? fromUpgrade : undefined;
}

/**
 * graphql-js's `subscribe`, but each event is executed with a context of its own, as each HTTP request has one:
 * the context's DataLoaders cache for one execution, and a subscription that shared them would answer every later
 * event with what the first one loaded.
 */
async function subscribeWithFreshContexts(
  args: ExecutionArgs,
  freshContext: () => unknown,
): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
  const source = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in source)) return source;
  const events = source[Symbol.asyncIterator]();
  const results: AsyncIterableIterator<ExecutionResult> = {
    async next() {
      const event = await events.next();
      if (event.done) return { value: undefined, done: true };
      return { value: await execute({ ...args, rootValue: event.value, contextValue: freshContext() }), done: false };
    },
    // Straight to the source, so an unsubscribe ends a `next()` waiting for the next event (an async generator
    // would queue the return behind it).
    async return() {
      await events.return?.();
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return results;
    },
  };
  return results;
}

/**
 * Builds and serves one subgraph: @apollo/subgraph schema + Apollo Server on a plain node:http server, with
 * `/health` and any extra routes a service adds (its change feed, for example), and its subscriptions over
 * WebSocket on the same port (subscriptionServer.ts). Build and listen are one call returning `{ url, stop }`, so
 * tests start exactly what `main` starts, on port 0.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer, HeaderMap } from '@apollo/server';
import type { Tracer } from '@opentelemetry/api';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginInlineTrace } from '@apollo/server/plugin/inlineTrace';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import type { DocumentNode } from 'graphql';
import { inServerSpan } from '../../gateway/src/telemetry/tracing.js';
import { entityCacheProtocolPlugin, type EntityVersions } from './entityCacheProtocol.js';
import { gatewayIdentityVerifier, type CallerVerifier } from './gatewayIdentity.js';
import { serveSubscriptions, subscriptionsOverWebSocketOnly } from './subscriptionServer.js';

/** How long stop() waits for requests in flight (and WebSockets for their close) before closing their connections. */
const STOP_GRACE_MS = 1_000;

export interface RequestContext {
  /** The calling seller, as the gateway signed it (gatewayIdentity.ts); null for anonymous reads and anything unsigned. */
  sellerId: string | null;
}

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

export interface SubgraphServerOptions<TContext extends RequestContext> {
  name: string;
  typeDefs: DocumentNode;
  resolvers: GraphQLResolverMap<TContext>;
  /** Adds the service's own fields (its database, ...) to each request's context. */
  context: (base: RequestContext) => TContext;
  routes?: Record<string, RouteHandler>;
  /** Entity types whose validators derive from a version (entity-cache protocol, gateway/PROTOCOL.md). */
  entityVersions?: EntityVersions;
  host?: string;
  port?: number;
  maxBodyBytes?: number;
  /** GATEWAY_SUBGRAPH_SECRET: identities signed with it are believed; without it the subgraph acts for nobody. */
  gatewaySecret?: string | null;
  /**
   * Added as `stale-while-revalidate` (RFC 5861 §3) to the Cache-Control of every answer Apollo's cache policy
   * made cacheable (max-age above 0, root queries and `_entities` alike); 0 or absent sends none.
   */
  staleWhileRevalidateSeconds?: number;
  /** A server span per GraphQL request, in the trace the gateway's `traceparent` names (OpenTelemetry). */
  tracer?: Tracer | null;
}

export interface RunningSubgraph {
  name: string;
  url: string;
  stop(): Promise<void>;
}

export async function startSubgraphServer<TContext extends RequestContext>(
  options: SubgraphServerOptions<TContext>,
): Promise<RunningSubgraph> {
  const maxBodyBytes = options.maxBodyBytes ?? 1_048_576;
  const callerOf = gatewayIdentityVerifier(options.gatewaySecret);
  const schema = buildSubgraphSchema({ typeDefs: options.typeDefs, resolvers: options.resolvers as GraphQLResolverMap<unknown> });
  const apollo = new ApolloServer<TContext>({
    schema,
    // Subgraphs are reached through the gateway; people explore the graph there. Inline traces are sent only
    // when the gateway asks for them (usage reporting on), so installing the plugin explicitly costs nothing.
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginInlineTrace(),
      // Per-entity validators and max-age on `_entities`, ETag / 304 on cacheable root queries.
      entityCacheProtocolPlugin<TContext>({ versions: options.entityVersions }),
      subscriptionsOverWebSocketOnly,
    ],
    includeStacktraceInErrorResponses: false,
  });
  await apollo.start();

  const routes = options.routes ?? {};
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://subgraph');
    if (url.pathname === '/health') return sendJson(res, 200, { status: 'ok', service: options.name });
    const route = routes[url.pathname];
    if (route) {
      Promise.resolve(route(req, res, url)).catch((error: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { error: String((error as Error)?.message ?? error) });
        else res.destroy();
      });
      return;
    }
    if (url.pathname !== '/graphql' && url.pathname !== '/') return sendJson(res, 404, { error: 'not found' });
    const serve = () => serveGraphQL(apollo, options, req, res, url, maxBodyBytes, callerOf);
    // Traced: the request's server span, under the gateway's call that reached it.
    (options.tracer ? inServerSpan(options.tracer, req, res, url, serve) : serve()).catch(() => {
      if (!res.headersSent) sendJson(res, 500, { errors: [{ message: 'Internal server error' }] });
    });
  });
  server.keepAliveTimeout = 65_000;
  const subscriptions = serveSubscriptions(server, {
    name: options.name, schema, context: options.context, callerOf, maxPayloadBytes: maxBodyBytes, graceMs: STOP_GRACE_MS,
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    name: options.name,
    url: `http://${options.host && options.host !== '0.0.0.0' ? options.host : '127.0.0.1'}:${port}/graphql`,
    async stop() {
      // WebSockets are told first (1001): the HTTP server's close waits for every connection, theirs included.
      const socketsClosed = subscriptions.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // Requests in flight get a moment to finish; long-polls of the change feed would otherwise hold the
        // server open until they time out, so whatever is left after the grace period is cut.
        setTimeout(() => server.closeAllConnections(), STOP_GRACE_MS).unref();
      });
      await socketsClosed;
      await apollo.stop();
    },
  };
}

async function serveGraphQL<TContext extends RequestContext>(
  apollo: ApolloServer<TContext>,
  options: SubgraphServerOptions<TContext>,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  maxBodyBytes: number,
  callerOf: CallerVerifier,
): Promise<void> {
  const raw = await readBody(req, maxBodyBytes);
  if (raw === null) return sendJson(res, 413, { errors: [{ message: `Request body is larger than ${maxBodyBytes} bytes` }] });
  let body: unknown;
  if (raw.length > 0) {
    try {
      body = JSON.parse(raw);
    } catch {
      return sendJson(res, 400, { errors: [{ message: 'Request body is not valid JSON', extensions: { code: 'BAD_REQUEST' } }] });
    }
  }
  const sellerId = await callerOf(req.headers);
  const headers = new HeaderMap();
  for (const [key, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
  }
  const response = await apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method: req.method ?? 'GET', headers, search: url.search, body },
    context: async () => options.context({ sellerId }),
  });
  for (const [key, value] of response.headers) res.setHeader(key, value);
  const cacheControl = response.headers.get('cache-control');
  if (options.staleWhileRevalidateSeconds && cacheControl && /(^|,\s*)max-age=[1-9]/.test(cacheControl)) {
    res.setHeader('cache-control', `${cacheControl}, stale-while-revalidate=${options.staleWhileRevalidateSeconds}`);
  }
  res.statusCode = response.status ?? 200;
  // 304 Not Modified has no body (RFC 9110 §15.4.5); the client keeps its copy.
  if (res.statusCode === 304) {
    res.removeHeader('content-length');
    res.removeHeader('content-type');
    res.end();
    return;
  }
  if (response.body.kind === 'complete') {
    res.end(response.body.string);
    return;
  }
  for await (const chunk of response.body.asyncIterator) res.write(chunk);
  res.end();
}

/** Reads the whole body, or returns null once it passes `limit` bytes. */
export function readBody(req: IncomingMessage, limit: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) over = true;
      if (!over) chunks.push(chunk);
    });
    req.on('end', () => resolve(over ? null : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * Small real subgraphs for gateway tests, on port 0, independent of the reference deployment: the gateway is a
 * product for any supergraph. Each records the requests it receives, and serves its subscriptions over graphql-ws
 * and over GraphQL over SSE (graphql-sse, to a request accepting `text/event-stream`), recording each subscription
 * made and who it was signed for.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { composeServices } from '@apollo/composition';
import { ApolloServer, HeaderMap } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import { parse } from 'graphql';
import { createHandler as createSseHandler } from 'graphql-sse/lib/use/http';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';

export interface ReceivedRequest {
  query: string;
  variables: Record<string, any> | undefined;
  headers: IncomingHttpHeaders;
}

export interface ReceivedSubscription {
  query: string;
  variables: Record<string, any> | undefined;
  /**
   * Where the gateway signs the caller: over graphql-ws the `headers` of the connection's `connection_init` payload,
   * over SSE the request's headers.
   */
  headers: Record<string, string>;
  transport: 'ws' | 'sse';
}

export interface TestSubgraph {
  name: string;
  url: string;
  sdl: string;
  received: ReceivedRequest[];
  subscriptions: ReceivedSubscription[];
  /** WebSocket connections open now. */
  openSockets(): number;
  /** Cuts every WebSocket (no close frame: 1006 for the peer), as a subgraph that died would; new ones are still accepted. */
  dropSockets(): void;
  stop(): Promise<void>;
}

export async function startTestSubgraph(name: string, sdl: string, resolvers: GraphQLResolverMap<any>): Promise<TestSubgraph> {
  const schema = buildSubgraphSchema({ typeDefs: parse(sdl), resolvers });
  const apollo = new ApolloServer({
    schema,
    // No usage reporting in tests, so no traces to include (and no start-up notice about them).
    plugins: [ApolloServerPluginInlineTraceDisabled()],
  });
  await apollo.start();
  const received: ReceivedRequest[] = [];
  const subscriptions: ReceivedSubscription[] = [];
  // GraphQL over SSE (graphql-sse, distinct connections): a request that accepts an event stream.
  const eventStreams = createSseHandler({
    schema,
    context: (req) => ({ headers: req.raw.headers }),
    onSubscribe: (req, params) => {
      subscriptions.push({ query: params.query as string, variables: params.variables ?? undefined, headers: stringHeaders(req.raw.headers), transport: 'sse' });
    },
  });
  const server = createServer(async (req, res) => {
    if (req.headers.accept?.includes('text/event-stream')) return eventStreams(req, res);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
    received.push({ query: body?.query ?? '', variables: body?.variables, headers: req.headers });
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) if (typeof value === 'string') headers.set(key, value);
    const response = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method ?? 'POST', headers, search: '', body },
      context: async () => ({ headers: req.headers }),
    });
    for (const [key, value] of response.headers) res.setHeader(key, value);
    res.statusCode = response.status ?? 200;
    res.end(response.body.kind === 'complete' ? response.body.string : '');
  });
  const sockets = new WebSocketServer({ noServer: true });
  const headersOf = (params: unknown) => ((params as { headers?: Record<string, string> } | undefined)?.headers ?? {});
  useServer({
    schema,
    context: (ctx) => ({ headers: headersOf(ctx.connectionParams) }),
    onSubscribe: (ctx, _id, payload) => {
      subscriptions.push({ query: payload.query, variables: payload.variables ?? undefined, headers: headersOf(ctx.connectionParams), transport: 'ws' });
    },
  }, sockets);
  server.on('upgrade', (req, socket, head) => sockets.handleUpgrade(req, socket, head, (ws) => sockets.emit('connection', ws, req)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    name,
    url: `http://127.0.0.1:${port}/graphql`,
    sdl,
    received,
    subscriptions,
    openSockets: () => sockets.clients.size,
    dropSockets() {
      for (const socket of sockets.clients) socket.terminate();
    },
    async stop() {
      for (const socket of sockets.clients) socket.terminate();
      await new Promise<void>((resolve) => sockets.close(() => resolve()));
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await apollo.stop();
    },
  };
}

export function composeTestSupergraph(subgraphs: { name: string; url: string; sdl: string }[]): string {
  const result = composeServices(subgraphs.map((s) => ({ name: s.name, url: s.url, typeDefs: parse(s.sdl) })));
  if (result.errors) throw new Error(result.errors.map((e) => e.message).join('\n'));
  return result.supergraphSdl;
}

function stringHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

/**
 * Contender "sync": stock `@apollo/gateway` with its stock `RemoteGraphQLDataSource` inside `ApolloServer`'s
 * standalone server, one process: what a page pays today when every fetch goes to its subgraph. The only addition
 * is forwarding the caller's `x-seller-id` (the editor's mutations need it), as any deployment of it would.
 *
 * Usage: tsx bench/contenders/sync.ts <supergraph file>; prints `READY <url>`.
 */
process.env.APOLLO_TELEMETRY_DISABLED = 'true';
const { readFileSync } = await import('node:fs');
const { ApolloGateway, RemoteGraphQLDataSource } = await import('@apollo/gateway');
const { ApolloServer } = await import('@apollo/server');
const { startStandaloneServer } = await import('@apollo/server/standalone');

interface Context {
  sellerId?: string;
}

class ForwardIdentity extends RemoteGraphQLDataSource<Context> {
  override willSendRequest({ request, context }: { request: { http?: { headers: { set(k: string, v: string): void } } }; context: Context }) {
    if (context.sellerId) request.http?.headers.set('x-seller-id', context.sellerId);
  }
}

const gateway = new ApolloGateway({
  supergraphSdl: readFileSync(process.argv[2]!, 'utf8'),
  buildService: ({ url }) => new ForwardIdentity({ url }),
});
const server = new ApolloServer<Context>({ gateway });
const { url } = await startStandaloneServer(server, {
  listen: { port: 0, host: '127.0.0.1' },
  context: async ({ req }) => ({ sellerId: typeof req.headers['x-seller-id'] === 'string' ? req.headers['x-seller-id'] : undefined }),
});
console.log(`READY ${url.replace('localhost', '127.0.0.1')}`);
const stop = async () => {
  await server.stop();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());

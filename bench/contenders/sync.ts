/**
 * Contender "sync": stock `@apollo/gateway` with its stock `RemoteGraphQLDataSource` inside `ApolloServer`'s
 * standalone server, one process: what a page pays today when every fetch goes to its subgraph. The only addition
 * is telling the subgraphs who the caller is (the editor's mutations need it), as any deployment of it would have
 * to: the subgraphs believe only a gateway-signed identity, so the caller's `x-seller-id` is forwarded as the
 * `x-gateway-identity` JWT our gateway sends (gateway/src/auth/subgraphIdentity.ts: HS256 with
 * GATEWAY_SUBGRAPH_SECRET, `iss` "gateway", `aud` "subgraphs", `sub` the caller, `iat`, `exp` = `iat` + 60 s),
 * signed here with `jose`, per subgraph request.
 *
 * Usage: GATEWAY_SUBGRAPH_SECRET=... tsx bench/contenders/sync.ts <supergraph file>; prints `READY <url>`.
 */
process.env.APOLLO_TELEMETRY_DISABLED = 'true';
const { readFileSync } = await import('node:fs');
const { ApolloGateway, RemoteGraphQLDataSource } = await import('@apollo/gateway');
const { ApolloServer } = await import('@apollo/server');
const { startStandaloneServer } = await import('@apollo/server/standalone');
const { SignJWT } = await import('jose');

interface Context {
  sellerId?: string;
}

const secret = process.env.GATEWAY_SUBGRAPH_SECRET ? new TextEncoder().encode(process.env.GATEWAY_SUBGRAPH_SECRET) : null;

/** The caller as our gateway signs it for the subgraphs. */
async function signedIdentity(sellerId: string, key: Uint8Array): Promise<string> {
  const issuedAt = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer('gateway')
    .setAudience('subgraphs')
    .setSubject(sellerId)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + 60)
    .sign(key);
}

class ForwardIdentity extends RemoteGraphQLDataSource<Context> {
  override async willSendRequest({ request, context }: { request: { http?: { headers: { set(k: string, v: string): void } } }; context: Context }) {
    if (context.sellerId && secret) request.http?.headers.set('x-gateway-identity', await signedIdentity(context.sellerId, secret));
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

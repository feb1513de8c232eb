import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { jsonLogger } from '../../src/logger.js';
import { startGateway, type RunningGateway } from '../../src/server.js';
import { startTestIssuer, TEST_AUDIENCE, unsecuredToken, type TestIssuer } from '../support/testIssuer.js';
import { signedCaller, TEST_SUBGRAPH_SECRET } from '../support/signedIdentity.js';
import { composeTestSupergraph, startTestSubgraph, type TestSubgraph } from '../support/testSubgraph.js';

const ACCOUNTS = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type Query { whoami: String }
  type Mutation { touch: String }`;

describe('authentication at the gateway', () => {
  let issuer: TestIssuer;
  let accounts: TestSubgraph;
  let dir: string;
  let supergraphFile: string;
  const gateways: RunningGateway[] = [];
  let production: RunningGateway;
  let development: RunningGateway;

  const start = async (env: Record<string, string>) => {
    const gateway = await startGateway(loadConfig({
      PORT: '0', SUPERGRAPH: supergraphFile, SUBGRAPH_ACCOUNTS_URL: accounts.url, GATEWAY_SUBGRAPH_SECRET: TEST_SUBGRAPH_SECRET, ...env,
    }), { logger: jsonLogger('silent') });
    gateways.push(gateway);
    return gateway;
  };
  const ask = (gateway: RunningGateway, headers: Record<string, string> = {}, query = '{ whoami }') =>
    fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query }) });
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  beforeAll(async () => {
    issuer = await startTestIssuer();
    accounts = await startTestSubgraph('accounts', ACCOUNTS, {
      Query: { whoami: (_: unknown, __: unknown, ctx: { headers: Record<string, string> }) => signedCaller(ctx.headers) },
      Mutation: { touch: (_: unknown, __: unknown, ctx: { headers: Record<string, string> }) => `touched by ${signedCaller(ctx.headers)}` },
    });
    dir = await mkdtemp(join(tmpdir(), 'auth-'));
    supergraphFile = join(dir, 'supergraph.graphql');
    await writeFile(supergraphFile, composeTestSupergraph([accounts]));
    production = await start({ GATEWAY_MODE: 'production', PERSISTED_QUERIES: 'off', ...issuer.env });
    development = await start({ GATEWAY_MODE: 'development', IDENTITY_HEADER: 'x-seller-id', ...issuer.env });
  });
  afterAll(async () => {
    for (const gateway of gateways) await gateway.stop();
    await accounts?.stop();
    await issuer?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a valid token acts as its subject, and the subgraph sees it only as the gateway signed it', async () => {
    const answer = await ask(production, bearer(await issuer.token('s1')));
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ data: { whoami: 's1' } });
    const seen = accounts.received.at(-1)!.headers;
    expect(seen.authorization).toBeUndefined();
    expect(seen['x-gateway-identity']).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  });

  it('the caller comes from JWT_IDENTITY_CLAIM when it is set', async () => {
    const gateway = await start({ GATEWAY_MODE: 'production', PERSISTED_QUERIES: 'off', ...issuer.env, JWT_IDENTITY_CLAIM: 'seller_id' });
    const answer = await ask(gateway, bearer(await issuer.token('user-9', { claims: { seller_id: 's9' } })));
    expect(await answer.json()).toEqual({ data: { whoami: 's9' } });
    const without = await ask(gateway, bearer(await issuer.token('user-9')));
    expect(without.status).toBe(401);
  });

  const now = () => Math.floor(Date.now() / 1000);
  const refusals: [string, () => Promise<string>, string][] = [
    ['expired', () => issuer.token('s1', { issuedAt: now() - 600, expiresAt: now() - 120 }), 'the token has expired'],
    ['not valid yet', () => issuer.token('s1', { notBefore: now() + 600 }), 'the token is not valid yet'],
    ['forged (signed by another key)', () => issuer.token('s1', { forged: true }), 'the token signature does not verify'],
    ['meant for another audience', () => issuer.token('s1', { audience: 'another-app' }), 'the token is meant for another audience'],
    ['from another issuer', () => issuer.token('s1', { issuer: 'https://evil.test' }), 'the token was issued by an issuer this gateway does not trust'],
    ['unsigned (alg none)', async () => unsecuredToken('s1'), 'the token is signed with an algorithm this gateway does not accept'],
    ['malformed', async () => 'not-a-jwt', 'the token is malformed'],
  ];
  for (const [what, token, description] of refusals) {
    it(`a token ${what} gets 401 UNAUTHENTICATED with WWW-Authenticate, and no subgraph is called`, async () => {
      const before = accounts.received.length;
      const answer = await ask(production, bearer(await token()), 'mutation { touch }');
      expect(answer.status).toBe(401);
      expect(answer.headers.get('www-authenticate')).toBe(`Bearer realm="graphql", error="invalid_token", error_description="${description}"`);
      const body = (await answer.json()) as { errors: { extensions: { code: string } }[]; data?: unknown };
      expect(body.errors[0]!.extensions.code).toBe('UNAUTHENTICATED');
      expect(body.data).toBeUndefined();
      expect(accounts.received.length).toBe(before);
    });
  }

  it('an expired token within JWT_CLOCK_SKEW_SECONDS still passes, beyond it does not', async () => {
    const justExpired = await issuer.token('s1', { issuedAt: now() - 600, expiresAt: now() - 10 });
    expect((await ask(production, bearer(justExpired))).status).toBe(200);
    const strict = await start({ GATEWAY_MODE: 'production', PERSISTED_QUERIES: 'off', ...issuer.env, JWT_CLOCK_SKEW_SECONDS: '0' });
    expect((await ask(strict, bearer(justExpired))).status).toBe(401);
  });

  it('an Authorization header that is not "Bearer <token>" is invalid_request', async () => {
    const answer = await ask(production, { authorization: 'Basic czE6cHc=' });
    expect(answer.status).toBe(401);
    expect(answer.headers.get('www-authenticate')).toContain('error="invalid_request"');
  });

  it('in production the bare identity header names nobody; in development it names the caller', async () => {
    expect(await (await ask(production, { 'x-seller-id': 's1' })).json()).toEqual({ data: { whoami: null } });
    expect(await (await ask(development, { 'x-seller-id': 's1' })).json()).toEqual({ data: { whoami: 's1' } });
  });

  it('a token wins over the development header, and a bad token is refused even with one', async () => {
    expect(await (await ask(development, { ...bearer(await issuer.token('s2')), 'x-seller-id': 's1' })).json()).toEqual({ data: { whoami: 's2' } });
    expect((await ask(development, { ...bearer(await issuer.token('s2', { forged: true })), 'x-seller-id': 's1' })).status).toBe(401);
  });

  it('a client cannot pose as the gateway by sending x-gateway-identity itself', async () => {
    const forgedSigned = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzMSJ9.c2lnbmF0dXJl';
    expect(await (await ask(production, { 'x-gateway-identity': forgedSigned })).json()).toEqual({ data: { whoami: null } });
    expect(accounts.received.at(-1)!.headers['x-gateway-identity']).toBeUndefined();
  });

  it('answers depend on the caller: GET answers vary on authorization and the development header', async () => {
    const answer = await fetch(`${development.url}?query=${encodeURIComponent('{ whoami }')}`, { headers: { 'apollo-require-preflight': 'true' } });
    expect(answer.headers.get('vary')).toContain('authorization, x-seller-id');
  });

  it('keys from a JWKS URL are fetched and used', async () => {
    const jwksServer: Server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(issuer.jwks)));
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/.well-known/jwks.json`;
      const gateway = await start({ GATEWAY_MODE: 'production', PERSISTED_QUERIES: 'off', JWT_JWKS_URL: url, JWT_ISSUER: 'https://issuer.test', JWT_AUDIENCE: TEST_AUDIENCE });
      expect(await (await ask(gateway, bearer(await issuer.token('s5')))).json()).toEqual({ data: { whoami: 's5' } });
    } finally {
      jwksServer.close();
    }
  });
});

describe('identity settings', () => {
  const problemsOf = (env: Record<string, string>) => {
    try {
      loadConfig({ SUPERGRAPH: 'schema/supergraph.graphql', ...env });
      return [];
    } catch (error) {
      return (error as ConfigError).problems;
    }
  };
  const secret = { GATEWAY_SUBGRAPH_SECRET: TEST_SUBGRAPH_SECRET };

  it('IDENTITY_HEADER is refused in production', () => {
    expect(problemsOf({ GATEWAY_MODE: 'production', IDENTITY_HEADER: 'x-seller-id', ...secret }).join()).toContain('IDENTITY_HEADER ("x-seller-id") is a development shortcut');
  });

  it('a JWKS without issuer and audience, both JWKS sources, or a JWT setting without keys are refused, naming the keys', () => {
    expect(problemsOf({ JWT_JWKS_FILE: '/nonexistent/jwks.json', ...secret })).toEqual([
      'JWT_ISSUER is required with JWT_JWKS_URL or JWT_JWKS_FILE: the issuer tokens must come from',
      'JWT_AUDIENCE is required with JWT_JWKS_URL or JWT_JWKS_FILE: the audience tokens must be meant for',
      expect.stringMatching(/^JWT_JWKS_FILE cannot be read as JSON: "\/nonexistent\/jwks\.json" \(ENOENT/),
    ]);
    expect(problemsOf({ JWT_JWKS_FILE: '/a', JWT_JWKS_URL: 'http://127.0.0.1/jwks', JWT_ISSUER: 'i', JWT_AUDIENCE: 'a', ...secret }).join())
      .toContain('JWT_JWKS_URL and JWT_JWKS_FILE are both set');
    expect(problemsOf({ JWT_AUDIENCE: 'a' }).join()).toContain('JWT_AUDIENCE is set without JWT_JWKS_URL or JWT_JWKS_FILE');
    expect(problemsOf({ JWT_JWKS_URL: 'ftp://x', JWT_ISSUER: 'i', JWT_AUDIENCE: 'a', ...secret }).join()).toContain('JWT_JWKS_URL must be an http(s) URL');
  });

  it('an identity source needs GATEWAY_SUBGRAPH_SECRET, of at least 32 characters', () => {
    expect(problemsOf({ IDENTITY_HEADER: 'x-seller-id' }).join()).toContain('GATEWAY_SUBGRAPH_SECRET is required');
    expect(problemsOf({ IDENTITY_HEADER: 'x-seller-id', GATEWAY_SUBGRAPH_SECRET: 'short' }).join()).toContain('GATEWAY_SUBGRAPH_SECRET must be at least 32 characters');
  });

  it('a JWKS file that is not a key set, or holds private keys, is a configuration problem naming JWT_JWKS_FILE', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'jwks-'));
    try {
      const file = join(dir, 'jwks.json');
      const env = { PORT: '0', SUPERGRAPH: 'schema/supergraph.graphql', JWT_JWKS_FILE: file, JWT_ISSUER: 'i', JWT_AUDIENCE: 'a', ...secret };
      await writeFile(file, '{ nope');
      expect(() => loadConfig(env)).toThrow('JWT_JWKS_FILE cannot be read as JSON');
      await writeFile(file, JSON.stringify({ keys: [{ kty: 'oct', k: 'c2VjcmV0' }] }));
      expect(() => loadConfig(env)).toThrow('JWT_JWKS_FILE must hold public keys only');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

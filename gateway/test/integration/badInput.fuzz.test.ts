/**
 * A few thousand generated bad requests against a real gateway on port 0 (and a subgraph answering garbage):
 * every one must end in a 4xx or a GraphQL error, never a 5xx, a hang or a crash, and memory must stay bounded.
 * The generator is seeded, so a failure names the request that caused it and repeats.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { jsonLogger } from '../../src/logger.js';
import { startGateway, type RunningGateway } from '../../src/server.js';
import { DEVELOPMENT_IDENTITY_ENV } from '../support/signedIdentity.js';
import { startTestIssuer, type TestIssuer } from '../support/testIssuer.js';
import { composeTestSupergraph, startTestSubgraph, type TestSubgraph } from '../support/testSubgraph.js';
import { prng } from '../../../subgraphs/toolkit/demoData.js';

const SHOP = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type Product @key(fields: "id") { id: ID! name: String! price: Int related(first: Int = 3): [Product!]! }
  input Filter { minPrice: Int! tags: [String!] }
  type Query { product(id: ID!): Product products(first: Int!, filter: Filter): [Product!]! }
  type Mutation { rename(id: ID!, name: String!): Product }`;
const PARTS = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type Product @key(fields: "id") { id: ID! stock: Int }`;

const REQUESTS = 3_000;
const CONCURRENCY = 8;
const TIME_LIMIT_MS = 25_000;

interface BadRequest {
  kind: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

function generator(random: () => number) {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const int = (max: number) => Math.floor(random() * max);
  const junk = (length: number) => Array.from({ length }, () => String.fromCharCode(int(0x2fff))).join('');
  const json = { 'content-type': 'application/json' };
  const post = (kind: string, body: unknown, headers: Record<string, string> = json): BadRequest =>
    ({ kind, method: 'POST', path: '/graphql', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const get = (kind: string, params: Record<string, string>, headers: Record<string, string> = { 'apollo-require-preflight': 'true' }): BadRequest =>
    ({ kind, method: 'GET', path: `/graphql?${new URLSearchParams(params)}`, headers });
  const validQuery = '{ product(id: "1") { id name } }';
  const deep = (n: number) => `{ product(id: "1") { ${'related { '.repeat(n)}id${' }'.repeat(n)} } }`;
  const cases: (() => BadRequest)[] = [
    () => post('malformed JSON', pick(['{', '{"query":', '[', '{"query":"{ a }",}', 'null', '"text"', '12', junk(int(200)), '{"query": "\\ud800"}'])),
    () => post('truncated JSON', JSON.stringify({ query: validQuery, variables: { a: 1 } }).slice(0, 1 + int(40))),
    () => post('wrong content type', { query: validQuery }, { 'content-type': pick(['text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', 'image/png']) }),
    () => post('wrong content type with preflight', junk(50), { 'content-type': pick(['text/plain', 'application/graphql', 'application/octet-stream']), 'apollo-require-preflight': 'true' }),
    () => post('no query', pick([{}, { variables: {} }, { query: null }, { query: 42 }, { query: ['{ a }'] }, { operationName: 'X' }])),
    () => post('not GraphQL', { query: pick(['', ' ', '{', 'query {', 'mutation', '}}}', junk(int(100)), 'subscription { x }']) }),
    () => post('operation type the graph lacks', { query: pick(['subscription { x }', 'subscription S { product(id: "1") { id } }']) }),
    () => post('unknown field', { query: `{ ${pick(['nope', 'product { id }', '__nope', 'products { id }'])} }` }),
    () => post('invalid variables', {
      query: 'query($id: ID!, $f: Filter) { product(id: $id) { id } products(first: 2, filter: $f) { id } }',
      variables: pick([{}, { id: null }, { id: { a: 1 } }, { id: '1', f: { minPrice: 'x' } }, { id: '1', f: { tags: [1, 2] } }, { id: '1', f: 'x' }, [], 'x', 7]),
    }),
    () => post('unknown operationName', { query: 'query A { product(id: "1") { id } } query B { product(id: "2") { id } }', operationName: pick([undefined, 'C', '', 7, null]) }),
    () => post('bad persisted query hash', {
      query: pick([validQuery, undefined]),
      extensions: { persistedQuery: pick([{ version: 1, sha256Hash: 'abc' }, { version: 2, sha256Hash: 'a'.repeat(64) }, { version: 1, sha256Hash: 42 }, { version: 1 }, 'x', null, { version: 1, sha256Hash: 'f'.repeat(64) }]) },
    }),
    () => post('too deep', { query: deep(16 + int(30)) }),
    () => post('too many aliases', { query: `{ ${Array.from({ length: 31 + int(100) }, (_, i) => `a${i}: product(id: "${i}") { id }`).join(' ')} }` }),
    () => post('too many directives', { query: `{ product(id: "1") { ${Array.from({ length: 51 + int(50) }, () => 'id @include(if: true)').join(' ')} } }` }),
    () => post('too many tokens', { query: `{ product(id: "1") { ${'id '.repeat(2_001 + int(3_000))}} }` }),
    () => post('too large', { query: `{ product(id: "${'x'.repeat(33_000)}") { id } }` }),
    () => post('batch', pick([[], [{ query: validQuery }], [{ query: validQuery }, { query: validQuery }], [[]], [1, 2], Array.from({ length: 50 }, () => ({ query: validQuery }))])),
    () => post('mutation over bad input', { query: 'mutation($id: ID!, $n: String!) { rename(id: $id, name: $n) { id } }', variables: pick([{}, { id: 1 }, { id: '1', n: null }, { n: 'x' }]) }),
    () => get('GET junk', pick<Record<string, string>>([{ query: junk(int(80)) }, { query: validQuery, variables: '{' }, { query: validQuery, extensions: '[1]' }, { extensions: '{"persistedQuery":{"version":1,"sha256Hash":"zz"}}' }, {}, { operationName: 'X' }])),
    () => get('GET mutation', { query: 'mutation { rename(id: "1", name: "x") { id } }' }),
    () => get('GET without preflight', { query: validQuery }, {}),
    () => ({ kind: 'wrong method', method: pick(['PUT', 'DELETE', 'PATCH']), path: '/graphql', headers: json, body: JSON.stringify({ query: validQuery }) }),
    () => ({ kind: 'unknown path', method: pick(['GET', 'POST']), path: pick(['/nope', '/graphql/x', '/%2e%2e/etc/passwd', `/${junk(5).replace(/[^\w]/g, 'a')}`]), headers: json }),
    () => post('bad Authorization', { query: validQuery }, { ...json, authorization: pick(['Bearer', 'Bearer ', 'Bearer a.b.c', 'Basic dXNlcjpwdw==', `Bearer ${'a'.repeat(4_000)}`, 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJzMSJ9.', 'Token x']) }),
    () => post('bad identity header', { query: validQuery }, { ...json, 'x-seller-id': pick(['a'.repeat(300), 'two words', 'tab\tseparated']) }),
    () => post('too large body', { query: validQuery, padding: 'x'.repeat(1_100_000) }),
  ];
  return () => pick(cases)();
}

describe('bad input never gets through', () => {
  let shop: TestSubgraph;
  let parts: Server;
  let partsAnswer: () => string = () => '{}';
  let issuer: TestIssuer;
  let dir: string;
  let gateway: RunningGateway;

  beforeAll(async () => {
    shop = await startTestSubgraph('shop', SHOP, {
      Query: {
        product: (_: unknown, { id }: { id: string }) => ({ id, name: `Product ${id}`, price: 1 }),
        products: (_: unknown, { first }: { first: number }) => Array.from({ length: Math.min(first, 5) }, (_, i) => ({ id: String(i), name: `P${i}`, price: i })),
      },
      Product: { related: () => [] },
      Mutation: { rename: (_: unknown, { id, name }: { id: string; name: string }) => ({ id, name, price: 1 }) },
    });
    // A subgraph whose answer the test chooses: huge, deeply nested, not JSON.
    parts = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(partsAnswer()));
    });
    await new Promise<void>((resolve) => parts.listen(0, '127.0.0.1', resolve));
    const partsUrl = `http://127.0.0.1:${(parts.address() as AddressInfo).port}/graphql`;
    issuer = await startTestIssuer();
    dir = await mkdtemp(join(tmpdir(), 'fuzz-'));
    const supergraph = join(dir, 'supergraph.graphql');
    await writeFile(supergraph, composeTestSupergraph([shop, { name: 'parts', url: partsUrl, sdl: PARTS }]));
    gateway = await startGateway(loadConfig({
      PORT: '0', SUPERGRAPH: supergraph, SUBGRAPH_MAX_RESPONSE_BYTES: '1048576', ENTITY_CACHE: 'off',
      ...DEVELOPMENT_IDENTITY_ENV, ...issuer.env,
    }), { logger: jsonLogger('silent') });
  });
  afterAll(async () => {
    await gateway?.stop();
    await shop?.stop();
    parts?.close();
    await issuer?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it(`${REQUESTS} generated bad requests each get a 4xx or a GraphQL error, never a 5xx; memory stays bounded`, async () => {
    const next = generator(prng(20_261_125));
    const base = gateway.url.replace(/\/graphql$/, '');
    const startedAt = Date.now();
    const rssBefore = process.memoryUsage().rss;
    const failures: string[] = [];
    const seen = new Map<string, number>();
    let sent = 0;
    const worker = async () => {
      while (sent < REQUESTS && Date.now() - startedAt < TIME_LIMIT_MS) {
        sent += 1;
        const request = next();
        const response = await fetch(`${base}${request.path}`, { method: request.method, headers: request.headers, body: request.body });
        const text = await response.text();
        seen.set(request.kind, (seen.get(request.kind) ?? 0) + 1);
        let graphQLError = false;
        try {
          const body = JSON.parse(text) as { errors?: unknown[] };
          graphQLError = Array.isArray(body.errors) && body.errors.length > 0;
        } catch {
          // not JSON: only acceptable with a 4xx
        }
        const ok = (response.status >= 400 && response.status < 500) || (response.status === 200 && graphQLError);
        if (!ok) failures.push(`${request.kind} ${request.method} ${request.path.slice(0, 80)} ${request.body?.slice(0, 120)} -> ${response.status} ${text.slice(0, 200)}`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    expect(failures.slice(0, 10)).toEqual([]);
    expect(sent).toBeGreaterThanOrEqual(1_000);
    expect(seen.size).toBeGreaterThanOrEqual(20);
    // Still serving, and still itself: a good request after the storm answers normally.
    const good = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ product(id: "1") { id } }' }) });
    expect(await good.json()).toEqual({ data: { product: { id: '1' } } });
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(300 * 1_048_576);
  }, 60_000);

  const answers: [string, () => string][] = [
    ['a body larger than SUBGRAPH_MAX_RESPONSE_BYTES', () => JSON.stringify({ data: { _entities: [{ stock: 1, pad: 'x'.repeat(2_000_000) }] } })],
    ['a body that is not JSON', () => '<html>oops</html>'],
    ['the wrong number of entities', () => JSON.stringify({ data: { _entities: [] } })],
  ];
  for (const [what, answer] of answers) {
    it(`a subgraph answering ${what} nulls only its fields, with SUBGRAPH_BAD_RESPONSE, HTTP 200`, async () => {
      partsAnswer = answer;
      const response = await fetch(gateway.url, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ product(id: "1") { id name stock } }' }),
      });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { data: unknown; errors: { extensions: { code: string; serviceName: string } }[] };
      expect(body.data).toEqual({ product: { id: '1', name: 'Product 1', stock: null } });
      expect(body.errors.map((e) => [e.extensions.code, e.extensions.serviceName])).toEqual([['SUBGRAPH_BAD_RESPONSE', 'parts']]);
    });
  }

  // JSON.parse would accept it, and walking it would overflow the gateway's stack: the transport refuses it first.
  it('a subgraph answering a body nested 100,000 levels deep nulls only its fields, with SUBGRAPH_BAD_RESPONSE', async () => {
    partsAnswer = () => `{"data":{"_entities":[${'['.repeat(100_000)}${']'.repeat(100_000)}]}}`;
    const response = await fetch(gateway.url, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ product(id: "1") { id name stock } }' }),
    });
    const body = (await response.json()) as { errors: { extensions: { code: string } }[] };
    expect(body.errors.map((e) => e.extensions.code)).toEqual(['SUBGRAPH_BAD_RESPONSE']);
  });
});

/**
 * Private data stays private with the cache on: two sellers signed in with real tokens, the same operations, and
 * neither ever sees the other's self-view, whether it comes from the gateway's caches, an APQ entry the other
 * registered, a conditional GET, or a bare identity header naming the other.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestIssuer, type TestIssuer } from '../../gateway/test/support/testIssuer.js';
import { operation } from '../../schema/operations.js';
import { postGraphQL, startSystem, type RunningSystem } from '../support/system.js';

describe('private data between two signed sellers (cache on)', () => {
  let issuer: TestIssuer;
  let system: RunningSystem;
  let as: Record<'s1' | 's2', Record<string, string>>;
  let ids: Record<'s1' | 's2', string[]>;
  let sellers: Record<'s1' | 's2', string>;

  beforeAll(async () => {
    issuer = await startTestIssuer();
    system = await startSystem({ gatewayEnv: { ...issuer.env, ENTITY_CACHE: 'on', ROOT_FETCH_CACHE: 'max-age' } });
    const listed = system.demo.sellers.filter((s) => s.topClientIds.length >= 2);
    const [first, second] = [listed[0]!, listed.find((s) => s.topClientIds.join() !== listed[0]!.topClientIds.join())!];
    sellers = { s1: first.id, s2: second.id };
    ids = { s1: first.topClientIds, s2: second.topClientIds };
    as = {
      s1: { authorization: `Bearer ${await issuer.token(first.id)}` },
      s2: { authorization: `Bearer ${await issuer.token(second.id)}` },
    };
  }, 120_000);
  afterAll(async () => {
    await system?.stop();
    await issuer?.close();
  });

  const myIds = (answer: Awaited<ReturnType<typeof postGraphQL>>) =>
    (answer.body.data?.myTopClients as { id: string }[] | undefined)?.map((c) => c.id);

  it('each seller sees only their own self-view, read after the other, again and again', async () => {
    const query = operation('MyTopClients').body;
    for (let round = 0; round < 3; round += 1) {
      expect(myIds(await system.graphql(query, {}, as.s1))).toEqual(ids.s1);
      expect(myIds(await system.graphql(query, {}, as.s2))).toEqual(ids.s2);
    }
    const anonymous = await system.graphql(query, {});
    expect(anonymous.body.data).toBeNull();
    expect(anonymous.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('an APQ entry one seller registered runs as the other seller for the other seller', async () => {
    const text = '{ myTopClients { id } }';
    const sha256Hash = createHash('sha256').update(text).digest('hex');
    const extensions = { persistedQuery: { version: 1, sha256Hash } };
    const send = (headers: Record<string, string>, withText: boolean) => fetch(system.gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(withText ? { query: text, extensions } : { extensions }),
    }).then(async (r) => ({ status: r.status, body: await r.json() as { data?: { myTopClients: { id: string }[] } | null; errors?: { extensions: { code: string } }[] } }));
    const registered = await send(as.s1, true);
    expect(registered.body.data?.myTopClients.map((c) => c.id)).toEqual(ids.s1);
    const other = await send(as.s2, false);
    expect(other.body.data?.myTopClients.map((c) => c.id)).toEqual(ids.s2);
    const anonymous = await send({}, false);
    expect(anonymous.body.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
  });

  it('a conditional GET with the other seller\'s ETag gets their own answer, never a 304 for the other\'s', async () => {
    const query = operation('MyTopClients');
    const url = `${system.gateway.url}?${new URLSearchParams({ query: query.body })}`;
    const get = (headers: Record<string, string>) => fetch(url, { headers: { 'apollo-require-preflight': 'true', ...headers } });
    const first = await get(as.s1);
    expect(first.status).toBe(200);
    expect(first.headers.get('vary')).toContain('authorization');
    const etag = first.headers.get('etag')!;
    const other = await get({ ...as.s2, 'if-none-match': etag });
    expect(other.status).toBe(200);
    expect(((await other.json()) as { data: { myTopClients: { id: string }[] } }).data.myTopClients.map((c) => c.id)).toEqual(ids.s2);
  });

  it('a token for one seller wins over a development header naming the other', async () => {
    const answer = await system.graphql(operation('MyTopClients').body, {}, { ...as.s2, 'x-seller-id': sellers.s1 });
    expect(myIds(answer)).toEqual(ids.s2);
  });

  it('a seller cannot change another seller\'s list: every mutation acts on the caller\'s own', async () => {
    const extra = system.demo.clients.find((c) => !ids.s1.includes(c.id) && !ids.s2.includes(c.id))!;
    const added = await system.graphql(operation('AddTopClient').body, { clientId: extra.id }, as.s2);
    expect(added.body.errors).toBeUndefined();
    expect(myIds(await system.graphql(operation('MyTopClients').body, {}, as.s1))).toEqual(ids.s1);
    const theirs = await system.graphql(operation('UpdateClient').body, { id: ids.s1.find((id) => !ids.s2.includes(id)), input: { name: 'Hijacked' } }, as.s2);
    expect(theirs.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

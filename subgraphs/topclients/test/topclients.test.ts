import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDemoData, sizeForScale } from '../../toolkit/demoData.js';
import type { RunningService } from '../../toolkit/service.js';
import { STORAGE_KINDS, startSubgraphUnderTest } from '../../../test/support/subgraphUnderTest.js';
import { TEST_SCALE, postGraphQL } from '../../../test/support/system.js';
import { signedBy } from '../../../test/support/gatewayTrust.js';
import { MAX_TOP_CLIENTS } from '../resolvers.js';
import { topClientsService } from '../service.js';

const CLIENT = 'id name logoUrl industry website verified version';

describe.each(STORAGE_KINDS)('topclients subgraph (%s)', (storage) => {
  const demo = generateDemoData(sizeForScale(TEST_SCALE));
  const listed = demo.sellers.filter((s) => s.topClientIds.length >= 2);
  let service: RunningService;
  const gql = async (query: string, variables?: Record<string, unknown>, sellerId?: string) =>
    postGraphQL(service.url, query, variables, sellerId ? await signedBy(sellerId) : {});
  const listVersion = async (sellerId: string) =>
    (await service.db.query<{ version: number }>('SELECT version FROM seller_lists WHERE seller_id = $1', [sellerId]))[0]?.version;
  const myIds = async (sellerId: string) =>
    (await gql(`{ myTopClients { id } }`, {}, sellerId)).body.data.myTopClients.map((c: { id: string }) => c.id);

  beforeAll(async () => {
    service = await startSubgraphUnderTest(topClientsService, storage, demo);
  });
  afterAll(() => service?.stop());

  it('resolves Client entities in order, null for an unknown id, with a public max-age from @cacheControl', async () => {
    const [a, b] = demo.clients;
    const { headers, body } = await gql(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on Client { ${CLIENT} } } }`,
      { r: [{ __typename: 'Client', id: b!.id }, { __typename: 'Client', id: 'nope' }, { __typename: 'Client', id: a!.id }] },
    );
    expect(body.errors).toBeUndefined();
    expect(body.data._entities).toEqual([
      { id: b!.id, name: b!.name, logoUrl: b!.logoUrl, industry: b!.industry, website: b!.website, verified: b!.verified, version: 1 },
      null,
      expect.objectContaining({ id: a!.id, name: a!.name }),
    ]);
    expect(headers.get('cache-control')).toBe('max-age=60, public');
  });

  it('self-view without identity answers UNAUTHENTICATED; with it, the list in position order, never cacheable', async () => {
    const anonymous = await gql(`{ myTopClients { id } }`);
    expect(anonymous.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const seller = listed[0]!;
    const mine = await gql(`{ myTopClients { ${CLIENT} } }`, {}, seller.id);
    expect(mine.body.data.myTopClients.map((c: { id: string }) => c.id)).toEqual(seller.topClientIds);
    expect(mine.headers.get('cache-control')).toBe('no-store');
    expect(await myIds('s-with-no-list')).toEqual([]);
  });

  it('addTopClient appends, bumps the list version, and is a no-op for a client already listed', async () => {
    const seller = listed[1]!;
    const extra = demo.clients.find((c) => !seller.topClientIds.includes(c.id))!;
    const before = await listVersion(seller.id);
    const added = await gql(`mutation($c: ID!) { addTopClient(clientId: $c) { id } }`, { c: extra.id }, seller.id);
    expect(added.body.data.addTopClient.map((c: { id: string }) => c.id)).toEqual([...seller.topClientIds, extra.id]);
    expect(await listVersion(seller.id)).toBe(before! + 1);
    await gql(`mutation($c: ID!) { addTopClient(clientId: $c) { id } }`, { c: extra.id }, seller.id);
    expect(await listVersion(seller.id)).toBe(before! + 1);
  });

  it('addTopClient refuses an unknown client and a full list, changing nothing', async () => {
    const seller = listed[2]!;
    const unknown = await gql(`mutation { addTopClient(clientId: "c-none") { id } }`, {}, seller.id);
    expect(unknown.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(await myIds(seller.id)).toEqual(seller.topClientIds);

    // A seller topclients knows but who has no list yet.
    const newcomer = 's-newcomer';
    await service.db.query('INSERT INTO sellers (id) VALUES ($1)', [newcomer]);
    for (const client of demo.clients.slice(0, MAX_TOP_CLIENTS)) {
      const ok = await gql(`mutation($c: ID!) { addTopClient(clientId: $c) { id } }`, { c: client.id }, newcomer);
      expect(ok.body.errors).toBeUndefined();
    }
    expect(await listVersion(newcomer)).toBe(MAX_TOP_CLIENTS);
    const full = await gql(`mutation($c: ID!) { addTopClient(clientId: $c) { id } }`, { c: demo.clients[MAX_TOP_CLIENTS]!.id }, newcomer);
    expect(full.body.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
    expect(await myIds(newcomer)).toHaveLength(MAX_TOP_CLIENTS);
  });

  it('removeTopClient removes one client and is a no-op for a client not listed', async () => {
    const seller = listed[3]!;
    const before = await listVersion(seller.id);
    const removed = await gql(`mutation($c: ID!) { removeTopClient(clientId: $c) { id } }`, { c: seller.topClientIds[0] }, seller.id);
    expect(removed.body.data.removeTopClient.map((c: { id: string }) => c.id)).toEqual(seller.topClientIds.slice(1));
    await gql(`mutation($c: ID!) { removeTopClient(clientId: $c) { id } }`, { c: seller.topClientIds[0] }, seller.id);
    expect(await listVersion(seller.id)).toBe(before! + 1);
  });

  it('reorderTopClients takes exactly the listed clients, each once', async () => {
    const seller = listed[4]!;
    const reversed = [...seller.topClientIds].reverse();
    const ok = await gql(`mutation($ids: [ID!]!) { reorderTopClients(clientIds: $ids) { id } }`, { ids: reversed }, seller.id);
    expect(ok.body.data.reorderTopClients.map((c: { id: string }) => c.id)).toEqual(reversed);
    for (const bad of [reversed.slice(1), [...reversed, reversed[0]], [...reversed.slice(1), 'c-other']]) {
      const refused = await gql(`mutation($ids: [ID!]!) { reorderTopClients(clientIds: $ids) { id } }`, { ids: bad }, seller.id);
      expect(refused.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
    expect(await myIds(seller.id)).toEqual(reversed);
  });

  it('updateClient changes only the given fields, bumps the version, and validates input first', async () => {
    const seller = listed[5]!;
    const id = seller.topClientIds[0]!;
    const original = demo.clients.find((c) => c.id === id)!;
    const updated = await gql(
      `mutation($id: ID!, $input: ClientInput!) { updateClient(id: $id, input: $input) { ${CLIENT} } }`,
      { id, input: { name: '  New Name  ', logoUrl: null } },
      seller.id,
    );
    expect(updated.body.data.updateClient).toEqual({ ...original, name: 'New Name', logoUrl: null, version: 2 });

    const bad = await gql(
      `mutation($id: ID!, $input: ClientInput!) { updateClient(id: $id, input: $input) { version } }`,
      { id, input: { name: '', website: 'javascript:alert(1)' } },
      seller.id,
    );
    expect(bad.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(bad.body.errors?.[0]?.message).toMatch(/name must not be empty; website must be an http\(s\) URL/);
    const after = await gql(`query($id: ID!) { client(id: $id) { name version } }`, { id });
    expect(after.body.data.client).toEqual({ name: 'New Name', version: 2 });
  });

  it('updateClient refuses a client not on the caller list (FORBIDDEN), an unknown one (NOT_FOUND) and anonymous callers', async () => {
    const seller = listed[6]!;
    const notMine = demo.clients.find((c) => !seller.topClientIds.includes(c.id))!;
    const update = (id: string, sellerId?: string) =>
      gql(`mutation($id: ID!) { updateClient(id: $id, input: { name: "x" }) { id } }`, { id }, sellerId);
    expect((await update(notMine.id, seller.id)).body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await update('c-none', seller.id)).body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await update(seller.topClientIds[0]!)).body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const client = await gql(`query($id: ID!) { client(id: $id) { name version } }`, { id: notMine.id });
    expect(client.body.data.client).toEqual({ name: notMine.name, version: 1 });
  });

  describe('acts only for the caller the gateway signed', () => {
    const ADD = 'mutation($c: ID!) { addTopClient(clientId: $c) { id } }';
    const seller = () => listed[7]!;
    const extra = () => demo.clients.find((c) => !seller().topClientIds.includes(c.id))!;
    const post = (query: string, variables: Record<string, unknown>, headers: Record<string, string>) =>
      postGraphQL(service.url, query, variables, headers);

    it('a bare x-seller-id sent straight to the subgraph names nobody: no self-view, no change', async () => {
      const before = await listVersion(seller().id);
      const mine = await post('{ myTopClients { id } }', {}, { 'x-seller-id': seller().id });
      expect(mine.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      const added = await post(ADD, { c: extra().id }, { 'x-seller-id': seller().id });
      expect(added.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(await listVersion(seller().id)).toBe(before);
    });

    it('an identity signed with another secret, expired, or for another audience names nobody', async () => {
      const before = await listVersion(seller().id);
      const now = Math.floor(Date.now() / 1000);
      const attempts = [
        await signedBy(seller().id, { secret: 'some-other-secret-that-is-long-enough-0123' }),
        await signedBy(seller().id, { issuedAt: now - 600, lifetimeSeconds: 60 }),
        { 'x-gateway-identity': 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJzMSJ9.' },
      ];
      for (const headers of attempts) {
        expect((await post(ADD, { c: extra().id }, headers)).body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      }
      expect(await listVersion(seller().id)).toBe(before);
    });

    it('a signed caller changes only their own list: another seller is untouched', async () => {
      const other = listed[8]!;
      const otherBefore = await myIds(other.id);
      const otherVersion = await listVersion(other.id);
      const added = await gql(ADD, { c: extra().id }, seller().id);
      expect(added.body.errors).toBeUndefined();
      expect(await myIds(other.id)).toEqual(otherBefore);
      expect(await listVersion(other.id)).toBe(otherVersion);
      const removeTheirs = await gql('mutation($c: ID!) { removeTopClient(clientId: $c) { id } }', { c: other.topClientIds[0] }, seller().id);
      expect(removeTheirs.body.data.removeTopClient.map((c: { id: string }) => c.id)).not.toContain(undefined);
      expect(await myIds(other.id)).toEqual(otherBefore);
    });

    it('a list is never created for a seller topclients does not know (a made-up id), even signed', async () => {
      const made = await gql(ADD, { c: extra().id }, 's99999999');
      expect(made.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect(await listVersion('s99999999')).toBeUndefined();
      const unlisted = demo.sellers.find((s) => s.topClientIds.length === 0);
      if (unlisted) expect((await gql(ADD, { c: extra().id }, unlisted.id)).body.errors).toBeUndefined();
    });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDemoData, sizeForScale } from '../../toolkit/demoData.js';
import { applyClientIds } from '../../toolkit/clientIdProjection.js';
import type { RunningService } from '../../toolkit/service.js';
import { STORAGE_KINDS, startSubgraphUnderTest } from '../../../test/support/subgraphUnderTest.js';
import { TEST_SCALE, postGraphQL } from '../../../test/support/system.js';
import { usersService } from '../service.js';

describe.each(STORAGE_KINDS)('users subgraph (%s)', (storage) => {
  const demo = generateDemoData(sizeForScale(TEST_SCALE));
  let service: RunningService;
  const gql = (query: string, variables?: Record<string, unknown>) => postGraphQL(service.url, query, variables);

  beforeAll(async () => {
    service = await startSubgraphUnderTest(usersService, storage, demo);
  });
  afterAll(() => service?.stop());

  it('finds a seller by username with the whole profile and top clients as id-only stubs', async () => {
    const seller = demo.sellers.find((s) => s.topClientIds.length > 0)!;
    const { body, headers } = await gql(
      `query($u: String!) { seller(username: $u) { id username displayName level country memberSince languages bio topClients { id } } }`,
      { u: seller.username },
    );
    expect(body.data.seller).toEqual({
      id: seller.id, username: seller.username, displayName: seller.displayName, level: seller.level, country: seller.country,
      memberSince: seller.memberSince, languages: seller.languages, bio: seller.bio,
      topClients: seller.topClientIds.map((id) => ({ id })),
    });
    expect(headers.get('cache-control')).toBe('max-age=30, public');
  });

  it('an unknown username is null; a seller without top clients has an empty list', async () => {
    expect((await gql(`{ seller(username: "nobody") { id } }`)).body.data.seller).toBeNull();
    const seller = demo.sellers.find((s) => s.topClientIds.length === 0)!;
    const { body } = await gql(`query($u: String!) { seller(username: $u) { topClients { id } } }`, { u: seller.username });
    expect(body.data.seller.topClients).toEqual([]);
  });

  it('resolves Seller entities in one batch, null for unknown ids', async () => {
    const [a, b] = demo.sellers;
    const { body } = await gql(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on Seller { id username topClients { id } } } }`,
      { r: [{ __typename: 'Seller', id: b!.id }, { __typename: 'Seller', id: 's-none' }, { __typename: 'Seller', id: a!.id }] },
    );
    expect(body.data._entities).toEqual([
      { id: b!.id, username: b!.username, topClients: b!.topClientIds.map((id) => ({ id })) },
      null,
      { id: a!.id, username: a!.username, topClients: a!.topClientIds.map((id) => ({ id })) },
    ]);
  });

  it('serves top-client IDs from its own projection, which applies only newer versions', async () => {
    const seller = demo.sellers[0]!;
    expect(await applyClientIds(service.db, seller.id, ['c3', 'c2'], 5)).toBe(true);
    expect(await applyClientIds(service.db, seller.id, ['c9'], 4)).toBe(false);
    expect(await applyClientIds(service.db, seller.id, ['c9'], 5)).toBe(false);
    const { body } = await gql(`query($u: String!) { seller(username: $u) { topClients { id } } }`, { u: seller.username });
    expect(body.data.seller.topClients).toEqual([{ id: 'c3' }, { id: 'c2' }]);
  });
});

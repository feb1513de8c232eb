import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDemoData, sizeForScale } from '../../toolkit/demoData.js';
import type { RunningService } from '../../toolkit/service.js';
import { STORAGE_KINDS, startSubgraphUnderTest } from '../../../test/support/subgraphUnderTest.js';
import { TEST_SCALE, postGraphQL } from '../../../test/support/system.js';
import { MAX_PAGE_SIZE } from '../resolvers.js';
import { gigsService } from '../service.js';

describe.each(STORAGE_KINDS)('gigs subgraph (%s)', (storage) => {
  const demo = generateDemoData(sizeForScale(TEST_SCALE));
  let service: RunningService;
  const gql = (query: string, variables?: Record<string, unknown>) => postGraphQL(service.url, query, variables);
  const ids = (gigs: { id: string }[]) => gigs.map((g) => g.id);

  beforeAll(async () => {
    service = await startSubgraphUnderTest(gigsService, storage, demo);
  });
  afterAll(() => service?.stop());

  it('returns a gig with its seller reference and the seller top-client IDs, no hop needed', async () => {
    const gig = demo.gigs.find((g) => demo.sellers.find((s) => s.id === g.sellerId)!.topClientIds.length > 0)!;
    const seller = demo.sellers.find((s) => s.id === gig.sellerId)!;
    const { body } = await gql(
      `query($id: ID!) { gig(id: $id) { id title description price rating ratingCount category seller { id topClients { id } } } }`,
      { id: gig.id },
    );
    expect(body.data.gig).toEqual({
      id: gig.id, title: gig.title, description: gig.description, price: gig.price, rating: gig.rating,
      ratingCount: gig.ratingCount, category: gig.category,
      seller: { id: seller.id, topClients: seller.topClientIds.map((id) => ({ id })) },
    });
    expect((await gql(`{ gig(id: "g-none") { id } }`)).body.data.gig).toBeNull();
  });

  it('searchGigs with no arguments is the first page of all gigs, best rated first', async () => {
    const { body } = await gql(`{ searchGigs { id rating ratingCount } }`);
    const expected = [...demo.gigs]
      .sort((a, b) => (b.rating ?? -1) - (a.rating ?? -1) || b.ratingCount - a.ratingCount || Number(a.id.slice(1)) - Number(b.id.slice(1)))
      .slice(0, 20);
    expect(ids(body.data.searchGigs)).toEqual(ids(expected));
  });

  it('searchGigs matches text case-insensitively, treats % and _ literally, filters by category', async () => {
    const voice = await gql(`{ searchGigs(text: "voice OVER", first: 100) { title category } }`);
    expect(voice.body.data.searchGigs.length).toBe(demo.gigs.filter((g) => /voice over/i.test(g.title + g.description)).length);
    expect((await gql(`{ searchGigs(text: "%") { id } }`)).body.data.searchGigs).toEqual([]);
    const seo = await gql(`{ searchGigs(category: "SEO", first: 3) { category } }`);
    expect(seo.body.data.searchGigs).toEqual(Array(3).fill({ category: 'SEO' }));
  });

  it(`refuses a page size outside 0..${MAX_PAGE_SIZE} with BAD_USER_INPUT`, async () => {
    for (const first of [-1, MAX_PAGE_SIZE + 1]) {
      const { body } = await gql(`query($f: Int) { searchGigs(first: $f) { id } }`, { f: first });
      expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
  });

  it('resolves Gig and Seller entities; a seller lists its gigs newest first', async () => {
    const seller = demo.sellers[0]!;
    const own = demo.gigs.filter((g) => g.sellerId === seller.id).map((g) => g.id).reverse();
    const { body } = await gql(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on Gig { id title } ... on Seller { id gigs(first: 3) { id } } } }`,
      { r: [{ __typename: 'Gig', id: 'g2' }, { __typename: 'Seller', id: seller.id }, { __typename: 'Gig', id: 'g-none' }] },
    );
    expect(body.data._entities).toEqual([
      { id: 'g2', title: demo.gigs[1]!.title },
      { id: seller.id, gigs: own.slice(0, 3).map((id) => ({ id })) },
      null,
    ]);
  });
});

/**
 * STALE_WHILE_REVALIDATE_SECONDS: a subgraph adds `stale-while-revalidate` to the Cache-Control of its cacheable
 * answers (root queries and `_entities`), so a cache in front of it (the gateway) may serve a copy past max-age at
 * once while it refreshes it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_STALE_WHILE_REVALIDATE_SECONDS, loadSubgraphConfig } from '../config.js';
import { generateDemoData, sizeForScale } from '../demoData.js';
import { startService, type RunningService } from '../service.js';
import { TEST_SCALE, postGraphQL } from '../../../test/support/system.js';
import { usersService } from '../../users/service.js';

describe('STALE_WHILE_REVALIDATE_SECONDS', () => {
  const config = (value?: string) => loadSubgraphConfig('users', 4002, value === undefined ? {} : { STALE_WHILE_REVALIDATE_SECONDS: value });

  it('defaults to a minute, takes 0 (none) or any whole number of seconds, and refuses anything else by name', () => {
    expect(DEFAULT_STALE_WHILE_REVALIDATE_SECONDS).toBe(60);
    expect(config().staleWhileRevalidateSeconds).toBe(60);
    expect(config('0').staleWhileRevalidateSeconds).toBe(0);
    expect(config('15').staleWhileRevalidateSeconds).toBe(15);
    for (const bad of ['soon', '-1', '1.5']) {
      expect(() => config(bad)).toThrow(ConfigError);
      expect(() => config(bad)).toThrow(`STALE_WHILE_REVALIDATE_SECONDS must be a whole number of seconds (0 or more), got "${bad}"`);
    }
  });
});

describe('a subgraph started with staleWhileRevalidateSeconds', () => {
  const demo = generateDemoData(sizeForScale(TEST_SCALE));
  let service: RunningService;
  beforeAll(async () => {
    service = await startService(usersService, { demoData: demo, staleWhileRevalidateSeconds: 45 });
  });
  afterAll(() => service?.stop());

  it('adds it to a cacheable root answer and to an _entities answer', async () => {
    const [a, b] = demo.sellers;
    const root = await postGraphQL(service.url, `query($u: String!) { seller(username: $u) { id } }`, { u: a!.username });
    expect(root.body.data.seller).toEqual({ id: a!.id });
    expect(root.headers.get('cache-control')).toBe('max-age=30, public, stale-while-revalidate=45');
    const entities = await postGraphQL(service.url, `query($r: [_Any!]!) { _entities(representations: $r) { ... on Seller { username } } }`,
      { r: [{ __typename: 'Seller', id: b!.id }] });
    expect(entities.body.data._entities).toEqual([{ username: b!.username }]);
    expect(entities.headers.get('cache-control')).toBe('max-age=30, public, stale-while-revalidate=45');
  });

  it('leaves an answer that is not cacheable as it is', async () => {
    const answer = await postGraphQL(service.url, '{ __typename }');
    expect(answer.body.data).toEqual({ __typename: 'Query' });
    expect(answer.headers.get('cache-control') ?? '').not.toContain('stale-while-revalidate');
  });
});

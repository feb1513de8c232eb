import { describe, expect, it } from 'vitest';
import type { ServedFromMemory } from '../../src/datasource/stages/cache.js';
import { PartMemo } from '../../src/execution/partMemo.js';
import type { FragmentShaper } from '../../src/execution/responseShaper.js';
import type { GatewayRequest } from '../../src/request.js';

const shaper = (() => ({ data: {}, errors: [] })) as unknown as FragmentShaper;
const otherShaper = (() => ({ data: {}, errors: [] })) as unknown as FragmentShaper;
const part = { id: 1, variables: ['style'] };
const places = [{ __typename: 'Brand', id: 'b0' }, { __typename: 'Brand', id: 'b1' }];
const request = {} as GatewayRequest;

/** A fetch served from memory whose freshness the test sets, counting how often it was served again. */
function fetchFromMemory(fresh = true): ServedFromMemory & { fresh: boolean; servedAgainCount: number } {
  return {
    fresh,
    servedAgainCount: 0,
    stillFresh() {
      return this.fresh;
    },
    servedAgain() {
      this.servedAgainCount += 1;
    },
  };
}

describe('what a deferred part is kept under', () => {
  it('the variables its fetches read, told apart from one left out; not those it does not read', () => {
    const memo = new PartMemo();
    const key = (variables: Record<string, unknown> | undefined) => memo.keyOf(part, shaper, variables, places);
    expect(key({ style: 'short', id: 'p1' })).toBe(key({ style: 'short', id: 'p2' }));
    expect(key({ style: 'short' })).not.toBe(key({ style: 'long' }));
    expect(key({})).not.toBe(key({ style: null }));
    expect(key(undefined)).toBe(key({ style: undefined }));
  });

  it('its shaper (the @skip/@include values) and every place\'s data', () => {
    const memo = new PartMemo();
    expect(memo.keyOf(part, shaper, {}, places)).not.toBe(memo.keyOf(part, otherShaper, {}, places));
    expect(memo.keyOf(part, shaper, {}, places)).not.toBe(memo.keyOf(part, shaper, {}, places.slice(0, 1)));
    expect(memo.keyOf(part, shaper, {}, places)).not.toBe(memo.keyOf({ ...part, id: 2 }, shaper, {}, places));
  });
});

describe('a kept part', () => {
  const answers = [{ data: { name: 'Brand 0' }, errors: [] }, { data: { name: 'Brand 1' }, errors: [] }];

  it('is served while every fetch it came from is still fresh, and counted each time it is', () => {
    const memo = new PartMemo();
    const brands = fetchFromMemory();
    memo.keep('k', [brands], answers);
    const served = { data: [{ name: 'Brand 0' }, { name: 'Brand 1' }], json: ['{"name":"Brand 0"}', '{"name":"Brand 1"}'] };
    expect(memo.served('k', request)).toEqual(served);
    expect(memo.served('k', request)).toEqual(served);
    expect(brands.servedAgainCount).toBe(2);
  });

  it('is dropped once one of its fetches is not fresh, and counts nothing then', () => {
    const memo = new PartMemo();
    const fresh = fetchFromMemory();
    const stale = fetchFromMemory(false);
    memo.keep('k', [fresh, stale], answers);
    expect(memo.served('k', request)).toBeUndefined();
    stale.fresh = true;
    expect(memo.served('k', request)).toBeUndefined();
    expect(fresh.servedAgainCount + stale.servedAgainCount).toBe(0);
  });

  it('is not kept when a fetch was not served from memory, none ran, or a place has an error, no data or stale data', () => {
    const memo = new PartMemo();
    memo.keep('fetched', [fetchFromMemory(), null], answers);
    memo.keep('no fetch', [], answers);
    memo.keep('error', [fetchFromMemory()], [answers[0]!, { data: { name: null }, errors: [new Error('name failed')] }]);
    memo.keep('null', [fetchFromMemory()], [answers[0]!, { data: null, errors: [] }]);
    memo.keep('stale', [fetchFromMemory()], [answers[0]!, { data: { name: 'Brand 1' }, errors: [], extensions: { staleServed: [{}] } }]);
    for (const key of ['fetched', 'no fetch', 'error', 'null', 'stale']) expect(memo.served(key, request)).toBeUndefined();
  });
});

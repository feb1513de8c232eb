/**
 * Copies handed to ApolloGateway, which merges later fetches into them: equal to the answer, sharing no object
 * with it, and faithful to odd keys a subgraph may send.
 */
import { describe, expect, it } from 'vitest';
import { copyJson } from '../../src/jsonValues.js';

describe('copyJson', () => {
  it('copies nested objects and arrays so that writing into the copy leaves the original as it was', () => {
    const answer = JSON.parse('{"data":{"_entities":[{"__typename":"Brand","id":"b1","tags":["x",{"k":1}],"owner":null,"score":1.5,"ok":true}]}}');
    const copy = copyJson(answer);
    expect(copy).toEqual(answer);
    copy.data._entities[0].tags[1].k = 2;
    copy.data._entities[0].extra = 'merged by the gateway';
    copy.data._entities.push(null);
    expect(answer).toEqual(JSON.parse('{"data":{"_entities":[{"__typename":"Brand","id":"b1","tags":["x",{"k":1}],"owner":null,"score":1.5,"ok":true}]}}'));
  });

  it('keeps a "__proto__" field as data, as JSON.parse made it, without touching the copy\'s prototype', () => {
    const answer = JSON.parse('{"__proto__":{"polluted":true},"name":"n"}');
    const copy = copyJson(answer);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(Object.keys(copy)).toEqual(['__proto__', 'name']);
    expect(JSON.stringify(copy)).toBe('{"__proto__":{"polluted":true},"name":"n"}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('returns scalars as they are', () => {
    expect([copyJson(null), copyJson(3), copyJson('s'), copyJson(false)]).toEqual([null, 3, 's', false]);
  });
});

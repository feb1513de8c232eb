/**
 * Copies handed to ApolloGateway, which merges later fetches into them: equal to the answer, sharing no object
 * with it, and faithful to odd keys a subgraph may send. Answers written as bytes: exactly the bytes of their JSON.
 */
import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { copyJson, jsonBytes } from '../../src/jsonValues.js';

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

describe('jsonBytes', () => {
  const asText = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('hex');
  const asBytes = (value: unknown) => jsonBytes(value).toString('hex');

  it('writes the bytes JSON.stringify would, escapes and non-ASCII text included', () => {
    const values: unknown[] = [
      { data: { name: 'Ada', n: 1, f: -2.5e-7, big: 1e21, z: -0, t: true, none: null, list: [1, 'two', null, [], {}] } },
      { quote: 'say "hi"\\ back\\slash', controls: '\u0000\u0001\n\t\u001f\u007f', accents: 'Crème brûlée', cjk: '東京', emoji: '😀', lone: '\ud800x\udfff' },
      { 'key "quoted"': 1, 'é': 2, '': 3, __proto__: null },
      JSON.parse('{"__proto__":{"x":1},"a":[1,2]}'),
      { skipped: undefined, fn: () => 1, kept: 'yes', inList: [undefined, () => 1, Symbol('s')] },
      { nan: Number.NaN, inf: Number.POSITIVE_INFINITY, date: new Date(0), error: new GraphQLError('boom', { path: ['a', 0] }) },
      { longPlain: 'word '.repeat(20), longQuoted: `${'a'.repeat(40)} "quoted" ${'b'.repeat(40)}`, longAccented: `${'c'.repeat(40)} é`, longControl: `${'d'.repeat(40)}\n` },
      'a string alone', 42, null, [],
    ];
    for (const value of values) expect(asBytes(value), JSON.stringify(value)).toBe(asText(value));
  });

  it('writes answers larger than its first buffer, and each answer into bytes of its own', () => {
    const answerOf = (items: number) => ({ data: { items: Array.from({ length: items }, (_, i) => ({ id: String(i), body: 'x'.repeat(100), note: i % 7 === 0 ? 'ünïcode' : 'plain' })) } });
    // Larger than the first buffer, then larger than what is kept between answers, then small again.
    const answers = [answerOf(2_000), answerOf(12_000), { data: { small: true } }];
    const written = answers.map((answer) => jsonBytes(answer));
    expect(written.map((bytes) => bytes.toString())).toEqual(answers.map((answer) => JSON.stringify(answer)));
  });
});

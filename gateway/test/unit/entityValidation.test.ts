import { describe, expect, it } from 'vitest';
import { conditionalRequestExtensions, readEntityValidation } from '../../src/cache/entityValidation.js';

const good = (overrides: Record<string, unknown> = {}) => ({
  entityCache: { version: 1, etags: ['"a"', '"b"', null], maxAge: [60, null, 0], notModified: [1], ...overrides },
});

describe('conditionalRequestExtensions', () => {
  it('carries the validators aligned with the representations, with the protocol version', () => {
    const input: (string | null)[] = ['"a"', null];
    const ext = conditionalRequestExtensions(input);
    expect(ext).toEqual({ entityCache: { version: 1, ifNoneMatch: ['"a"', null] } });
    input.push('"later"');
    expect(ext.entityCache.ifNoneMatch).toHaveLength(2); // a copy, not the caller's array
  });
});

describe('readEntityValidation', () => {
  it('reads a well-formed answer', () => {
    const v = readEntityValidation(good(), 3)!;
    expect(v.etags).toEqual(['"a"', '"b"', null]);
    expect(v.maxAgeSeconds).toEqual([60, null, 0]);
    expect([...v.notModified]).toEqual([1]);
  });

  it('reads an answer without a version field as version 1', () => {
    const { version: _v, ...rest } = good().entityCache;
    expect(readEntityValidation({ entityCache: rest }, 3)).not.toBeNull();
  });

  it('is null when the subgraph does not speak the protocol', () => {
    for (const extensions of [undefined, null, 'x', [], {}, { entityCache: null }, { entityCache: [] }, { other: 1 }]) {
      expect(readEntityValidation(extensions, 3)).toBeNull();
    }
  });

  it.each([
    ['an unknown version', { version: 2 }],
    ['too few etags', { etags: ['"a"', '"b"'] }],
    ['too many maxAge', { maxAge: [1, 2, 3, 4] }],
    ['a numeric etag', { etags: ['"a"', 7, null] }],
    ['an empty etag', { etags: ['"a"', '', null], notModified: [] }],
    ['an absurdly long etag', { etags: ['"a"', 'x'.repeat(300), null] }],
    ['a negative maxAge', { maxAge: [60, -1, 0] }],
    ['a fractional maxAge', { maxAge: [60, 1.5, 0] }],
    ['a string maxAge', { maxAge: ['60', null, 0] }],
    ['notModified not an array', { notModified: 1 }],
    ['notModified out of range', { notModified: [3] }],
    ['notModified negative', { notModified: [-1] }],
    ['notModified duplicated', { notModified: [1, 1] }],
    ['notModified not an integer', { notModified: ['1'] }],
    ['missing etags', { etags: undefined }],
    ['missing maxAge', { maxAge: undefined }],
    ['missing notModified', { notModified: undefined }],
  ])('rejects %s', (_name, overrides) => {
    expect(readEntityValidation(good(overrides), 3)).toBeNull();
  });

  it('with what was sent, rejects "not modified" for a validator the gateway did not send', () => {
    expect(readEntityValidation(good(), 3, [null, '"b"', null])).not.toBeNull();
    expect(readEntityValidation(good(), 3, [null, null, null])).toBeNull();
    expect(readEntityValidation(good(), 3, [null, '"b-old"', null])).toBeNull();
    expect(readEntityValidation(good(), 3, [null, '', null])).toBeNull();
  });

  it('fills in the validator a not-modified answer leaves out, from what was sent', () => {
    const compact = good({ etags: ['"a"', null, null], notModified: [1] });
    expect(readEntityValidation(compact, 3, [null, '"b"', null])!.etags).toEqual(['"a"', '"b"', null]);
    // Without what was sent, the caller keeps its cached validator (renew with null keeps it).
    expect(readEntityValidation(compact, 3)!.etags).toEqual(['"a"', null, null]);
    expect([...readEntityValidation(compact, 3)!.notModified]).toEqual([1]);
  });

  it('accepts an empty batch', () => {
    expect(readEntityValidation({ entityCache: { version: 1, etags: [], maxAge: [], notModified: [] } }, 0)).toEqual({
      etags: [], maxAgeSeconds: [], notModified: new Set(),
    });
  });
});

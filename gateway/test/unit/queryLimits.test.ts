import { describe, expect, it } from 'vitest';
import { buildManifest, ManifestIndex } from '../../src/persisted/manifest.js';
import { PersistedQueryGate } from '../../src/persisted/persistedQueries.js';
import { checkOperationChoice } from '../../src/persisted/persistedQueries.js';
import { checkQueryLimits, type QueryLimits } from '../../src/persisted/queryLimits.js';

const LIMITS: QueryLimits = {
  maxQueryBytes: 8_192, maxQueryDepth: 4, maxQueryTokens: 200, maxQueryAliases: 3, maxQueryDirectives: 2, maxBatchOperations: 3,
};
const codeOf = (query: string, limits: Partial<QueryLimits> = {}) => checkQueryLimits(query, { ...LIMITS, ...limits })?.code;
const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: gig { id }`).join(' ')} }`;

describe('query limits', () => {
  it('an operation within every limit passes', () => {
    expect(codeOf('{ a: gig { id } b: gig { id @include(if: true) } }')).toBeUndefined();
  });

  it('more aliases than QUERY_MAX_ALIASES, fragments included, is QUERY_TOO_MANY_ALIASES', () => {
    expect(codeOf(aliases(3))).toBeUndefined();
    expect(codeOf(aliases(4))).toBe('QUERY_TOO_MANY_ALIASES');
    expect(codeOf('{ a: x b: x ...F } fragment F on Query { c: x d: x }')).toBe('QUERY_TOO_MANY_ALIASES');
    expect(checkQueryLimits(aliases(4), LIMITS)?.message).toBe('Aliases limit of 3 exceeded, found 4. (QUERY_MAX_ALIASES)');
  });

  it('more directives than QUERY_MAX_DIRECTIVES is QUERY_TOO_MANY_DIRECTIVES', () => {
    expect(codeOf('{ a @skip(if: false) @include(if: true) }')).toBeUndefined();
    expect(codeOf('{ a @skip(if: false) @include(if: true) @skip(if: false) }')).toBe('QUERY_TOO_MANY_DIRECTIVES');
  });

  it('more tokens than QUERY_MAX_TOKENS is QUERY_TOO_MANY_TOKENS, found while parsing', () => {
    expect(codeOf(`{ ${'a '.repeat(150)}}`)).toBeUndefined();
    expect(codeOf(`{ ${'a '.repeat(250)}}`)).toBe('QUERY_TOO_MANY_TOKENS');
  });

  it('depth and size keep their codes', () => {
    expect(codeOf('{ a { b { c { d { e } } } } }')).toBe('QUERY_TOO_DEEP');
    expect(codeOf(`{ ${'a'.repeat(9_000)} }`)).toBe('QUERY_TOO_LARGE');
  });

  it('a text that does not parse is left to Apollo Server (GRAPHQL_PARSE_FAILED)', () => {
    expect(codeOf('{ a ')).toBeUndefined();
  });
});

describe('which operation runs', () => {
  const TWO = 'query A { a } query B { b }';
  it('an operationName that names no operation, or none for a document of several, is OPERATION_RESOLUTION_FAILURE', () => {
    expect(checkOperationChoice(TWO, 'C')).toMatchObject({ status: 400, code: 'OPERATION_RESOLUTION_FAILURE', message: 'Unknown operation named "C".' });
    expect(checkOperationChoice(TWO, undefined)?.code).toBe('OPERATION_RESOLUTION_FAILURE');
    expect(checkOperationChoice(TWO, '')?.code).toBe('OPERATION_RESOLUTION_FAILURE');
    expect(checkOperationChoice('{ a }', 'A')?.code).toBe('OPERATION_RESOLUTION_FAILURE');
  });

  it('a name that picks one, or none for a single operation, passes; what Apollo refuses itself is left to it', () => {
    expect(checkOperationChoice(TWO, 'B')).toBeUndefined();
    expect(checkOperationChoice('{ a }', null)).toBeUndefined();
    expect(checkOperationChoice(TWO, 7)).toBeUndefined();
    expect(checkOperationChoice('{ a', 'A')).toBeUndefined();
  });
});

describe('batches', () => {
  const PAGE = '{ deep { deeper { deepest { bottom { below } } } } }';
  const manifest = new ManifestIndex(buildManifest([{ name: 'Page', type: 'query', body: PAGE }]));
  const gate = (limits: Partial<QueryLimits> = {}) =>
    new PersistedQueryGate({ mode: 'manifest+apq', manifest, introspection: false, ...LIMITS, ...limits });
  const post = (body: unknown, limits: Partial<QueryLimits> = {}) => gate(limits).prepare({ method: 'POST', search: '', body });
  const refusedWith = (body: unknown, limits: Partial<QueryLimits> = {}) => {
    const prepared = post(body, limits);
    return prepared.kind === 'refuse' ? prepared.refusal.code : undefined;
  };

  it('an array body is refused when batching is off (BATCH_MAX_OPERATIONS=1)', () => {
    expect(refusedWith([{ query: '{ a }' }], { maxBatchOperations: 1 })).toBe('QUERY_BATCH_TOO_LARGE');
  });

  it('a batch larger than BATCH_MAX_OPERATIONS, or empty, is QUERY_BATCH_TOO_LARGE', () => {
    expect(refusedWith([])).toBe('QUERY_BATCH_TOO_LARGE');
    expect(refusedWith(Array.from({ length: 4 }, () => ({ query: '{ a }' })))).toBe('QUERY_BATCH_TOO_LARGE');
    expect(post(Array.from({ length: 3 }, () => ({ query: '{ a }' }))).kind).toBe('forward');
  });

  it('every operation of a batch meets the limits: one over them refuses the batch', () => {
    expect(refusedWith([{ query: '{ a }' }, { query: aliases(4) }])).toBe('QUERY_TOO_MANY_ALIASES');
  });

  it('manifest operations are trusted as they are: not limited, alone or in a batch', () => {
    const byId = { extensions: { persistedQuery: { version: 1, sha256Hash: manifest.findByBody(PAGE)!.id } } };
    expect(codeOf(PAGE)).toBe('QUERY_TOO_DEEP');
    expect(post(byId).kind).toBe('forward');
    expect(post({ query: PAGE }).kind).toBe('forward');
    expect(post([byId, { query: PAGE }]).kind).toBe('forward');
  });
});

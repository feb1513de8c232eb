import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { readGetParams, writeGetParams } from '../../src/persisted/persistedQueries.js';
import { buildManifest, ManifestIndex, manifestProblems, operationId } from '../../src/persisted/manifest.js';
import { PersistedQueryGate } from '../../src/persisted/persistedQueries.js';
import { isIntrospectionOnly, operationDepth } from '../../src/persisted/queryLimits.js';
import { entityTag, ifNoneMatchMatches } from '../../src/http.js';

const PAGE = 'query Page($id: ID!) {\n  gig(id: $id) {\n    id\n    seller { id }\n  }\n}\n';
const manifest = new ManifestIndex(buildManifest([{ name: 'Page', type: 'query', body: PAGE }]));
const gate = (mode: 'safelist' | 'manifest+apq', introspection = false) =>
  new PersistedQueryGate({ mode, manifest, introspection, maxQueryBytes: 4096, maxQueryDepth: 3, maxQueryTokens: 2_000, maxQueryAliases: 30, maxQueryDirectives: 50, maxBatchOperations: 1 });
const pq = (hash: string) => ({ persistedQuery: { version: 1, sha256Hash: hash } });

describe('persisted queries - pure parts', () => {
  it('depth counts nested fields through fragments and inline fragments, and skips introspection fields', () => {
    expect(operationDepth(parse('{ a }'))).toBe(1);
    expect(operationDepth(parse('{ a { b { c } } d }'))).toBe(3);
    expect(operationDepth(parse('{ a { ...F } } fragment F on T { b { ... on U { c { d } } } }'))).toBe(4);
    expect(operationDepth(parse('{ __schema { types { fields { type { ofType { name } } } } } a }'))).toBe(1);
    // A fragment cycle is invalid GraphQL (Apollo reports it); the depth walk must still end.
    expect(operationDepth(parse('{ a { ...F } } fragment F on T { b { ...F } }'))).toBe(2);
  });

  it('introspection-only means every root field of every operation is an introspection field', () => {
    expect(isIntrospectionOnly(parse('{ __schema { types { name } } }'))).toBe(true);
    expect(isIntrospectionOnly(parse('query { ...I } fragment I on Query { __type(name: "Gig") { name } }'))).toBe(true);
    expect(isIntrospectionOnly(parse('{ __typename gig(id: 1) { id } }'))).toBe(false);
    expect(isIntrospectionOnly(parse('mutation { __typename }'))).toBe(false);
  });

  it('If-None-Match matches with the weak comparison, lists and *', () => {
    const tag = entityTag('{"data":{}}');
    expect(tag).toBe(entityTag('{"data":{}}'));
    expect(tag).not.toBe(entityTag('{"data":null}'));
    expect(ifNoneMatchMatches(tag, tag)).toBe(true);
    expect(ifNoneMatchMatches(`W/${tag}`, tag)).toBe(true);
    expect(ifNoneMatchMatches(`"a", ${tag}`, tag)).toBe(true);
    expect(ifNoneMatchMatches('*', tag)).toBe(true);
    expect(ifNoneMatchMatches('"a"', tag)).toBe(false);
    expect(ifNoneMatchMatches(undefined, tag)).toBe(false);
  });

  it('a GET by manifest id is handed to Apollo as a plain query, every other parameter untouched', () => {
    const search = `?operationName=Page&variables=${encodeURIComponent('{"id":"g1"}')}&extensions=${encodeURIComponent(JSON.stringify(pq(operationId(PAGE))))}`;
    const prepared = gate('safelist').prepare({ method: 'GET', search, body: undefined });
    expect(prepared.kind).toBe('forward');
    const params = new URLSearchParams((prepared as { search: string }).search);
    expect(Object.fromEntries(params)).toEqual({ operationName: 'Page', variables: '{"id":"g1"}', query: PAGE });
    expect(readGetParams(writeGetParams('?a=1', { query: 'q', extensions: { x: 1 } }))).toEqual({ query: 'q', extensions: { x: 1 } });
  });

  it('a POST by manifest id keeps its other extensions and drops persistedQuery', () => {
    const prepared = gate('manifest+apq').prepare({ method: 'POST', search: '', body: { variables: { id: '1' }, extensions: { ...pq(operationId(PAGE)), tracing: true } } });
    expect(prepared).toEqual({ kind: 'forward', method: 'POST', search: '', body: { variables: { id: '1' }, query: PAGE, extensions: { tracing: true } } });
  });

  it('the safelist matches an operation text regardless of layout and comments, and nothing else', () => {
    const relaid = '# from the page\nquery Page($id: ID!) { gig(id: $id) { id seller { id } } }';
    expect(gate('safelist').prepare({ method: 'POST', search: '', body: { query: relaid } }).kind).toBe('forward');
    const other = gate('safelist').prepare({ method: 'POST', search: '', body: { query: 'query Page($id: ID!) { gig(id: $id) { id } }' } });
    expect(other).toMatchObject({ kind: 'refuse', refusal: { status: 403, code: 'PERSISTED_QUERY_NOT_IN_SAFELIST' } });
    expect(gate('safelist', true).prepare({ method: 'POST', search: '', body: { query: '{ __schema { queryType { name } } }' } }).kind).toBe('forward');
    expect(gate('safelist', false).prepare({ method: 'POST', search: '', body: { query: '{ __schema { queryType { name } } }' } }).kind).toBe('refuse');
  });

  it('manifest checks name every problem', () => {
    expect(manifestProblems({ format: 'apollo-persisted-query-manifest', version: 1, operations: [{ id: operationId('{ a }'), name: 'X', type: 'query', body: '{ a }' }] }))
      .toEqual(['operations[0].name "X" is not the operation\'s name (undefined)']);
    expect(manifestProblems([])).toEqual(['the manifest must be a JSON object']);
  });
});

/**
 * The compiled response shaper against the one it replaces: @apollo/gateway's `computeResponse`, given the same
 * operation and the same merged data, on the cases where shaping decides something (nulls bubbling, invalid values,
 * unknown or abstract `__typename`s, fragments, aliases, `@skip`/`@include`, one response name selected twice).
 * Top-level `extensions` (where these errors go) are not compared by the gateway-level differential tests, so the
 * errors are compared here: message, path and code.
 */
import { buildSchema, operationFromDocument } from '@apollo/federation-internals';
import { computeResponse } from '@apollo/gateway/dist/resultShaping.js';
import { parse, type GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { compileResponseShaper } from '../../src/execution/responseShaper.js';

const schema = buildSchema(`
  type Query { shelf: Shelf feed: [Media!] first: Media search(term: String): [Result] count: Int! }
  type Shelf { id: ID! label: String! rank: Int ratio: Float open: Boolean kind: Kind items: [Media!]! tags: [String!] }
  enum Kind { BOOKS FILMS }
  interface Media { id: ID! title: String! }
  type Book implements Media { id: ID! title: String! pages: Int }
  type Film implements Media { id: ID! title: String! minutes: Int! }
  union Result = Book | Film
`);

interface Case {
  name: string;
  query: string;
  variables?: Record<string, unknown>;
  input: Record<string, unknown>;
}

const CASES: Case[] = [
  {
    name: 'aliases, __typename aliased and not, fragments on the runtime type',
    query: `{ shelf { id kind: label t: __typename items { __typename kind: __typename id ... on Book { pages } ... on Film { minutes } } } }`,
    input: { shelf: { id: 's1', kind: 'Sci-fi', items: [{ __typename: 'Book', id: 'b1', pages: 300 }, { __typename: 'Film', id: 'f1', minutes: 90 }] } },
  },
  {
    name: 'a null in a non-null list item nulls the list and its nullable parent',
    query: `{ shelf { id items { id title } } }`,
    input: { shelf: { id: 's1', items: [{ __typename: 'Book', id: 'b1', title: 'Dune' }, { __typename: 'Film', id: 'f1', title: null }] } },
  },
  {
    name: 'a missing non-null root field nulls data',
    query: `{ count shelf { id } }`,
    input: { shelf: { id: 's1' } },
  },
  {
    name: 'invalid leaf values: a string for an Int, a number for a String, an unknown enum value, a fraction for an ID',
    query: `{ shelf { id label rank ratio open kind tags } }`,
    input: { shelf: { id: 1.5, label: 42, rank: 'seven', ratio: 'x', open: 'yes', kind: 'PODCASTS', tags: ['a', 3] } },
  },
  {
    name: 'valid leaf values of every kind, an integral number for an ID',
    query: `{ shelf { id label rank ratio open kind tags } }`,
    input: { shelf: { id: 7, label: 'L', rank: 3, ratio: 0.5, open: false, kind: 'FILMS', tags: ['a', 'b'] } },
  },
  {
    name: 'an unknown __typename, and one naming a scalar',
    query: `{ first { id } feed { id } }`,
    input: { first: { __typename: 'Podcast', id: 'p1' }, feed: [{ __typename: 'String', id: 'x' }] },
  },
  {
    name: 'union members by type condition, members without __typename, nulls in a nullable list',
    query: `{ search(term: "a") { ... on Book { id pages } ... on Film { id title } } }`,
    input: { search: [{ __typename: 'Book', id: 'b1', pages: 1 }, null, { __typename: 'Film', id: 'f1', title: 'Heat' }, { id: 'x' }] },
  },
  {
    name: '@skip and @include from variables, defaults and literals',
    query: `query Q($a: Boolean!, $b: Boolean = true) { shelf { id @skip(if: $a) label @include(if: $b) rank @include(if: false) ratio @skip(if: false) } }`,
    variables: { a: true },
    input: { shelf: { id: 's1', label: 'L', rank: 1, ratio: 2.5 } },
  },
  {
    name: 'one response name selected twice with different subselections, merged',
    query: `{ shelf { items { id } ... on Shelf { items { title ... on Film { minutes } } } } }`,
    input: { shelf: { items: [{ __typename: 'Film', id: 'f1', title: 'Heat', minutes: 170 }, { __typename: 'Book', id: 'b1', title: 'Emma' }] } },
  },
  {
    name: 'a non-null field null inside a fragment bubbles to the nearest nullable field',
    query: `{ feed { id ... on Film { minutes } } first { ... on Film { minutes } } }`,
    input: { feed: [{ __typename: 'Film', id: 'f1', minutes: null }], first: { __typename: 'Film', minutes: null } },
  },
];

const comparable = (errors: readonly GraphQLError[]) =>
  errors.map((e) => ({ message: e.message, path: e.path, code: e.extensions.code }));

describe('the compiled response shaper answers as computeResponse', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const operation = operationFromDocument(schema, parse(c.query));
    const stock = computeResponse({
      operation,
      variables: c.variables,
      input: structuredClone(c.input),
      introspectionHandling: () => { throw new Error('no introspection in these cases'); },
    });
    const ours = compileResponseShaper(operation, c.variables)(structuredClone(c.input));
    expect(JSON.stringify(ours.data)).toBe(JSON.stringify(stock.data));
    expect(comparable(ours.errors)).toEqual(comparable(stock.errors));
  });

  it.each(CASES.map((c) => [c.name, c] as const))('%s, its errors left out for a caller that will not report them', (_name, c) => {
    const operation = operationFromDocument(schema, parse(c.query));
    const shape = compileResponseShaper(operation, c.variables);
    const reported = shape(structuredClone(c.input));
    const unreported = shape(structuredClone(c.input), false);
    expect(JSON.stringify(unreported.data)).toBe(JSON.stringify(reported.data));
    expect(unreported.errors).toEqual([]);
  });

  it('shapes many requests with one compiled shaper, each on its own data', () => {
    const operation = operationFromDocument(schema, parse(`{ shelf { id items { id } } }`));
    const shape = compileResponseShaper(operation, undefined);
    const first = shape({ shelf: { id: 's1', items: [{ __typename: 'Book', id: 'b1' }] } });
    const second = shape({ shelf: { id: 's2', items: [] } });
    expect(first.data).toEqual({ shelf: { id: 's1', items: [{ id: 'b1' }] } });
    expect(second).toEqual({ data: { shelf: { id: 's2', items: [] } }, errors: [] });
  });
});

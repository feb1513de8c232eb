import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { stepPayload } from '../../src/execution/incrementalDelivery.js';
import { incrementalFormatOf } from '../../src/http.js';

describe('the format a client asks for by its Accept header', () => {
  it.each([
    ['multipart/mixed;deferSpec=20220824,application/graphql-response+json,application/json;q=0.9', 'deferSpec=20220824'],
    ['multipart/mixed; deferSpec="20220824", application/json', 'deferSpec=20220824'],
    ['multipart/mixed;incrementalSpec=v0.2', 'incrementalSpec=v0.2'],
    ['application/json, multipart/mixed', 'incrementalSpec=v0.2'],
    ['multipart/mixed;deferSpec=20220824;q=0.5, multipart/mixed;incrementalSpec=v0.2', 'incrementalSpec=v0.2'],
    ['Multipart/Mixed;deferSpec=20220824', 'deferSpec=20220824'],
  ])('%s: %s', (accept, format) => {
    expect(incrementalFormatOf(accept)).toBe(format);
  });

  it.each([
    [undefined],
    ['application/json'],
    ['*/*'],
    ['multipart/mixed;deferSpec=20990101'],
    ['multipart/mixed;deferSpec=20220824;q=0'],
  ])('%s: whole, in one JSON body', (accept) => {
    expect(incrementalFormatOf(accept)).toBeNull();
  });
});

describe('a later payload', () => {
  const failure = new GraphQLError('topclients did not answer within 300 ms', { path: ['gig', 'seller', 'topClients', 1], extensions: { code: 'SUBGRAPH_TIMEOUT' } });
  const step = {
    delivered: [
      { part: { id: '0', path: ['gig', 'seller', 'topClients', 0], label: 'topClients' }, data: { name: 'Acme' }, errors: [] },
      { part: { id: '1', path: ['gig', 'seller', 'topClients', 1], label: 'topClients' }, data: null, errors: [failure] },
    ],
    pending: [{ id: '2', path: ['gig', 'seller'] }],
    hasNext: true,
  };

  it('in deferSpec=20220824: every part at its path, a null one with its errors', () => {
    expect(stepPayload(step, 'deferSpec=20220824')).toEqual({
      incremental: [
        { data: { name: 'Acme' }, path: ['gig', 'seller', 'topClients', 0], label: 'topClients' },
        { data: null, path: ['gig', 'seller', 'topClients', 1], label: 'topClients', errors: [{ message: failure.message, path: failure.path, extensions: { code: 'SUBGRAPH_TIMEOUT' } }] },
      ],
      hasNext: true,
    });
  });

  it('in incrementalSpec=v0.2: data by id, a null part only completed, with its errors; new parts pending', () => {
    expect(stepPayload(step, 'incrementalSpec=v0.2')).toEqual({
      pending: [{ id: '2', path: ['gig', 'seller'] }],
      incremental: [{ id: '0', data: { name: 'Acme' } }],
      completed: [{ id: '0' }, { id: '1', errors: [{ message: failure.message, path: failure.path, extensions: { code: 'SUBGRAPH_TIMEOUT' } }] }],
      hasNext: true,
    });
  });
});

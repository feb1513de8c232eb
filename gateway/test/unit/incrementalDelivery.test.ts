import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { stepJson } from '../../src/execution/incrementalDelivery.js';
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
    expect(stepJson(step, 'deferSpec=20220824')).toBe(JSON.stringify({
      incremental: [
        { data: { name: 'Acme' }, path: ['gig', 'seller', 'topClients', 0], label: 'topClients' },
        { data: null, path: ['gig', 'seller', 'topClients', 1], label: 'topClients', errors: [{ message: failure.message, path: failure.path, extensions: { code: 'SUBGRAPH_TIMEOUT' } }] },
      ],
      hasNext: true,
    }));
  });

  it('in incrementalSpec=v0.2: data by id, a null part only completed, with its errors; new parts pending', () => {
    expect(stepJson(step, 'incrementalSpec=v0.2')).toBe(JSON.stringify({
      pending: [{ id: '2', path: ['gig', 'seller'] }],
      incremental: [{ id: '0', data: { name: 'Acme' } }],
      completed: [{ id: '0' }, { id: '1', errors: [{ message: failure.message, path: failure.path, extensions: { code: 'SUBGRAPH_TIMEOUT' } }] }],
      hasNext: true,
    }));
  });

  it('writes a part served again from the JSON it comes with, as it would have written its data', () => {
    const served = { delivered: [{ part: { id: '0', path: ['gig', 'seller'], label: 'topClients' }, data: { topClients: [{ name: 'Acme' }] }, errors: [], json: '{"topClients":[{"name":"Acme"}]}' }], pending: [], hasNext: false };
    const { json: _made, ...unserialized } = served.delivered[0]!;
    for (const format of ['deferSpec=20220824', 'incrementalSpec=v0.2'] as const) {
      expect(stepJson(served, format)).toBe(stepJson({ ...served, delivered: [unserialized] }, format));
    }
    // The JSON is what is written: data and JSON never differ in the gateway, so a difference shows which is read.
    expect(stepJson({ ...served, delivered: [{ ...served.delivered[0]!, json: '{"topClients":[]}' }] }, 'deferSpec=20220824')).toBe('{"incremental":[{"data":{"topClients":[]},"path":["gig","seller"],"label":"topClients"}],"hasNext":false}');
  });
});

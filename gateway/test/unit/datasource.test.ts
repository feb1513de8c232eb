import { describe, expect, it } from 'vitest';
import { SubgraphFailure } from '../../src/errors.js';
import { callDeadline, fetchBudget, waitingEnds } from '../../src/datasource/budget.js';
import { Cancellation, GatewayRequest } from '../../src/request.js';
import { entityFailureErrors, rootFailureErrors } from '../../src/datasource/fieldErrors.js';
import { subgraphFetch, subgraphFetchOfText } from '../../src/datasource/subgraphFetch.js';
import { parseGraphQLBody } from '../../src/datasource/stages/transport.js';

describe('callDeadline', () => {
  it('gives a fetch its subgraph timeout while the operation budget has more left', () => {
    expect(callDeadline(1_000, 300, 3_000)).toEqual({ timeoutMs: 300, limitedBy: 'subgraph timeout' });
  });
  it('gives a fetch only what is left of the budget when that is less', () => {
    expect(callDeadline(2_900, 300, 3_000)).toEqual({ timeoutMs: 100, limitedBy: 'operation budget' });
  });
  it('gives nothing once the budget is spent', () => {
    expect(callDeadline(3_500, 300, 3_000)).toEqual({ timeoutMs: 0, limitedBy: 'operation budget' });
  });
});

describe('fetchBudget', () => {
  const limits = { timeoutMs: 3_000, entityTimeoutMs: 300, entityPageBudgetMs: 250 };
  const request = new GatewayRequest({ id: 'r', admittedAtMs: 1_000, operationBudgetMs: 2_000, cancellation: new Cancellation(), caller: null, headers: {} });
  it('gives an entity fetch its entity timeout, the page budget from admission and, when it may finish late, the root timeout to do so', () => {
    expect(fetchBudget(request, limits, 'entities', true)).toEqual({ operationEndsAtMs: 3_000, pageBudgetMs: 250, pageEndsAtMs: 1_250, callTimeoutMs: 300, lateAllowanceMs: 3_000 });
    expect(fetchBudget(request, limits, 'entities', false).lateAllowanceMs).toBe(0);
  });
  it('gives a root fetch its root timeout, no page budget and no late allowance', () => {
    expect(fetchBudget(request, limits, 'root', true)).toEqual({ operationEndsAtMs: 3_000, pageBudgetMs: null, pageEndsAtMs: null, callTimeoutMs: 3_000, lateAllowanceMs: 0 });
  });
  it('a waiter waits for the first of its page budget, its operation budget and the entity timeout, and says which ran out', () => {
    const budget = fetchBudget(request, limits, 'entities', true);
    expect(waitingEnds(budget, 'topclients', 1_100)).toEqual({ waitMs: 150, message: 'topclients did not answer within the 250 ms a page waits for it (150 ms were left when it was asked)' });
    expect(waitingEnds({ ...budget, pageEndsAtMs: null, pageBudgetMs: null }, 'topclients', 2_900)).toEqual({ waitMs: 100, message: 'topclients did not answer within the 100 ms left of the operation budget' });
    expect(waitingEnds({ ...budget, pageEndsAtMs: null, pageBudgetMs: null }, 'topclients', 1_000)).toEqual({ waitMs: 300, message: 'topclients did not answer within 300 ms' });
  });
});

describe('subgraphFetch', () => {
  const entities = 'query Q__topclients__1($representations:[_Any!]!){_entities(representations:$representations){...on Client{name}}}';
  it('recognises an entity fetch, cacheable unless traced', () => {
    expect(subgraphFetch({ subgraph: 'topclients', operation: entities, operationName: 'Q__topclients__1', inMutation: false }))
      .toEqual({ subgraph: 'topclients', kind: 'entities', operation: entities, operationName: 'Q__topclients__1', cacheable: true, revalidate: false, rootResponseKeys: ['_entities'] });
    expect(subgraphFetch({ subgraph: 'topclients', operation: entities, operationName: undefined, inMutation: false, traced: true }))
      .toMatchObject({ kind: 'root', cacheable: false });
  });
  it('lists the root response keys a root fetch fills, aliases and fragments included; a mutation is never cached', () => {
    expect(subgraphFetch({ subgraph: 'gigs', operation: 'query { a: gig(id: "1") { id } ...F __typename } fragment F on Query { searchGigs { id } }', operationName: undefined, inMutation: false }))
      .toMatchObject({ kind: 'root', cacheable: true, rootResponseKeys: ['a', 'searchGigs'] });
    expect(subgraphFetch({ subgraph: 'topclients', operation: 'mutation { addTopClient(clientId: "c1") { id } }', operationName: undefined, inMutation: true }))
      .toMatchObject({ kind: 'root', cacheable: false, revalidate: true });
  });
  it('describes a text once: the same fetch again is the same object', () => {
    const source = { subgraph: 'topclients', operation: entities, operationName: 'Q__topclients__1', inMutation: false };
    expect(subgraphFetchOfText(source)).toBe(subgraphFetchOfText({ ...source }));
    expect(subgraphFetchOfText({ ...source, inMutation: true })).toMatchObject({ revalidate: true });
  });
});

describe('field errors', () => {
  const failure = new SubgraphFailure('SUBGRAPH_TIMEOUT', 'topclients', 'topclients did not answer within 300 ms');
  it('put one error per failed entity at its _entities index, with code and serviceName', () => {
    expect(entityFailureErrors(failure, [0, 3])).toEqual([
      { message: 'topclients did not answer within 300 ms', path: ['_entities', 0], extensions: { code: 'SUBGRAPH_TIMEOUT', serviceName: 'topclients' } },
      { message: 'topclients did not answer within 300 ms', path: ['_entities', 3], extensions: { code: 'SUBGRAPH_TIMEOUT', serviceName: 'topclients' } },
    ]);
  });
  it('put one error per root field a failed root fetch would have filled', () => {
    expect(rootFailureErrors(failure, ['gig', 'other']).map((e) => e.path)).toEqual([['gig'], ['other']]);
  });
});

describe('parseGraphQLBody', () => {
  it('accepts data and/or errors', () => {
    expect(parseGraphQLBody('{"data":{"a":1}}')).toEqual({ data: { a: 1 } });
    expect(parseGraphQLBody('{"data":null,"errors":[{"message":"x"}]}')).toEqual({ data: null, errors: [{ message: 'x' }] });
  });
  it('refuses what is not a GraphQL response', () => {
    for (const garbage of ['<html>oops</html>', '[]', '"data"', '{"result":1}', '{"errors":"bad"}', '{"data":[1]}', '{"data":{},"errors":[{"msg":1}]}']) {
      expect(parseGraphQLBody(garbage), garbage).toBeNull();
    }
  });
});

/**
 * The compiled executor's answers reach Apollo Server from a plugin, which Apollo takes as they are: they must read as
 * Apollo formats a gateway executor's answer (stock's), errors and status included.
 */
import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { apolloResponse, failedResponse, withStaleServed } from '../../src/execution/compiledExecutor.js';
import { Cancellation, GatewayRequest } from '../../src/request.js';

describe('an answer of the compiled executor, as Apollo Server sends it', () => {
  it('gives every error a code, shows no stack or original error, and keeps path and extensions', () => {
    const failure = new GraphQLError('topclients did not answer within 300 ms', { path: ['gig', 'seller', 'topClients', 0], extensions: { code: 'SUBGRAPH_TIMEOUT', serviceName: 'topclients' } });
    const bug = new GraphQLError('shaping failed', { originalError: new Error('inner') });
    const { http, body } = apolloResponse({ data: { gig: null }, errors: [failure, bug] });
    expect(http.status).toBeUndefined();
    expect(body).toEqual({
      kind: 'single',
      singleResult: {
        data: { gig: null },
        errors: [
          { message: 'topclients did not answer within 300 ms', path: ['gig', 'seller', 'topClients', 0], extensions: { code: 'SUBGRAPH_TIMEOUT', serviceName: 'topclients' } },
          { message: 'shaping failed', extensions: { code: 'INTERNAL_SERVER_ERROR' } },
        ],
      },
    });
  });

  it('sets the status an error asks for (extensions.http) on the answer, and leaves it out of the error', () => {
    const { http, body } = apolloResponse({ data: null, errors: [new GraphQLError('slow down', { extensions: { code: 'RATE_LIMITED', http: { status: 429 } } })] });
    expect(http.status).toBe(429);
    expect(body.kind === 'single' && body.singleResult.errors).toEqual([{ message: 'slow down', extensions: { code: 'RATE_LIMITED' } }]);
  });

  it('writes no errors key for an answer without errors, and says what was served stale', () => {
    const request = new GatewayRequest({ id: 'r1', admittedAtMs: 0, operationBudgetMs: 1000, cancellation: new Cancellation(), caller: null, headers: {} });
    request.staleServed.push({ subgraph: 'topclients', typename: 'Client', ageSeconds: 42 });
    const { body } = apolloResponse(withStaleServed({ data: { ok: true } }, request));
    expect(body).toEqual({ kind: 'single', singleResult: { data: { ok: true }, extensions: { staleServed: [{ subgraph: 'topclients', typename: 'Client', ageSeconds: 42 }] } } });
  });

  it('answers a run that threw with its error alone and status 500, as Apollo answers an executor that throws', () => {
    const { http, body } = failedResponse(new Error('the plan runner broke'));
    expect(http.status).toBe(500);
    expect(body).toEqual({ kind: 'single', singleResult: { errors: [{ message: 'the plan runner broke', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] } });
  });
});

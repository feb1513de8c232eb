/**
 * An executor's answer as the client gets it through Apollo Server. The compiled executor answers from a plugin's
 * `responseForOperation` hook (compiledExecutor.ts), and Apollo Server takes a plugin's answer as it is: what it
 * does to a gateway executor's answer is done here, so both kinds of answer read the same.
 */
import type { GraphQLResponse } from '@apollo/server';
import { HeaderMap } from '@apollo/server';
import type { ExecutionResult, GraphQLError } from 'graphql';
import type { GatewayRequest } from '../request.js';
import { formatError } from './incrementalDelivery.js';

/**
 * Parts served from a stale cached copy because their subgraph failed (stale-if-error) carry no error: the answer's
 * `extensions.staleServed` says which, so a client or an operator can tell.
 */
export function withStaleServed<T extends ExecutionResult>(result: T, request: GatewayRequest | undefined): T {
  const staleServed = request?.staleServed;
  return staleServed?.length ? { ...result, extensions: { ...result.extensions, staleServed } } : result;
}

/**
 * The answer as Apollo Server formats a gateway executor's: every error with a code, no stack trace, and a status an
 * error asks for (`extensions.http.status`, as a subgraph's error may carry) set on the answer rather than shown.
 */
export function apolloResponse(result: ExecutionResult): GraphQLResponse {
  const { errors, ...rest } = result;
  const http: GraphQLResponse['http'] = { headers: new HeaderMap() };
  const formatted = errors?.map((error: GraphQLError) => {
    const { extensions: { http: head, ...extensions } = {}, ...fields } = formatError(error);
    const status = (head as { status?: unknown } | undefined)?.status;
    if (typeof status === 'number') http.status = status;
    return { ...fields, extensions };
  });
  return { http, body: { kind: 'single', singleResult: { ...rest, ...(formatted ? { errors: formatted } : {}) } } };
}

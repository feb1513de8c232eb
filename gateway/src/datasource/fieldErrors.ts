/**
 * The one boundary where a failed subgraph call becomes GraphQL errors on exactly the fields that call would have
 * filled (cf. federation's downstreamServiceError). Entity fetches get one error per entity at
 * `["_entities", i]`, which the gateway maps to that entity's place in the page; root fetches get one error per
 * root field. The gateway adds `serviceName`; the code is ours and survives (docs/APOLLO-NOTES.md §2).
 */
import type { GraphQLFormattedError } from 'graphql';
import type { SubgraphFailure } from '../errors.js';

export function failureError(failure: SubgraphFailure, path: ReadonlyArray<string | number>): GraphQLFormattedError {
  return {
    message: failure.message,
    path,
    extensions: { code: failure.code, serviceName: failure.serviceName },
  };
}

export function entityFailureErrors(failure: SubgraphFailure, indexes: Iterable<number>): GraphQLFormattedError[] {
  return [...indexes].map((i) => failureError(failure, ['_entities', i]));
}

export function rootFailureErrors(failure: SubgraphFailure, rootResponseKeys: readonly string[]): GraphQLFormattedError[] {
  if (rootResponseKeys.length === 0) return [{ message: failure.message, extensions: { code: failure.code, serviceName: failure.serviceName } }];
  return rootResponseKeys.map((key) => failureError(failure, [key]));
}

/**
 * Says in the response's `extensions.staleServed` which parts were served from a stale cached copy because their
 * subgraph failed (stale-if-error): those fields carry no error, so this is how a client or an operator can tell.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import { existingOperationState } from './requestState.js';

export function staleReportPlugin(): ApolloServerPlugin<Record<string, unknown>> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ contextValue, response }) {
          const state = existingOperationState(contextValue);
          if (!state || state.staleServed.length === 0 || response.body.kind !== 'single') return;
          const result = response.body.singleResult;
          result.extensions = { ...result.extensions, staleServed: state.staleServed };
        },
      };
    },
  };
}

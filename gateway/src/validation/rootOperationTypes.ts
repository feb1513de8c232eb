/**
 * Refuses an operation whose type the schema has no root for (a `subscription` on a graph without
 * Subscription, a `mutation` on one without Mutation). graphql-js 16 does not validate that, and ApolloGateway then
 * fails planning with HTTP 500; refused here, in `didResolveOperation` (where Apollo Server honours the status
 * of a thrown error), it is the 400 GRAPHQL_VALIDATION_FAILED Apollo Server gives without a gateway.
 *
 * A subscription on a graph that has them is refused too, with where to send it: Apollo Server answers plain HTTP,
 * and subscriptions are served by the streaming transports (subscriptions/, docs/SUBSCRIPTIONS.md).
 */
import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, OperationTypeNode } from 'graphql';

export function rootOperationTypesPlugin(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, schema }) {
          if (!operation) return;
          if (operation.operation === OperationTypeNode.SUBSCRIPTION && schema.getRootType(OperationTypeNode.SUBSCRIPTION)) {
            throw new GraphQLError('Subscriptions are served over WebSocket (graphql-ws) or Server-Sent Events (Accept: text/event-stream) at /graphql, not over plain HTTP.', {
              extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
            });
          }
          if (schema.getRootType(operation.operation)) return;
          throw new GraphQLError(`The schema has no ${operation.operation} root type: this graph cannot run a ${operation.operation}.`, {
            extensions: { code: 'GRAPHQL_VALIDATION_FAILED', http: { status: 400 } },
          });
        },
      };
    },
  };
}

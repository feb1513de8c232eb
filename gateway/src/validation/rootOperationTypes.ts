/**
 * Refuses an operation whose type the schema has no root for (a `subscription` on a graph without
 * Subscription, a `mutation` on one without Mutation). graphql-js 16 does not validate that, and ApolloGateway then
 * fails planning with HTTP 500; refused here, in `didResolveOperation` (where Apollo Server honours the status
 * of a thrown error), it is the 400 GRAPHQL_VALIDATION_FAILED Apollo Server gives without a gateway.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError } from 'graphql';

export function rootOperationTypesPlugin(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, schema }) {
          if (!operation || schema.getRootType(operation.operation)) return;
          throw new GraphQLError(`The schema has no ${operation.operation} root type: this graph cannot run a ${operation.operation}.`, {
            extensions: { code: 'GRAPHQL_VALIDATION_FAILED', http: { status: 400 } },
          });
        },
      };
    },
  };
}

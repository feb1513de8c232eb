/** The error codes subgraphs answer with; each becomes `extensions.code` on a GraphQL error. */
import { GraphQLError } from 'graphql';

export type SubgraphErrorCode = 'BAD_USER_INPUT' | 'FORBIDDEN' | 'NOT_FOUND';

export function subgraphError(code: SubgraphErrorCode, message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code } });
}

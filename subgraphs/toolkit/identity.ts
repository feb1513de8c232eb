/**
 * What a resolver does with the caller: the seller the gateway vouched for (gatewayIdentity.ts), or nobody.
 */
import { GraphQLError } from 'graphql';

export function requireSeller(sellerId: string | null): string {
  if (!sellerId) {
    throw new GraphQLError('This operation needs a signed-in seller: call it through the gateway with a valid token.', {
      extensions: { code: 'UNAUTHENTICATED' },
    });
  }
  return sellerId;
}

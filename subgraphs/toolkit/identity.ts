/**
 * The single place a subgraph reads who is calling. Today the gateway forwards the `x-seller-id` header; when
 * signed identity arrives, only this function changes.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { GraphQLError } from 'graphql';

export const SELLER_HEADER = 'x-seller-id';

export function sellerIdFrom(headers: IncomingHttpHeaders | Map<string, string>): string | null {
  const raw = headers instanceof Map ? headers.get(SELLER_HEADER) : headers[SELLER_HEADER];
  const value = Array.isArray(raw) ? raw[0] : raw;
  const trimmed = value?.trim();
  return trimmed ? trimmed : null;
}

export function requireSeller(sellerId: string | null): string {
  if (!sellerId) {
    throw new GraphQLError(`This operation needs the caller's identity: send the ${SELLER_HEADER} header.`, {
      extensions: { code: 'UNAUTHENTICATED' },
    });
  }
  return sellerId;
}

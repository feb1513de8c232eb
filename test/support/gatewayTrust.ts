/**
 * Calling a subgraph as the gateway would: with the caller's identity signed by the shared secret the test
 * subgraphs are started with. Signed here with `jose`, independently of the gateway's own signer, so the tests
 * check the contract (gateway/src/auth/subgraphIdentity.ts and subgraphs/toolkit/gatewayIdentity.ts), not one
 * implementation against itself.
 */
import { SignJWT } from 'jose';
import { TEST_SUBGRAPH_SECRET } from '../../gateway/test/support/signedIdentity.js';

export { DEVELOPMENT_IDENTITY_ENV, TEST_SUBGRAPH_SECRET } from '../../gateway/test/support/signedIdentity.js';

export interface SignOptions {
  secret?: string;
  /** Seconds since the epoch; defaults to now. */
  issuedAt?: number;
  lifetimeSeconds?: number;
}

/** Headers that make a subgraph act for `sellerId`, as if the gateway sent them. */
export async function signedBy(sellerId: string, options: SignOptions = {}): Promise<Record<string, string>> {
  const issuedAt = options.issuedAt ?? Math.floor(Date.now() / 1000);
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer('gateway')
    .setAudience('subgraphs')
    .setSubject(sellerId)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + (options.lifetimeSeconds ?? 60))
    .sign(new TextEncoder().encode(options.secret ?? TEST_SUBGRAPH_SECRET));
  return { 'x-gateway-identity': token };
}

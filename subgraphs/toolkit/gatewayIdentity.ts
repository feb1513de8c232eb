/**
 * Who a subgraph acts for: only the caller the gateway vouched for. The gateway verifies the caller's token and
 * sends the identity as a short-lived JWT signed with the secret it shares with the subgraphs
 * (GATEWAY_SUBGRAPH_SECRET; HS256, `iss` "gateway", `aud` "subgraphs", `sub` the caller, in `x-gateway-identity`;
 * see gateway/src/auth/subgraphIdentity.ts). Anything else, in any mode, names nobody: a bare `x-seller-id`, a
 * token signed with another secret, an expired one. Without a secret the subgraph acts for nobody at all.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { jwtVerify } from 'jose';

export const GATEWAY_IDENTITY_HEADER = 'x-gateway-identity';
/** The gateway signs each request afresh; this only absorbs clock differences between machines. */
const CLOCK_TOLERANCE_SECONDS = 15;
export const MIN_SECRET_LENGTH = 32;

export type CallerVerifier = (headers: IncomingHttpHeaders) => Promise<string | null>;

export function gatewayIdentityVerifier(secret: string | null | undefined, now: () => number = Date.now): CallerVerifier {
  if (!secret) return async () => null;
  if (secret.length < MIN_SECRET_LENGTH) throw new Error(`GATEWAY_SUBGRAPH_SECRET must be at least ${MIN_SECRET_LENGTH} characters`);
  const key = new TextEncoder().encode(secret);
  return async (headers) => {
    const token = headers[GATEWAY_IDENTITY_HEADER];
    if (typeof token !== 'string' || token === '') return null;
    try {
      const { payload } = await jwtVerify(token, key, {
        algorithms: ['HS256'],
        issuer: 'gateway',
        audience: 'subgraphs',
        requiredClaims: ['sub', 'exp', 'iat'],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        currentDate: new Date(now()),
      });
      return typeof payload.sub === 'string' && payload.sub !== '' ? payload.sub : null;
    } catch {
      // A forged or stale identity is treated like none: the operation runs anonymously, and whatever needs a
      // caller answers UNAUTHENTICATED.
      return null;
    }
  };
}

/**
 * The trust between a test gateway and its test subgraphs: one shared secret, the development identity header
 * (`x-seller-id`, as the reference deployment names it) turned on, and how a test subgraph reads the caller from
 * the gateway's signed header, the way a real subgraph does (subgraphs/toolkit/gatewayIdentity.ts).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { GATEWAY_IDENTITY_HEADER } from '../../src/auth/subgraphIdentity.js';

export const TEST_SUBGRAPH_SECRET = 'test-only-secret-shared-by-gateway-and-subgraphs';

/** Gateway settings: callers named by `x-seller-id` (development), identities signed for subgraphs. */
export const DEVELOPMENT_IDENTITY_ENV = { IDENTITY_HEADER: 'x-seller-id', GATEWAY_SUBGRAPH_SECRET: TEST_SUBGRAPH_SECRET } as const;

/** The caller named by a gateway-signed identity in these request headers, or null (absent, forged or expired). */
export function signedCaller(headers: Record<string, string | string[] | undefined>, nowMs = Date.now()): string | null {
  const token = headers[GATEWAY_IDENTITY_HEADER];
  if (typeof token !== 'string') return null;
  const [header, payload, signature] = token.split('.');
  if (!header || !payload || !signature) return null;
  const expected = createHmac('sha256', TEST_SUBGRAPH_SECRET).update(`${header}.${payload}`).digest();
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sub?: string; exp?: number; aud?: string };
  if (claims.aud !== 'subgraphs' || typeof claims.exp !== 'number' || claims.exp * 1000 < nowMs) return null;
  return claims.sub ?? null;
}

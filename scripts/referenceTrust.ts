/**
 * Who may act as a seller in the reference deployment `npm start` runs, set up for its processes:
 *  - a fresh random GATEWAY_SUBGRAPH_SECRET per start (unless one is given), handed to the gateway and to every
 *    subgraph, so the subgraphs believe only identities the gateway signed;
 *  - production (GATEWAY_MODE=production): callers are named only by tokens the gateway verifies with the
 *    operator's JWT_JWKS_FILE or JWT_JWKS_URL, JWT_ISSUER and JWT_AUDIENCE (passed through from the environment);
 *  - development: the development identity provider (scripts/devIdentity.ts) unless JWT_* keys are given, so
 *    `npm run token -- s1` and the pages' sign-in work, plus the bare `x-seller-id` shortcut (IDENTITY_HEADER).
 */
import { randomBytes } from 'node:crypto';
import { devIdentity } from './devIdentity.js';

/** This deployment names its sellers by this header in development (the gateway itself has no such default). */
export const REFERENCE_IDENTITY_HEADER = 'x-seller-id';

export interface ReferenceTrust {
  mode: 'development' | 'production';
  gatewayEnv: Record<string, string>;
  subgraphEnv: Record<string, string>;
  /** The web pages' server: WEB_DEV_TOKENS=true when the pages' sign-in should get development tokens. */
  webEnv: Record<string, string>;
  /** What to tell the person who started it. */
  notes: string[];
}

export async function referenceTrust(env: NodeJS.ProcessEnv): Promise<ReferenceTrust> {
  const mode = (env.GATEWAY_MODE ?? (env.NODE_ENV === 'production' ? 'production' : 'development')) === 'production' ? 'production' : 'development';
  const secret = env.GATEWAY_SUBGRAPH_SECRET || randomBytes(32).toString('base64url');
  const hasKeys = Boolean(env.JWT_JWKS_FILE || env.JWT_JWKS_URL);
  const gatewayEnv: Record<string, string> = { GATEWAY_SUBGRAPH_SECRET: secret };
  const notes: string[] = [];
  if (mode === 'production') {
    notes.push(hasKeys
      ? `sign-in: tokens from ${env.JWT_ISSUER ?? '(JWT_ISSUER)'} for ${env.JWT_AUDIENCE ?? '(JWT_AUDIENCE)'}, sent as Authorization: Bearer <token>`
      : 'sign-in: none (production without JWT_JWKS_FILE or JWT_JWKS_URL: every caller is anonymous)');
    return { mode, gatewayEnv, subgraphEnv: { GATEWAY_SUBGRAPH_SECRET: secret }, webEnv: {}, notes };
  }
  const webEnv: Record<string, string> = {};
  if (!hasKeys) {
    const dev = await devIdentity();
    Object.assign(gatewayEnv, { JWT_JWKS_FILE: dev.jwksFile, JWT_ISSUER: dev.issuer, JWT_AUDIENCE: dev.audience });
    webEnv.WEB_DEV_TOKENS = 'true';
    notes.push('sign-in: development tokens (npm run token -- s1), or the bare x-seller-id header');
  }
  if (!env.IDENTITY_HEADER) gatewayEnv.IDENTITY_HEADER = REFERENCE_IDENTITY_HEADER;
  return { mode, gatewayEnv, subgraphEnv: { GATEWAY_SUBGRAPH_SECRET: secret }, webEnv, notes };
}

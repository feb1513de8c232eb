/**
 * Decides who is calling, in the HTTP layer, before Apollo Server runs (an error thrown from Apollo's early hooks
 * becomes a 500, see persisted/persistedQueries.ts). In order:
 *  - `Authorization: Bearer <jwt>`: verified (tokenVerifier.ts); a token that does not verify refuses the request
 *    with 401, whatever else it carries, so no part of the operation runs as anybody;
 *  - the development header (IDENTITY_HEADER, development mode only): its value, unverified;
 *  - otherwise anonymous, which is allowed: public pages need no identity.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { GatewayFeature } from '../feature.js';
import { sendJson } from '../http.js';
import { SubgraphIdentitySigner } from './subgraphIdentity.js';
import { MIN_SECRET_LENGTH } from './subgraphIdentity.js';
import { integer, isHttpUrl, text, type SettingGroup } from '../settings.js';
import { createTokenVerifier, MAX_IDENTITY_LENGTH, TokenRejected, type TokenVerifier, type TokenVerifierConfig } from './tokenVerifier.js';

export interface IdentityConfig {
  /** Bearer tokens, verified against a JWKS; null = this gateway accepts no tokens. */
  token: TokenVerifierConfig | null;
  /** Development only: a header whose bare value names the caller (IDENTITY_HEADER); null in production. */
  developmentHeader: string | null;
  /** Signs the identity for subgraphs (GATEWAY_SUBGRAPH_SECRET); set whenever either source above is. */
  subgraphSecret: string | null;
}

export type Authentication =
  | { kind: 'anonymous' }
  /** `expiresAtMs`: when the token runs out (a stream opened with it ends then); null for the development header. */
  | { kind: 'caller'; identity: string; expiresAtMs: number | null }
  /** RFC 6750 3.1: `invalid_request` for a malformed Authorization header, `invalid_token` for a bad token. */
  | { kind: 'refused'; error: 'invalid_request' | 'invalid_token'; description: string };

export class Authenticator {
  readonly signer: SubgraphIdentitySigner | null;
  private readonly verifier: TokenVerifier | null;

  constructor(private readonly config: IdentityConfig, now: () => number = Date.now) {
    this.verifier = config.token ? createTokenVerifier(config.token, now) : null;
    this.signer = config.subgraphSecret ? new SubgraphIdentitySigner(config.subgraphSecret, now) : null;
  }

  /** Request headers an answer depends on: shared caches must keep one copy per value (`Vary`). */
  get varyHeaders(): string[] {
    return this.config.developmentHeader ? ['authorization', this.config.developmentHeader] : ['authorization'];
  }

  async authenticate(headers: IncomingHttpHeaders): Promise<Authentication> {
    const authorization = headers.authorization;
    if (authorization !== undefined) {
      const match = /^Bearer +([A-Za-z0-9._~+/=-]+) *$/i.exec(authorization);
      if (!match) return { kind: 'refused', error: 'invalid_request', description: 'the Authorization header must be "Bearer <token>"' };
      if (!this.verifier) return { kind: 'refused', error: 'invalid_token', description: 'this gateway is not configured to accept tokens' };
      try {
        return { kind: 'caller', ...(await this.verifier.verify(match[1]!)) };
      } catch (error) {
        if (error instanceof TokenRejected) return { kind: 'refused', error: 'invalid_token', description: error.message };
        throw error;
      }
    }
    const header = this.config.developmentHeader;
    const raw = header ? headers[header] : undefined;
    const value = (Array.isArray(raw) ? raw[0] : raw)?.trim();
    if (!value) return { kind: 'anonymous' };
    if (value.length > MAX_IDENTITY_LENGTH || /[^\x21-\x7e]/.test(value)) {
      return { kind: 'refused', error: 'invalid_request', description: `the ${header} header must be up to ${MAX_IDENTITY_LENGTH} visible ASCII characters` };
    }
    return { kind: 'caller', identity: value, expiresAtMs: null };
  }
}

/**
 * Who is calling, as a feature: verified before anything runs (a token that does not verify must not leave a
 * half-run operation behind), and named on the operation for the request object to carry.
 */
export function useAuthentication(authenticator: Authenticator): GatewayFeature {
  return {
    name: 'authentication',
    varyHeaders: authenticator.varyHeaders,
    async onOperation(operation) {
      const authentication = await authenticator.authenticate(operation.req.headers);
      if (authentication.kind === 'refused') {
        sendUnauthenticated(operation.res, authentication);
        return 'answered';
      }
      if (authentication.kind === 'caller') operation.caller = { identity: authentication.identity, signer: authenticator.signer! };
    },
  };
}

/** 401 in Apollo's error shape, with the challenge RFC 6750 3 asks for. */
export function sendUnauthenticated(res: ServerResponse, refused: Extract<Authentication, { kind: 'refused' }>): void {
  const description = refused.description.replace(/["\\]/g, '');
  sendJson(res, 401, { errors: [{ message: `Unauthenticated: ${refused.description}`, extensions: { code: 'UNAUTHENTICATED' } }] }, {
    'www-authenticate': `Bearer realm="graphql", error="${refused.error}", error_description="${description}"`,
    'cache-control': 'no-store',
  });
}

/** Who may act as whom (docs/AUTH.md): bearer tokens against a JWKS, the development header, and the signing secret. */
export const AUTHENTICATION_SETTINGS = {
  jwksUrl: text('JWT_JWKS_URL', { default: null, defaultText: 'unset (no tokens accepted)', values: 'an http(s) URL', check: (value) => (isHttpUrl(value) ? null : 'must be an http(s) URL'), doc: 'the key set bearer tokens are verified with (or JWT_JWKS_FILE)' }),
  jwksFile: text('JWT_JWKS_FILE', { default: null, defaultText: 'unset', values: 'a file path', doc: 'a local key set, read and checked at start-up (not a key set, or one holding private keys: the gateway does not start)' }),
  issuer: text('JWT_ISSUER', { default: null, defaultText: 'required with keys', values: 'the iss claim', doc: 'the issuer every token must come from' }),
  audience: text('JWT_AUDIENCE', { default: null, defaultText: 'required with keys', values: 'the aud claim', doc: 'the audience every token must be meant for' }),
  identityClaim: text('JWT_IDENTITY_CLAIM', { default: null, defaultText: 'sub', values: 'a claim name', doc: 'the claim that names the caller' }),
  clockSkewSeconds: integer('JWT_CLOCK_SKEW_SECONDS', { default: 30, min: 0, max: 300, unit: 'seconds', doc: 'tolerance on exp / nbf' }),
  developmentHeader: text('IDENTITY_HEADER', { default: null, defaultText: 'unset (npm start in development: x-seller-id)', values: 'a header name', doc: 'development only: a header whose bare value names the caller; refused in production' }),
  subgraphSecret: text('GATEWAY_SUBGRAPH_SECRET', { default: null, defaultText: 'required with keys or IDENTITY_HEADER (npm start: random per start)', values: `at least ${MIN_SECRET_LENGTH} characters`, secret: true, doc: 'signs the caller\'s identity for the subgraphs' }),
} satisfies SettingGroup;

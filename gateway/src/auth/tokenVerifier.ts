/**
 * Verifies the bearer token a caller sends (a JWT signed by the identity provider) and names the caller: the
 * value of one claim (`sub` by default). Keys come from a JWKS, remote (fetched and cached by `jose`, refreshed
 * when a token names an unknown `kid`) or a local file read once, with the configuration (`readJwksFile`). Issuer, audience, expiry and
 * not-before are always checked, with a bounded clock skew; only asymmetric algorithms are accepted, so neither
 * `none` nor an HMAC token signed with a public key as its secret can pass.
 */
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';

/** A remote key set, or one read from a file (with the rest of the configuration, so a bad file stops start-up). */
export type JwksSource = { kind: 'url'; url: string } | { kind: 'file'; path: string; keys: JSONWebKeySet };

export interface TokenVerifierConfig {
  jwks: JwksSource;
  issuer: string;
  audience: string;
  /** The claim that names the caller (JWT_IDENTITY_CLAIM). */
  identityClaim: string;
  clockSkewSeconds: number;
}

export const ACCEPTED_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

/** Longest identity accepted from a token: it becomes part of cache keys and subgraph headers. */
export const MAX_IDENTITY_LENGTH = 256;

/** Why a token was refused, in words safe to send back (RFC 6750 `error_description`). */
export class TokenRejected extends Error {
  override name = 'TokenRejected';
}

/** Who a verified token names, and until when (its `exp`): a stream opened with it ends then. */
export interface VerifiedToken {
  identity: string;
  expiresAtMs: number;
}

export interface TokenVerifier {
  /** The caller the token names; rejects with TokenRejected when it does not verify. */
  verify(token: string): Promise<VerifiedToken>;
}

export function createTokenVerifier(config: TokenVerifierConfig, now: () => number = Date.now): TokenVerifier {
  const keys = keySet(config.jwks);
  return {
    async verify(token) {
      let payload: Record<string, unknown>;
      try {
        ({ payload } = await jwtVerify(token, keys, {
          issuer: config.issuer,
          audience: config.audience,
          algorithms: ACCEPTED_ALGORITHMS,
          clockTolerance: config.clockSkewSeconds,
          currentDate: new Date(now()),
          requiredClaims: ['exp'],
        }));
      } catch (error) {
        throw new TokenRejected(describe(error), { cause: error });
      }
      const identity = payload[config.identityClaim];
      if (typeof identity !== 'string' || identity.trim() === '' || identity.length > MAX_IDENTITY_LENGTH) {
        throw new TokenRejected(`the token's ${config.identityClaim} claim does not name a caller`);
      }
      // `exp` is required above, so it is there and numeric.
      return { identity: identity.trim(), expiresAtMs: (payload.exp as number) * 1000 };
    },
  };
}

function keySet(source: JwksSource): JWTVerifyGetKey {
  if (source.kind === 'url') {
    // Keys are cached; an unknown kid triggers a refetch at most every 30 s, so a flood of forged kids cannot
    // turn into a flood of requests to the identity provider.
    return createRemoteJWKSet(new URL(source.url), { timeoutDuration: 5_000, cooldownDuration: 30_000, cacheMaxAge: 600_000 });
  }
  return createLocalJWKSet(source.keys);
}

/** The public key set in a JWKS file, or why the file is not one (a problem naming JWT_JWKS_FILE). */
export function readJwksFile(path: string): JSONWebKeySet | string {
  let jwks: unknown;
  try {
    jwks = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    return `JWT_JWKS_FILE cannot be read as JSON: "${path}" (${(error as Error).message})`;
  }
  if (!jwks || typeof jwks !== 'object' || !Array.isArray((jwks as { keys?: unknown }).keys) || (jwks as JSONWebKeySet).keys.length === 0) {
    return `JWT_JWKS_FILE must hold a JSON Web Key Set ({"keys":[...]}) with at least one key: "${path}"`;
  }
  if ((jwks as JSONWebKeySet).keys.some((key) => 'd' in key || key.kty === 'oct')) {
    return `JWT_JWKS_FILE must hold public keys only (no "d", no "oct" secrets): "${path}"`;
  }
  return jwks as JSONWebKeySet;
}

function describe(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'the token has expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case 'nbf':
        return 'the token is not valid yet';
      case 'iss':
        return 'the token was issued by an issuer this gateway does not trust';
      case 'aud':
        return 'the token is meant for another audience';
      default:
        return `the token's ${error.claim} claim is not acceptable`;
    }
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return 'the token is signed with an algorithm this gateway does not accept';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'the token signature does not verify';
  if (error instanceof errors.JWKSNoMatchingKey) return 'no trusted key matches the token';
  // Anything that is not jose's own verdict on the token (a JWKS fetch that failed or timed out) is ours.
  if (error instanceof errors.JWKSTimeout || !(error instanceof errors.JOSEError)) return 'the trusted keys could not be loaded';
  return 'the token is malformed';
}

/**
 * An identity provider for tests: an ES256 key pair, its JWKS written to a temporary file (JWT_JWKS_FILE), and
 * tokens signed with it or, to forge, with another key.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';

export const TEST_ISSUER = 'https://issuer.test';
export const TEST_AUDIENCE = 'gateway.test';

export interface TokenOptions {
  claims?: JWTPayload;
  issuer?: string;
  audience?: string;
  /** Seconds since the epoch. */
  issuedAt?: number;
  expiresAt?: number;
  notBefore?: number;
  /** Sign with a key the gateway does not trust (under the trusted key's kid). */
  forged?: boolean;
}

export interface TestIssuer {
  jwksFile: string;
  jwks: { keys: object[] };
  env: Record<string, string>;
  token(subject: string, options?: TokenOptions): Promise<string>;
  close(): Promise<void>;
}

export async function startTestIssuer(): Promise<TestIssuer> {
  const trusted = await generateKeyPair('ES256', { extractable: true });
  const stranger = await generateKeyPair('ES256');
  const kid = 'test-key';
  const jwks = { keys: [{ ...(await exportJWK(trusted.publicKey)), kid, alg: 'ES256', use: 'sig' }] };
  const dir = await mkdtemp(join(tmpdir(), 'issuer-'));
  const jwksFile = join(dir, 'jwks.json');
  await writeFile(jwksFile, JSON.stringify(jwks));
  return {
    jwksFile,
    jwks,
    env: { JWT_JWKS_FILE: jwksFile, JWT_ISSUER: TEST_ISSUER, JWT_AUDIENCE: TEST_AUDIENCE },
    async token(subject, options = {}) {
      const now = Math.floor(Date.now() / 1000);
      const jwt = new SignJWT(options.claims ?? {})
        .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
        .setIssuer(options.issuer ?? TEST_ISSUER)
        .setAudience(options.audience ?? TEST_AUDIENCE)
        .setSubject(subject)
        .setIssuedAt(options.issuedAt ?? now)
        .setExpirationTime(options.expiresAt ?? now + 300);
      if (options.notBefore !== undefined) jwt.setNotBefore(options.notBefore);
      return jwt.sign(options.forged ? stranger.privateKey : trusted.privateKey);
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

/** An unsecured JWT (`alg: none`) naming `subject`, otherwise valid: RFC 7519 6.1. */
export function unsecuredToken(subject: string): string {
  const now = Math.floor(Date.now() / 1000);
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ iss: TEST_ISSUER, aud: TEST_AUDIENCE, sub: subject, iat: now, exp: now + 300 })}.`;
}

/**
 * A development identity provider for the reference deployment: one ES256 key pair kept under
 * `<DATA_DIR>/dev-identity/` (created on first use), its public half as a JWKS file the gateway reads
 * (JWT_JWKS_FILE), and tokens for any seller id signed with its private half. It stands in for a real provider
 * (Auth0, Keycloak, Cognito...) on a developer's machine: the gateway verifies these tokens exactly as it would
 * verify real ones, and in production it is given the real provider's JWKS, issuer and audience instead.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';

export const DEV_ISSUER = 'urn:hybrid-gigs:dev-identity';
export const DEV_AUDIENCE = 'urn:hybrid-gigs:gateway';
/** Long enough for a working session in the pages' editor; a development token is not a secret worth guarding. */
export const DEV_TOKEN_LIFETIME_SECONDS = 12 * 60 * 60;

export interface DevIdentity {
  jwksFile: string;
  issuer: string;
  audience: string;
  /** A token naming `sellerId` (claim `sub`). */
  issue(sellerId: string, options?: { lifetimeSeconds?: number }): Promise<string>;
}

export async function devIdentity(dataDir = resolve(process.env.DATA_DIR || 'data')): Promise<DevIdentity> {
  const dir = join(dataDir, 'dev-identity');
  const privateFile = join(dir, 'private.jwk.json');
  const jwksFile = join(dir, 'jwks.json');
  if (!existsSync(privateFile) || !existsSync(jwksFile)) {
    await mkdir(dir, { recursive: true });
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const kid = `dev-${Date.now().toString(36)}`;
    await writeFile(privateFile, JSON.stringify({ ...(await exportJWK(privateKey)), kid, alg: 'ES256' }), { mode: 0o600 });
    await writeFile(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }] }, null, 2));
  }
  const jwk = JSON.parse(await readFile(privateFile, 'utf8')) as JWK & { kid: string };
  const key = await importJWK(jwk, 'ES256');
  return {
    jwksFile,
    issuer: DEV_ISSUER,
    audience: DEV_AUDIENCE,
    async issue(sellerId, options = {}) {
      return new SignJWT({})
        .setProtectedHeader({ alg: 'ES256', kid: jwk.kid, typ: 'JWT' })
        .setIssuer(DEV_ISSUER)
        .setAudience(DEV_AUDIENCE)
        .setSubject(sellerId)
        .setIssuedAt()
        .setExpirationTime(`${options.lifetimeSeconds ?? DEV_TOKEN_LIFETIME_SECONDS}s`)
        .sign(key);
    },
  };
}

/**
 * How the gateway tells a subgraph who the caller is, in a form the subgraph can check came from the gateway: a
 * short-lived JWT (HS256, signed with GATEWAY_SUBGRAPH_SECRET, shared with the subgraphs only) in the
 * `x-gateway-identity` header, with `iss` "gateway", `aud` "subgraphs", `sub` the caller, `iat` and `exp`.
 * Subgraphs verify it with any JWT library and ignore every other identity header.
 *
 * It is signed per subgraph request, synchronously, with node:crypto (an HMAC costs microseconds): a fetch late in
 * a long operation still carries a fresh token, and the data source needs no await to build its headers.
 */
import { createHmac } from 'node:crypto';

export const GATEWAY_IDENTITY_HEADER = 'x-gateway-identity';
export const SUBGRAPH_TOKEN_ISSUER = 'gateway';
export const SUBGRAPH_TOKEN_AUDIENCE = 'subgraphs';
/** Long enough for a request in transit and a few seconds of clock difference; short enough to be useless later. */
export const SUBGRAPH_TOKEN_LIFETIME_SECONDS = 60;
/** Below this a shared HMAC secret is guessable; 32 bytes is what HS256 itself hashes to. */
export const MIN_SECRET_LENGTH = 32;

export class SubgraphIdentitySigner {
  private readonly header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));

  constructor(private readonly secret: string, private readonly now: () => number = Date.now) {
    if (secret.length < MIN_SECRET_LENGTH) throw new Error(`the gateway-subgraph secret must be at least ${MIN_SECRET_LENGTH} characters`);
  }

  /** The headers a subgraph request on behalf of `identity` carries. */
  headersFor(identity: string): Record<string, string> {
    return { [GATEWAY_IDENTITY_HEADER]: this.sign(identity) };
  }

  sign(identity: string): string {
    const issuedAt = Math.floor(this.now() / 1000);
    const payload = base64url(JSON.stringify({
      iss: SUBGRAPH_TOKEN_ISSUER,
      aud: SUBGRAPH_TOKEN_AUDIENCE,
      sub: identity,
      iat: issuedAt,
      exp: issuedAt + SUBGRAPH_TOKEN_LIFETIME_SECONDS,
    }));
    const signature = createHmac('sha256', this.secret).update(`${this.header}.${payload}`).digest('base64url');
    return `${this.header}.${payload}.${signature}`;
  }
}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

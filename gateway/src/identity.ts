/**
 * The single place the gateway reads the caller's identity and decides what of it subgraphs see. Today that is
 * the `x-seller-id` header, passed on as is; signed tokens (verified here, identity passed on to trusted
 * subgraphs) replace the body of these two functions and nothing else.
 */
export const IDENTITY_HEADER = 'x-seller-id';

export interface HeaderSource {
  get(name: string): string | null | undefined;
}

/** The caller's identity, or null for an anonymous request. */
export function callerIdentity(headers: HeaderSource | undefined): string | null {
  const value = headers?.get(IDENTITY_HEADER)?.trim();
  return value ? value : null;
}

/** Headers to add to every subgraph request made on behalf of this caller. */
export function identityHeaders(identity: string | null): Record<string, string> {
  return identity ? { [IDENTITY_HEADER]: identity } : {};
}

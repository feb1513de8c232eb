/**
 * The single place the data source learns who is calling and what of it subgraphs see. The HTTP layer
 * authenticates the request (auth/authenticator.ts) and binds the verified caller to the request's header map,
 * the object Apollo hands the data source as `incomingRequestContext.request.http.headers`. Binding by object,
 * not by header value, means nothing a client sends can pose as a verified identity.
 */
import type { SubgraphIdentitySigner } from './auth/subgraphIdentity.js';

/**
 * The request header that names the caller: `Authorization: Bearer <token>`. (A development deployment may also
 * accept a bare header, whose name is the IDENTITY_HEADER setting, `config.identity.developmentHeader`.)
 */
export const IDENTITY_HEADER = 'authorization';

export interface HeaderSource {
  get(name: string): string | null | undefined;
}

interface BoundCaller {
  identity: string;
  signer: SubgraphIdentitySigner;
}

const callers = new WeakMap<object, BoundCaller>();

/** Called by the HTTP layer once the caller is verified; `headers` is the map passed on to Apollo Server. */
export function bindCaller(headers: HeaderSource, identity: string, signer: SubgraphIdentitySigner): void {
  callers.set(headers, { identity, signer });
}

/** The verified caller of the request these headers came with, or null for an anonymous request. */
export function callerIdentity(headers: HeaderSource | undefined): string | null {
  return (headers && callers.get(headers)?.identity) ?? null;
}

/**
 * Headers to add to every subgraph request made for the request these headers came with: the caller's identity,
 * signed by the gateway (auth/subgraphIdentity.ts); none for an anonymous request.
 */
export function identityHeaders(headers: HeaderSource | undefined): Record<string, string> {
  const caller = headers && callers.get(headers);
  return caller ? caller.signer.headersFor(caller.identity) : {};
}

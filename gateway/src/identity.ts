/**
 * The single place the data source learns who is calling and what of it subgraphs see. The HTTP layer
 * authenticates the request (auth/authenticator.ts) and puts the verified caller into the operation's context
 * object under a symbol (`callerContext`); the data source reads it from `incomingRequestContext.context`. The
 * context is built by our server alone, so nothing a client sends (no header, no extension) can pose as a
 * verified identity. A symbol-keyed own property survives Apollo copying the context for each operation of a batch.
 */
import type { SubgraphIdentitySigner } from './auth/subgraphIdentity.js';

/**
 * The request header that names the caller: `Authorization: Bearer <token>`. (A development deployment may also
 * accept a bare header, whose name is the IDENTITY_HEADER setting, `config.identity.developmentHeader`.)
 */
export const IDENTITY_HEADER = 'authorization';

const CALLER = Symbol.for('hybrid-gateway.caller');

interface BoundCaller {
  identity: string;
  signer: SubgraphIdentitySigner;
}

/** The part of an operation's context that names its verified caller; spread it into the context object. */
export function callerContext(identity: string, signer: SubgraphIdentitySigner): Record<symbol, BoundCaller> {
  return { [CALLER]: { identity, signer } };
}

function boundCaller(context: object | undefined): BoundCaller | undefined {
  return context ? (context as Record<symbol, BoundCaller | undefined>)[CALLER] : undefined;
}

/** The verified caller of the operation with this context (`incomingRequestContext.context`), or null: anonymous. */
export function callerIdentity(context: object | undefined): string | null {
  return boundCaller(context)?.identity ?? null;
}

/**
 * Headers to add to every subgraph request made for the operation with this context: the caller's identity,
 * signed by the gateway (auth/subgraphIdentity.ts); none for an anonymous operation.
 */
export function identityHeaders(context: object | undefined): Record<string, string> {
  const caller = boundCaller(context);
  return caller ? caller.signer.headersFor(caller.identity) : {};
}

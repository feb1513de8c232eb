/**
 * Cache keys for the per-entity cache. A key names one subgraph's answer for one entity under one selection:
 * the same entity fetched with a different selection set, different variables or for a different private caller
 * is a different entry. Keys are hashed so a long operation text costs 43 bytes per entry, not kilobytes.
 */
import { hash } from 'node:crypto';

export interface EntityCacheKeyInput {
  subgraph: string;
  /** The subgraph fetch's query text (it carries the selection set). */
  operation: string;
  /** The fetch's variables WITHOUT `representations`. */
  variables: Record<string, unknown>;
  /** `__typename`, the key fields and any `@requires` fields of this one entity. */
  representation: Record<string, unknown>;
  /** The caller's identity for private entries; null for public ones. */
  scope: string | null;
}

/** A stable key: object key order never matters, and public vs private (and one caller vs another) never collide. */
export function entityCacheKey(input: EntityCacheKeyInput): string {
  const typename = typeof input.representation.__typename === 'string' ? input.representation.__typename : '';
  const digest = hash('sha256', selectionDigest(input.subgraph, input.operation) + stableJson([
    input.variables,
    input.representation,
    input.scope === null ? ['public'] : ['private', input.scope],
  ]), 'base64url');
  // The readable prefix helps when inspecting a cache; the digest alone decides identity.
  return `${input.subgraph}:${typename}:${digest}`;
}

/** Per subgraph, the digest of each operation text it was asked: at most this many texts each. */
const SELECTIONS_PER_SUBGRAPH = 10_000;
const selectionDigests = new Map<string, Map<string, string>>();

/**
 * The digest of one subgraph operation, computed once per text: a fetch's query text is long and the same for
 * every request that plans it, while the per-entity part of a key is short.
 */
function selectionDigest(subgraph: string, operation: string): string {
  let digests = selectionDigests.get(subgraph);
  if (!digests) selectionDigests.set(subgraph, (digests = new Map()));
  let digest = digests.get(operation);
  if (digest === undefined) {
    // A burst of distinct texts (a schema that changes often) starts the memo afresh rather than growing it.
    if (digests.size >= SELECTIONS_PER_SUBGRAPH) digests.clear();
    digest = hash('sha256', stableJson([subgraph, operation]), 'base64url');
    digests.set(operation, digest);
  }
  return digest;
}

/**
 * Names an entity independently of subgraph, selection and scope, so an event ("Product p-1 changed") can evict
 * every cached copy of it. Pass the `@key` fields only, not `@requires` fields.
 */
export function entityIdentity(typename: string, keyFields: Record<string, unknown>): string {
  const { __typename: _ignored, ...fields } = keyFields;
  return `${typename}:${stableJson(fields)}`;
}

/** JSON with object keys sorted at every depth; arrays keep their order (it is meaningful). */
export function stableJson(value: unknown): string {
  return JSON.stringify(sortKeys(value)) ?? 'undefined';
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) sorted[key] = sortKeys((value as Record<string, unknown>)[key]);
    return sorted;
  }
  return value;
}

/**
 * One `_entities` answer, split into one result per representation sent: its value, the errors about it, its
 * validator and freshness. The shape is checked as ApolloGateway's executeFetch does (exactly one entity per
 * representation); an answer that fails the check fails every entity of the call.
 */
import type { GraphQLFormattedError } from 'graphql';
import { parseCacheControl, type CacheHint } from '../cache/cacheHints.js';
import { entityAnswerTags } from '../cache/entityTags.js';
import { readEntityValidation } from '../cache/entityValidation.js';
import { SubgraphFailure } from '../errors.js';
import type { TransportResponse } from './stages/transport.js';

export interface EntityAnswer {
  kind: 'answer';
  value: Record<string, unknown> | null;
  /** Errors about this entity, with their path below `["_entities", i]`. */
  errors: readonly { error: GraphQLFormattedError; rest: ReadonlyArray<string | number> }[];
  /** Errors of the whole response not tied to one entity; the same array for every entity of the response. */
  globalErrors: readonly GraphQLFormattedError[];
  notModified: boolean;
  etag: string | null;
  /** Per-entity max-age from the entity-cache protocol, when the subgraph speaks it. */
  maxAgeSeconds: number | null;
  /** The response's Cache-Control. */
  hint: CacheHint;
  /** Tags the subgraph gave this entity (`extensions.apolloEntityCacheTags[i]`). */
  subgraphTags: readonly string[];
  /** Set by the first request that stores this answer in the cache, so requests sharing it store it once. */
  stored: boolean;
  /**
   * How many requests still take this value (the merge stage counts them). All but the last get a copy; the last
   * takes the parsed value itself, so an answer nobody shares is never copied.
   */
  consumers: number;
}

const NONE: readonly never[] = Object.freeze([]);

export interface EntityFailed {
  kind: 'failed';
  failure: SubgraphFailure;
  /** The call was left running past the deadline: this entity's result once it ends, to store for later pages. */
  late?: Promise<EntityResult>;
}

export type EntityResult = EntityAnswer | EntityFailed;

/** Splits one `_entities` answer into one result per representation sent, checking its shape like executeFetch. */
export function splitEntities(
  serviceName: string,
  response: TransportResponse,
  count: number,
  ifNoneMatch: readonly (string | null)[],
): EntityResult[] {
  const body = response.body;
  const data = body?.data;
  const entities = data?._entities;
  if (!body || (data !== null && (!Array.isArray(entities) || entities.length !== count))) {
    const failure = new SubgraphFailure('SUBGRAPH_BAD_RESPONSE', serviceName,
      `${serviceName} answered ${Array.isArray(entities) ? `${entities.length} entities for ${count} representations` : 'without _entities'}`);
    return Array.from({ length: count }, () => ({ kind: 'failed', failure }));
  }
  const hint = parseCacheControl(response.headers['cache-control']);
  const validation = readEntityValidation(body.extensions, count, ifNoneMatch);
  // A large answer has hundreds of entities and usually no errors or tags: those share one empty list.
  const perEntity: { error: GraphQLFormattedError; rest: ReadonlyArray<string | number> }[][] = [];
  const globalErrors: GraphQLFormattedError[] = [];
  for (const error of body.errors ?? []) {
    const path = error.path;
    if (path && path[0] === '_entities' && typeof path[1] === 'number' && path[1] >= 0 && path[1] < count) {
      (perEntity[path[1]] ??= []).push({ error: error as GraphQLFormattedError, rest: path.slice(2) });
    } else {
      globalErrors.push(error as GraphQLFormattedError);
    }
  }
  const tagged = body.extensions?.apolloEntityCacheTags !== undefined;
  return Array.from({ length: count }, (_, i) => {
    const value = Array.isArray(entities) ? entities[i] : null;
    return {
      kind: 'answer',
      value: value && typeof value === 'object' ? (value as Record<string, unknown>) : null,
      errors: perEntity[i] ?? NONE,
      globalErrors,
      notModified: validation?.notModified.has(i) ?? false,
      etag: validation?.etags[i] ?? null,
      maxAgeSeconds: validation?.maxAgeSeconds[i] ?? null,
      hint,
      subgraphTags: tagged ? entityAnswerTags(body.extensions, i) : NONE,
      stored: false,
      consumers: 1,
    };
  });
}

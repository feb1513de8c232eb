/**
 * The subgraph side of the entity-cache protocol (gateway/PROTOCOL.md), as one Apollo Server plugin.
 *
 * `_entities` answers: every entity of a type with a version gets a validator derived from that version (from
 * the resolved entity, never from the selected fields, since the gateway's selection may not include `version`)
 * and a max-age from its cache hints. When the request names, for representation i, the validator the entity
 * still has, `_entities[i]` and `etags[i]` are answered null, i is listed in `notModified`, and its payload never
 * goes on the wire. All of it travels in `extensions.entityCache`.
 *
 * Root answers: a cacheable query answer (Apollo's cache policy says max-age > 0, no errors) gets an `ETag`
 * header, and a request whose `If-None-Match` matches it gets `304 Not Modified` with no body (RFC 9110 §13.1.2,
 * §15.4.5). Never for mutations, never for answers with errors.
 */
import { createHash } from 'node:crypto';
import type { ApolloServerPlugin, BaseContext, GraphQLRequestContextWillSendResponse } from '@apollo/server';
import { responsePathAsArray, type GraphQLCompositeType, type GraphQLResolveInfo } from 'graphql';

export const ENTITY_CACHE_PROTOCOL_VERSION = 1;

/** How to read an entity's version, per typename; the value may be a number or string (a row version, an updated_at). */
export type EntityVersions = Record<string, (entity: any) => string | number | null | undefined>;

export interface EntityCacheProtocolOptions {
  /** Types whose entities get validators. Types not listed get `null` validators (max-age still applies). */
  versions?: EntityVersions;
  /** Answer root queries with `ETag` / `304`. Default true. */
  rootETags?: boolean;
}

/** The `extensions.entityCache` a subgraph sends with an `_entities` answer. */
export interface EntityCacheResponseExtension {
  version: typeof ENTITY_CACHE_PROTOCOL_VERSION;
  etags: (string | null)[];
  maxAge: (number | null)[];
  notModified: number[];
}

/** Apollo Server's cache-control plugin puts this on `info`; typed here to avoid a transitive dependency. */
interface InfoCacheControl {
  cacheHint: { maxAge?: number };
  cacheHintFromType(type: GraphQLCompositeType): { maxAge?: number } | undefined;
}

interface EntitySlot {
  entity: Record<string, unknown> | null;
  typename: string | null;
  /** The live cache policies of the entity's fields; Apollo finishes them (default max-age) before the answer. */
  fieldHints: { maxAge?: number }[];
  typeMaxAge: number | undefined;
}

export function entityCacheProtocolPlugin<TContext extends BaseContext>(options: EntityCacheProtocolOptions = {}): ApolloServerPlugin<TContext> {
  const versions = options.versions ?? {};
  const rootETags = options.rootETags ?? true;
  return {
    async requestDidStart() {
      let representations: unknown[] | null = null;
      const slots = new Map<number, EntitySlot>();
      return {
        async executionDidStart() {
          return {
            willResolveField({ source, args, info }) {
              // Cheap test first (no allocation): only fields under the root `_entities` field matter.
              let root = info.path;
              while (root.prev) root = root.prev;
              if (root.key !== '_entities' || info.operation.operation !== 'query') return;
              const path = responsePathAsArray(info.path);
              if (path.length === 1) {
                const given = (args as { representations?: unknown }).representations;
                representations = Array.isArray(given) ? given : null;
                return;
              }
              const index = path[1];
              if (typeof index !== 'number' || path.length < 3) return;
              let slot = slots.get(index);
              const cacheControl = (info as GraphQLResolveInfo & { cacheControl?: InfoCacheControl }).cacheControl;
              if (!slot) {
                // A direct field of `_entities[i]`: its source is the resolved entity, its parent the concrete type.
                slot = {
                  entity: source && typeof source === 'object' ? (source as Record<string, unknown>) : null,
                  typename: info.parentType.name,
                  fieldHints: [],
                  typeMaxAge: cacheControl?.cacheHintFromType(info.parentType)?.maxAge,
                };
                slots.set(index, slot);
              }
              if (cacheControl) slot.fieldHints.push(cacheControl.cacheHint);
            },
          };
        },

        async willSendResponse(requestContext) {
          if (representations) answerEntities(requestContext, representations, slots, versions);
          else if (rootETags) answerRoot(requestContext);
        },
      };
    },
  };
}

function answerEntities(
  requestContext: GraphQLRequestContextWillSendResponse<BaseContext>,
  representations: unknown[],
  slots: Map<number, EntitySlot>,
  versions: EntityVersions,
): void {
  const { response, request } = requestContext;
  if (response.body.kind !== 'single') return;
  const result = response.body.singleResult;
  const entities = (result.data as { _entities?: unknown } | null | undefined)?._entities;
  if (!Array.isArray(entities) || entities.length !== representations.length) return;

  const failed = new Set<number>();
  for (const error of result.errors ?? []) {
    if (error.path?.[0] === '_entities' && typeof error.path[1] === 'number') failed.add(error.path[1]);
  }
  const ifNoneMatch = requestedValidators(request.extensions, representations.length);
  const etags: (string | null)[] = [];
  const maxAge: (number | null)[] = [];
  const notModified: number[] = [];
  representations.forEach((representation, i) => {
    const slot = slots.get(i);
    const ok = entities[i] !== null && slot !== undefined && !failed.has(i);
    const etag = ok ? validatorFor(slot!, representation, versions) : null;
    maxAge.push(ok ? entityMaxAge(slot!) : null);
    if (etag !== null && ifNoneMatch?.[i] === etag) {
      // The gateway holds this validator already: neither the payload nor the validator goes back.
      entities[i] = null;
      notModified.push(i);
      etags.push(null);
    } else {
      etags.push(etag);
    }
  });
  const extension: EntityCacheResponseExtension = { version: ENTITY_CACHE_PROTOCOL_VERSION, etags, maxAge, notModified };
  result.extensions = { ...result.extensions, entityCache: extension };
}

/** The request's `ifNoneMatch`, or null when absent or malformed: a garbage request extension is ignored, not an error. */
export function requestedValidators(extensions: unknown, count: number): (string | null)[] | null {
  const wire = (extensions as { entityCache?: { version?: unknown; ifNoneMatch?: unknown } } | undefined)?.entityCache;
  if (!wire || typeof wire !== 'object') return null;
  if (wire.version !== undefined && wire.version !== ENTITY_CACHE_PROTOCOL_VERSION) return null;
  const list = wire.ifNoneMatch;
  if (!Array.isArray(list) || list.length !== count) return null;
  return list.map((v) => (typeof v === 'string' && v.length > 0 ? v : null));
}

/**
 * A strong validator for one entity: a digest of its concrete type, its representation (key and @requires
 * fields) and its version. The version alone would do for one entity; the rest makes a validator meaningless for
 * any other entity, so a misaligned request can never get a false "not modified".
 */
export function entityValidator(typename: string, representation: unknown, version: string | number): string {
  const digest = createHash('sha256').update(JSON.stringify([typename, sortKeys(representation), String(version)])).digest('base64url');
  // 60 bits: a false "not modified" after a change is a 2^-60 chance, and a validator costs 16 bytes on the wire
  // (it travels once per entity in every answer, so its size matters next to small entities).
  return `"${digest.slice(0, 10)}"`;
}

function validatorFor(slot: EntitySlot, representation: unknown, versions: EntityVersions): string | null {
  if (!slot.entity || !slot.typename) return null;
  const read = versions[slot.typename];
  if (!read) return null;
  const version = read(slot.entity);
  if (version === null || version === undefined || version === '') return null;
  return entityValidator(slot.typename, representation, version);
}

/**
 * The entity's own max-age: the least of its type's `@cacheControl` and every hint among its fields (after Apollo
 * applied its defaults, e.g. 0 for an object field with no hint). Null when nothing says anything; then the
 * response's Cache-Control applies.
 */
function entityMaxAge(slot: EntitySlot): number | null {
  let least: number | undefined = slot.typeMaxAge;
  for (const hint of slot.fieldHints) {
    if (hint.maxAge !== undefined && (least === undefined || hint.maxAge < least)) least = hint.maxAge;
  }
  return least === undefined ? null : least;
}

function answerRoot(requestContext: GraphQLRequestContextWillSendResponse<BaseContext>): void {
  const { response, request, operation, overallCachePolicy } = requestContext;
  if (operation?.operation !== 'query' || response.body.kind !== 'single') return;
  const result = response.body.singleResult;
  if (result.errors?.length || !overallCachePolicy.policyIfCacheable()) return;
  // The data alone: extensions (traces) differ on every answer and say nothing about the content.
  const etag = `"${createHash('sha256').update(JSON.stringify(result.data ?? null)).digest('base64url').slice(0, 27)}"`;
  response.http.headers.set('etag', etag);
  if (ifNoneMatchMatches(request.http?.headers.get('if-none-match'), etag)) {
    response.http.status = 304;
  }
}

/** RFC 9110 §13.1.2: If-None-Match uses weak comparison; `*` matches any current representation. */
export function ifNoneMatchMatches(header: string | undefined | null, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
  const wanted = opaque(etag);
  return (header.match(/(?:W\/)?"[^"]*"/g) ?? []).some((tag) => opaque(tag) === wanted);
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = sortKeys((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}


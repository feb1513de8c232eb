/**
 * The gateway side of the entity-cache protocol (gateway/PROTOCOL.md): ETag-style revalidation per entity inside
 * one `_entities` call. Pure: builds the request extension and reads (and distrusts) the subgraph's answer.
 *
 * Request:  body.extensions.entityCache = { version: 1, ifNoneMatch: (string|null)[] }, aligned with
 *           variables.representations.
 * Response: body.extensions.entityCache = { version: 1, etags: (string|null)[], maxAge: (number|null)[],
 *           notModified: number[] }, aligned with data._entities; for i in notModified, _entities[i] is null and
 *           etags[i] is normally null too (the gateway holds that validator; it sent it).
 */

export const ENTITY_CACHE_PROTOCOL_VERSION = 1;

/** Validators longer than this are refused: an ETag is an opaque short token, not a payload. */
export const MAX_VALIDATOR_LENGTH = 256;

export interface EntityCacheRequestExtension {
  version: typeof ENTITY_CACHE_PROTOCOL_VERSION;
  ifNoneMatch: (string | null)[];
}

export function conditionalRequestExtensions(ifNoneMatch: (string | null)[]): { entityCache: EntityCacheRequestExtension } {
  return { entityCache: { version: ENTITY_CACHE_PROTOCOL_VERSION, ifNoneMatch: [...ifNoneMatch] } };
}

export interface EntityValidation {
  etags: (string | null)[];
  maxAgeSeconds: (number | null)[];
  notModified: ReadonlySet<number>;
}

/**
 * Reads `extensions.entityCache` of an `_entities` answer for `count` representations. Returns null when it is
 * absent or malformed in any way (unknown version, wrong lengths, bad types, an out-of-range or duplicate index):
 * the gateway then treats the subgraph as not speaking the protocol and
 * relies on `Cache-Control` alone. A half-trusted answer is never used, because a wrong "not modified" would
 * serve stale data as current.
 *
 * When `ifNoneMatch` (what the gateway sent) is given, every not-modified index must be one the gateway asked
 * about; a validator repeated there must equal the one sent (strong comparison, RFC 9110 §8.8.3.2), and a null
 * one is filled in with it, so `etags[i]` is the entity's validator for every entity the gateway can keep. Without
 * `ifNoneMatch`, a not-modified entity's `etags[i]` may be null: keep the validator already cached.
 */
export function readEntityValidation(extensions: unknown, count: number, ifNoneMatch?: readonly (string | null)[]): EntityValidation | null {
  if (!isRecord(extensions)) return null;
  const wire = extensions.entityCache;
  if (!isRecord(wire)) return null;
  // Absent version is read as 1, the only version so far; any other version is a protocol we do not know.
  if (wire.version !== undefined && wire.version !== ENTITY_CACHE_PROTOCOL_VERSION) return null;
  const { etags, maxAge, notModified } = wire;
  if (!Array.isArray(etags) || etags.length !== count || !etags.every(isValidatorOrNull)) return null;
  if (!Array.isArray(maxAge) || maxAge.length !== count || !maxAge.every(isMaxAgeOrNull)) return null;
  if (!Array.isArray(notModified) || notModified.length > count) return null;
  const indexes = new Set<number>();
  const validators = [...(etags as (string | null)[])];
  for (const index of notModified) {
    if (!Number.isInteger(index) || index < 0 || index >= count || indexes.has(index)) return null;
    const sent = ifNoneMatch?.[index];
    if (ifNoneMatch && (typeof sent !== 'string' || sent === '')) return null; // "not modified" for something never asked
    const etag = validators[index] ?? null;
    if (etag === null) {
      // The usual case: the subgraph leaves out the validator the gateway already holds.
      if (sent) validators[index] = sent;
    } else if (sent !== undefined && etag !== sent) {
      return null;
    }
    indexes.add(index);
  }
  return { etags: validators, maxAgeSeconds: maxAge as (number | null)[], notModified: indexes };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function isValidatorOrNull(value: unknown): boolean {
  return value === null || (typeof value === 'string' && value.length > 0 && value.length <= MAX_VALIDATOR_LENGTH);
}

function isMaxAgeOrNull(value: unknown): boolean {
  return value === null || (typeof value === 'number' && Number.isInteger(value) && value >= 0);
}

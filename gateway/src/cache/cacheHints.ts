/**
 * Reads a subgraph's `Cache-Control` response header into the few facts the entity cache needs, and a client's
 * request directives into "may I be served from cache without asking the origin". Pure parsing, no I/O.
 *
 * References: RFC 9111 (HTTP Caching) section 5.2 for the directive grammar and meaning, section 4.2.1 for what to
 * do with invalid or conflicting freshness information, RFC 5861 section 4 for `stale-if-error`.
 */

export interface CacheHint {
  /** How long the response is fresh, in whole seconds; 0 means "store only to revalidate, never serve unasked". */
  maxAgeSeconds: number;
  scope: 'public' | 'private';
  /** `no-store`: keep no copy at all (RFC 9111 §5.2.2.5). */
  noStore: boolean;
  /** How long past max-age a copy may stand in when the origin fails (RFC 5861 §4); 0 when not given. */
  staleIfErrorSeconds: number;
  /** How long past max-age a copy may be served while it is refreshed in the background (RFC 5861 §3); 0 when not given. */
  staleWhileRevalidateSeconds: number;
}

export interface RequestDirectives {
  /** The client wants nothing served without the origin's say-so: every cached part must be revalidated. */
  noCache: boolean;
}

/** RFC 9111 §1.2.2: a delta-seconds too large to represent is taken as 2^31. */
const MAX_DELTA_SECONDS = 2_147_483_648;

const UNCACHEABLE: CacheHint = Object.freeze({ maxAgeSeconds: 0, scope: 'public', noStore: false, staleIfErrorSeconds: 0, staleWhileRevalidateSeconds: 0 });

/**
 * Parses a response `Cache-Control`. Like Apollo's gateway, no header (or an empty one) means max-age 0: a
 * subgraph that says nothing about freshness is never served from cache unasked.
 *
 * The gateway is a shared cache for public data, so `s-maxage` wins over `max-age` (RFC 9111 §5.2.2.10). Private
 * data is kept per caller (the cache key carries the caller's scope), so for it the gateway acts as that caller's
 * private cache and `s-maxage` does not apply. `no-cache` (§5.2.2.4) keeps the copy for revalidation only
 * (max-age 0); `must-revalidate` / `proxy-revalidate` (§5.2.2.2, §5.2.2.8) forbid serving it stale, even on error.
 */
export function parseCacheControl(header: string | null | undefined): CacheHint {
  if (header == null) return { ...UNCACHEABLE };
  const directives = parseDirectives(header);
  if (directives.size === 0) return { ...UNCACHEABLE };

  const scope = directives.has('private') ? 'private' : 'public';
  const noStore = directives.has('no-store');
  const maxAge = deltaSeconds(directives.get('max-age'));
  const sMaxAge = scope === 'public' ? deltaSeconds(directives.get('s-maxage')) : undefined;
  // §4.2.1: a response whose freshness information is invalid is stale (undefined = directive absent).
  let maxAgeSeconds = pick(sMaxAge, maxAge) ?? 0;
  if (noStore || directives.has('no-cache')) maxAgeSeconds = 0;

  const mustRevalidate = directives.has('must-revalidate') || directives.has('proxy-revalidate');
  const staleIfErrorSeconds = noStore || mustRevalidate ? 0 : (pick(deltaSeconds(directives.get('stale-if-error'))) ?? 0);
  const staleWhileRevalidateSeconds = noStore || mustRevalidate ? 0 : (pick(deltaSeconds(directives.get('stale-while-revalidate'))) ?? 0);
  return { maxAgeSeconds, scope, noStore, staleIfErrorSeconds, staleWhileRevalidateSeconds };
}

/**
 * Parses a client's request `Cache-Control` (and the HTTP/1.0 `Pragma`). `no-cache` (RFC 9111 §5.2.1.4) and
 * `max-age=0` (§5.2.1.1: "no response older than 0 seconds") both mean: revalidate everything. `Pragma: no-cache`
 * counts only when the request has no `Cache-Control` (RFC 7234 §5.4; RFC 9111 §5.4 deprecates Pragma).
 */
export function parseRequestDirectives(cacheControl: string | null | undefined, pragma?: string | null): RequestDirectives {
  if (cacheControl != null && cacheControl.trim() !== '') {
    const directives = parseDirectives(cacheControl);
    const maxAge = directives.get('max-age');
    return { noCache: directives.has('no-cache') || (maxAge !== undefined && deltaSeconds(maxAge) === 0) };
  }
  if (pragma != null) return { noCache: parseDirectives(pragma).has('no-cache') };
  return { noCache: false };
}

/**
 * Splits `a, b=1, c="x, y"` into lower-cased names and their (unquoted) values; a name without `=` maps to null.
 * A directive repeated with a different value reads as CONFLICT, which for a freshness directive makes the
 * response stale (§4.2.1 allows that instead of "first wins"). Quoted strings may contain commas (§5.2).
 */
function parseDirectives(header: string): Map<string, DirectiveValue> {
  const out = new Map<string, DirectiveValue>();
  let i = 0;
  while (i < header.length) {
    while (i < header.length && (header[i] === ',' || header[i] === ' ' || header[i] === '\t')) i++;
    let name = '';
    while (i < header.length && header[i] !== '=' && header[i] !== ',') name += header[i++];
    name = name.trim().toLowerCase();
    let value: string | null | typeof INVALID = null;
    if (header[i] === '=') {
      i++;
      while (header[i] === ' ' || header[i] === '\t') i++;
      if (header[i] === '"') {
        i++;
        let quoted = '';
        while (i < header.length && header[i] !== '"') {
          if (header[i] === '\\' && i + 1 < header.length) i++;
          quoted += header[i++];
        }
        const terminated = header[i] === '"';
        i++;
        let rest = '';
        while (i < header.length && header[i] !== ',') rest += header[i++];
        // An unterminated quote, or text after the closing quote, is not a valid value (it reads as invalid).
        value = terminated && rest.trim() === '' ? quoted : INVALID;
      } else {
        value = '';
        while (i < header.length && header[i] !== ',') value += header[i++];
        value = value.trim();
      }
    }
    if (name !== '') {
      const previous = out.get(name);
      if (previous === undefined && !out.has(name)) out.set(name, value);
      else if (previous !== value) out.set(name, CONFLICT);
    }
  }
  return out;
}

const CONFLICT = Symbol('conflicting duplicate directive');
const INVALID = Symbol('malformed directive value');
type DirectiveValue = string | null | typeof CONFLICT | typeof INVALID;

/** delta-seconds = 1*DIGIT (§1.2.2). Undefined when absent; NaN when present but invalid or conflicting. */
function deltaSeconds(value: DirectiveValue | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^\d+$/.test(value)) return Number.NaN;
  const n = Number(value);
  return n > MAX_DELTA_SECONDS ? MAX_DELTA_SECONDS : n;
}

/** The first given value; an invalid one (NaN) makes the response stale (0). */
function pick(...values: (number | undefined)[]): number | undefined {
  for (const value of values) {
    if (value === undefined) continue;
    return Number.isNaN(value) ? 0 : value;
  }
  return undefined;
}

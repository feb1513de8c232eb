/**
 * The `Cache-Tag` header a CDN in front of the gateway keys purges by (Cloudflare, Fastly's Surrogate-Key and
 * Akamai's Edge-Cache-Tag take the same list): the tags of everything a GET answer shows, so the change events that
 * evict the gateway's own entries can purge the CDN's copies too. Tags are percent-encoded (an entity tag's key JSON
 * may hold commas, which separate tags here), and the header stays within what CDNs accept.
 */
import type { GatewayFeature } from '../feature.js';
import { boolean, type SettingGroup } from '../settings.js';

/** Cloudflare's limit on the whole header. */
const MAX_HEADER_BYTES = 16_000;

/** The header for an answer, or null when it must carry none (nothing tagged, or not cacheable downstream anyway). */
export function cacheTagHeader(tags: ReadonlySet<string> | undefined, cacheControl: string | undefined): string | null {
  if (!tags || tags.size === 0 || !cacheControl || /no-store|private/i.test(cacheControl)) return null;
  let header = '';
  for (const tag of [...tags].sort()) {
    const encoded = encodeCacheTag(tag);
    // A partial list would leave copies no purge reaches: an answer with too many tags is better not cached.
    if (header.length + encoded.length + 1 > MAX_HEADER_BYTES) return null;
    header = header ? `${header},${encoded}` : encoded;
  }
  return header;
}

/** The header as a feature: GET answers only (a CDN caches nothing else). */
export function useCacheTagHeader(): GatewayFeature {
  return {
    name: 'cache-tag header',
    onResponse(operation, request, response) {
      if (operation.params.method !== 'GET') return;
      const header = cacheTagHeader(request.cacheTags, response.headers.get('cache-control'));
      if (header) operation.res.setHeader('cache-tag', header);
    },
  };
}

/** How a tag appears in `Cache-Tag`, and so how a purge must name it. */
export function encodeCacheTag(tag: string): string {
  return encodeURIComponent(tag);
}

export const CACHE_TAG_HEADER_SETTINGS = {
  enabled: boolean('CACHE_TAG_HEADER', { default: false, doc: 'cacheable GET answers carry Cache-Tag with the (percent-encoded) tags of what they show, for a CDN to purge by' }),
} satisfies SettingGroup;

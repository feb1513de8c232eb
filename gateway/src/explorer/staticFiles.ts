/**
 * Serving a built bundle from one folder, as pure decisions: which file a URL path names (never one outside the
 * folder), its content type, and how long a browser may keep it. Vite puts a content hash in every name under
 * assets/, so those never change and are cached for a year as immutable (RFC 8246); index.html is revalidated
 * on every visit so a new build shows at once.
 */
import { extname, isAbsolute, relative, resolve, sep } from 'node:path';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.ttf': 'font/ttf',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

export const IMMUTABLE_CACHE_CONTROL = 'public, max-age=31536000, immutable';
export const REVALIDATE_CACHE_CONTROL = 'no-cache';

/**
 * The file under `root` that a URL path (already stripped of the mount prefix, e.g. `assets/index-abc.js`) names,
 * or null when it would leave `root` or is not a plain relative path: `..` segments (also percent-encoded),
 * backslashes, NUL bytes and absolute paths are refused rather than normalised.
 */
export function resolveBundlePath(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const segments = decoded.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.some((s) => s === '..')) return null;
  const base = resolve(root);
  const target = resolve(base, ...segments);
  const inside = relative(base, target);
  if (inside.startsWith(`..${sep}`) || inside === '..' || isAbsolute(inside)) return null;
  return target;
}

/** The content type for a file name; unknown kinds are sent as bytes, which browsers will not run. */
export function contentTypeOf(path: string): string {
  return CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

/** Hashed build output (under assets/) is immutable; anything else (index.html) is revalidated. */
export function cacheControlFor(urlPath: string): string {
  return /^assets\/[^/]+-[A-Za-z0-9_-]{6,}\.[a-z0-9]+$/.test(urlPath) ? IMMUTABLE_CACHE_CONTROL : REVALIDATE_CACHE_CONTROL;
}

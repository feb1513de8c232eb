import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { documentedHeaders } from '../../src/explorer/explorerRoute.js';
import { cacheControlFor, contentTypeOf, IMMUTABLE_CACHE_CONTROL, resolveBundlePath, REVALIDATE_CACHE_CONTROL } from '../../src/explorer/staticFiles.js';

const root = resolve('/srv/explorer/dist');

describe('explorer files - which file a URL path names', () => {
  it('names files inside the bundle folder', () => {
    expect(resolveBundlePath(root, 'index.html')).toBe(join(root, 'index.html'));
    expect(resolveBundlePath(root, 'assets/index-DX_vtA32.js')).toBe(join(root, 'assets', 'index-DX_vtA32.js'));
    expect(resolveBundlePath(root, 'assets//./x.css')).toBe(join(root, 'assets', 'x.css'));
  });

  it('refuses every way out of the folder: .., encoded .., backslashes, NUL, bad escapes', () => {
    for (const path of ['../package.json', 'assets/../../x', '%2e%2e/x', '..%2f..%2fetc%2fpasswd', 'a/%2E%2E/%2E%2E/b',
      '..\\x', 'assets%5c..%5cx', 'x%00.js', '%E0%A4%A', '..']) {
      expect(resolveBundlePath(root, path), path).toBeNull();
    }
  });
});

describe('explorer files - content type and caching', () => {
  it('sends scripts, styles, fonts and the page with their types; anything else as bytes', () => {
    expect(contentTypeOf('index.html')).toBe('text/html; charset=utf-8');
    expect(contentTypeOf('a/graphql.worker-CnQW6F4w.js')).toBe('text/javascript; charset=utf-8');
    expect(contentTypeOf('a/index-mKZJgzXW.CSS')).toBe('text/css; charset=utf-8');
    expect(contentTypeOf('a/codicon-DCmgc-ay.ttf')).toBe('font/ttf');
    expect(contentTypeOf('a/unknown.bin')).toBe('application/octet-stream');
  });

  it('caches hashed assets as immutable and revalidates the page', () => {
    expect(cacheControlFor('assets/index-DX_vtA32.js')).toBe(IMMUTABLE_CACHE_CONTROL);
    expect(cacheControlFor('assets/rolldown-runtime-XKyaHtl9.js')).toBe(IMMUTABLE_CACHE_CONTROL);
    expect(cacheControlFor('index.html')).toBe(REVALIDATE_CACHE_CONTROL);
    expect(cacheControlFor('assets/unhashed.js')).toBe(REVALIDATE_CACHE_CONTROL);
  });
});

describe('explorer headers tab', () => {
  it('documents the bearer token and the development header only when the gateway reads them', () => {
    expect(documentedHeaders(undefined)).toEqual([]);
    expect(documentedHeaders({ token: null, developmentHeader: null })).toEqual([]);
    expect(documentedHeaders({ token: {}, developmentHeader: 'x-caller' }).map((h) => h.name)).toEqual(['authorization', 'x-caller']);
  });
});

/**
 * The local explorer at /explorer: GraphiQL, bundled at build time from npm (gateway/explorer/), served from
 * this gateway with everything it needs, so exploring works with no network beyond the gateway: no CDN, no web
 * fonts, no workers from elsewhere (unlike Apollo Sandbox, which the browser loads from Apollo's CDN). It talks
 * to this gateway's /graphql on the same origin, and its headers tab documents the identity header.
 *
 *   /explorer            -> redirect to /explorer/ (the bundle uses relative URLs)
 *   /explorer/           -> index.html with the gateway's settings written in, revalidated on every visit
 *   /explorer/assets/... -> hashed files, cached as immutable
 * A missing bundle answers 503 EXPLORER_NOT_BUILT (an HTML page for a browser, JSON otherwise); in development
 * the first visit builds it (bundleBuilder.ts).
 */
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { GatewayFeature } from '../feature.js';
import { sendRequestError } from '../http.js';
import type { Logger } from '../logger.js';
import { boolean, text, type SettingGroup } from '../settings.js';
import { fileURLToPath } from 'node:url';
import { UnreachableCaseError } from '../supergraphLoader.js';
import { BundleBuilder } from './bundleBuilder.js';
import { cacheControlFor, contentTypeOf, resolveBundlePath } from './staticFiles.js';

export const EXPLORER_PATH = '/explorer';

export interface ExplorerSettings {
  /** Serve the explorer at all (EXPLORER; on by default in development only). */
  enabled: boolean;
  /** The built bundle (EXPLORER_DIST; gateway/explorer/dist by default). */
  distDir: string;
  /** Build a missing or stale bundle on the first visit (development). */
  buildOnDemand: boolean;
}

/** The parts of the gateway's config the explorer reads: its own settings and how callers say who they are. */
export interface ExplorerConfig {
  explorer: ExplorerSettings;
  identity?: { token: unknown; developmentHeader: string | null };
}

/** A request header shown in the explorer's headers tab, empty, with what it is for. */
export interface DocumentedHeader {
  name: string;
  description: string;
}

export interface ExplorerRoute {
  handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void>;
  /** Stops an on-demand build still running. */
  close(): void;
}


/**
 * The page's security policy: scripts, styles, workers and requests from this origin only (plus inline styles,
 * which Monaco sets on its elements, and data: fonts and images, which GraphiQL's stylesheet inlines). A browser
 * that honours it cannot load anything from elsewhere even if a dependency tried to.
 */
export const EXPLORER_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "font-src 'self' data:",
  "img-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "frame-ancestors 'self'",
].join('; ');

const SETTINGS_MARKER = /<!--\s*explorer-settings\b[^>]*-->/;

/**
 * The identity headers this gateway reads (auth/authenticator.ts), for the headers tab: a bearer token when
 * tokens are configured, the development header when one is set. Empty values are not sent.
 */
export function documentedHeaders(identity: ExplorerConfig['identity']): DocumentedHeader[] {
  const headers: DocumentedHeader[] = [];
  if (identity?.token) {
    headers.push({ name: 'authorization', description: '"Bearer <token>" from your identity provider; empty = anonymous.' });
  }
  if (identity?.developmentHeader) {
    headers.push({ name: identity.developmentHeader, description: "Development only: the caller's id, unverified; empty = anonymous." });
  }
  return headers;
}

export function createExplorerRoute(config: ExplorerConfig, logger: Logger): ExplorerRoute {
  const options = config.explorer;
  const builder = new BundleBuilder({ ...options, logger });
  const settings = { endpoint: '../graphql', headers: documentedHeaders(config.identity) };
  const settingsScript = `<script id="explorer-settings" type="application/json">${JSON.stringify(settings).replace(/</g, '\\u003c')}</script>`;

  async function handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (!options.enabled) {
      return sendRequestError(res, 404, 'NOT_FOUND', `No route ${url.pathname}: the explorer is off (EXPLORER=true turns it on); GraphQL is served at /graphql`);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (url.pathname === EXPLORER_PATH) {
      // Relative, so it also works behind a proxy that mounts the gateway under a prefix.
      res.writeHead(308, { location: `explorer/${url.search}` }).end();
      return;
    }
    const state = await builder.current();
    switch (state.kind) {
      case 'ready':
        return serveFile(req, res, url.pathname.slice(EXPLORER_PATH.length + 1));
      case 'building': {
        const seconds = Math.round((performance.timeOrigin + performance.now() - state.sinceMs) / 1000);
        return sendNotBuilt(req, res, `The explorer is being built on this first visit (${seconds} s so far; it takes up to a minute). This page reloads itself.`, true);
      }
      case 'missing':
        return sendNotBuilt(req, res, state.reason, false);
      default:
        throw new UnreachableCaseError(state);
    }
  }

  async function serveFile(req: IncomingMessage, res: ServerResponse, urlPath: string): Promise<void> {
    const relativePath = urlPath === '' ? 'index.html' : urlPath;
    const path = resolveBundlePath(options.distDir, relativePath);
    const info = path ? await stat(path).catch(() => null) : null;
    if (!path || !info?.isFile()) {
      return sendRequestError(res, 404, 'NOT_FOUND', `No file ${EXPLORER_PATH}/${urlPath} in the explorer's bundle`);
    }
    const headers: Record<string, string> = {
      'content-type': contentTypeOf(path),
      'cache-control': cacheControlFor(relativePath),
      'x-content-type-options': 'nosniff',
    };
    if (relativePath === 'index.html') {
      const html = (await readFile(path, 'utf8')).replace(SETTINGS_MARKER, settingsScript);
      const body = Buffer.from(html, 'utf8');
      res.writeHead(200, { ...headers, 'content-length': String(body.length), 'content-security-policy': EXPLORER_CSP });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    res.writeHead(200, { ...headers, 'content-length': String(info.size) });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const stream = createReadStream(path);
      stream.once('error', reject);
      res.once('close', () => {
        stream.destroy();
        resolve();
      });
      stream.pipe(res);
    });
  }

  return { handle, close: () => builder.close() };
}

function sendNotBuilt(req: IncomingMessage, res: ServerResponse, message: string, building: boolean): void {
  const retry = building ? { 'retry-after': '5' } : {};
  if (!prefersHtml(req)) {
    res.setHeader('cache-control', 'no-store');
    for (const [key, value] of Object.entries(retry)) res.setHeader(key, value);
    return sendRequestError(res, 503, 'EXPLORER_NOT_BUILT', message);
  }
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Explorer not built</title>${building ? '<meta http-equiv="refresh" content="5">' : ''}
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#222}code{background:#f2f2f2;padding:0 .25em}</style>
</head><body><h1>${building ? 'Building the explorer' : 'The explorer is not built'}</h1><p>${escapeHtml(message)
    .replace(/`([^`]+)`/g, '<code>$1</code>')}</p><p>GraphQL itself is served at <a href="../graphql">/graphql</a>.</p></body></html>`;
  const body = Buffer.from(html, 'utf8');
  res.writeHead(503, { 'content-type': 'text/html; charset=utf-8', 'content-length': String(body.length), 'cache-control': 'no-store', ...retry });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** What Apollo Server's landing page checks too: a browser navigating asks for text/html. */
function prefersHtml(req: IncomingMessage): boolean {
  return (req.headers.accept ?? '').includes('text/html');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The explorer as a feature: /explorer and everything under it; a build still running is stopped with the gateway. */
export function useExplorer(config: ExplorerConfig, logger: Logger): GatewayFeature {
  const explorer = createExplorerRoute(config, logger);
  return { name: 'explorer', routes: { [EXPLORER_PATH]: explorer.handle, [`${EXPLORER_PATH}/*`]: explorer.handle }, stop: () => explorer.close() };
}

/** Where the built explorer is, by default: `gateway/explorer/dist`. */
export const DEFAULT_EXPLORER_DIST = fileURLToPath(new URL('../../explorer/dist', import.meta.url));

export const EXPLORER_SETTINGS = {
  enabled: boolean('EXPLORER', { default: (context) => context.mode === 'development', defaultText: 'on in development', doc: 'the local explorer at /explorer; in production it also needs INTROSPECTION=true and a PERSISTED_QUERIES mode that runs ad-hoc operations, and is served only when built beforehand (npm run build)' }),
  distDir: text('EXPLORER_DIST', { default: DEFAULT_EXPLORER_DIST, defaultText: 'gateway/explorer/dist', values: 'a folder', doc: 'the folder of the explorer\'s built bundle' }),
} satisfies SettingGroup;

/**
 * `POST /invalidation`: evicts cached answers on request, shaped after Apollo Router's invalidation endpoint so a
 * CMS, a job or an operator can purge what changed outside any event stream. Off unless INVALIDATION_SECRET is
 * set; the caller sends it as `Authorization: <secret>` (or `Bearer <secret>`). The body is one request or an
 * array of them:
 *
 *   { "kind": "cache_tag", "cache_tag": "Product:{\"id\":\"p1\"}" }     (or "cache_tags": [...])
 *   { "kind": "entity", "type": "Product", "key": { "id": "p1" } }
 *   { "kind": "type", "type": "Product", "subgraph": "products" }       (subgraph optional)
 *   { "kind": "subgraph", "subgraph": "products" }
 *
 * The answer says how many entries were dropped: `{ "count": 3 }`. A bad body changes nothing.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GatewayConfig } from '../config.js';
import type { GatewayFeature } from '../feature.js';
import { BodyTooLargeError, readBody, sendJson, sendRequestError } from '../http.js';
import { text, type SettingGroup } from '../settings.js';

export type InvalidationRequest =
  | { kind: 'cache_tag'; tags: string[] }
  | { kind: 'entity'; type: string; key: Record<string, unknown> }
  | { kind: 'type'; type: string; subgraph?: string }
  | { kind: 'subgraph'; subgraph: string };

export interface Invalidator {
  invalidateTags(tags: readonly string[]): number;
  invalidateEntity(typename: string, keyFields: Record<string, unknown>): number;
  invalidateType(typename: string, subgraph?: string): number;
  invalidateSubgraph(subgraph: string): number;
}

/** The most requests one call may carry. */
const MAX_REQUESTS = 1_000;

export async function handleInvalidation(req: IncomingMessage, res: ServerResponse, secret: string, maxBodyBytes: number, invalidator: Invalidator): Promise<void> {
  if (req.method !== 'POST') {
    res.writeHead(405, { allow: 'POST' }).end();
    return;
  }
  if (!authorized(req.headers.authorization, secret)) {
    return sendRequestError(res, 401, 'INVALIDATION_UNAUTHORIZED', 'Send the invalidation secret in the Authorization header',
      { 'www-authenticate': 'Bearer realm="invalidation"' });
  }
  let raw: string;
  try {
    raw = await readBody(req, maxBodyBytes);
  } catch (error) {
    if (error instanceof BodyTooLargeError) return sendRequestError(res, 413, 'PAYLOAD_TOO_LARGE', error.message);
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return sendRequestError(res, 400, 'INVALIDATION_BAD_REQUEST', 'The body is not JSON');
  }
  const requests = parseInvalidationRequests(parsed);
  if (typeof requests === 'string') return sendRequestError(res, 400, 'INVALIDATION_BAD_REQUEST', requests);
  let count = 0;
  for (const request of requests) count += apply(request, invalidator);
  sendJson(res, 200, { count });
}

/** The endpoint as a feature; without INVALIDATION_SECRET the path answers 404 saying how to turn it on. */
export function useInvalidationEndpoint(config: Pick<GatewayConfig, 'invalidationSecret' | 'maxBodyBytes'>, invalidator: Invalidator): GatewayFeature {
  const secret = config.invalidationSecret;
  return {
    name: 'invalidation endpoint',
    routes: {
      '/invalidation': secret === null
        ? (_req, res) => sendRequestError(res, 404, 'NOT_FOUND', 'The invalidation endpoint is off (set INVALIDATION_SECRET)')
        : (req, res) => handleInvalidation(req, res, secret, config.maxBodyBytes, invalidator),
    },
  };
}

/** The requests in a body, or what is wrong with it (nothing is evicted then). */
export function parseInvalidationRequests(body: unknown): InvalidationRequest[] | string {
  const items = Array.isArray(body) ? body : [body];
  if (items.length === 0) return 'The body names nothing to invalidate';
  if (items.length > MAX_REQUESTS) return `At most ${MAX_REQUESTS} invalidation requests at once`;
  const requests: InvalidationRequest[] = [];
  for (const [i, item] of items.entries()) {
    const at = Array.isArray(body) ? ` (item ${i})` : '';
    if (!item || typeof item !== 'object' || Array.isArray(item)) return `Each invalidation request is an object${at}`;
    const { kind, cache_tag: tag, cache_tags: tags, type, key, subgraph } = item as Record<string, unknown>;
    switch (kind) {
      case 'cache_tag': {
        const all = [...(typeof tag === 'string' ? [tag] : []), ...(Array.isArray(tags) ? tags : [])];
        if (all.length === 0 || !all.every((t) => typeof t === 'string' && t !== '')) return `cache_tag needs "cache_tag" or "cache_tags" strings${at}`;
        requests.push({ kind, tags: all as string[] });
        break;
      }
      case 'entity':
        if (typeof type !== 'string' || type === '') return `entity needs "type"${at}`;
        if (!key || typeof key !== 'object' || Array.isArray(key) || Object.keys(key).length === 0) return `entity needs "key", an object of key fields${at}`;
        requests.push({ kind, type, key: key as Record<string, unknown> });
        break;
      case 'type':
        if (typeof type !== 'string' || type === '') return `type needs "type"${at}`;
        if (subgraph !== undefined && (typeof subgraph !== 'string' || subgraph === '')) return `"subgraph" must be a subgraph name${at}`;
        requests.push({ kind, type, ...(typeof subgraph === 'string' ? { subgraph } : {}) });
        break;
      case 'subgraph':
        if (typeof subgraph !== 'string' || subgraph === '') return `subgraph needs "subgraph"${at}`;
        requests.push({ kind, subgraph });
        break;
      default:
        return `"kind" must be cache_tag, entity, type or subgraph${at}`;
    }
  }
  return requests;
}

function apply(request: InvalidationRequest, invalidator: Invalidator): number {
  switch (request.kind) {
    case 'cache_tag':
      return invalidator.invalidateTags(request.tags);
    case 'entity':
      return invalidator.invalidateEntity(request.type, request.key);
    case 'type':
      return invalidator.invalidateType(request.type, request.subgraph);
    case 'subgraph':
      return invalidator.invalidateSubgraph(request.subgraph);
    default:
      throw new Error(`unknown invalidation ${(request satisfies never as { kind: string }).kind}`);
  }
}

function authorized(header: string | undefined, secret: string): boolean {
  if (!header) return false;
  const sent = Buffer.from(header.replace(/^Bearer\s+/i, ''));
  const expected = Buffer.from(secret);
  return sent.length === expected.length && timingSafeEqual(sent, expected);
}

export const INVALIDATION_ENDPOINT_SETTINGS = {
  secret: text('INVALIDATION_SECRET', {
    default: null, defaultText: 'unset (off)', values: 'at least 16 characters', secret: true,
    check: (secret) => (secret.length >= 16 ? null : 'must be at least 16 characters (it guards POST /invalidation)'),
    doc: 'turns on POST /invalidation, sent as Authorization: <secret>: evict by cache_tag, entity, type or subgraph, as Apollo Router\'s endpoint (gateway/PROTOCOL.md section 4)',
  }),
} satisfies SettingGroup;

/**
 * The persisted-query layer, run in the HTTP layer before Apollo Server sees a request (docs/APOLLO-NOTES.md §5:
 * errors thrown from Apollo's early request hooks become 500s, so refusing here is the robust place). It
 *  - resolves an id from the manifest (`extensions.persistedQuery.sha256Hash`) to the operation's text and hands
 *    Apollo Server an ordinary request, so manifest operations need no APQ round trip and survive restarts;
 *  - leaves every other hash to Apollo Server's automatic persisted queries (APQ) when the mode allows them;
 *  - in `safelist` mode refuses any operation that is not in the manifest (introspection only if enabled);
 *  - refuses a hash that is not the sha256 of the query sent with it, and operations over the limits of
 *    queryLimits.ts (bytes, tokens, depth, aliases, directives), before anything is planned or any subgraph called;
 *  - refuses a batch (an array body) larger than MAX_BATCH_OPERATIONS, and applies all of the above to each of its
 *    operations, so a batch is never a way around the safelist or the limits.
 *
 * Modes (PERSISTED_QUERIES):
 *  - `off`: no lookups by hash; Apollo answers a hash alone with PERSISTED_QUERY_NOT_SUPPORTED (a hash sent with
 *    its text is dropped and the text runs).
 *  - `apq`: Apollo's APQ only (register by sending query + hash, then send the hash alone); no manifest read.
 *  - `manifest+apq`: manifest ids, APQ and free-form queries (development default).
 *  - `safelist`: manifest operations only, by id or by their exact text (production default).
 */
import type { GatewayConfig } from '../config.js';
import { operationId, readManifestFile, type ManifestIndex } from './manifest.js';
import { checkOperationChoice } from './operationChoice.js';
import { refusal, type Refusal } from './persistedErrors.js';
import { readGetParams, writeGetParams, type PersistedParams } from './getRequests.js';
import { checkQueryLimits, isIntrospectionOnly, tryParse, type QueryLimits } from './queryLimits.js';
import { textMemo } from './textMemo.js';

export const PERSISTED_QUERY_MODES = ['off', 'apq', 'manifest+apq', 'safelist'] as const;
export type PersistedQueryMode = (typeof PERSISTED_QUERY_MODES)[number];

export interface PersistedQueryOptions extends QueryLimits {
  mode: PersistedQueryMode;
  /** Required for `manifest+apq` and `safelist`. */
  manifest?: ManifestIndex;
  /** Whether introspection is allowed; in `safelist` mode an introspection-only query passes only then. */
  introspection: boolean;
}

export interface HttpGraphQLInput {
  method: string;
  search: string;
  body: unknown;
}

export type Prepared = ({ kind: 'forward' } & HttpGraphQLInput) | { kind: 'refuse'; refusal: Refusal };

/**
 * Apollo answers an unknown hash with HTTP 200 and `private, no-cache, must-revalidate`: the answer is a normal
 * step of the APQ protocol (the client retries with the text), and must not be cached, or a later registration
 * of the same hash would stay invisible behind a cached miss. We answer the same way.
 */
const NOT_FOUND: Refusal = {
  status: 200,
  code: 'PERSISTED_QUERY_NOT_FOUND',
  message: 'PersistedQueryNotFound',
  headers: { 'cache-control': 'private, no-cache, must-revalidate' },
};

export class PersistedQueryGate {
  /**
   * What a text was judged (safelist and limits: a parse, a print and validation rules), by the exact text: clients
   * send the same few texts again and again, and the verdict depends on nothing else.
   */
  private readonly verdicts = textMemo<{ refusal: Refusal | null }>();

  constructor(private readonly options: PersistedQueryOptions) {
    if ((options.mode === 'manifest+apq' || options.mode === 'safelist') && !options.manifest) {
      throw new Error(`PERSISTED_QUERIES=${options.mode} needs a manifest`);
    }
  }

  /** Builds the gate a configuration asks for, reading (and checking) the manifest file when the mode uses it. */
  static fromConfig(config: Pick<GatewayConfig, 'persistedQueries' | 'introspection' | 'queryLimits'>): PersistedQueryGate {
    const { mode, manifestPath } = config.persistedQueries;
    const manifest = manifestPath && (mode === 'manifest+apq' || mode === 'safelist') ? readManifestFile(manifestPath) : undefined;
    return new PersistedQueryGate({ mode, manifest, introspection: config.introspection, ...config.queryLimits });
  }

  get mode(): PersistedQueryMode {
    return this.options.mode;
  }

  /** Apollo Server's `persistedQueries` option: APQ is Apollo's own, on only in the modes that allow it. */
  get apolloPersistedQueries(): false | Record<string, never> {
    return this.options.mode === 'apq' || this.options.mode === 'manifest+apq' ? {} : false;
  }

  prepare(input: HttpGraphQLInput): Prepared {
    if (input.method === 'GET') {
      const params = readGetParams(input.search);
      const decided = this.decide(params);
      if (decided.kind === 'refuse') return decided;
      const unchosen = decided.params.query === undefined ? undefined : checkOperationChoice(decided.params.query, new URLSearchParams(input.search).get('operationName'));
      if (unchosen) return { kind: 'refuse', refusal: unchosen };
      return { kind: 'forward', ...input, search: decided.params === params ? input.search : writeGetParams(input.search, decided.params) };
    }
    if (Array.isArray(input.body)) return this.prepareBatch(input, input.body);
    return this.preparePost(input);
  }

  private prepareBatch(input: HttpGraphQLInput, operations: unknown[]): Prepared {
    const max = this.options.maxBatchOperations;
    if (max === 1 || operations.length === 0 || operations.length > max) {
      const why = max === 1 ? 'batching is off (MAX_BATCH_OPERATIONS=1)' : `a batch holds 1 to ${max} operations (MAX_BATCH_OPERATIONS), got ${operations.length}`;
      return { kind: 'refuse', refusal: refusal('QUERY_BATCH_TOO_LARGE', `The request body is an array of operations: ${why}`) };
    }
    const bodies: unknown[] = [];
    for (const operation of operations) {
      const prepared = this.preparePost({ ...input, body: operation });
      if (prepared.kind === 'refuse') return prepared;
      bodies.push(prepared.body);
    }
    return { kind: 'forward', ...input, body: bodies };
  }

  private preparePost(input: HttpGraphQLInput): Prepared {
    // A body that is not a JSON object goes through untouched: Apollo Server refuses it with 400.
    if (!input.body || typeof input.body !== 'object' || Array.isArray(input.body)) return { kind: 'forward', ...input };
    const body = input.body as Record<string, unknown>;
    const params: PersistedParams = {
      query: typeof body.query === 'string' ? body.query : undefined,
      extensions: body.extensions && typeof body.extensions === 'object' && !Array.isArray(body.extensions)
        ? (body.extensions as Record<string, unknown>)
        : undefined,
    };
    const decided = this.decide(params);
    if (decided.kind === 'refuse') return decided;
    const unchosen = decided.params.query === undefined ? undefined : checkOperationChoice(decided.params.query, body.operationName);
    if (unchosen) return { kind: 'refuse', refusal: unchosen };
    if (decided.params === params) return { kind: 'forward', ...input };
    const next: Record<string, unknown> = { ...body, query: decided.params.query };
    if (decided.params.extensions && Object.keys(decided.params.extensions).length > 0) next.extensions = decided.params.extensions;
    else delete next.extensions;
    return { kind: 'forward', ...input, body: next };
  }

  private decide(params: PersistedParams): { kind: 'forward'; params: PersistedParams } | { kind: 'refuse'; refusal: Refusal } {
    const { mode, manifest } = this.options;
    const refuse = (refusal: Refusal) => ({ kind: 'refuse' as const, refusal });
    const persisted = params.extensions?.persistedQuery;

    if (persisted !== undefined && mode === 'off') {
      // No lookups by hash. A hash alone gets Apollo's PERSISTED_QUERY_NOT_SUPPORTED; sent with its text (clients
      // that always attach the extension, like our pages' mutations) the operation runs as plain text.
      if (params.query === undefined) return { kind: 'forward', params };
      const { sha256Hash } = (persisted ?? {}) as Record<string, unknown>;
      if (sha256Hash !== operationId(params.query)) {
        return refuse(refusal('PERSISTED_QUERY_HASH_MISMATCH', 'provided sha does not match query'));
      }
      return this.checkText({ query: params.query, extensions: withoutPersistedQuery(params.extensions!) }, params.query);
    }
    if (persisted !== undefined) {
      const { version, sha256Hash } = (persisted ?? {}) as Record<string, unknown>;
      if (version !== 1) {
        return refuse(refusal('PERSISTED_QUERY_BAD_REQUEST', 'Unsupported persisted query version; only version 1 is supported'));
      }
      if (typeof sha256Hash !== 'string') {
        return refuse(refusal('PERSISTED_QUERY_BAD_REQUEST', 'extensions.persistedQuery.sha256Hash must be a string'));
      }
      if (params.query !== undefined && operationId(params.query) !== sha256Hash) {
        return refuse(refusal('PERSISTED_QUERY_HASH_MISMATCH', 'provided sha does not match query'));
      }
      const entry = manifest?.get(sha256Hash);
      if (entry) {
        // Hand Apollo the manifest's text as a plain request: no APQ lookup, nothing stored in its cache.
        return { kind: 'forward', params: { query: entry.body, extensions: withoutPersistedQuery(params.extensions!) } };
      }
      if (mode === 'safelist') {
        if (params.query === undefined) return refuse(NOT_FOUND);
        // The text came along (an APQ client retrying): judge the text below; Apollo's APQ is off in this mode.
        return this.checkText({ query: params.query, extensions: withoutPersistedQuery(params.extensions!) }, params.query);
      }
      // APQ: a hash alone is looked up by Apollo Server (PERSISTED_QUERY_NOT_FOUND when unknown); with its text
      // it is registered by Apollo Server once the text has passed the limits here.
      return params.query === undefined ? { kind: 'forward', params } : this.checkText(params, params.query);
    }
    if (params.query === undefined) return { kind: 'forward', params };
    return this.checkText(params, params.query);
  }

  /** Safelist and limits for an operation text that did not come from the manifest by id. */
  private checkText(params: PersistedParams, query: string): { kind: 'forward'; params: PersistedParams } | { kind: 'refuse'; refusal: Refusal } {
    let verdict = this.verdicts.get(query);
    if (!verdict) {
      verdict = { refusal: this.judgeText(query) ?? null };
      this.verdicts.set(query, verdict);
    }
    return verdict.refusal ? { kind: 'refuse', refusal: verdict.refusal } : { kind: 'forward', params };
  }

  private judgeText(query: string): Refusal | undefined {
    const { mode, manifest, introspection } = this.options;
    // A manifest operation is trusted as it is, whether it came by id or by its text: no limits apply to it.
    if (manifest?.findByBody(query)) return undefined;
    if (mode === 'safelist') {
      const document = tryParse(query);
      if (!(introspection && document && isIntrospectionOnly(document))) {
        return refusal(
          'PERSISTED_QUERY_NOT_IN_SAFELIST',
          'This gateway only runs the operations of its persisted query manifest; send one by its id (extensions.persistedQuery.sha256Hash)',
        );
      }
    }
    return checkQueryLimits(query, this.options);
  }
}

function withoutPersistedQuery(extensions: Record<string, unknown>): Record<string, unknown> {
  const { persistedQuery: _dropped, ...rest } = extensions;
  return rest;
}

/**
 * The persisted-query layer, run in the HTTP layer before Apollo Server sees a request (docs/APOLLO-NOTES.md §5:
 * errors thrown from Apollo's early request hooks become 500s, so refusing here is the robust place). It
 *  - resolves an id from the manifest (`extensions.persistedQuery.sha256Hash`) to the operation's text and hands
 *    Apollo Server an ordinary request, so manifest operations need no APQ round trip and survive restarts;
 *  - leaves every other hash to Apollo Server's automatic persisted queries (APQ) when the mode allows them;
 *  - in `safelist` mode refuses any operation that is not in the manifest (introspection only if enabled);
 *  - refuses a hash that is not the sha256 of the query sent with it, and operations over the limits of
 *    queryLimits.ts (bytes, tokens, depth, aliases, directives), before anything is planned or any subgraph called;
 *  - refuses a batch (an array body) larger than BATCH_MAX_OPERATIONS, and applies all of the above to each of its
 *    operations, so a batch is never a way around the safelist or the limits.
 *
 * Modes (PERSISTED_QUERIES):
 *  - `off`: no lookups by hash; Apollo answers a hash alone with PERSISTED_QUERY_NOT_SUPPORTED (a hash sent with
 *    its text is dropped and the text runs).
 *  - `apq`: Apollo's APQ only (register by sending query + hash, then send the hash alone); no manifest read.
 *  - `manifest+apq`: manifest ids, APQ and free-form queries (development default).
 *  - `safelist`: manifest operations only, by id or by their exact text (production default).
 */
import { Kind } from 'graphql';
import type { GatewayConfig } from '../config.js';
import type { GatewayFeature, IncomingOperation } from '../feature.js';
import { operationId, type ManifestIndex } from './manifest.js';
import type { RedisLink } from '../redis/redisLink.js';
import { refusal, sendRefusal, type Refusal } from './persistedErrors.js';
import { SharedApqStore } from './sharedApqStore.js';
import { checkQueryLimits, isIntrospectionOnly, tryParse, type QueryLimits } from './queryLimits.js';
import { textMemo } from './textMemo.js';
import { optionalChoice, text, type SettingGroup } from '../settings.js';

export const PERSISTED_QUERY_MODES = ['off', 'apq', 'manifest+apq', 'safelist'] as const;
export type PersistedQueryMode = (typeof PERSISTED_QUERY_MODES)[number];

export interface PersistedQueryOptions extends QueryLimits {
  mode: PersistedQueryMode;
  /** Required for `manifest+apq` and `safelist`. */
  manifest?: ManifestIndex;
  /** Whether introspection is allowed; in `safelist` mode an introspection-only query passes only then. */
  introspection: boolean;
}

/** A request's GraphQL parameters as Apollo Server reads them: the runtime's, which the gate rewrites or refuses. */
type HttpGraphQLInput = IncomingOperation['params'];

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

  /** Builds the gate a configuration asks for, with the manifest the configuration read and checked. */
  static fromConfig(config: Pick<GatewayConfig, 'persistedQueries' | 'introspection' | 'queryLimits'>): PersistedQueryGate {
    const { mode, manifest } = config.persistedQueries;
    return new PersistedQueryGate({ mode, manifest: manifest ?? undefined, introspection: config.introspection, ...config.queryLimits });
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
      const why = max === 1 ? 'batching is off (BATCH_MAX_OPERATIONS=1)' : `a batch holds 1 to ${max} operations (BATCH_MAX_OPERATIONS), got ${operations.length}`;
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

/**
 * Persisted queries as a feature: manifest ids resolved and every operation checked against the safelist and the
 * query limits before Apollo Server sees it; Apollo's APQ where the mode allows it, registered in Redis when there is
 * one (so every process knows a hash one of them was taught).
 */
export function usePersistedQueries(config: Pick<GatewayConfig, 'persistedQueries' | 'introspection' | 'queryLimits' | 'redis'>, redis: RedisLink | null, gate = PersistedQueryGate.fromConfig(config)): GatewayFeature {
  const apq = gate.apolloPersistedQueries;
  return {
    name: 'persisted queries',
    apolloOptions: { persistedQueries: apq && (redis && config.redis ? { cache: new SharedApqStore(redis, { prefix: config.redis.keyPrefix }) } : {}) },
    onOperation(operation) {
      const prepared = gate.prepare(operation.params);
      if (prepared.kind === 'refuse') {
        sendRefusal(operation.res, prepared.refusal);
        return 'answered';
      }
      operation.params = { method: prepared.method, search: prepared.search, body: prepared.body };
    },
  };
}

/**
 * GraphQL over GET carries its parameters in the query string exactly as Apollo Client and Apollo Server spell
 * them: `query`, `operationName`, and `variables` / `extensions` as JSON, e.g.
 * `?operationName=GigPage&variables={"id":"g1"}&extensions={"persistedQuery":{"version":1,"sha256Hash":"<id>"}}`.
 * The gate reads the two parameters it looks at and writes back its changes, leaving every other parameter
 * untouched for Apollo Server.
 */
export interface PersistedParams {
  query: string | undefined;
  /** The parsed `extensions` object; undefined when absent or not a JSON object (Apollo Server answers that). */
  extensions: Record<string, unknown> | undefined;
}

export function readGetParams(search: string): PersistedParams {
  const params = new URLSearchParams(search);
  return { query: params.get('query') ?? undefined, extensions: parseJsonObject(params.get('extensions')) };
}

/** The query string with `query` and `extensions` replaced (`extensions` dropped when it is left empty). */
export function writeGetParams(search: string, next: PersistedParams): string {
  const params = new URLSearchParams(search);
  if (next.query === undefined) params.delete('query');
  else params.set('query', next.query);
  if (next.extensions && Object.keys(next.extensions).length > 0) params.set('extensions', JSON.stringify(next.extensions));
  else params.delete('extensions');
  const text = params.toString();
  return text ? `?${text}` : '';
}

function parseJsonObject(text: string | null): Record<string, unknown> | undefined {
  if (text === null) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/*
 * Which operation of a document runs: the one `operationName` names, or the only one. ApolloGateway answers a
 * name that picks nothing with HTTP 500 (it resolves the operation itself, after Apollo Server's checks), so the
 * choice is checked here first and refused as Apollo Server refuses it without a gateway: 400
 * OPERATION_RESOLUTION_FAILURE.
 */
/** The operation names of each text seen (null: it does not parse): parsing is most of this check's cost. */
const namesByText = textMemo<{ names: string[] | null }>();

/** A refusal when `operationName` picks no operation of `query`; undefined when it does or the text does not parse. */
export function checkOperationChoice(query: string, operationName: unknown): Refusal | undefined {
  // Anything but a string or nothing is Apollo Server's to refuse (400 BAD_REQUEST).
  if (operationName !== undefined && operationName !== null && typeof operationName !== 'string') return undefined;
  const { names } = operationNames(query);
  if (!names) return undefined;
  const problem = choiceProblem(names, operationName || undefined);
  return problem ? { status: 400, code: 'OPERATION_RESOLUTION_FAILURE', message: problem } : undefined;
}

function operationNames(query: string): { names: string[] | null } {
  let known = namesByText.get(query);
  if (!known) {
    const document = tryParse(query);
    known = { names: document ? document.definitions.flatMap((d) => (d.kind === Kind.OPERATION_DEFINITION ? [d.name?.value ?? ''] : [])) : null };
    namesByText.set(query, known);
  }
  return known;
}

function choiceProblem(names: readonly string[], operationName: string | undefined): string | undefined {
  if (names.length === 0) return undefined;
  if (operationName === undefined) {
    return names.length > 1 ? 'Must provide operation name if query contains multiple operations.' : undefined;
  }
  return names.includes(operationName) ? undefined : `Unknown operation named "${operationName}".`;
}

function withoutPersistedQuery(extensions: Record<string, unknown>): Record<string, unknown> {
  const { persistedQuery: _dropped, ...rest } = extensions;
  return rest;
}

export const PERSISTED_QUERY_SETTINGS = {
  mode: optionalChoice('PERSISTED_QUERIES', PERSISTED_QUERY_MODES, {
    // The default depends on the manifest (config.ts): with one, manifest+apq in development and safelist in
    // production; without one, apq in development and off in production.
    defaultText: 'with a manifest: manifest+apq in development, safelist in production; without: apq in development, off in production',
    doc: 'manifest+apq, safelist, apq or off (docs/PERSISTED-QUERIES.md); safelist and manifest+apq need a manifest',
  }),
  manifest: text('PERSISTED_QUERY_MANIFEST', { default: null, defaultText: 'unset (npm start / npm run gateway: schema/persisted-query-manifest.json)', values: 'a file path', doc: 'the manifest the gateway serves by id; read and checked at start-up (not JSON, or an id that is not its body\'s sha256: the gateway does not start, naming the file)' }),
} satisfies SettingGroup;

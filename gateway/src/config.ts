/**
 * The gateway's configuration, assembled from the settings each feature declares (settings.ts): read from the
 * environment once, checked (keys, cross-key rules, the files they name) with every problem reported at once,
 * frozen. A bad value stops start-up with a message naming the key and the value. `ALL_SETTINGS` lists every
 * declared key, which gateway/SETTINGS.md is generated from.
 */
import { isAbsolute, resolve } from 'node:path';
import { ADMISSION_SETTINGS, INBOUND_DEDUP_SETTINGS, admissionOptions, type AdmissionOptions } from './admission/admissionControl.js';
import { APOLLO_TELEMETRY_SETTINGS } from './apolloTelemetry.js';
import { AUTHENTICATION_SETTINGS, type IdentityConfig } from './auth/authenticator.js';
import { MIN_SECRET_LENGTH } from './auth/subgraphIdentity.js';
import { readJwksFile, type TokenVerifierConfig } from './auth/tokenVerifier.js';
import { CACHE_TAG_HEADER_SETTINGS } from './cache/cacheTagHeader.js';
import { INVALIDATION_ENDPOINT_SETTINGS } from './cache/invalidationEndpoint.js';
import { WORKER_SETTINGS } from './cluster.js';
import { BUDGET_SETTINGS, type SubgraphLimits } from './datasource/budget.js';
import { READ_PATH_SETTINGS } from './datasource/readPath.js';
import { BREAKER_SETTINGS, type BreakerOptions } from './datasource/stages/breaker.js';
import type { RootFetchCacheMode } from './datasource/stages/cache.js';
import { INVALIDATION_SETTINGS, type InvalidationSource } from './events/invalidationListener.js';
import { EXECUTOR_SETTINGS, type ExecutorChoice } from './execution/compiledExecutor.js';
import { EXPLORER_SETTINGS } from './explorer/explorerRoute.js';
import { LOG_SETTINGS, type LogLevel } from './logger.js';
import { INTROSPECTION_SETTINGS } from './persisted/exploration.js';
import { TRACING_SETTINGS, tracingConfig, type TracingConfig } from './telemetry/tracing.js';
import { ManifestError, readManifestFile, type ManifestIndex } from './persisted/manifest.js';
import { PERSISTED_QUERY_SETTINGS, type PersistedQueryMode } from './persisted/persistedQueries.js';
import { QUERY_LIMIT_SETTINGS, type QueryLimits } from './persisted/queryLimits.js';
import { REDIS_SETTINGS } from './redis/redisLink.js';
import { HTTP_SETTINGS } from './runtime.js';
import { SERVER_SETTINGS } from './server.js';
import { choice, isHttpUrl, readSettings, type FamilySetting, type ReadContext, type SettingGroup, type SettingValues, type SettingsRead, type SettingsSection } from './settings.js';
import { STREAM_SETTINGS, type StreamsConfig } from './subscriptions/useSubscriptions.js';
import { SUPERGRAPH_SETTINGS } from './supergraphLoader.js';

export type SupergraphSource =
  | { kind: 'file'; path: string }
  | { kind: 'url'; url: string }
  /** Development: introspect the running subgraphs and compose in-process. */
  | { kind: 'compose'; subgraphs: { name: string; url: string }[]; pollIntervalMs: number }
  /** Apollo managed federation (Uplink), from APOLLO_KEY + APOLLO_GRAPH_REF. */
  | { kind: 'managed' };

export interface GatewayConfig {
  host: string;
  port: number;
  supergraph: SupergraphSource;
  /** SUBGRAPH_<NAME>_URL overrides, keyed by lower-case subgraph name. */
  subgraphUrls: Readonly<Record<string, string>>;
  /** Apollo's gateway metrics exporter; off unless the operator opts in. */
  apolloTelemetry: boolean;
  /** Production hides introspection and the Sandbox landing page by default. */
  mode: 'development' | 'production';
  introspection: boolean;
  maxBodyBytes: number;
  /** Browsers' origins allowed to call the gateway (CORS); `*` for any. */
  corsOrigins: readonly string[];
  /**
   * Manifest ids, APQ and the safelist (persisted/persistedQueries.ts). The manifest (PERSISTED_QUERY_MANIFEST) is
   * read and checked with the rest of the configuration; it is optional, except for the safelist.
   */
  persistedQueries: { mode: PersistedQueryMode; manifestPath: string | null; manifest: ManifestIndex | null };
  /** Refused before planning, without calling a subgraph (persisted/queryLimits.ts); manifest operations are exempt. */
  queryLimits: QueryLimits;
  /** Who may act as whom: bearer tokens, the development header, and the secret that signs identities for subgraphs. */
  identity: IdentityConfig;
  /** GraphOS: with both, usage reporting and the Studio landing page (and managed federation without SUPERGRAPH). */
  apollo: { key?: string; graphRef?: string };
  readPath: ReadPathConfig;
  /** How many operations run at once and wait to run; past that, 503 GATEWAY_OVERLOADED (admission/). */
  admission: AdmissionOptions;
  /** Identical operations in flight run once and share their answer (INBOUND_DEDUP; admission/admissionControl.ts). */
  inboundDedup: boolean;
  logLevel: LogLevel;
  /** `POST /invalidation` is on with this shared secret (INVALIDATION_SECRET); null = off. */
  invalidationSecret: string | null;
  /** GET answers carry the tags of what they show in `Cache-Tag`, for a CDN to purge by (CACHE_TAG_HEADER). */
  cacheTagHeader: boolean;
  /** Change events that evict cached entities, from every publishing source (INVALIDATION_FEED_URL or INVALIDATION_NATS_*); null = max-age only. */
  invalidation: InvalidationSource | null;
  /** The local explorer at /explorer (explorer/explorerRoute.ts): on in development, EXPLORER=true in production. */
  explorer: { enabled: boolean; distDir: string; buildOnDemand: boolean };
  /** Redis (REDIS_URL): the shared second cache level, evictions for every process, APQ registrations; null = none. */
  redis: RedisConfig | null;
  /** On SIGTERM/SIGINT, how long requests in flight may take to finish before their connections are cut. */
  shutdownGraceMs: number;
  /** Gateway processes on one port (node:cluster); 1 = this process serves alone (GATEWAY_WORKERS). */
  workers: number;
  /** OpenTelemetry traces (telemetry/tracing.ts): off unless an OTLP endpoint is set. */
  tracing: TracingConfig;
  /** Who runs query plans: the compiled executor (execution/compiledExecutor.ts) or stock @apollo/gateway's (GATEWAY_EXECUTOR). */
  executor: ExecutorChoice;
  /** `@defer` in the API schema and the plans (DEFER). */
  defer: boolean;
  /** Prepare the manifest's operations when a supergraph loads (PLAN_WARMUP). */
  planWarmup: boolean;
  /** Subscriptions and live queries over WebSocket and SSE, and their limits (subscriptions/). */
  streams: StreamsConfig;
  /** Keys read under a former name, `[former, current]`: each is worth a warning at start-up. */
  deprecated: readonly (readonly [string, string])[];
}

export interface RedisConfig {
  url: string;
  /** The longest the gateway waits for Redis on one command before going on without it. */
  timeoutMs: number;
  /** Prepended to every key and channel, so several gateways (or tests) can share one Redis. */
  keyPrefix: string;
}

/** The hybrid read path: deadlines, breaker, batching and the per-entity cache. */
export interface ReadPathConfig {
  /** Per-entity (and root-fetch) cache; off = every fetch goes to the subgraph. */
  entityCache: boolean;
  rootFetchCache: RootFetchCacheMode;
  cacheMaxEntries: number;
  cacheMaxBytes: number;
  /** How long past max-age a cached value may stand in for a failing subgraph (when the subgraph says nothing). */
  staleIfErrorSeconds: number;
  /** Defaults for every subgraph; `perSubgraph` overrides them by lower-case name. */
  timeouts: SubgraphLimits;
  perSubgraph: Readonly<Record<string, Partial<SubgraphLimits>>>;
  operationBudgetMs: number;
  /** `_entities` calls in flight per subgraph and operation shape; loads arriving meanwhile queue and leave together. */
  entityCallsInFlight: number;
  maxBatchSize: number;
  /** Entity calls per subgraph that may go on past their deadline to fill the cache for later pages. */
  maxLateCallsPerSubgraph: number;
  connectionsPerSubgraph: number;
  maxResponseBytes: number;
  breaker: BreakerOptions;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid gateway configuration:\n${problems.map((p) => `- ${p}`).join('\n')}`);
  }
}

const MODE_SETTINGS = {
  mode: choice('GATEWAY_MODE', ['development', 'production'] as const, {
    default: (context) => context.mode,
    defaultText: 'production if NODE_ENV=production, else development',
    doc: 'production turns introspection, the explorer and the Sandbox landing page off, and defaults PERSISTED_QUERIES to safelist',
  }),
} satisfies SettingGroup;

/** Every feature's settings, in the order gateway/SETTINGS.md lists them. */
export const ALL_SETTINGS: readonly SettingsSection[] = [
  { feature: 'Serving', settings: { ...SERVER_SETTINGS, ...HTTP_SETTINGS, ...MODE_SETTINGS, ...LOG_SETTINGS, ...WORKER_SETTINGS, ...EXECUTOR_SETTINGS } },
  { feature: 'Supergraph', settings: { ...SUPERGRAPH_SETTINGS, ...APOLLO_TELEMETRY_SETTINGS } },
  { feature: 'Admission and inbound deduplication', settings: { ...ADMISSION_SETTINGS, ...INBOUND_DEDUP_SETTINGS } },
  { feature: 'Authentication', settings: AUTHENTICATION_SETTINGS },
  { feature: 'Persisted queries and query limits', settings: { ...PERSISTED_QUERY_SETTINGS, ...QUERY_LIMIT_SETTINGS } },
  { feature: 'Exploration', settings: { ...INTROSPECTION_SETTINGS, ...EXPLORER_SETTINGS } },
  { feature: 'Read path: cache, batches, connections', settings: READ_PATH_SETTINGS },
  { feature: 'Read path: time limits', settings: BUDGET_SETTINGS },
  { feature: 'Read path: circuit breaker', settings: BREAKER_SETTINGS },
  { feature: 'Change events', settings: INVALIDATION_SETTINGS },
  { feature: 'Subscriptions and live queries', settings: STREAM_SETTINGS },
  { feature: 'Invalidation endpoint and CDN tags', settings: { ...INVALIDATION_ENDPOINT_SETTINGS, ...CACHE_TAG_HEADER_SETTINGS } },
  { feature: 'Redis', settings: REDIS_SETTINGS },
  { feature: 'Traces (OpenTelemetry)', settings: TRACING_SETTINGS },
];

/** Read besides the declared settings: only to pick GATEWAY_MODE's default. */
const STANDARD_KEYS = ['NODE_ENV'] as const;

export function loadConfig(env: NodeJS.ProcessEnv, cwd = process.cwd()): GatewayConfig {
  const read: SettingsRead = { problems: [], deprecated: [] };
  const problem = (message: string) => void read.problems.push(message);
  const fromNodeEnv: ReadContext = { mode: env.NODE_ENV === 'production' ? 'production' : 'development', cwd };
  const { mode } = readSettings(MODE_SETTINGS, env, fromNodeEnv, read);
  const context: ReadContext = { mode, cwd };
  const settingsOf = <G extends SettingGroup>(group: G) => readSettings(group, env, context, read);

  const server = settingsOf(SERVER_SETTINGS);
  const http = settingsOf(HTTP_SETTINGS);
  const supergraph = settingsOf(SUPERGRAPH_SETTINGS);
  const persisted = settingsOf(PERSISTED_QUERY_SETTINGS);
  const exploration = { ...settingsOf(INTROSPECTION_SETTINGS), explorer: settingsOf(EXPLORER_SETTINGS) };
  const budgets = settingsOf(BUDGET_SETTINGS);
  const readPath = settingsOf(READ_PATH_SETTINGS);
  const events = settingsOf(INVALIDATION_SETTINGS);
  const endpoint = settingsOf(INVALIDATION_ENDPOINT_SETTINGS);
  const redis = settingsOf(REDIS_SETTINGS);

  const perSubgraph: Record<string, Partial<SubgraphLimits>> = {};
  for (const [name, timeoutMs] of Object.entries(budgets.perSubgraphTimeoutMs)) (perSubgraph[name] ??= {}).timeoutMs = timeoutMs;
  for (const [name, entityTimeoutMs] of Object.entries(budgets.perSubgraphEntityTimeoutMs)) (perSubgraph[name] ??= {}).entityTimeoutMs = entityTimeoutMs;
  for (const [name, entityPageBudgetMs] of Object.entries(budgets.perSubgraphPageBudgetMs)) (perSubgraph[name] ??= {}).entityPageBudgetMs = entityPageBudgetMs;

  const config: GatewayConfig = {
    host: server.host,
    port: server.port,
    supergraph: supergraphSource(supergraph, Boolean(env.SUPERGRAPH), problem, cwd),
    subgraphUrls: supergraph.subgraphUrls,
    apolloTelemetry: settingsOf(APOLLO_TELEMETRY_SETTINGS).enabled,
    mode,
    introspection: exploration.introspection,
    maxBodyBytes: http.maxBodyBytes,
    corsOrigins: http.corsOrigins.split(',').map((o) => o.trim()).filter(Boolean),
    persistedQueries: persistedQueries(persisted, problem, cwd, mode),
    queryLimits: settingsOf(QUERY_LIMIT_SETTINGS),
    identity: identityConfig(settingsOf(AUTHENTICATION_SETTINGS), problem, mode, cwd),
    apollo: { key: supergraph.apolloKey ?? undefined, graphRef: supergraph.apolloGraphRef ?? undefined },
    readPath: {
      entityCache: readPath.entityCache,
      rootFetchCache: readPath.rootFetchCache,
      cacheMaxEntries: readPath.cacheMaxEntries,
      cacheMaxBytes: readPath.cacheMaxBytes,
      staleIfErrorSeconds: readPath.staleIfErrorSeconds,
      timeouts: { timeoutMs: budgets.timeoutMs, entityTimeoutMs: budgets.entityTimeoutMs, entityPageBudgetMs: budgets.entityPageBudgetMs },
      perSubgraph,
      operationBudgetMs: budgets.operationBudgetMs,
      entityCallsInFlight: readPath.entityCallsInFlight,
      maxBatchSize: readPath.maxBatchSize,
      maxLateCallsPerSubgraph: budgets.maxLateCalls,
      connectionsPerSubgraph: readPath.connectionsPerSubgraph,
      maxResponseBytes: readPath.maxResponseBytes,
      breaker: settingsOf(BREAKER_SETTINGS),
    },
    admission: admissionOptions(settingsOf(ADMISSION_SETTINGS), problem),
    inboundDedup: settingsOf(INBOUND_DEDUP_SETTINGS).enabled,
    logLevel: settingsOf(LOG_SETTINGS).level,
    invalidationSecret: endpoint.secret,
    cacheTagHeader: settingsOf(CACHE_TAG_HEADER_SETTINGS).enabled,
    tracing: tracingConfig(settingsOf(TRACING_SETTINGS)),
    invalidation: invalidationSource(events, problem),
    explorer: {
      enabled: exploration.explorer.enabled,
      distDir: resolve(cwd, exploration.explorer.distDir),
      // Development builds a missing or stale bundle on the first visit; production serves what `npm run build` made.
      buildOnDemand: mode === 'development',
    },
    redis: redis.url === null ? null : { url: redis.url, timeoutMs: redis.timeoutMs, keyPrefix: redis.keyPrefix },
    shutdownGraceMs: server.shutdownGraceMs,
    workers: settingsOf(WORKER_SETTINGS).workers,
    executor: settingsOf(EXECUTOR_SETTINGS).executor,
    defer: settingsOf(EXECUTOR_SETTINGS).defer,
    planWarmup: settingsOf(EXECUTOR_SETTINGS).planWarmup,
    streams: settingsOf(STREAM_SETTINGS),
    deprecated: read.deprecated,
  };
  if (read.problems.length > 0) throw new ConfigError(read.problems);
  return deepFreeze(config);
}

function supergraphSource(values: SettingValues<typeof SUPERGRAPH_SETTINGS>, given: boolean, problem: (message: string) => void, cwd: string): SupergraphSource {
  if (values.devCompose) {
    const subgraphs = Object.entries(values.subgraphUrls).map(([name, url]) => ({ name, url }));
    if (subgraphs.length === 0) problem('GATEWAY_DEV_COMPOSE=true needs at least one SUBGRAPH_<NAME>_URL to introspect');
    return { kind: 'compose', subgraphs, pollIntervalMs: values.composePollMs };
  }
  const value = values.supergraph;
  if (value) {
    if (/^https?:\/\//.test(value)) return { kind: 'url', url: value };
    return { kind: 'file', path: isAbsolute(value) ? value : resolve(cwd, value) };
  }
  // A SUPERGRAPH that was given but refused has its own problem already.
  if (given) return { kind: 'file', path: '' };
  if (values.apolloKey && values.apolloGraphRef) return { kind: 'managed' };
  if (values.apolloKey && !values.apolloGraphRef) {
    problem('APOLLO_KEY is set without APOLLO_GRAPH_REF: managed federation needs both (or set SUPERGRAPH)');
  } else {
    problem('SUPERGRAPH is not set: give a supergraph file or URL (or APOLLO_KEY and APOLLO_GRAPH_REF for managed federation, or GATEWAY_DEV_COMPOSE=true)');
  }
  return { kind: 'file', path: '' };
}

function identityConfig(values: SettingValues<typeof AUTHENTICATION_SETTINGS>, problem: (message: string) => void, mode: GatewayConfig['mode'], cwd: string): IdentityConfig {
  const developmentHeader = values.developmentHeader?.trim().toLowerCase() || null;
  if (developmentHeader && mode === 'production') {
    problem(`IDENTITY_HEADER ("${developmentHeader}") is a development shortcut: in production only a verified token (JWT_JWKS_URL or JWT_JWKS_FILE) names the caller`);
  }
  if (developmentHeader && (!/^[a-z0-9-]+$/.test(developmentHeader) || ['authorization', 'x-gateway-identity'].includes(developmentHeader))) {
    problem(`IDENTITY_HEADER must be a header name other than authorization and x-gateway-identity, got "${values.developmentHeader}"`);
  }
  let token: TokenVerifierConfig | null = null;
  const { jwksUrl, jwksFile } = values;
  if (jwksUrl && jwksFile) problem('JWT_JWKS_URL and JWT_JWKS_FILE are both set: pick one source of keys');
  if (jwksUrl || jwksFile) {
    // Without both, a token minted by the same provider for another application (or tenant) would be accepted.
    if (!values.issuer) problem('JWT_ISSUER is required with JWT_JWKS_URL or JWT_JWKS_FILE: the issuer tokens must come from');
    if (!values.audience) problem('JWT_AUDIENCE is required with JWT_JWKS_URL or JWT_JWKS_FILE: the audience tokens must be meant for');
    let jwks: TokenVerifierConfig['jwks'] | null = jwksUrl ? { kind: 'url', url: jwksUrl } : null;
    if (!jwks && jwksFile) {
      const path = isAbsolute(jwksFile) ? jwksFile : resolve(cwd, jwksFile);
      const keys = readJwksFile(path);
      if (typeof keys === 'string') problem(keys);
      else jwks = { kind: 'file', path, keys };
    }
    if (jwks) {
      token = { jwks, issuer: values.issuer ?? '', audience: values.audience ?? '', identityClaim: values.identityClaim || 'sub', clockSkewSeconds: values.clockSkewSeconds };
    }
  } else {
    for (const [key, value] of [['JWT_ISSUER', values.issuer], ['JWT_AUDIENCE', values.audience], ['JWT_IDENTITY_CLAIM', values.identityClaim]] as const) {
      if (value) problem(`${key} is set without JWT_JWKS_URL or JWT_JWKS_FILE: the gateway has no keys to verify tokens with`);
    }
  }
  const subgraphSecret = values.subgraphSecret || null;
  if (subgraphSecret && subgraphSecret.length < MIN_SECRET_LENGTH) {
    problem(`GATEWAY_SUBGRAPH_SECRET must be at least ${MIN_SECRET_LENGTH} characters (got ${subgraphSecret.length})`);
  }
  if ((jwksUrl || jwksFile || developmentHeader) && !subgraphSecret) {
    problem('GATEWAY_SUBGRAPH_SECRET is required with JWT_JWKS_URL, JWT_JWKS_FILE or IDENTITY_HEADER: subgraphs accept an identity only when the gateway signed it');
  }
  return { token, developmentHeader, subgraphSecret };
}

function persistedQueries(values: SettingValues<typeof PERSISTED_QUERY_SETTINGS>, problem: (message: string) => void, cwd: string, mode: GatewayConfig['mode']): GatewayConfig['persistedQueries'] {
  const manifestPath = values.manifest ? (isAbsolute(values.manifest) ? values.manifest : resolve(cwd, values.manifest)) : null;
  // Development takes manifest ids (when there is a manifest), APQ and ad-hoc queries; production runs only the
  // manifest's operations when there is one, and plain queries (within the query limits) otherwise.
  const fallback = mode === 'production' ? (manifestPath ? 'safelist' : 'off') : manifestPath ? 'manifest+apq' : 'apq';
  const chosen = values.mode ?? fallback;
  if ((chosen === 'safelist' || chosen === 'manifest+apq') && !manifestPath) {
    problem(`PERSISTED_QUERIES=${chosen} needs PERSISTED_QUERY_MANIFEST (the persisted query manifest file)`);
  }
  let manifest: ManifestIndex | null = null;
  if (manifestPath && (chosen === 'safelist' || chosen === 'manifest+apq')) {
    try {
      manifest = readManifestFile(manifestPath);
    } catch (error) {
      if (!(error instanceof ManifestError)) throw error;
      problem(`PERSISTED_QUERY_MANIFEST: ${error.message}`);
    }
  }
  return { mode: chosen, manifestPath, manifest };
}

/**
 * INVALIDATION_FEED_URL: one or more change feeds (comma-separated), one listener each. Or INVALIDATION_NATS_URL
 * with INVALIDATION_NATS_SUBJECT (comma-separated subjects, one ordered consumer each) and
 * INVALIDATION_NATS_STREAM: one stream for every subject, or a comma-separated list matched one-to-one with them.
 */
function invalidationSource(values: SettingValues<typeof INVALIDATION_SETTINGS>, problem: (message: string) => void): GatewayConfig['invalidation'] {
  const { feedUrl, natsUrl } = values;
  // Without a list, every event that names an entity evicts it.
  const eventTypes = values.eventTypes ? values.eventTypes.split(',').map((t) => t.trim()).filter(Boolean) : undefined;
  const list = (raw: string | null) => (raw ?? '').split(',').map((item) => item.trim());
  if (feedUrl && natsUrl) {
    problem('INVALIDATION_FEED_URL and INVALIDATION_NATS_URL are both set: pick one source of change events');
    return null;
  }
  if (feedUrl) {
    const urls = list(feedUrl);
    const bad = urls.filter((url) => !isHttpUrl(url));
    if (bad.length > 0) problem(`INVALIDATION_FEED_URL must be http(s) URLs (comma-separated for several feeds), got "${bad.join('", "')}"`);
    if (new Set(urls).size !== urls.length) problem(`INVALIDATION_FEED_URL names a feed twice: "${feedUrl}"`);
    return { kind: 'feed', urls, ...(eventTypes ? { eventTypes } : {}) };
  }
  if (natsUrl) {
    if (!natsUrl.split(',').every((u) => /^(nats|tls):\/\/[^/\s]+$/.test(u.trim()))) {
      problem(`INVALIDATION_NATS_URL must be nats://host:port (comma-separated for several), got "${natsUrl}"`);
    }
    const subjects = list(values.natsSubject);
    if (subjects.some((subject) => subject === '' || /\s/.test(subject))) {
      problem(`INVALIDATION_NATS_SUBJECT must be the NATS subjects (wildcards allowed, comma-separated for several) of the change events, got "${values.natsSubject ?? ''}"`);
    }
    const streams = list(values.natsStream);
    if (!streams.every((stream) => /^[A-Za-z0-9_-]+$/.test(stream))) {
      problem(`INVALIDATION_NATS_STREAM must name the stream (letters, digits, _ or -), or one stream per subject comma-separated, got "${values.natsStream ?? ''}"`);
    } else if (streams.length !== 1 && streams.length !== subjects.length) {
      problem(`INVALIDATION_NATS_STREAM names ${streams.length} streams for ${subjects.length} INVALIDATION_NATS_SUBJECT subjects: give one stream for all, or one per subject`);
    }
    const subscriptions = subjects.map((subject, i) => ({ stream: streams.length === 1 ? streams[0]! : streams[i] ?? '', subject }));
    if (new Set(subscriptions.map((sub) => `${sub.stream} ${sub.subject}`)).size !== subscriptions.length) {
      problem(`INVALIDATION_NATS_SUBJECT names a subject of the same stream twice: "${values.natsSubject}"`);
    }
    return { kind: 'nats', servers: natsUrl, subscriptions, ...(eventTypes ? { eventTypes } : {}) };
  }
  return null;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

interface DeclaredKeys {
  keys: ReadonlySet<string>;
  patterns: readonly RegExp[];
  formerly: ReadonlySet<string>;
}
let declared: DeclaredKeys | null = null;

/** Every declared key (with NODE_ENV, read for GATEWAY_MODE's default), every family's pattern, every former name. */
export function declaredKeys(): DeclaredKeys {
  return (declared ??= collectDeclaredKeys());
}

function collectDeclaredKeys(): DeclaredKeys {
  const keys = new Set<string>(STANDARD_KEYS);
  const patterns: RegExp[] = [];
  const formerly = new Set<string>();
  for (const { settings } of ALL_SETTINGS) {
    for (const setting of Object.values(settings)) {
      if ('pattern' in setting) patterns.push((setting as FamilySetting<unknown>).pattern);
      else keys.add(setting.key);
      for (const former of setting.formerly ?? []) formerly.add(former);
    }
  }
  return { keys, patterns, formerly };
}

/** Whether the gateway reads this key (a declared one, one of a declared family, or a former name). */
export function isGatewayKey(key: string): boolean {
  const { keys, patterns, formerly } = declaredKeys();
  return keys.has(key) || formerly.has(key) || patterns.some((pattern) => pattern.test(key));
}

/**
 * Keys in the environment that look like one of the gateway's but are not: within one or two edits of a declared
 * key, by its length (`ENTITY_TIMOUT_MS`), or starting like the keys of one of its features (`BREAKER_RESET`, `GATEWAY_MDOE`). Likely
 * typos, which would otherwise be ignored without a word.
 */
export function unknownGatewayKeys(env: NodeJS.ProcessEnv): string[] {
  const { keys } = declaredKeys();
  // A feature's prefix is one at least two of its keys start with (ADMISSION_, JWT_, BREAKER_...); a single key's
  // first word (STALE_, LOG_) is too common elsewhere to say anything.
  const firstWords = [...keys].filter((key) => key.includes('_')).map((key) => key.slice(0, key.indexOf('_') + 1));
  const prefixes = new Set(firstWords.filter((word, i) => firstWords.indexOf(word) !== i));
  // Prefixes other programs' keys share with ours (NODE_OPTIONS and APOLLO_TELEMETRY_DISABLED are not ours; the
  // OpenTelemetry SDK reads the OTEL_* keys we do not, such as OTEL_EXPORTER_OTLP_HEADERS, itself).
  for (const shared of ['NODE_', 'APOLLO_', 'OTEL_']) prefixes.delete(shared);
  return Object.keys(env).filter((key) => !isGatewayKey(key)
    && ([...prefixes].some((prefix) => key.startsWith(prefix)) || [...keys].some((known) => editDistanceAtMost(key, known, typoAllowance(known)))));
}

/** Short keys are a few edits from everyday ones (HOST from HOME), so only long ones are matched loosely. */
function typoAllowance(key: string): number {
  return key.length >= 10 ? 2 : key.length >= 6 ? 1 : 0;
}

/** Levenshtein distance of two keys is at most `limit` (cut short as soon as it cannot be). */
function editDistanceAtMost(a: string, b: string, limit: number): boolean {
  if (Math.abs(a.length - b.length) > limit) return false;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      rowMin = Math.min(rowMin, current[j]!);
    }
    if (rowMin > limit) return false;
    previous = current;
  }
  return previous[b.length]! <= limit;
}

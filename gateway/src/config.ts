/**
 * Gateway settings: one schema of keys with defaults (units in the names), read from the environment once,
 * validated, frozen. A bad value stops start-up with a message naming the key and the value; every problem is
 * reported at once.
 */
import { availableParallelism } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IdentityConfig } from './auth/authenticator.js';
import { MIN_SECRET_LENGTH } from './auth/subgraphIdentity.js';
import type { TokenVerifierConfig } from './auth/tokenVerifier.js';
import type { AdmissionOptions } from './admission/admissionControl.js';
import type { BreakerOptions } from './datasource/stages/breaker.js';
import type { RootFetchCacheMode } from './datasource/stages/cache.js';
import type { SubgraphLimits } from './datasource/budget.js';
import type { InvalidationSource } from './events/invalidationListener.js';
import type { ExecutorChoice } from './execution/compiledExecutor.js';
import { LOG_LEVELS, type LogLevel } from './logger.js';
import { PERSISTED_QUERY_MODES, type PersistedQueryMode } from './persisted/persistedQueries.js';
import type { QueryLimits } from './persisted/queryLimits.js';

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
  /** Manifest ids, APQ and the safelist (persisted/persistedQueries.ts); the manifest is read at start-up. */
  /** The manifest is optional, except for the safelist (PERSISTED_QUERY_MANIFEST). */
  persistedQueries: { mode: PersistedQueryMode; manifestPath: string | null };
  /** Refused before planning, without calling a subgraph (persisted/queryLimits.ts); manifest operations are exempt. */
  queryLimits: QueryLimits;
  /** Who may act as whom: bearer tokens, the development header, and the secret that signs identities for subgraphs. */
  identity: IdentityConfig;
  /** GraphOS: with both, usage reporting and the Studio landing page (and managed federation without SUPERGRAPH). */
  apollo: { key?: string; graphRef?: string };
  readPath: ReadPathConfig;
  /** How many operations run at once and wait to run; past that, 503 GATEWAY_OVERLOADED (admission/). */
  admission: AdmissionOptions;
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
  /** Who runs query plans: the compiled executor (execution/compiledExecutor.ts) or stock @apollo/gateway's (GATEWAY_EXECUTOR). */
  executor: ExecutorChoice;
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

export const DEFAULT_EXPLORER_DIST = fileURLToPath(new URL('../explorer/dist', import.meta.url));

const KNOWN_KEYS = new Set([
  'HOST', 'PORT', 'SUPERGRAPH', 'SUPERGRAPH_COMPOSE_POLL_MS', 'GATEWAY_DEV_COMPOSE', 'GATEWAY_MODE',
  'GATEWAY_APOLLO_TELEMETRY', 'INTROSPECTION', 'MAX_BODY_BYTES', 'CORS_ORIGINS',
  'PERSISTED_QUERIES', 'PERSISTED_QUERY_MANIFEST', 'MAX_QUERY_BYTES', 'MAX_QUERY_DEPTH', 'APOLLO_KEY', 'APOLLO_GRAPH_REF',
  'MAX_QUERY_TOKENS', 'MAX_QUERY_ALIASES', 'MAX_QUERY_DIRECTIVES', 'MAX_BATCH_OPERATIONS', 'GATEWAY_SUBGRAPH_SECRET',
  'JWT_JWKS_URL', 'JWT_JWKS_FILE', 'JWT_ISSUER', 'JWT_AUDIENCE', 'JWT_IDENTITY_CLAIM', 'JWT_CLOCK_SKEW_SECONDS', 'IDENTITY_HEADER',
  'ENTITY_CACHE', 'ROOT_FETCH_CACHE', 'ENTITY_CACHE_MAX_ENTRIES', 'ENTITY_CACHE_MAX_MB', 'STALE_IF_ERROR_SECONDS', 'SUBGRAPH_TIMEOUT_MS',
  'ENTITY_TIMEOUT_MS', 'ENTITY_PAGE_BUDGET_MS', 'OPERATION_BUDGET_MS', 'ENTITY_CALLS_IN_FLIGHT', 'ENTITY_BATCH_MAX', 'SUBGRAPH_CONNECTIONS',
  'LATE_CALLS_PER_SUBGRAPH', 'INVALIDATION_SECRET', 'CACHE_TAG_HEADER', 'ADMISSION_MAX_IN_FLIGHT', 'ADMISSION_MIN_IN_FLIGHT', 'ADMISSION_QUEUE_MS', 'ADMISSION_TARGET_LAG_MS', 'LOG_LEVEL',
  'INVALIDATION_FEED_URL', 'INVALIDATION_NATS_URL', 'INVALIDATION_NATS_STREAM', 'INVALIDATION_NATS_SUBJECT',
  'INVALIDATION_EVENT_TYPES', 'EXPLORER', 'EXPLORER_DIST',
  'REDIS_URL', 'REDIS_TIMEOUT_MS', 'REDIS_KEY_PREFIX', 'SHUTDOWN_GRACE_MS', 'GATEWAY_WORKERS', 'GATEWAY_EXECUTOR',
  'SUBGRAPH_MAX_RESPONSE_MB', 'BREAKER_ERROR_PERCENT', 'BREAKER_VOLUME_THRESHOLD', 'BREAKER_RESET_MS', 'BREAKER_WINDOW_MS',
]);

export function loadConfig(env: NodeJS.ProcessEnv, cwd = process.cwd()): GatewayConfig {
  const problems: string[] = [];
  const read = new Reader(env, problems);

  const mode = read.oneOf('GATEWAY_MODE', ['development', 'production'] as const,
    env.NODE_ENV === 'production' ? 'production' : 'development');
  const subgraphUrls: Record<string, string> = {};
  const perSubgraph: Record<string, Partial<SubgraphLimits>> = {};
  for (const [key, value] of Object.entries(env)) {
    const match = /^SUBGRAPH_([A-Z0-9_]+?)_(URL|ENTITY_PAGE_BUDGET_MS|ENTITY_TIMEOUT_MS|TIMEOUT_MS)$/.exec(key);
    if (!match || value === undefined) continue;
    const name = match[1]!.toLowerCase();
    if (match[2] === 'URL') {
      if (!isHttpUrl(value)) problems.push(`${key} must be an http(s) URL, got "${value}"`);
      else subgraphUrls[name] = value;
    } else if (match[2] === 'ENTITY_PAGE_BUDGET_MS') {
      (perSubgraph[name] ??= {}).entityPageBudgetMs = pageBudget(read, key);
    } else {
      (perSubgraph[name] ??= {})[match[2] === 'TIMEOUT_MS' ? 'timeoutMs' : 'entityTimeoutMs'] = read.integer(key, 0, 1, 600_000);
    }
  }

  const config: GatewayConfig = {
    host: env.HOST || '127.0.0.1',
    port: read.integer('PORT', 4000, 0, 65_535),
    supergraph: supergraphSource(env, read, problems, cwd, subgraphUrls),
    subgraphUrls,
    apolloTelemetry: read.boolean('GATEWAY_APOLLO_TELEMETRY', false),
    mode,
    introspection: read.boolean('INTROSPECTION', mode === 'development'),
    maxBodyBytes: read.integer('MAX_BODY_BYTES', 1_048_576, 1_024, 104_857_600),
    corsOrigins: (env.CORS_ORIGINS ?? '*').split(',').map((o) => o.trim()).filter(Boolean),
    persistedQueries: persistedQueries(env, read, problems, cwd, mode),
    queryLimits: {
      maxQueryBytes: read.integer('MAX_QUERY_BYTES', 32_768, 64, 10_485_760),
      maxQueryDepth: read.integer('MAX_QUERY_DEPTH', 15, 1, 1_000),
      maxQueryTokens: read.integer('MAX_QUERY_TOKENS', 2_000, 10, 1_000_000),
      maxQueryAliases: read.integer('MAX_QUERY_ALIASES', 30, 0, 10_000),
      maxQueryDirectives: read.integer('MAX_QUERY_DIRECTIVES', 50, 0, 10_000),
      maxBatchOperations: read.integer('MAX_BATCH_OPERATIONS', 1, 1, 100),
    },
    identity: identityConfig(env, read, problems, mode, cwd),
    apollo: { key: env.APOLLO_KEY || undefined, graphRef: env.APOLLO_GRAPH_REF || undefined },
    readPath: {
      entityCache: read.boolean('ENTITY_CACHE', true),
      rootFetchCache: read.oneOf('ROOT_FETCH_CACHE', ['tagged', 'revalidate', 'max-age', 'off'] as const, 'tagged'),
      cacheMaxEntries: read.integer('ENTITY_CACHE_MAX_ENTRIES', 100_000, 1, 100_000_000),
      cacheMaxBytes: read.integer('ENTITY_CACHE_MAX_MB', 128, 1, 65_536) * 1_048_576,
      staleIfErrorSeconds: read.integer('STALE_IF_ERROR_SECONDS', 300, 0, 604_800),
      timeouts: {
        timeoutMs: read.integer('SUBGRAPH_TIMEOUT_MS', 1_000, 1, 600_000),
        entityTimeoutMs: read.integer('ENTITY_TIMEOUT_MS', 300, 1, 600_000),
        entityPageBudgetMs: pageBudget(read, 'ENTITY_PAGE_BUDGET_MS'),
      },
      perSubgraph,
      operationBudgetMs: read.integer('OPERATION_BUDGET_MS', 2_000, 1, 600_000),
      entityCallsInFlight: read.integer('ENTITY_CALLS_IN_FLIGHT', 1, 1, 1_000),
      maxBatchSize: read.integer('ENTITY_BATCH_MAX', 200, 1, 10_000),
      maxLateCallsPerSubgraph: read.integer('LATE_CALLS_PER_SUBGRAPH', 8, 0, 1_000),
      connectionsPerSubgraph: read.integer('SUBGRAPH_CONNECTIONS', 64, 1, 10_000),
      maxResponseBytes: read.integer('SUBGRAPH_MAX_RESPONSE_MB', 16, 1, 1_024) * 1_048_576,
      breaker: {
        errorThresholdPercentage: read.integer('BREAKER_ERROR_PERCENT', 50, 1, 100),
        volumeThreshold: read.integer('BREAKER_VOLUME_THRESHOLD', 10, 1, 100_000),
        resetTimeoutMs: read.integer('BREAKER_RESET_MS', 5_000, 10, 3_600_000),
        rollingWindowMs: read.integer('BREAKER_WINDOW_MS', 10_000, 100, 3_600_000),
      },
    },
    admission: {
      maxInFlight: read.integer('ADMISSION_MAX_IN_FLIGHT', 256, 1, 100_000),
      minInFlight: read.integer('ADMISSION_MIN_IN_FLIGHT', 8, 1, 100_000),
      maxQueueMs: read.integer('ADMISSION_QUEUE_MS', 2_000, 0, 600_000),
      targetLagMs: read.integer('ADMISSION_TARGET_LAG_MS', 100, 1, 10_000),
    },
    logLevel: read.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    invalidationSecret: invalidationSecret(env, problems),
    cacheTagHeader: read.boolean('CACHE_TAG_HEADER', false),
    invalidation: invalidationSource(env, problems),
    explorer: {
      enabled: read.boolean('EXPLORER', mode === 'development'),
      distDir: env.EXPLORER_DIST ? resolve(cwd, env.EXPLORER_DIST) : DEFAULT_EXPLORER_DIST,
      // Development builds a missing or stale bundle on the first visit; production serves what `npm run build` made.
      buildOnDemand: mode === 'development',
    },
    redis: redisConfig(env, read, problems),
    shutdownGraceMs: read.integer('SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
    workers: read.integer('GATEWAY_WORKERS', availableParallelism(), 1, 1_024),
    executor: read.oneOf('GATEWAY_EXECUTOR', ['compiled', 'stock'] as const, 'compiled'),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(config);
}

function supergraphSource(
  env: NodeJS.ProcessEnv,
  read: Reader,
  problems: string[],
  cwd: string,
  subgraphUrls: Record<string, string>,
): SupergraphSource {
  if (read.boolean('GATEWAY_DEV_COMPOSE', false)) {
    const subgraphs = Object.entries(subgraphUrls).map(([name, url]) => ({ name, url }));
    if (subgraphs.length === 0) problems.push('GATEWAY_DEV_COMPOSE=true needs at least one SUBGRAPH_<NAME>_URL to introspect');
    return { kind: 'compose', subgraphs, pollIntervalMs: read.integer('SUPERGRAPH_COMPOSE_POLL_MS', 10_000, 0, 3_600_000) };
  }
  const value = env.SUPERGRAPH;
  if (value) {
    if (/^https?:\/\//.test(value)) {
      if (!isHttpUrl(value)) problems.push(`SUPERGRAPH is not a valid URL: "${value}"`);
      return { kind: 'url', url: value };
    }
    if (/^[a-z]+:\/\//i.test(value)) problems.push(`SUPERGRAPH must be a file path or an http(s) URL, got "${value}"`);
    return { kind: 'file', path: isAbsolute(value) ? value : resolve(cwd, value) };
  }
  if (env.APOLLO_KEY && env.APOLLO_GRAPH_REF) return { kind: 'managed' };
  if (env.APOLLO_KEY && !env.APOLLO_GRAPH_REF) {
    problems.push('APOLLO_KEY is set without APOLLO_GRAPH_REF: managed federation needs both (or set SUPERGRAPH)');
  } else {
    problems.push('SUPERGRAPH is not set: give a supergraph file or URL (or APOLLO_KEY and APOLLO_GRAPH_REF for managed federation, or GATEWAY_DEV_COMPOSE=true)');
  }
  return { kind: 'file', path: '' };
}

function identityConfig(
  env: NodeJS.ProcessEnv,
  read: Reader,
  problems: string[],
  mode: GatewayConfig['mode'],
  cwd: string,
): IdentityConfig {
  const developmentHeader = env.IDENTITY_HEADER?.trim().toLowerCase() || null;
  if (developmentHeader && mode === 'production') {
    problems.push(`IDENTITY_HEADER ("${developmentHeader}") is a development shortcut: in production only a verified token (JWT_JWKS_URL or JWT_JWKS_FILE) names the caller`);
  }
  if (developmentHeader && (!/^[a-z0-9-]+$/.test(developmentHeader) || ['authorization', 'x-gateway-identity'].includes(developmentHeader))) {
    problems.push(`IDENTITY_HEADER must be a header name other than authorization and x-gateway-identity, got "${env.IDENTITY_HEADER}"`);
  }
  let token: TokenVerifierConfig | null = null;
  if (env.JWT_JWKS_URL && env.JWT_JWKS_FILE) problems.push('JWT_JWKS_URL and JWT_JWKS_FILE are both set: pick one source of keys');
  if (env.JWT_JWKS_URL || env.JWT_JWKS_FILE) {
    if (env.JWT_JWKS_URL && !isHttpUrl(env.JWT_JWKS_URL)) problems.push(`JWT_JWKS_URL must be an http(s) URL, got "${env.JWT_JWKS_URL}"`);
    // Without both, a token minted by the same provider for another application (or tenant) would be accepted.
    if (!env.JWT_ISSUER) problems.push('JWT_ISSUER is required with JWT_JWKS_URL or JWT_JWKS_FILE: the issuer tokens must come from');
    if (!env.JWT_AUDIENCE) problems.push('JWT_AUDIENCE is required with JWT_JWKS_URL or JWT_JWKS_FILE: the audience tokens must be meant for');
    token = {
      jwks: env.JWT_JWKS_URL
        ? { kind: 'url', url: env.JWT_JWKS_URL }
        : { kind: 'file', path: isAbsolute(env.JWT_JWKS_FILE!) ? env.JWT_JWKS_FILE! : resolve(cwd, env.JWT_JWKS_FILE!) },
      issuer: env.JWT_ISSUER ?? '',
      audience: env.JWT_AUDIENCE ?? '',
      identityClaim: env.JWT_IDENTITY_CLAIM || 'sub',
      clockSkewSeconds: read.integer('JWT_CLOCK_SKEW_SECONDS', 30, 0, 300),
    };
  } else {
    for (const key of ['JWT_ISSUER', 'JWT_AUDIENCE', 'JWT_IDENTITY_CLAIM', 'JWT_CLOCK_SKEW_SECONDS']) {
      if (env[key]) problems.push(`${key} is set without JWT_JWKS_URL or JWT_JWKS_FILE: the gateway has no keys to verify tokens with`);
    }
  }
  const subgraphSecret = env.GATEWAY_SUBGRAPH_SECRET || null;
  if (subgraphSecret && subgraphSecret.length < MIN_SECRET_LENGTH) {
    problems.push(`GATEWAY_SUBGRAPH_SECRET must be at least ${MIN_SECRET_LENGTH} characters (got ${subgraphSecret.length})`);
  }
  if ((token || developmentHeader) && !subgraphSecret) {
    problems.push('GATEWAY_SUBGRAPH_SECRET is required with JWT_JWKS_URL, JWT_JWKS_FILE or IDENTITY_HEADER: subgraphs accept an identity only when the gateway signed it');
  }
  return { token, developmentHeader, subgraphSecret };
}

function redisConfig(env: NodeJS.ProcessEnv, read: Reader, problems: string[]): RedisConfig | null {
  const url = env.REDIS_URL;
  if (!url) return null;
  if (!/^rediss?:\/\/[^\s]+$/.test(url)) problems.push(`REDIS_URL must be redis://[user:password@]host:port[/db] (or rediss://); the value given is not (not repeated here: it may hold a password)`);
  return {
    url,
    timeoutMs: read.integer('REDIS_TIMEOUT_MS', 50, 1, 60_000),
    keyPrefix: env.REDIS_KEY_PREFIX ?? 'gateway:',
  };
}

function invalidationSecret(env: NodeJS.ProcessEnv, problems: string[]): string | null {
  const secret = env.INVALIDATION_SECRET;
  if (secret === undefined || secret === '') return null;
  if (secret.length < 16) problems.push('INVALIDATION_SECRET must be at least 16 characters (it guards POST /invalidation)');
  return secret;
}

function persistedQueries(env: NodeJS.ProcessEnv, read: Reader, problems: string[], cwd: string, mode: GatewayConfig['mode']): GatewayConfig['persistedQueries'] {
  const manifestPath = env.PERSISTED_QUERY_MANIFEST
    ? isAbsolute(env.PERSISTED_QUERY_MANIFEST) ? env.PERSISTED_QUERY_MANIFEST : resolve(cwd, env.PERSISTED_QUERY_MANIFEST)
    : null;
  // Development takes manifest ids (when there is a manifest), APQ and ad-hoc queries; production runs only the
  // manifest's operations when there is one, and plain queries (within the query limits) otherwise.
  const fallback = mode === 'production' ? (manifestPath ? 'safelist' : 'off') : manifestPath ? 'manifest+apq' : 'apq';
  const chosen = read.oneOf('PERSISTED_QUERIES', PERSISTED_QUERY_MODES, fallback);
  if ((chosen === 'safelist' || chosen === 'manifest+apq') && !manifestPath) {
    problems.push(`PERSISTED_QUERIES=${chosen} needs PERSISTED_QUERY_MANIFEST (the persisted query manifest file)`);
  }
  return { mode: chosen, manifestPath };
}

/**
 * INVALIDATION_FEED_URL: one or more change feeds (comma-separated), one listener each. Or INVALIDATION_NATS_URL
 * with INVALIDATION_NATS_SUBJECT (comma-separated subjects, one ordered consumer each) and
 * INVALIDATION_NATS_STREAM: one stream for every subject, or a comma-separated list matched one-to-one with them.
 */
function invalidationSource(env: NodeJS.ProcessEnv, problems: string[]): GatewayConfig['invalidation'] {
  const feedUrl = env.INVALIDATION_FEED_URL;
  const natsUrl = env.INVALIDATION_NATS_URL;
  // Without a list, every event that names an entity evicts it.
  const eventTypes = env.INVALIDATION_EVENT_TYPES
    ? env.INVALIDATION_EVENT_TYPES.split(',').map((t) => t.trim()).filter(Boolean)
    : undefined;
  const list = (raw: string | undefined) => (raw ?? '').split(',').map((item) => item.trim());
  if (feedUrl && natsUrl) {
    problems.push('INVALIDATION_FEED_URL and INVALIDATION_NATS_URL are both set: pick one source of change events');
    return null;
  }
  if (feedUrl) {
    const urls = list(feedUrl);
    const bad = urls.filter((url) => !isHttpUrl(url));
    if (bad.length > 0) problems.push(`INVALIDATION_FEED_URL must be http(s) URLs (comma-separated for several feeds), got "${bad.join('", "')}"`);
    if (new Set(urls).size !== urls.length) problems.push(`INVALIDATION_FEED_URL names a feed twice: "${feedUrl}"`);
    return { kind: 'feed', urls, ...(eventTypes ? { eventTypes } : {}) };
  }
  if (natsUrl) {
    if (!natsUrl.split(',').every((u) => /^(nats|tls):\/\/[^/\s]+$/.test(u.trim()))) {
      problems.push(`INVALIDATION_NATS_URL must be nats://host:port (comma-separated for several), got "${natsUrl}"`);
    }
    const subjects = list(env.INVALIDATION_NATS_SUBJECT);
    if (subjects.some((subject) => subject === '' || /\s/.test(subject))) {
      problems.push(`INVALIDATION_NATS_SUBJECT must be the NATS subjects (wildcards allowed, comma-separated for several) of the change events, got "${env.INVALIDATION_NATS_SUBJECT ?? ''}"`);
    }
    const streams = list(env.INVALIDATION_NATS_STREAM);
    if (!streams.every((stream) => /^[A-Za-z0-9_-]+$/.test(stream))) {
      problems.push(`INVALIDATION_NATS_STREAM must name the stream (letters, digits, _ or -), or one stream per subject comma-separated, got "${env.INVALIDATION_NATS_STREAM ?? ''}"`);
    } else if (streams.length !== 1 && streams.length !== subjects.length) {
      problems.push(`INVALIDATION_NATS_STREAM names ${streams.length} streams for ${subjects.length} INVALIDATION_NATS_SUBJECT subjects: give one stream for all, or one per subject`);
    }
    const subscriptions = subjects.map((subject, i) => ({ stream: streams.length === 1 ? streams[0]! : streams[i] ?? '', subject }));
    if (new Set(subscriptions.map((s) => `${s.stream} ${s.subject}`)).size !== subscriptions.length) {
      problems.push(`INVALIDATION_NATS_SUBJECT names a subject of the same stream twice: "${env.INVALIDATION_NATS_SUBJECT}"`);
    }
    return { kind: 'nats', servers: natsUrl, subscriptions, ...(eventTypes ? { eventTypes } : {}) };
  }
  return null;
}

class Reader {
  constructor(private readonly env: NodeJS.ProcessEnv, private readonly problems: string[]) {}

  integer(key: string, fallback: number, min: number, max: number): number {
    const raw = this.env[key];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      this.problems.push(`${key} must be a whole number from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return value;
  }

  boolean(key: string, fallback: boolean): boolean {
    const raw = this.env[key]?.toLowerCase();
    if (raw === undefined || raw === '') return fallback;
    if (['true', '1', 'on', 'yes'].includes(raw)) return true;
    if (['false', '0', 'off', 'no'].includes(raw)) return false;
    this.problems.push(`${key} must be true or false, got "${this.env[key]}"`);
    return fallback;
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], fallback: T): T {
    const raw = this.env[key];
    if (raw === undefined || raw === '') return fallback;
    if ((allowed as readonly string[]).includes(raw)) return raw as T;
    this.problems.push(`${key} must be one of ${allowed.join(', ')}, got "${raw}"`);
    return fallback;
  }
}

/** A page budget setting: unset or 0 means none. */
function pageBudget(read: Reader, key: string): number | null {
  return read.integer(key, 0, 0, 600_000) || null;
}

function isHttpUrl(value: string): boolean {
  try {
    return ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** Keys the gateway reads, for `main.ts` to warn about likely typos (GATEWAY_* keys it does not know). */
export function unknownGatewayKeys(env: NodeJS.ProcessEnv): string[] {
  return Object.keys(env).filter((k) => k.startsWith('GATEWAY_') && !KNOWN_KEYS.has(k));
}

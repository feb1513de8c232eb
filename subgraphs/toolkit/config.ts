/**
 * A subgraph's process settings, read from the environment once and validated; a bad value stops start-up with
 * a message that names it. `<NAME>_DATABASE_URL` (or `DATABASE_URL`) selects PostgreSQL, otherwise PGlite keeps
 * the data under `DATA_DIR/<name>`.
 */
import { join, resolve } from 'node:path';
import { SUBGRAPHS } from '../../schema/subgraphs.js';
import type { EventsConfig } from './eventsConfig.js';
import { defaultTemplateDir } from './pgliteTemplate.js';
import { MIN_SECRET_LENGTH } from './gatewayIdentity.js';
import type { StorageConfig } from './storage.js';
import { readSettings, type SettingsRead } from '../../gateway/src/settings.js';
import { TRACING_SETTINGS, tracingConfig, type TracingConfig } from '../../gateway/src/telemetry/tracing.js';

export interface SubgraphProcessConfig {
  name: string;
  host: string;
  port: number;
  storage: StorageConfig;
  seedScale: number;
  /** How change events travel (EVENT_TRANSPORT, TOPCLIENTS_FEED_URL, NATS_*, and <NAME>_NATS_* for a page subgraph's own stream). */
  events: EventsConfig;
  /** GATEWAY_SUBGRAPH_SECRET: identities signed with it by the gateway are believed; unset = act for nobody. */
  gatewaySecret: string | null;
  /** STALE_WHILE_REVALIDATE_SECONDS: added to every cacheable answer's Cache-Control (0 = not sent). */
  staleWhileRevalidateSeconds: number;
  /** OpenTelemetry traces, read from the same OTEL_* keys as the gateway's; the service's name unless OTEL_SERVICE_NAME. */
  tracing: TracingConfig;
}

/**
 * How long past max-age a cached answer of these services may still be served while a cache refreshes it. They
 * publish an event for every change they make, so a gateway listening to them evicts on change; max-age is the
 * bound for a gateway that does not listen, and past it a page need not wait for the refresh.
 */
export const DEFAULT_STALE_WHILE_REVALIDATE_SECONDS = 60;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function readPort(key: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new ConfigError(`${key} must be a port number from 0 to 65535, got "${raw}"`);
  }
  return port;
}

export function readPositiveNumber(key: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new ConfigError(`${key} must be a positive number, got "${raw}"`);
  return value;
}

export function loadSubgraphConfig(name: string, defaultPort: number, env: NodeJS.ProcessEnv): SubgraphProcessConfig {
  const upper = name.toUpperCase();
  const url = env[`${upper}_DATABASE_URL`] || env.DATABASE_URL;
  if (url && !/^postgres(ql)?:\/\//.test(url)) {
    throw new ConfigError(`${env[`${upper}_DATABASE_URL`] ? `${upper}_DATABASE_URL` : 'DATABASE_URL'} must be a postgres:// URL, got "${url}"`);
  }
  return {
    name,
    host: env.HOST || '127.0.0.1',
    port: readPort(`${upper}_PORT`, env[`${upper}_PORT`], defaultPort),
    // A new service folder starts as a copy of an empty cluster made once per PGlite version (toolkit/pgliteTemplate.ts).
    storage: url
      ? { kind: 'postgres', url }
      : { kind: 'pglite', dataDir: join(resolve(env.DATA_DIR || 'data'), name), templateDir: defaultTemplateDir() },
    seedScale: readPositiveNumber('SEED_SCALE', env.SEED_SCALE, 1),
    events: loadEventsConfig(env, name),
    gatewaySecret: readGatewaySecret(env.GATEWAY_SUBGRAPH_SECRET),
    staleWhileRevalidateSeconds: readSeconds('STALE_WHILE_REVALIDATE_SECONDS', env.STALE_WHILE_REVALIDATE_SECONDS, DEFAULT_STALE_WHILE_REVALIDATE_SECONDS),
    tracing: readTracing(env, name),
  };
}

function readTracing(env: NodeJS.ProcessEnv, name: string): TracingConfig {
  const read: SettingsRead = { problems: [], deprecated: [] };
  const values = readSettings(TRACING_SETTINGS, env, { mode: 'development', cwd: process.cwd() }, read);
  if (read.problems.length > 0) throw new ConfigError(read.problems.join('; '));
  return tracingConfig({ ...values, serviceName: env.OTEL_SERVICE_NAME || name });
}

function readSeconds(key: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 2_147_483_647) throw new ConfigError(`${key} must be a whole number of seconds (0 or more), got "${raw}"`);
  return value;
}

function readGatewaySecret(raw: string | undefined): string | null {
  if (!raw) return null;
  if (raw.length < MIN_SECRET_LENGTH) throw new ConfigError(`GATEWAY_SUBGRAPH_SECRET must be at least ${MIN_SECRET_LENGTH} characters (got ${raw.length})`);
  return raw;
}

/**
 * `service`: a page subgraph (gigs, users) on NATS also gets its own stream for the lists it applies,
 * `<NAME>_NATS_STREAM` (default `<NAME>`) with subjects `<NAME>_NATS_SUBJECT_PREFIX.>` (default `<name>`).
 */
export function loadEventsConfig(env: NodeJS.ProcessEnv, service?: string): EventsConfig {
  const transport = env.EVENT_TRANSPORT || 'feed';
  if (transport !== 'feed' && transport !== 'nats') throw new ConfigError(`EVENT_TRANSPORT must be "feed" or "nats", got "${transport}"`);
  const topclientsPort = readPort('TOPCLIENTS_PORT', env.TOPCLIENTS_PORT, SUBGRAPHS.find((s) => s.name === 'topclients')!.defaultPort);
  const feedUrl = env.TOPCLIENTS_FEED_URL || `http://127.0.0.1:${topclientsPort}/events`;
  if (!/^https?:\/\/[^/]+\/.*events$/.test(feedUrl)) {
    throw new ConfigError(`TOPCLIENTS_FEED_URL must be an http(s) URL ending in /events, got "${feedUrl}"`);
  }
  const natsUrl = env.NATS_URL || 'nats://127.0.0.1:4222';
  if (!natsUrl.split(',').every((u) => /^(nats|tls):\/\/[^/\s]+$/.test(u.trim()))) {
    throw new ConfigError(`NATS_URL must be nats://host:port (comma-separated for several), got "${natsUrl}"`);
  }
  const stream = env.NATS_STREAM || 'TOPCLIENTS';
  if (!/^[A-Za-z0-9_-]+$/.test(stream)) throw new ConfigError(`NATS_STREAM must be letters, digits, _ or -, got "${stream}"`);
  const subjectPrefix = env.NATS_SUBJECT_PREFIX || 'topclients';
  if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(subjectPrefix)) {
    throw new ConfigError(`NATS_SUBJECT_PREFIX must be dot-separated subject tokens, got "${subjectPrefix}"`);
  }
  if (transport === 'feed') return { transport, feedUrl };
  const nats = { servers: natsUrl, stream, subjectPrefix };
  if (!service || service === 'topclients') return { transport, feedUrl, nats };
  return { transport, feedUrl, nats, ownStream: ownStreamOf(env, service, nats) };
}

function ownStreamOf(env: NodeJS.ProcessEnv, service: string, source: { stream: string; subjectPrefix: string }) {
  const upper = service.toUpperCase();
  const stream = env[`${upper}_NATS_STREAM`] || upper;
  if (!/^[A-Za-z0-9_-]+$/.test(stream)) throw new ConfigError(`${upper}_NATS_STREAM must be letters, digits, _ or -, got "${stream}"`);
  if (stream === source.stream) throw new ConfigError(`${upper}_NATS_STREAM must differ from NATS_STREAM (topclients' stream), both are "${stream}"`);
  const subjectPrefix = env[`${upper}_NATS_SUBJECT_PREFIX`] || service;
  if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(subjectPrefix)) {
    throw new ConfigError(`${upper}_NATS_SUBJECT_PREFIX must be dot-separated subject tokens, got "${subjectPrefix}"`);
  }
  // Two streams may not share subjects: neither prefix may contain the other.
  const overlaps = (a: string, b: string) => a === b || a.startsWith(`${b}.`);
  if (overlaps(subjectPrefix, source.subjectPrefix) || overlaps(source.subjectPrefix, subjectPrefix)) {
    throw new ConfigError(`${upper}_NATS_SUBJECT_PREFIX "${subjectPrefix}" overlaps NATS_SUBJECT_PREFIX "${source.subjectPrefix}" (topclients' subjects)`);
  }
  return { stream, subjectPrefix };
}

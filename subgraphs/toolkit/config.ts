/**
 * A subgraph's process settings, read from the environment once and validated; a bad value stops start-up with
 * a message that names it. `<NAME>_DATABASE_URL` (or `DATABASE_URL`) selects PostgreSQL, otherwise PGlite keeps
 * the data under `DATA_DIR/<name>`.
 */
import { join, resolve } from 'node:path';
import type { StorageConfig } from './storage.js';

export interface SubgraphProcessConfig {
  name: string;
  host: string;
  port: number;
  storage: StorageConfig;
  seedScale: number;
}

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
    storage: url ? { kind: 'postgres', url } : { kind: 'pglite', dataDir: join(resolve(env.DATA_DIR || 'data'), name) },
    seedScale: readPositiveNumber('SEED_SCALE', env.SEED_SCALE, 1),
  };
}

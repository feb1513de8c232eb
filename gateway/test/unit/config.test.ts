import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, unknownGatewayKeys } from '../../src/config.js';

describe('gateway config', () => {
  it('has sane defaults: port 4000 on loopback, telemetry off, development mode', () => {
    const config = loadConfig({ SUPERGRAPH: '/srv/supergraph.graphql' });
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 4000,
      supergraph: { kind: 'file', path: '/srv/supergraph.graphql' },
      apolloTelemetry: false,
      mode: 'development',
      introspection: true,
      maxBodyBytes: 1_048_576,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads SUBGRAPH_<NAME>_URL overrides, PORT and the supergraph as a file or a URL', () => {
    const config = loadConfig({ PORT: '8080', SUBGRAPH_TOPCLIENTS_URL: 'http://10.0.0.5:4003/graphql', SUPERGRAPH: 'my/sg.graphql' }, '/srv');
    expect(config.port).toBe(8080);
    expect(config.subgraphUrls).toEqual({ topclients: 'http://10.0.0.5:4003/graphql' });
    expect(config.supergraph).toEqual({ kind: 'file', path: '/srv/my/sg.graphql' });
    expect(loadConfig({ SUPERGRAPH: 'https://example.test/sg.graphql' }).supergraph).toEqual({ kind: 'url', url: 'https://example.test/sg.graphql' });
  });

  it('reads subgraph time limits globally and per subgraph; a page budget is off unless set, and 0 turns one off', () => {
    const defaults = loadConfig({ SUPERGRAPH: '/x' }).readPath;
    expect(defaults.timeouts).toEqual({ timeoutMs: 1_000, entityTimeoutMs: 300, entityPageBudgetMs: null });
    const { readPath } = loadConfig({
      SUPERGRAPH: '/x',
      ENTITY_PAGE_BUDGET_MS: '500',
      SUBGRAPH_TOPCLIENTS_ENTITY_TIMEOUT_MS: '250',
      SUBGRAPH_TOPCLIENTS_ENTITY_PAGE_BUDGET_MS: '300',
      SUBGRAPH_USERS_ENTITY_PAGE_BUDGET_MS: '0',
    });
    expect(readPath.timeouts.entityPageBudgetMs).toBe(500);
    expect(readPath.perSubgraph).toEqual({
      topclients: { entityTimeoutMs: 250, entityPageBudgetMs: 300 },
      users: { entityPageBudgetMs: null },
    });
    expect(() => loadConfig({ SUPERGRAPH: '/x', SUBGRAPH_TOPCLIENTS_ENTITY_PAGE_BUDGET_MS: '-5' })).toThrow(/SUBGRAPH_TOPCLIENTS_ENTITY_PAGE_BUDGET_MS/);
  });

  it('runs plans on the compiled executor unless GATEWAY_EXECUTOR=stock, and refuses any other executor by name', () => {
    expect(loadConfig({ SUPERGRAPH: '/x' }).executor).toBe('compiled');
    expect(loadConfig({ SUPERGRAPH: '/x', GATEWAY_EXECUTOR: 'stock' }).executor).toBe('stock');
    expect(() => loadConfig({ SUPERGRAPH: '/x', GATEWAY_EXECUTOR: 'jit' })).toThrow(/GATEWAY_EXECUTOR.*jit/);
  });

  it('uses managed federation only with both APOLLO_KEY and APOLLO_GRAPH_REF and no local supergraph', () => {
    expect(loadConfig({ APOLLO_KEY: 'k', APOLLO_GRAPH_REF: 'g@v' }).supergraph).toEqual({ kind: 'managed' });
    expect(loadConfig({ APOLLO_KEY: 'k', APOLLO_GRAPH_REF: 'g@v', SUPERGRAPH: '/x' }).supergraph.kind).toBe('file');
    expect(() => loadConfig({ APOLLO_KEY: 'k' })).toThrow(/APOLLO_KEY is set without APOLLO_GRAPH_REF/);
  });

  it('composes from running subgraphs in dev mode, and needs their URLs for it', () => {
    expect(loadConfig({ GATEWAY_DEV_COMPOSE: 'true', SUBGRAPH_GIGS_URL: 'http://127.0.0.1:4001/graphql' }).supergraph).toEqual({
      kind: 'compose', subgraphs: [{ name: 'gigs', url: 'http://127.0.0.1:4001/graphql' }], pollIntervalMs: 10_000,
    });
    expect(() => loadConfig({ GATEWAY_DEV_COMPOSE: 'true' })).toThrow(/needs at least one SUBGRAPH_<NAME>_URL/);
  });

  it('production mode turns introspection off unless asked for', () => {
    expect(loadConfig({ SUPERGRAPH: '/srv/supergraph.graphql', NODE_ENV: 'production' })).toMatchObject({ mode: 'production', introspection: false });
    expect(loadConfig({ SUPERGRAPH: '/srv/supergraph.graphql', GATEWAY_MODE: 'production', INTROSPECTION: 'true' }).introspection).toBe(true);
  });

  it('reports every bad value at once, naming the key and the value', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', SUBGRAPH_USERS_URL: 'users:4002', GATEWAY_APOLLO_TELEMETRY: 'maybe', GATEWAY_MODE: 'staging', SUPERGRAPH: 'ftp://x/y' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'GATEWAY_MODE must be one of development, production, got "staging"',
      'PORT must be a whole number from 0 to 65535, got "eighty"',
      'SUPERGRAPH must be a file path or an http(s) URL, got "ftp://x/y"',
      'SUBGRAPH_USERS_URL must be an http(s) URL, got "users:4002"',
      'GATEWAY_APOLLO_TELEMETRY must be true or false, got "maybe"',
    ]);
  });

  it('points out keys that look like its own but are not, which are likely typos', () => {
    expect(unknownGatewayKeys({
      GATEWAY_MODE: 'production', GATEWAY_MDOE: 'x', ENTITY_TIMOUT_MS: '50', BREAKER_RESET: '1', SUBGRAPH_GIGS_URL: 'http://a/', LATE_CALLS_PER_SUBGRAPH: '2',
      HOME: '/root', NODE_OPTIONS: '--inspect', APOLLO_TELEMETRY_DISABLED: 'true',
    })).toEqual(['GATEWAY_MDOE', 'ENTITY_TIMOUT_MS', 'BREAKER_RESET']);
  });

  it('reads a renamed key under its former name, converting its unit, and says which to use instead', () => {
    const config = loadConfig({ SUPERGRAPH: '/x', ENTITY_CACHE_MAX_MB: '64', LATE_CALLS_PER_SUBGRAPH: '3', MAX_QUERY_DEPTH: '9' });
    expect(config.readPath.cacheMaxBytes).toBe(64 * 1_048_576);
    expect(config.readPath.maxLateCallsPerSubgraph).toBe(3);
    expect(config.queryLimits.maxQueryDepth).toBe(9);
    expect(config.deprecated).toEqual([['LATE_CALLS_PER_SUBGRAPH', 'SUBGRAPH_MAX_LATE_CALLS'], ['ENTITY_CACHE_MAX_MB', 'ENTITY_CACHE_MAX_BYTES'], ['MAX_QUERY_DEPTH', 'QUERY_MAX_DEPTH']]);
    // The current name wins over the former one.
    expect(loadConfig({ SUPERGRAPH: '/x', ENTITY_BATCH_MAX: '5', ENTITY_BATCH_MAX_SIZE: '7' }).readPath.maxBatchSize).toBe(7);
    expect(() => loadConfig({ SUPERGRAPH: '/x', ENTITY_CACHE_MAX_MB: 'lots' }))
      .toThrow('ENTITY_CACHE_MAX_BYTES must be a whole number from 1048576 to 68719476736 bytes, got "lots" (set as ENTITY_CACHE_MAX_MB="lots", its former name)');
  });

  it('checks rules across keys and the files they name with the rest, before anything starts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gateway-config-'));
    writeFileSync(join(dir, 'jwks.json'), '{"keys":[]}');
    writeFileSync(join(dir, 'manifest.json'), '{"format":"apollo-persisted-query-manifest"');
    let error: unknown;
    try {
      loadConfig({
        SUPERGRAPH: '/x', ADMISSION_MIN_IN_FLIGHT: '40', ADMISSION_MAX_IN_FLIGHT: '20',
        JWT_JWKS_FILE: 'jwks.json', JWT_ISSUER: 'https://issuer.test', JWT_AUDIENCE: 'pages', GATEWAY_SUBGRAPH_SECRET: 'x'.repeat(32),
        PERSISTED_QUERIES: 'safelist', PERSISTED_QUERY_MANIFEST: 'manifest.json',
      }, dir);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toHaveLength(3);
    expect(problems).toContain(`JWT_JWKS_FILE must hold a JSON Web Key Set ({"keys":[...]}) with at least one key: "${join(dir, 'jwks.json')}"`);
    expect(problems.find((p) => p.startsWith('PERSISTED_QUERY_MANIFEST: '))).toMatch(/manifest\.json/);
    expect(problems).toContain('ADMISSION_MIN_IN_FLIGHT (40) must not be more than ADMISSION_MAX_IN_FLIGHT (20)');
  });
});

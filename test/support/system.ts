/**
 * The reference deployment started in-process for tests: the three subgraphs on port 0 (PGlite in memory, or a
 * fresh database each on the real PostgreSQL) and the gateway in front of them, from the committed supergraph.
 */
import { loadConfig } from '../../gateway/src/config.js';
import { jsonLogger } from '../../gateway/src/logger.js';
import { startGateway, type RunningGateway } from '../../gateway/src/server.js';
import { SERVICES, type ServiceName } from '../../subgraphs/services.js';
import { generateDemoData, sizeForScale, type DemoData } from '../../subgraphs/toolkit/demoData.js';
import { startService, type RunningService } from '../../subgraphs/toolkit/service.js';
import type { StorageConfig } from '../../subgraphs/toolkit/storage.js';
import { REFERENCE_GATEWAY_ENV } from '../../schema/referenceGateway.js';
import { DEVELOPMENT_IDENTITY_ENV, TEST_SUBGRAPH_SECRET } from './gatewayTrust.js';
import { createTestDatabase, type TestDatabase } from './postgres.js';

export type StorageKind = 'pglite' | 'postgres';

export interface SystemOptions {
  storage?: StorageKind;
  /** Demo data scale; 0.01 = 100 sellers, 30 clients, 500 gigs. */
  scale?: number;
  /** Extra gateway settings, as environment keys. */
  gatewayEnv?: Record<string, string>;
}

export interface RunningSystem {
  demo: DemoData;
  gateway: RunningGateway;
  subgraphs: Record<ServiceName, RunningService>;
  graphql(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<GraphQLAnswer>;
  stop(): Promise<void>;
}

export interface GraphQLAnswer {
  status: number;
  headers: Headers;
  body: { data?: any; errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, any> }[]; extensions?: any };
}

export const TEST_SCALE = 0.01;

export async function startSubgraphs(storage: StorageKind, demo: DemoData) {
  const databases: TestDatabase[] = [];
  const subgraphs = {} as Record<ServiceName, RunningService>;
  try {
    for (const name of Object.keys(SERVICES) as ServiceName[]) {
      let config: StorageConfig = { kind: 'pglite' };
      if (storage === 'postgres') {
        const database = await createTestDatabase(`t_${name}`);
        databases.push(database);
        config = { kind: 'postgres', url: database.url, poolSize: 4 };
      }
      subgraphs[name] = await startService(SERVICES[name], { storage: config, demoData: demo, gatewaySecret: TEST_SUBGRAPH_SECRET });
    }
  } catch (error) {
    await Promise.all(Object.values(subgraphs).map((s) => s.stop()));
    await Promise.all(databases.map((d) => d.drop()));
    throw error;
  }
  return {
    subgraphs,
    async stop() {
      await Promise.all(Object.values(subgraphs).map((s) => s.stop()));
      await Promise.all(databases.map((d) => d.drop()));
    },
  };
}

/**
 * Identities are signed for the subgraphs with the test secret; in development callers may also be named by
 * `x-seller-id` (production refuses that shortcut: there only tokens name a caller).
 */
export function gatewayEnvFor(subgraphs: Record<string, { url: string }>, extra: Record<string, string> = {}) {
  const production = extra.GATEWAY_MODE === 'production' || (extra.GATEWAY_MODE === undefined && extra.NODE_ENV === 'production');
  return {
    PORT: '0',
    ...REFERENCE_GATEWAY_ENV,
    // The reference deployment stops a page waiting for topclients 300 ms after admission. These tests check what a
    // page shows, on a CI machine whose load can hold a page longer (a test of the budget sets it).
    SUBGRAPH_TOPCLIENTS_ENTITY_PAGE_BUDGET_MS: '0',
    ...(production ? { GATEWAY_SUBGRAPH_SECRET: TEST_SUBGRAPH_SECRET } : DEVELOPMENT_IDENTITY_ENV),
    ...Object.fromEntries(Object.entries(subgraphs).map(([name, s]) => [`SUBGRAPH_${name.toUpperCase()}_URL`, s.url])),
    ...extra,
  };
}

export async function startSystem(options: SystemOptions = {}): Promise<RunningSystem> {
  const demo = generateDemoData(sizeForScale(options.scale ?? TEST_SCALE));
  const backends = await startSubgraphs(options.storage ?? 'pglite', demo);
  let gateway: RunningGateway;
  try {
    gateway = await startGateway(loadConfig(gatewayEnvFor(backends.subgraphs, options.gatewayEnv)), { logger: jsonLogger('error') });
  } catch (error) {
    await backends.stop();
    throw error;
  }
  return {
    demo,
    gateway,
    subgraphs: backends.subgraphs,
    graphql: (query, variables, headers) => postGraphQL(gateway.url, query, variables, headers),
    async stop() {
      await gateway.stop();
      await backends.stop();
    },
  };
}

export async function postGraphQL(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<GraphQLAnswer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  let body: GraphQLAnswer['body'];
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${url} answered HTTP ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`);
  }
  return { status: response.status, headers: response.headers, body };
}

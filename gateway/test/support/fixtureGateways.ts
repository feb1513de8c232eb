/**
 * A fixture supergraph (supergraphFixtures.ts) with stock @apollo/gateway and some of ours in front of it, for the
 * differential tests. Ours get generous timeouts: those tests are about answers, not deadlines, and the machine is
 * shared.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import { jsonLogger } from '../../src/logger.js';
import { startGateway, type RunningGateway } from '../../src/server.js';
import { DEVELOPMENT_IDENTITY_ENV } from './signedIdentity.js';
import { startStockGateway, type StockGateway } from './stockGateway.js';
import type { RunningFixture, SupergraphFixture } from './supergraphFixtures.js';

const GENEROUS = { SUBGRAPH_TIMEOUT_MS: '10000', ENTITY_TIMEOUT_MS: '10000', OPERATION_BUDGET_MS: '20000' };

export interface FixtureGateways {
  fixture: RunningFixture;
  stock: StockGateway;
  ours: { label: string; gateway: RunningGateway }[];
  stop(): Promise<void>;
}

/** The fixture, stock in front of it, and one of ours per `ours` entry (its settings over the generous ones). */
export async function startFixtureGateways(definition: SupergraphFixture, ours: { label: string; env: Record<string, string> }[]): Promise<FixtureGateways> {
  const fixture = await definition.start();
  const dir = await mkdtemp(join(tmpdir(), 'fixture-gateways-'));
  const file = join(dir, 'supergraph.graphql');
  await writeFile(file, fixture.supergraphSdl);
  const stock = await startStockGateway(fixture.supergraphSdl);
  const started: FixtureGateways['ours'] = [];
  for (const { label, env } of ours) {
    started.push({ label, gateway: await startGateway(loadConfig({ PORT: '0', SUPERGRAPH: file, ...GENEROUS, ...DEVELOPMENT_IDENTITY_ENV, ...env }), { logger: jsonLogger('silent') }) });
  }
  return {
    fixture,
    stock,
    ours: started,
    async stop() {
      await Promise.all([stock.stop(), ...started.map((o) => o.gateway.stop())]);
      await fixture.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The compiled executor depends on fields of ApolloGateway that are not public API. These tests fail when an
 * @apollo/gateway upgrade takes them away (the differential tests would still pass, served by stock's executor, and
 * only the bench would show it), and check what a gateway without them does: it warns once and serves on stock's.
 */
import { fileURLToPath } from 'node:url';
import type { ApolloGateway } from '@apollo/gateway';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { withExecutor } from '../../src/execution/compiledExecutor.js';
import { systemClock } from '../../src/clock.js';
import { gatewayInternals, loadDataRewrites } from '../../src/execution/gatewayInternals.js';
import type { ReadPath } from '../../src/datasource/readPath.js';
import type { Logger } from '../../src/logger.js';
import { startGateway, type RunningGateway } from '../../src/server.js';
import { DEVELOPMENT_IDENTITY_ENV } from '../support/signedIdentity.js';

const SUPERGRAPH = fileURLToPath(new URL('../../../schema/supergraph.graphql', import.meta.url));

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, debug() {}, info() {}, error() {}, warn: (message) => void warnings.push(message) };
}

describe('the compiled executor on the @apollo/gateway this project pins', () => {
  let running: RunningGateway | undefined;
  afterAll(async () => {
    await running?.stop();
  });

  it('finds the planner, schemas and data rewrites it runs plans with, and warns about nothing', async () => {
    const logger = recordingLogger();
    running = await startGateway(loadConfig({ PORT: '0', SUPERGRAPH, ...DEVELOPMENT_IDENTITY_ENV }), { logger });
    const internals = gatewayInternals(running.gateway, await loadDataRewrites());
    expect(internals).not.toBeNull();
    expect(typeof internals!.rewrites.applyRewrites).toBe('function');
    expect(internals!.apiSchema.schemaDefinition.rootType('query')?.field('gig')).toBeDefined();
    expect(logger.warnings.filter((w) => w.includes('GATEWAY_EXECUTOR'))).toEqual([]);
  });
});

describe('a gateway without those internals', () => {
  it('keeps its own executor and says so once at load', async () => {
    const stockExecutor = async () => ({ data: { answeredBy: 'stock' } });
    const bare = {
      load: async () => ({ executor: stockExecutor }),
      onSchemaLoadOrUpdate: () => () => {},
      stop: async () => {},
    } as unknown as ApolloGateway;
    const logger = recordingLogger();
    const { gateway, plugin } = withExecutor(bare, { executor: 'compiled', defer: false, warm: [] }, logger, {} as ReadPath, systemClock);
    const { executor } = await gateway.load();
    expect(await executor!({ context: {} } as never)).toEqual({ data: { answeredBy: 'stock' } });
    // The compiled executor's plugin declines every operation, so Apollo Server goes on to stock's executor.
    const listener = await plugin.requestDidStart!({} as never);
    expect(await listener!.responseForOperation!({ request: {}, metrics: {}, queryHash: 'h', contextValue: {} } as never)).toBeNull();
    expect(logger.warnings).toEqual([expect.stringMatching(/GATEWAY_EXECUTOR=compiled needs the internals of @apollo\/gateway.*stock executor serves every operation/)]);
  });
});

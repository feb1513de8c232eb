/**
 * Plan warm-up: a gateway with a persisted query manifest prepares its operations when a supergraph loads (at start,
 * and again when the supergraph file is replaced), so the first request for one, by id or by its text, plans nothing
 * and answers as stock does; an operation not in the manifest is planned on its first request, as every operation
 * is with PLAN_WARMUP=off.
 */
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { gatewayInternals, loadDataRewrites } from '../../src/execution/gatewayInternals.js';
import type { Logger } from '../../src/logger.js';
import { buildManifest, manifestText } from '../../src/persisted/manifest.js';
import { startGateway, type RunningGateway } from '../../src/server.js';
import { startFixtureGateways, type FixtureGateways } from '../support/fixtureGateways.js';
import { ACCEPT, mergePayloads, sendAccepting, withDefers } from '../support/incrementalAnswers.js';
import { watchPlanner } from '../support/plannerSpy.js';
import { DEVELOPMENT_IDENTITY_ENV } from '../support/signedIdentity.js';
import { postOperation } from '../support/stockGateway.js';
import { SUPERGRAPH_FIXTURES } from '../support/supergraphFixtures.js';

const definition = SUPERGRAPH_FIXTURES.find((fixture) => fixture.name === 'requires-external')!;
const operation = (name: string) => definition.operations.find((op) => op.name === name)!;
const shipping = operation('shipping needs price and weight, one weight unknown');
const reviews = operation('same products through reviews, back to reviews');
const manifest = buildManifest([
  { name: 'ShippingForTopProducts', type: 'query', body: shipping.query },
  { name: 'ReviewsToShipping', type: 'query', body: withDefers(reviews.query, 'everywhere') },
]);
const [shippingEntry, deferredEntry] = manifest.operations as [typeof manifest.operations[0], typeof manifest.operations[0]];
const byId = (id: string, variables?: Record<string, unknown>) => ({ extensions: { persistedQuery: { version: 1, sha256Hash: id } }, ...(variables ? { variables } : {}) });
const WARMED = 'prepared the persisted query manifest\'s operations for the supergraph loaded';

describe('plan warm-up from the persisted query manifest', () => {
  let g: FixtureGateways;
  let dir: string;
  let supergraphFile: string;
  let warmed: RunningGateway;
  let cold: RunningGateway;
  /** How many times the warmed gateway said it prepared the manifest's operations, and who waits for the next. */
  let warmUps = 0;
  let onWarmUp = () => {};
  const logger: Logger = {
    debug: () => {},
    info: (msg) => {
      if (msg !== WARMED) return;
      warmUps += 1;
      onWarmUp();
    },
    warn: () => {},
    error: () => {},
  };

  beforeAll(async () => {
    g = await startFixtureGateways(definition, []);
    dir = await mkdtemp(join(tmpdir(), 'plan-warmup-'));
    supergraphFile = join(dir, 'supergraph.graphql');
    const manifestFile = join(dir, 'manifest.json');
    await writeFile(supergraphFile, g.fixture.supergraphSdl);
    await writeFile(manifestFile, manifestText(manifest));
    const env = { PORT: '0', SUPERGRAPH: supergraphFile, PERSISTED_QUERY_MANIFEST: manifestFile, PERSISTED_QUERIES: 'manifest+apq', ...DEVELOPMENT_IDENTITY_ENV };
    warmed = await startGateway(loadConfig(env), { logger });
    cold = await startGateway(loadConfig({ ...env, PLAN_WARMUP: 'off' }), { logger: { ...logger, info: () => {} } });
  });
  afterAll(async () => {
    await Promise.all([warmed?.stop(), cold?.stop()]);
    await g?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers the manifest\'s operations, by id or by text, with the operation name or without, planning nothing', async () => {
    expect(warmUps).toBe(1);
    const plans = await watchPlanner(warmed);
    const expected = (await postOperation(g.stock.url, shipping.query, shipping.variables)).data;

    const answers = [
      await sendAccepting(warmed.url, byId(shippingEntry.id, shipping.variables), 'application/json'),
      await sendAccepting(warmed.url, { ...byId(shippingEntry.id, shipping.variables), operationName: 'ShippingForTopProducts' }, 'application/json'),
      await sendAccepting(warmed.url, { query: shipping.query, variables: shipping.variables }, 'application/json'),
    ];
    for (const answer of answers) expect(answer.payloads[0].data).toEqual(expected);
    const parts = await sendAccepting(warmed.url, byId(deferredEntry.id), ACCEPT['deferSpec=20220824']);
    expect(parts.payloads.length).toBeGreaterThan(1);
    expect(mergePayloads(parts.payloads, 'deferSpec=20220824').data).toEqual((await postOperation(g.stock.url, reviews.query)).data);
    expect(plans).not.toHaveBeenCalled();

    // Not in the manifest: planned when first asked for.
    await sendAccepting(warmed.url, { query: reviews.query }, 'application/json');
    expect(plans).toHaveBeenCalledTimes(1);
  });

  it('prepares them again for a supergraph that replaces the running one', async () => {
    const before = gatewayInternals(warmed.gateway, await loadDataRewrites())!.queryPlanner;
    const warmedAgain = new Promise<void>((resolve) => {
      onWarmUp = resolve;
    });
    await appendFile(supergraphFile, '\n# the same graph, saved again\n');
    await warmedAgain;
    expect(warmUps).toBe(2);
    const plans = await watchPlanner(warmed);
    expect(gatewayInternals(warmed.gateway, await loadDataRewrites())!.queryPlanner).not.toBe(before);

    const answer = await sendAccepting(warmed.url, byId(shippingEntry.id, shipping.variables), 'application/json');
    expect(answer.payloads[0].data).toEqual((await postOperation(g.stock.url, shipping.query, shipping.variables)).data);
    expect(plans).not.toHaveBeenCalled();
  });

  it('with PLAN_WARMUP=off, plans a manifest operation on its first request', async () => {
    const plans = await watchPlanner(cold);
    const answer = await sendAccepting(cold.url, byId(shippingEntry.id, shipping.variables), 'application/json');
    expect(answer.payloads[0].data).toEqual((await postOperation(g.stock.url, shipping.query, shipping.variables)).data);
    expect(plans).toHaveBeenCalledTimes(1);
  });
});

/**
 * What an operation with `@defer` costs the planner: planned with its `@defer`s for the clients that take parts, and
 * whole only once a client asks for the whole answer, each once. The pages that defer take parts, so their first
 * request (a cold start's) does not pay for a plan nobody uses; a JSON-only client still gets the whole answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixtureGateways, type FixtureGateways } from '../support/fixtureGateways.js';
import { ACCEPT, mergePayloads, sendAccepting, withDefers } from '../support/incrementalAnswers.js';
import { watchPlanner } from '../support/plannerSpy.js';
import { SUPERGRAPH_FIXTURES } from '../support/supergraphFixtures.js';

const definition = SUPERGRAPH_FIXTURES.find((fixture) => fixture.name === 'requires-external')!;
const operation = definition.operations.find((op) => op.name === 'same products through reviews, back to reviews')!;

describe('planning an operation with @defer', () => {
  let g: FixtureGateways;
  beforeAll(async () => {
    g = await startFixtureGateways(definition, [{ label: 'ours', env: {} }]);
  });
  afterAll(async () => {
    await g?.stop();
  });

  it('plans the deferred form for parts, and the whole form only when a client first asks for JSON', async () => {
    const { url } = g.ours[0]!.gateway;
    const plans = await watchPlanner(g.ours[0]!.gateway);
    const body = { query: withDefers(operation.query, 'everywhere'), variables: operation.variables };

    const parts = await sendAccepting(url, body, ACCEPT['deferSpec=20220824']);
    expect(parts.payloads.length).toBeGreaterThan(1);
    expect(plans).toHaveBeenCalledTimes(1);

    const whole = await sendAccepting(url, body, 'application/json');
    expect(whole.contentType).toMatch(/^application\/json/);
    expect(whole.payloads[0].data).toEqual(mergePayloads(parts.payloads, 'deferSpec=20220824').data);
    expect(plans).toHaveBeenCalledTimes(2);

    // Both forms are kept: asking again plans nothing.
    await sendAccepting(url, body, 'application/json');
    await sendAccepting(url, body, ACCEPT['deferSpec=20220824']);
    expect(plans).toHaveBeenCalledTimes(2);
  });
});

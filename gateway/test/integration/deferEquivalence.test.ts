/**
 * Differential tests for `@defer`: every fixture operation (supergraphFixtures.ts) with `@defer` added at the root,
 * on every selection set (so inside lists and on entity fields another subgraph resolves, nested in each other),
 * on every selection set below the root fields, unlabelled, and with `if: false`; our gateway's payloads, merged
 * in order as a client merges them, must equal stock @apollo/gateway's answer to the operation without `@defer`,
 * cold, warm and 10 at once, with the entity cache on and off, in both multipart formats.
 *
 * The one place the RFC makes them differ: a null that bubbles up past a deferred fragment stops at the fragment
 * (its data is null in its own payload, with the error), since the data above it has already been sent. Those
 * answers are compared on what the client was told: the fragment's error is one stock reports too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixtureGateways, type FixtureGateways } from '../support/fixtureGateways.js';
import { ACCEPT, mergePayloads, sendAccepting, withDefers, type Format, type Merged, type Placement } from '../support/incrementalAnswers.js';
import { postOperation, type Answer } from '../support/stockGateway.js';
import { SUPERGRAPH_FIXTURES, type FixtureOperation, type SupergraphFixture } from '../support/supergraphFixtures.js';

const CONCURRENT = 10;
const PLACEMENTS: Placement[] = ['root', 'everywhere', 'nested only', 'everywhere unlabelled', 'everywhere if false'];

const startGateways = (definition: SupergraphFixture) => startFixtureGateways(definition, [
  { label: 'ours, cache on', env: { ENTITY_CACHE: 'on' } },
  { label: 'ours, cache off', env: { ENTITY_CACHE: 'off' } },
]);

/** Errors as sets of what went wrong: a deferred plan may ask a failing subgraph in more fetches than stock's. */
const errorSet = (errors: readonly any[]) => [...new Set(errors.map((e) => `${e.extensions?.code ?? ''}: ${e.message}`))].sort();

function expectSameAsWhole(merged: Merged, expected: Answer, context: string): void {
  const stockErrors = (expected.errors ?? []) as any[];
  if (merged.nulledParts === 0) {
    expect({ context, data: merged.data }).toEqual({ context, data: expected.data });
    const ours = errorSet([...merged.errors, ...merged.valueCompletion]);
    // Stock reports shaping errors (a non-null field that came back null) only when no fetch failed.
    const stockShaping = (expected as { extensions?: { valueCompletion?: unknown[] } }).extensions?.valueCompletion ?? [];
    const fetchFailed = stockErrors.some((e) => e.extensions?.code !== 'INVALID_GRAPHQL');
    const oursComparable = fetchFailed ? ours.filter((e) => !e.startsWith('INVALID_GRAPHQL')) : ours;
    expect({ context, errors: oursComparable }).toEqual({ context, errors: errorSet([...stockErrors, ...stockShaping as any[]]).filter((e) => !fetchFailed || !e.startsWith('INVALID_GRAPHQL')) });
  } else {
    // Every error the client was told of is one stock reports for the same operation (or its shaping's).
    expect(merged.errors.length).toBeGreaterThan(0);
    const stockMessages = new Set(stockErrors.map((e) => e.message));
    for (const error of merged.errors) {
      if (error.extensions?.code !== 'INVALID_GRAPHQL') expect({ context, message: error.message, known: stockMessages.has(error.message) }).toEqual({ context, message: error.message, known: true });
    }
  }
  expect({ context, hasNextAtEnd: merged.hasNextAtEnd }).toEqual({ context, hasNextAtEnd: false });
}

describe.each(SUPERGRAPH_FIXTURES.map((f) => [f.name, f] as const))('supergraph %s, with @defer', (_name, definition) => {
  let g: FixtureGateways;
  beforeAll(async () => {
    g = await startGateways(definition);
  });
  afterAll(async () => {
    await g?.stop();
  });

  it.each(definition.operations.map((op) => [op.name, op] as const))('%s: payloads merged equal stock\'s whole answer', async (_op, op: FixtureOperation) => {
    // Stock's answers come with shaping errors in extensions: read the raw answer for them.
    const expected = await stockAnswer(g.stock.url, op);
    let parted = 0;
    // A mutation's root fields may not be deferred (the validation test checks it is refused).
    for (const placement of PLACEMENTS.filter((p) => p !== 'root' || !op.query.trimStart().startsWith('mutation'))) {
      const query = withDefers(op.query, placement);
      const formats: Format[] = placement === 'everywhere' ? ['deferSpec=20220824', 'incrementalSpec=v0.2'] : ['deferSpec=20220824'];
      for (const format of formats) {
        await Promise.all(g.ours.map(async ({ label, gateway }) => {
          const send = () => sendAccepting(gateway.url, { query, variables: op.variables }, ACCEPT[format]);
          const answers = [await send(), await send(), ...await Promise.all(Array.from({ length: CONCURRENT }, send))];
          answers.forEach((answer, i) => {
            const context = `${label}, @defer ${placement}, ${format}, run ${i}`;
            expect({ context, status: answer.status }).toEqual({ context, status: expected.status });
            if (answer.payloads.length > 1) parted += 1;
            expectSameAsWhole(mergePayloads(answer.payloads, format), expected, context);
          });
        }));
      }
    }
    // Answers really came in parts (an operation answered whole every time would make the test vacuous), except
    // where stock's executor serves it (introspection), which answers whole.
    if (!/__type|__schema/.test(op.query)) expect(parted).toBeGreaterThan(0);
  });
});

async function stockAnswer(url: string, op: FixtureOperation): Promise<Answer & { extensions?: unknown }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: op.query, variables: op.variables }) });
  const body = await response.json() as { extensions?: unknown };
  const answer = await postOperation(url, op.query, op.variables);
  return { ...answer, extensions: body.extensions };
}

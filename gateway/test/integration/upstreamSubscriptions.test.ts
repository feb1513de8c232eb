/**
 * The gateway's WebSocket connections to a subgraph: one per caller while it carries a subscription, let go with the
 * last one, however it ended (unsubscribed, or refused by the subgraph). A gateway that has seen a great many callers
 * holds a connection only for those subscribed now. Over both protocols a subgraph may speak (graphql-ws, GraphQL over
 * SSE), against a real subgraph.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SubgraphIdentitySigner } from '../../src/auth/subgraphIdentity.js';
import { systemClock } from '../../src/clock.js';
import { jsonLogger } from '../../src/logger.js';
import type { Caller } from '../../src/request.js';
import { UpstreamSubscriptions, type UpstreamSink } from '../../src/subscriptions/upstreamSubscriptions.js';
import { startSubscriptionFixture, type SubscriptionFixture } from '../support/subscriptionFixture.js';

let fixture: SubscriptionFixture | undefined;
let upstream: UpstreamSubscriptions | undefined;
afterEach(async () => {
  await upstream?.close();
  await fixture?.stop();
});

const caller = (identity: string): Caller => ({ identity, signer: { headersFor: (id: string) => ({ 'x-caller': id }) } as unknown as SubgraphIdentitySigner });
const REVIEWS = { query: 'subscription($brandId: ID!) { reviewAdded(brandId: $brandId) { id body } }', variables: { brandId: 'b1' } };

function sink(): UpstreamSink & { events: unknown[]; errors: Error[]; completed: { done: boolean } } {
  const events: unknown[] = [];
  const errors: Error[] = [];
  const completed = { done: false };
  return { events, errors, completed, next: (event) => events.push(event), error: (error) => errors.push(error), complete: () => void (completed.done = true) };
}

describe.each(['ws', 'sse'] as const)('connections to a subgraph for subscriptions over %s', (protocol) => {
  it('one per caller while it carries a subscription, let go with its last one', async () => {
    const f = (fixture = await startSubscriptionFixture());
    upstream = new UpstreamSubscriptions({ urlOf: () => f.reviews.url, clock: systemClock, logger: jsonLogger('silent'), retries: 0, retryBaseMs: 10, protocolOf: () => protocol });
    const [a1, a2, b] = [sink(), sink(), sink()];
    const stopA1 = upstream.open('reviews', REVIEWS, caller('a'), a1);
    const stopA2 = upstream.open('reviews', REVIEWS, caller('a'), a2);
    const stopB = upstream.open('reviews', REVIEWS, caller('b'), b);
    expect(upstream.size).toBe(2);
    await vi.waitFor(() => expect(f.listeners('b1')).toBe(3), { timeout: 10_000, interval: 5 });
    f.publish({ id: 'r1', body: 'good', brand: { id: 'b1' } });
    await vi.waitFor(() => expect([a1, a2, b].map((s) => s.events.length)).toEqual([1, 1, 1]), { timeout: 10_000, interval: 5 });

    stopA1();
    expect(upstream.size).toBe(2);
    stopA2();
    expect(upstream.size).toBe(1);
    stopB();
    expect(upstream.size).toBe(0);
    await vi.waitFor(() => expect(f.listeners('b1')).toBe(0), { timeout: 10_000, interval: 5 });
    // The subgraph counts a socket closed once the close handshake is done, which may follow the subscriptions' ends.
    await vi.waitFor(() => expect(f.reviews.openSockets()).toBe(0), { timeout: 10_000, interval: 5 });
    // Each subscription was made in the protocol asked for, signed for its caller.
    expect(f.reviews.subscriptions.map((s) => [s.transport, s.headers['x-caller']])).toEqual([[protocol, 'a'], [protocol, 'a'], [protocol, 'b']]);
  });

  it('a subscription the subgraph refuses lets its connection go too', async () => {
    const f = (fixture = await startSubscriptionFixture());
    upstream = new UpstreamSubscriptions({ urlOf: () => f.reviews.url, clock: systemClock, logger: jsonLogger('silent'), retries: 0, retryBaseMs: 10, protocolOf: () => protocol });
    const refused = sink();
    upstream.open('reviews', { query: 'subscription { noSuchField }', variables: {} }, caller('a'), refused);
    if (protocol === 'ws') {
      // graphql-ws: an `error` message.
      await vi.waitFor(() => expect(refused.errors).toHaveLength(1), { timeout: 10_000, interval: 5 });
      expect(refused.errors[0]!.message).toMatch(/refused the subscription: Cannot query field "noSuchField"/);
    } else {
      // graphql-sse: the errors as the stream's one event, then its end.
      await vi.waitFor(() => expect(refused.completed.done).toBe(true), { timeout: 10_000, interval: 5 });
      expect(refused.events).toEqual([{ errors: [expect.objectContaining({ message: expect.stringMatching(/Cannot query field "noSuchField"/) })] }]);
    }
    expect(upstream.size).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('INVALIDATION_* settings', () => {
  it('are off by default; a feed URL or a NATS URL (with stream and subject) turns them on, for every event type unless listed', () => {
    expect(loadConfig({ SUPERGRAPH: '/srv/supergraph.graphql' }).invalidation).toBeNull();
    expect(loadConfig({ SUPERGRAPH: '/srv/supergraph.graphql', INVALIDATION_FEED_URL: 'http://127.0.0.1:4003/events' }).invalidation).toEqual({
      kind: 'feed', url: 'http://127.0.0.1:4003/events',
    });
    expect(loadConfig({
      SUPERGRAPH: '/srv/supergraph.graphql', INVALIDATION_NATS_URL: 'nats://127.0.0.1:4222', INVALIDATION_NATS_STREAM: 'PRODUCTS',
      INVALIDATION_NATS_SUBJECT: 'products.>', INVALIDATION_EVENT_TYPES: 'product-updated, brand-changed',
    }).invalidation).toEqual({
      kind: 'nats', servers: 'nats://127.0.0.1:4222', stream: 'PRODUCTS', subject: 'products.>', eventTypes: ['product-updated', 'brand-changed'],
    });
  });

  it.each([
    [{ INVALIDATION_FEED_URL: 'http://a/events', INVALIDATION_NATS_URL: 'nats://b:4222' }, 'pick one source of change events'],
    [{ INVALIDATION_FEED_URL: 'feed' }, 'INVALIDATION_FEED_URL must be an http(s) URL, got "feed"'],
    [{ INVALIDATION_NATS_URL: 'nats:/x' }, 'INVALIDATION_NATS_URL must be nats://host:port (comma-separated for several), got "nats:/x"'],
    [{ INVALIDATION_NATS_URL: 'nats://x:4222', INVALIDATION_NATS_STREAM: 'a b', INVALIDATION_NATS_SUBJECT: 'x.>' }, 'INVALIDATION_NATS_STREAM must name the stream (letters, digits, _ or -), got "a b"'],
    [{ INVALIDATION_NATS_URL: 'nats://x:4222', INVALIDATION_NATS_STREAM: 'X' }, 'INVALIDATION_NATS_SUBJECT must be the NATS subject'],
  ])('%o is refused, naming the key', (env, message) => {
    const withSupergraph = { SUPERGRAPH: '/srv/supergraph.graphql', ...env };
    expect(() => loadConfig(withSupergraph)).toThrow(ConfigError);
    expect(() => loadConfig(withSupergraph)).toThrow(message);
  });
});

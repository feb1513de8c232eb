import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

const SUPERGRAPH = '/srv/supergraph.graphql';

describe('INVALIDATION_* settings', () => {
  it('are off by default; a feed URL or a NATS URL (with stream and subject) turns them on, for every event type unless listed', () => {
    expect(loadConfig({ SUPERGRAPH }).invalidation).toBeNull();
    expect(loadConfig({ SUPERGRAPH, INVALIDATION_FEED_URL: 'http://127.0.0.1:4003/events' }).invalidation).toEqual({
      kind: 'feed', urls: ['http://127.0.0.1:4003/events'],
    });
    expect(loadConfig({
      SUPERGRAPH, INVALIDATION_NATS_URL: 'nats://127.0.0.1:4222', INVALIDATION_NATS_STREAM: 'PRODUCTS',
      INVALIDATION_NATS_SUBJECT: 'products.>', INVALIDATION_EVENT_TYPES: 'product-updated, brand-changed',
    }).invalidation).toEqual({
      kind: 'nats', servers: 'nats://127.0.0.1:4222', subscriptions: [{ stream: 'PRODUCTS', subject: 'products.>' }], eventTypes: ['product-updated', 'brand-changed'],
    });
  });

  it('listen to every publisher: several feeds, or several subjects of one stream or of one stream each', () => {
    expect(loadConfig({ SUPERGRAPH, INVALIDATION_FEED_URL: 'http://a:4003/events, http://b:4001/events,http://c:4002/events' }).invalidation).toEqual({
      kind: 'feed', urls: ['http://a:4003/events', 'http://b:4001/events', 'http://c:4002/events'],
    });
    expect(loadConfig({
      SUPERGRAPH, INVALIDATION_NATS_URL: 'nats://n:4222', INVALIDATION_NATS_STREAM: 'CATALOG', INVALIDATION_NATS_SUBJECT: 'catalog.product.>,catalog.brand.>',
    }).invalidation).toMatchObject({ subscriptions: [{ stream: 'CATALOG', subject: 'catalog.product.>' }, { stream: 'CATALOG', subject: 'catalog.brand.>' }] });
    expect(loadConfig({
      SUPERGRAPH, INVALIDATION_NATS_URL: 'nats://n:4222', INVALIDATION_NATS_STREAM: 'PRODUCTS, PAGES', INVALIDATION_NATS_SUBJECT: 'products.>, pages.product.>',
    }).invalidation).toMatchObject({ subscriptions: [{ stream: 'PRODUCTS', subject: 'products.>' }, { stream: 'PAGES', subject: 'pages.product.>' }] });
  });

  it.each([
    [{ INVALIDATION_FEED_URL: 'http://a/events', INVALIDATION_NATS_URL: 'nats://b:4222' }, 'pick one source of change events'],
    [{ INVALIDATION_FEED_URL: 'feed' }, 'INVALIDATION_FEED_URL must be http(s) URLs (comma-separated for several feeds), got "feed"'],
    [{ INVALIDATION_FEED_URL: 'http://a/events,,http://b/events' }, 'INVALIDATION_FEED_URL must be http(s) URLs (comma-separated for several feeds), got ""'],
    [{ INVALIDATION_FEED_URL: 'http://a/events,http://a/events' }, 'INVALIDATION_FEED_URL names a feed twice'],
    [{ INVALIDATION_NATS_URL: 'nats:/x' }, 'INVALIDATION_NATS_URL must be nats://host:port (comma-separated for several), got "nats:/x"'],
    [{ INVALIDATION_NATS_URL: 'nats://x:4222', INVALIDATION_NATS_STREAM: 'a b', INVALIDATION_NATS_SUBJECT: 'x.>' }, 'INVALIDATION_NATS_STREAM must name the stream (letters, digits, _ or -), or one stream per subject comma-separated, got "a b"'],
    [{ INVALIDATION_NATS_URL: 'nats://x:4222', INVALIDATION_NATS_STREAM: 'X' }, 'INVALIDATION_NATS_SUBJECT must be the NATS subjects'],
    [{ INVALIDATION_NATS_URL: 'nats://x:4222', INVALIDATION_NATS_STREAM: 'X', INVALIDATION_NATS_SUBJECT: 'x.>,' }, 'INVALIDATION_NATS_SUBJECT must be the NATS subjects'],
    [{ INVALIDATION_NATS_URL: 'nats://x:4222', INVALIDATION_NATS_STREAM: 'A,B', INVALIDATION_NATS_SUBJECT: 'a.>,b.>,c.>' }, 'INVALIDATION_NATS_STREAM names 2 streams for 3 INVALIDATION_NATS_SUBJECT subjects'],
    [{ INVALIDATION_NATS_URL: 'nats://x:4222', INVALIDATION_NATS_STREAM: 'A', INVALIDATION_NATS_SUBJECT: 'a.>,a.>' }, 'INVALIDATION_NATS_SUBJECT names a subject of the same stream twice'],
  ])('%o is refused, naming the key', (env, message) => {
    const withSupergraph = { SUPERGRAPH, ...env };
    expect(() => loadConfig(withSupergraph)).toThrow(ConfigError);
    expect(() => loadConfig(withSupergraph)).toThrow(message);
  });
});

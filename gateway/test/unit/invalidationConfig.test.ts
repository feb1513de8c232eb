import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('INVALIDATION_* settings', () => {
  it('are off by default; a feed URL or a NATS URL (with stream, subject and event types) turns them on', () => {
    expect(loadConfig({}).invalidation).toBeNull();
    expect(loadConfig({ INVALIDATION_FEED_URL: 'http://127.0.0.1:4003/events' }).invalidation).toEqual({
      kind: 'feed', url: 'http://127.0.0.1:4003/events', eventTypes: ['client-updated', 'client-removed'],
    });
    expect(loadConfig({ INVALIDATION_NATS_URL: 'nats://127.0.0.1:4222', INVALIDATION_EVENT_TYPES: 'client-updated, seller-changed' }).invalidation).toEqual({
      kind: 'nats', servers: 'nats://127.0.0.1:4222', stream: 'TOPCLIENTS', subject: 'topclients.client.>', eventTypes: ['client-updated', 'seller-changed'],
    });
  });

  it.each([
    [{ INVALIDATION_FEED_URL: 'http://a/events', INVALIDATION_NATS_URL: 'nats://b:4222' }, 'pick one source of change events'],
    [{ INVALIDATION_FEED_URL: 'feed' }, 'INVALIDATION_FEED_URL must be an http(s) URL, got "feed"'],
    [{ INVALIDATION_NATS_URL: 'nats:/x' }, 'INVALIDATION_NATS_URL must be nats://host:port (comma-separated for several), got "nats:/x"'],
    [{ INVALIDATION_NATS_URL: 'nats://x:4222', INVALIDATION_NATS_STREAM: 'a b' }, 'INVALIDATION_NATS_STREAM must be letters, digits, _ or -, got "a b"'],
  ])('%o is refused, naming the key', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});

import { describe, expect, it } from 'vitest';
import { ConfigError, loadEventsConfig } from '../config.js';
import { clientUpdated, parseChangeEvent, sellerClientIdsApplied, sellerClientIdsChanged, type ChangeEvent } from '../events.js';
import { driftCount, projectionDrift } from '../projectionDrift.js';
import { subjectFor } from '../transports/jetstream.js';

const stamp = { id: '7', schemaVersion: 1, occurredAt: '2026-01-01T00:00:00.000Z' };

describe('change events, schema version 1', () => {
  it('a well-formed event reads back as itself, from an object, JSON text or bytes', () => {
    const event = { ...stamp, ...sellerClientIdsChanged('s1', ['c1', 'c2'], 3) };
    expect(parseChangeEvent(event)).toEqual(event);
    expect(parseChangeEvent(JSON.stringify(event))).toEqual(event);
    expect(parseChangeEvent(new TextEncoder().encode(JSON.stringify(event)))).toEqual(event);
    expect(event.entity).toEqual({ typename: 'Seller', keyFields: { id: 's1' } });
    expect({ ...stamp, ...clientUpdated('c9', 2) }.entity).toEqual({ typename: 'Client', keyFields: { id: 'c9' } });
  });

  it.each([
    ['not JSON', '{', 'event is not valid JSON'],
    ['an array', [], 'event is not a JSON object'],
    ['a newer schema', { ...stamp, schemaVersion: 2 }, 'unknown schemaVersion 2 (this consumer reads 1)'],
    ['no id', { ...stamp, ...sellerClientIdsChanged('s1', [], 1), id: '' }, 'id must be a non-empty string'],
    ['an unknown type', { ...stamp, ...sellerClientIdsChanged('s1', [], 1), type: 'seller-deleted' }, 'unknown type "seller-deleted"'],
    ['version 0', { ...stamp, ...sellerClientIdsChanged('s1', [], 0) }, 'version must be a positive integer'],
    ['no entity', { ...stamp, ...sellerClientIdsChanged('s1', [], 1), entity: { typename: 'Seller' } }, 'entity must be { typename, keyFields } with string key values'],
    ['ids that are not strings', { ...stamp, ...sellerClientIdsChanged('s1', [], 1), payload: { sellerId: 's1', clientIds: [1] } }, 'payload.clientIds must be an array of client ids'],
    ['a repeated id', { ...stamp, ...sellerClientIdsChanged('s1', ['c1', 'c1'], 1) }, 'payload.clientIds repeats an id'],
    ['an applied list without sellerId', { ...stamp, ...sellerClientIdsApplied('s1', ['c1'], 2), payload: { clientIds: ['c1'] } }, 'payload.sellerId must be a non-empty string'],
    ['a client event without clientId', { ...stamp, ...clientUpdated('c1', 1), payload: {} }, 'payload.clientId must be a non-empty string'],
  ])('%s is refused, saying why', (_name, raw, message) => {
    expect(() => parseChangeEvent(raw)).toThrow(message);
  });

  it('a page subgraph\'s applied list names the Seller it changed, with the version it now holds, on the seller\'s subject', () => {
    const applied = { ...stamp, ...sellerClientIdsApplied('s1', ['c2', 'c1'], 4) } as ChangeEvent;
    expect(parseChangeEvent(JSON.stringify(applied))).toEqual(applied);
    expect(applied).toMatchObject({ type: 'seller-client-ids-applied', entity: { typename: 'Seller', keyFields: { id: 's1' } }, version: 4, payload: { sellerId: 's1', clientIds: ['c2', 'c1'] } });
    expect(subjectFor('gigs', applied)).toBe('gigs.seller.s1');
  });

  it('subjects are keyed by seller or client, with unsafe characters encoded and a placeholder for a missing id', () => {
    const seller = { ...stamp, ...sellerClientIdsChanged('s.1 *>', ['c1'], 1) } as ChangeEvent;
    expect(subjectFor('topclients', seller)).toBe('topclients.seller.s%2E1%20%2A%3E');
    expect(subjectFor('topclients', { ...stamp, ...clientUpdated('c1', 1) } as ChangeEvent)).toBe('topclients.client.c1');
    expect(subjectFor('topclients', { ...seller, payload: {} } as unknown as ChangeEvent)).toBe('topclients.seller._');
  });
});

describe('projectionDrift', () => {
  it('names missing, extra, behind and different sellers; none when the copy equals the source', () => {
    const source = [
      { sellerId: 'a', version: 2, clientIds: ['c1'] },
      { sellerId: 'b', version: 3, clientIds: ['c2', 'c3'] },
      { sellerId: 'c', version: 1, clientIds: ['c4'] },
      { sellerId: 'd', version: 1, clientIds: [] },
    ];
    expect(driftCount(projectionDrift(source, source))).toBe(0);
    const drift = projectionDrift(source, [
      { sellerId: 'a', version: 1, clientIds: ['c9'] },
      { sellerId: 'b', version: 3, clientIds: ['c3', 'c2'] },
      { sellerId: 'd', version: 1, clientIds: [] },
      { sellerId: 'z', version: 1, clientIds: ['c1'] },
    ]);
    expect(drift).toEqual({
      sellers: 4,
      missing: ['c'],
      extra: ['z'],
      behind: [{ sellerId: 'a', sourceVersion: 2, copyVersion: 1 }],
      different: ['b'],
    });
    expect(driftCount(drift)).toBe(4);
  });
});

describe('loadEventsConfig', () => {
  it('defaults to the embedded feed at topclients\' port; nats takes URL, stream and subject prefix', () => {
    expect(loadEventsConfig({})).toEqual({ transport: 'feed', feedUrl: 'http://127.0.0.1:4003/events' });
    expect(loadEventsConfig({ TOPCLIENTS_PORT: '5003' })).toEqual({ transport: 'feed', feedUrl: 'http://127.0.0.1:5003/events' });
    expect(loadEventsConfig({ EVENT_TRANSPORT: 'nats', NATS_URL: 'nats://10.0.0.1:4222', NATS_STREAM: 'TC', NATS_SUBJECT_PREFIX: 'prod.tc' })).toEqual({
      transport: 'nats',
      feedUrl: 'http://127.0.0.1:4003/events',
      nats: { servers: 'nats://10.0.0.1:4222', stream: 'TC', subjectPrefix: 'prod.tc' },
    });
  });

  it('a page subgraph on nats also gets its own stream for what it applies: <NAME>_NATS_STREAM / _SUBJECT_PREFIX, default <NAME> / <name>', () => {
    expect(loadEventsConfig({ EVENT_TRANSPORT: 'nats' }, 'gigs')).toMatchObject({ ownStream: { stream: 'GIGS', subjectPrefix: 'gigs' } });
    expect(loadEventsConfig({ EVENT_TRANSPORT: 'nats', USERS_NATS_STREAM: 'U2', USERS_NATS_SUBJECT_PREFIX: 'prod.users' }, 'users'))
      .toMatchObject({ ownStream: { stream: 'U2', subjectPrefix: 'prod.users' } });
    expect(loadEventsConfig({ EVENT_TRANSPORT: 'nats' }, 'topclients')).not.toHaveProperty('ownStream');
    expect(loadEventsConfig({}, 'gigs')).toEqual({ transport: 'feed', feedUrl: 'http://127.0.0.1:4003/events' });
  });

  it.each([
    [{ EVENT_TRANSPORT: 'nats', GIGS_NATS_STREAM: 'TOPCLIENTS' }, 'GIGS_NATS_STREAM must differ from NATS_STREAM (topclients\' stream), both are "TOPCLIENTS"'],
    [{ EVENT_TRANSPORT: 'nats', GIGS_NATS_SUBJECT_PREFIX: 'topclients.gigs' }, 'GIGS_NATS_SUBJECT_PREFIX "topclients.gigs" overlaps NATS_SUBJECT_PREFIX "topclients"'],
    [{ EVENT_TRANSPORT: 'nats', GIGS_NATS_STREAM: 'g.s' }, 'GIGS_NATS_STREAM must be letters, digits, _ or -, got "g.s"'],
  ])('gigs: %o is refused, naming the key', (env, message) => {
    expect(() => loadEventsConfig(env, 'gigs')).toThrow(message);
  });

  it.each([
    [{ EVENT_TRANSPORT: 'kafka' }, 'EVENT_TRANSPORT must be "feed" or "nats", got "kafka"'],
    [{ TOPCLIENTS_FEED_URL: 'ftp://x/events' }, 'TOPCLIENTS_FEED_URL must be an http(s) URL ending in /events, got "ftp://x/events"'],
    [{ EVENT_TRANSPORT: 'nats', NATS_URL: 'http://x:4222' }, 'NATS_URL must be nats://host:port (comma-separated for several), got "http://x:4222"'],
    [{ NATS_STREAM: 'a.b' }, 'NATS_STREAM must be letters, digits, _ or -, got "a.b"'],
    [{ NATS_SUBJECT_PREFIX: 'a.>' }, 'NATS_SUBJECT_PREFIX must be dot-separated subject tokens, got "a.>"'],
  ])('%o is refused, naming the key and value', (env, message) => {
    expect(() => loadEventsConfig(env)).toThrow(ConfigError);
    expect(() => loadEventsConfig(env)).toThrow(message);
  });
});

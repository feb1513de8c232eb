/**
 * The gateway's change listener against real sources: a change feed served over HTTP (a real server on port 0
 * speaking the feed protocol) and a real JetStream stream. It reports the entity each invalidating event names,
 * ignores other types and garbage, starts at the source's end, and rides out a source that goes away.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import { entityChangeFrom } from '../../src/events/entityChange.js';
import { startInvalidationListener, type RunningInvalidationListener } from '../../src/events/invalidationListener.js';
import { NATS_URL, natsAvailable, uniqueStreamName } from '../../../test/support/nats.js';

const event = (id: number, type: string, typename: string, keyFields: Record<string, string>) =>
  ({ id: String(id), schemaVersion: 1, type, entity: { typename, keyFields }, version: 1, occurredAt: '2026-01-01T00:00:00.000Z', payload: {} });

/** A change feed: `events` grows; long-polls wait until something after `after` exists or waitMs passes. */
async function startFeed(initial: unknown[], port = 0) {
  const events: { id: string }[] = initial as { id: string }[];
  const waiting = new Set<() => void>();
  let onParked: (() => void)[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://feed');
    const answer = () => {
      const after = Number(url.searchParams.get('after') ?? 0);
      const page = events.filter((e) => Number(e.id) > after);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ events: page, head: events.length }));
      return page.length;
    };
    if (url.pathname === '/events/head') return void res.writeHead(200).end(JSON.stringify({ head: events.length }));
    const after = Number(url.searchParams.get('after') ?? 0);
    if (events.some((e) => Number(e.id) > after)) return void answer();
    const wake = () => {
      waiting.delete(wake);
      clearTimeout(timer);
      answer();
    };
    const timer = setTimeout(wake, Number(url.searchParams.get('waitMs') ?? 0));
    waiting.add(wake);
    for (const parked of onParked) parked();
    onParked = [];
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`,
    /** Resolves once a listener's long-poll waits here: from then on, whatever is pushed reaches it. */
    polling(): Promise<void> {
      return waiting.size > 0 ? Promise.resolve() : new Promise((resolve) => onParked.push(resolve));
    },
    push(e: unknown) {
      events.push(e as { id: string });
      for (const wake of [...waiting]) wake();
    },
    async close() {
      for (const wake of [...waiting]) wake();
      await new Promise((resolve) => { server.close(resolve); server.closeAllConnections(); });
    },
  };
}

async function until(check: () => boolean, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * An ordered consumer starts at its stream's end once it exists, which the listener does not announce: publish a
 * marker on the subject until the listener reports it.
 */
async function untilConsuming(js: ReturnType<typeof jetstream>, subject: string, reported: () => boolean, marker: unknown, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await js.publish(subject, JSON.stringify(marker));
    if (reported()) return;
    if (Date.now() > deadline) throw new Error(`no marker heard on ${subject}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('entityChangeFrom', () => {
  it('reads type and entity from an event object, JSON text or bytes; anything else is null', () => {
    const e = event(1, 'client-updated', 'Client', { id: 'c1' });
    expect(entityChangeFrom(e)).toEqual({ type: 'client-updated', typename: 'Client', keyFields: { id: 'c1' } });
    expect(entityChangeFrom(JSON.stringify(e))).toEqual(entityChangeFrom(e));
    expect(entityChangeFrom(new TextEncoder().encode(JSON.stringify(e)))).toEqual(entityChangeFrom(e));
    expect(entityChangeFrom('{nope')).toBeNull();
    expect(entityChangeFrom({ type: 'client-updated' })).toBeNull();
    expect(entityChangeFrom({ type: 'client-updated', entity: { typename: 'Client', keyFields: {} } })).toBeNull();
    expect(entityChangeFrom({ type: 'client-updated', entity: { typename: '', keyFields: { id: 'c1' } } })).toBeNull();
  });
});

describe('startInvalidationListener', () => {
  let listener: RunningInvalidationListener | undefined;
  afterEach(async () => {
    await listener?.stop();
    listener = undefined;
  });

  it('feed: reports the listed event types from the source end on, ignores other types and garbage, survives the feed restarting', async () => {
    const feed = await startFeed([event(1, 'client-updated', 'Client', { id: 'before-start' })]);
    const seen: [string, Record<string, unknown>][] = [];
    listener = await startInvalidationListener(
      { kind: 'feed', urls: [feed.url], waitMs: 5_000, eventTypes: ['client-updated', 'client-removed'] },
      (t, k) => seen.push([t, k]),
    );
    await feed.polling();
    feed.push(event(2, 'seller-client-ids-changed', 'Seller', { id: 's1' }));
    feed.push({ id: '3', garbage: true });
    feed.push(event(4, 'client-updated', 'Client', { id: 'c7' }));
    feed.push(event(5, 'client-removed', 'Client', { id: 'c8' }));
    await until(() => seen.length >= 2);
    expect(seen).toEqual([['Client', { id: 'c7' }], ['Client', { id: 'c8' }]]);
    await feed.close();
    // The source comes back on the same address with what it had, plus an edit made while the listener waited.
    const port = Number(new URL(feed.url).port);
    const back = await startFeed([1, 2, 3, 4, 5].map((id) => ({ id: String(id) })), port);
    try {
      back.push(event(6, 'client-updated', 'Client', { id: 'c9' }));
      await until(() => seen.length >= 3);
      expect(seen.at(-1)).toEqual(['Client', { id: 'c9' }]);
      expect(seen).toHaveLength(3);
    } finally {
      await listener.stop();
      listener = undefined;
      await back.close();
    }
  });

  it('feed: a listener whose source is down at first keeps trying and reports once it answers', async () => {
    const probe = await startFeed([]);
    const port = Number(new URL(probe.url).port);
    await probe.close();
    const seen: string[] = [];
    let reportDown!: () => void;
    const down = new Promise<void>((resolve) => (reportDown = resolve));
    const logger = { debug() {}, info() {}, error() {}, warn: (msg: string) => msg.startsWith('invalidation feed unreachable') && reportDown() };
    listener = await startInvalidationListener({ kind: 'feed', urls: [probe.url], waitMs: 1_000, logger }, (_t, k) => seen.push(String(k.id)));
    await down;
    const feed = await startFeed([], port);
    try {
      await feed.polling();
      feed.push(event(1, 'client-updated', 'Client', { id: 'late' }));
      await until(() => seen.length >= 1);
      expect(seen).toEqual(['late']);
    } finally {
      await listener.stop();
      listener = undefined;
      await feed.close();
    }
  });

  it('feed: listens to every publisher\'s feed at once, each from its own end; a feed that is down holds up none of the others', async () => {
    const source = await startFeed([event(1, 'client-updated', 'Client', { id: 'old' })]);
    const copy = await startFeed([event(1, 'seller-client-ids-applied', 'Seller', { id: 'old' }), event(2, 'seller-client-ids-applied', 'Seller', { id: 'old' })]);
    const down = await startFeed([]);
    await down.close();
    const seen: string[] = [];
    listener = await startInvalidationListener(
      { kind: 'feed', urls: [source.url, down.url, copy.url], waitMs: 5_000, eventTypes: ['client-updated', 'seller-client-ids-applied'] },
      (t, k) => seen.push(`${t}:${String(k.id)}`),
    );
    try {
      await Promise.all([source.polling(), copy.polling()]);
      source.push(event(2, 'client-updated', 'Client', { id: 'c1' }));
      await until(() => seen.length >= 1);
      copy.push(event(3, 'seller-client-ids-applied', 'Seller', { id: 's1' }));
      await until(() => seen.length >= 2);
      expect(seen).toEqual(['Client:c1', 'Seller:s1']);
    } finally {
      await listener.stop();
      listener = undefined;
      await source.close();
      await copy.close();
    }
  });

  // The real JetStream server of the test support (TEST_NATS_URL): a missing one fails the file under CI=true and
  // skips this test with a loud warning elsewhere, like the other JetStream suites.
  it.runIf(natsAvailable)('nats: an ordered consumer per gateway reports client events published after it started', async () => {
    const nc = await connect({ servers: NATS_URL, timeout: 2_000, reconnect: false });
    const stream = uniqueStreamName('INV');
    const jsm = await jetstreamManager(nc);
    try {
      await jsm.streams.add({ name: stream, subjects: [`${stream.toLowerCase()}.>`] });
      const js = jetstream(nc);
      await js.publish(`${stream.toLowerCase()}.client.old`, JSON.stringify(event(1, 'client-updated', 'Client', { id: 'old' })));
      const seen: string[] = [];
      listener = await startInvalidationListener(
        { kind: 'nats', servers: NATS_URL, subscriptions: [{ stream, subject: `${stream.toLowerCase()}.client.>` }] },
        (_t, k) => seen.push(String(k.id)),
      );
      await untilConsuming(js, `${stream.toLowerCase()}.client.ready`, () => seen.includes('ready'), event(2, 'client-updated', 'Client', { id: 'ready' }));
      await js.publish(`${stream.toLowerCase()}.seller.s1`, JSON.stringify(event(2, 'seller-client-ids-changed', 'Seller', { id: 's1' })));
      await js.publish(`${stream.toLowerCase()}.client.c3`, JSON.stringify(event(3, 'client-updated', 'Client', { id: 'c3' })));
      const real = () => seen.filter((id) => id !== 'ready');
      await until(() => real().length >= 1);
      expect(real()).toEqual(['c3']);
    } finally {
      await listener?.stop();
      listener = undefined;
      await jsm.streams.delete(stream).catch(() => undefined);
      await nc.close();
    }
  });

  it.runIf(natsAvailable)('nats: one ordered consumer per stream and subject, so every publisher\'s stream is heard', async () => {
    const nc = await connect({ servers: NATS_URL, timeout: 2_000, reconnect: false });
    const [source, copy] = [uniqueStreamName('INVSRC'), uniqueStreamName('INVCOPY')];
    const jsm = await jetstreamManager(nc);
    try {
      await jsm.streams.add({ name: source, subjects: [`${source.toLowerCase()}.>`] });
      await jsm.streams.add({ name: copy, subjects: [`${copy.toLowerCase()}.>`] });
      const seen: string[] = [];
      listener = await startInvalidationListener(
        { kind: 'nats', servers: NATS_URL, subscriptions: [{ stream: source, subject: `${source.toLowerCase()}.client.>` }, { stream: copy, subject: `${copy.toLowerCase()}.seller.>` }] },
        (t, k) => seen.push(`${t}:${String(k.id)}`),
      );
      const js = jetstream(nc);
      await untilConsuming(js, `${source.toLowerCase()}.client.ready`, () => seen.includes('Client:ready'), event(1, 'client-updated', 'Client', { id: 'ready' }));
      await untilConsuming(js, `${copy.toLowerCase()}.seller.ready`, () => seen.includes('Seller:ready'), event(1, 'seller-client-ids-applied', 'Seller', { id: 'ready' }));
      const real = () => seen.filter((e) => !e.endsWith(':ready'));
      await js.publish(`${source.toLowerCase()}.client.c1`, JSON.stringify(event(2, 'client-updated', 'Client', { id: 'c1' })));
      await until(() => real().length >= 1);
      await js.publish(`${copy.toLowerCase()}.seller.s1`, JSON.stringify(event(2, 'seller-client-ids-applied', 'Seller', { id: 's1' })));
      await until(() => real().length >= 2);
      expect(real()).toEqual(['Client:c1', 'Seller:s1']);
    } finally {
      await listener?.stop();
      listener = undefined;
      await jsm.streams.delete(source).catch(() => undefined);
      await jsm.streams.delete(copy).catch(() => undefined);
      await nc.close();
    }
  });
});

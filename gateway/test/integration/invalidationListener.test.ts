/**
 * The gateway's change listener against real sources: a change feed served over HTTP (a real server on port 0
 * speaking the feed protocol) and a real JetStream stream. It reports the entity each invalidating event names and
 * ignores other types and garbage. It starts at the source's end with a cut, resumes from its own position after
 * the source went away (what it missed is heard, with no cut), and cuts again, saying why, when the source cannot
 * give back what it missed (a new log, a head behind the position, a stream made anew or truncated). Every wait is
 * on a report of the listener or a delivered event.
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { entityChangeFrom } from '../../src/events/entityChange.js';
import { startInvalidationListener, type RunningInvalidationListener } from '../../src/events/invalidationListener.js';
import { NATS_URL, natsAvailable, uniqueStreamName } from '../../../test/support/nats.js';
import { RecordedSources } from '../support/recordedSources.js';
import { feedEvent as event, startTestFeed as startFeed } from '../support/testFeed.js';

/** What a listener delivered, and a way to wait for the next ones. */
function deliveries() {
  const seen: string[] = [];
  let waiters: { count: number; resolve: () => void }[] = [];
  return {
    seen,
    record(typename: string, keyFields: Record<string, unknown>) {
      seen.push(`${typename}:${String(keyFields.id)}`);
      waiters = waiters.filter((w) => (seen.length >= w.count ? (w.resolve(), false) : true));
    },
    /** Resolves once `count` entities in all have been delivered. */
    until(count: number): Promise<void> {
      return seen.length >= count ? Promise.resolve() : new Promise((resolve) => waiters.push({ count, resolve }));
    },
  };
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

describe('startInvalidationListener on change feeds', () => {
  let listener: RunningInvalidationListener | undefined;
  const closing: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await listener?.stop();
    listener = undefined;
    for (const close of closing.splice(0)) await close();
  });
  const feedSource = (url: string) => `feed ${url}`;

  it('starts at the feed\'s end with a cut, then reports the listed event types, ignoring other types and garbage', async () => {
    const feed = await startFeed([event(1, 'client-updated', 'Client', { id: 'before-start' })]);
    closing.push(() => feed.close());
    const sources = new RecordedSources();
    const heard = deliveries();
    listener = startInvalidationListener({ kind: 'feed', urls: [feed.url], waitMs: 5_000, eventTypes: ['client-updated', 'client-removed'] }, sources, heard.record);
    expect(await sources.next({ kind: 'cut' })).toEqual({ source: feedSource(feed.url), kind: 'cut', detail: 'feed id 1', reason: 'start' });
    await feed.polling();
    feed.push(event(2, 'seller-client-ids-changed', 'Seller', { id: 's1' }));
    feed.push({ id: '3', garbage: true });
    feed.push(event(4, 'client-updated', 'Client', { id: 'c7' }));
    feed.push(event(5, 'client-removed', 'Client', { id: 'c8' }));
    await heard.until(2);
    expect(heard.seen).toEqual(['Client:c7', 'Client:c8']);
    await sources.next({ kind: 'following', detail: 'feed id 5' });
  });

  it('resumes from its own position when the feed comes back: an edit made while it was away is heard, with no cut', async () => {
    const feed = await startFeed([event(1, 'client-updated', 'Client', { id: 'old' })]);
    const sources = new RecordedSources();
    const heard = deliveries();
    listener = startInvalidationListener({ kind: 'feed', urls: [feed.url], waitMs: 5_000 }, sources, heard.record);
    await sources.next({ kind: 'cut' });
    await feed.polling();
    const mark = sources.mark;
    await feed.close();
    await sources.next({ kind: 'behind' }, mark);
    // The source comes back on the same address and log with what it had, plus an edit made while the listener was away.
    const back = await startFeed([event(1, 'client-updated', 'Client', { id: 'old' }), event(2, 'client-updated', 'Client', { id: 'edited-meanwhile' })], { port: Number(new URL(feed.url).port) });
    closing.push(() => back.close());
    await heard.until(1);
    expect(heard.seen).toEqual(['Client:edited-meanwhile']);
    await sources.next({ kind: 'following', detail: 'feed id 2' }, mark);
    expect(sources.of('cut')).toHaveLength(1);
  });

  it('waits while the feed is not reached yet (behind reports say why), then cuts at its end once it answers', async () => {
    const probe = await startFeed([]);
    const port = Number(new URL(probe.url).port);
    await probe.close();
    const sources = new RecordedSources();
    const heard = deliveries();
    listener = startInvalidationListener({ kind: 'feed', urls: [probe.url], waitMs: 1_000 }, sources, heard.record);
    expect((await sources.next({ kind: 'behind' })).detail).toMatch(/fetch failed|ECONNREFUSED/);
    const feed = await startFeed([event(7, 'client-updated', 'Client', { id: 'before-reached' })], { port });
    closing.push(() => feed.close());
    expect(await sources.next({ kind: 'cut' })).toMatchObject({ detail: 'feed id 7', reason: 'start' });
    await feed.polling();
    feed.push(event(8, 'client-updated', 'Client', { id: 'late' }));
    await heard.until(1);
    expect(heard.seen).toEqual(['Client:late']);
  });

  it('a feed whose log is another one (a new database) is a gap: it cuts at the new end and hears what comes after', async () => {
    const feed = await startFeed([event(1, 'client-updated', 'Client', { id: 'a' }), event(2, 'client-updated', 'Client', { id: 'b' })]);
    const sources = new RecordedSources();
    const heard = deliveries();
    listener = startInvalidationListener({ kind: 'feed', urls: [feed.url], waitMs: 5_000 }, sources, heard.record);
    await sources.next({ kind: 'cut' });
    await feed.polling();
    await feed.close();
    // The new database's log has already passed the old position: only its id tells it is another log.
    const replaced = await startFeed([1, 2, 3, 4].map((id) => event(id, 'client-updated', 'Client', { id: `new-${id}` })), { port: Number(new URL(feed.url).port), log: 'log-b' });
    closing.push(() => replaced.close());
    expect(await sources.next({ kind: 'cut', reason: 'source_replaced' })).toMatchObject({ detail: 'feed id 4' });
    expect(heard.seen).toEqual([]);
    await replaced.polling();
    replaced.push(event(5, 'client-updated', 'Client', { id: 'after-the-gap' }));
    await heard.until(1);
    expect(heard.seen).toEqual(['Client:after-the-gap']);
  });

  it('a feed whose head fell behind the position (restored from a backup) is a gap too', async () => {
    const feed = await startFeed([1, 2, 3].map((id) => event(id, 'client-updated', 'Client', { id: `c${id}` })));
    const sources = new RecordedSources();
    listener = startInvalidationListener({ kind: 'feed', urls: [feed.url], waitMs: 5_000 }, sources, () => undefined);
    await sources.next({ kind: 'cut' });
    await feed.polling();
    await feed.close();
    const restored = await startFeed([event(1, 'client-updated', 'Client', { id: 'c1' })], { port: Number(new URL(feed.url).port) });
    closing.push(() => restored.close());
    expect(await sources.next({ kind: 'cut', reason: 'source_reset' })).toMatchObject({ detail: 'feed id 1' });
  });

  it('listens to every publisher\'s feed at once, each from its own end; a feed that is down holds up none of the others', async () => {
    const source = await startFeed([event(1, 'client-updated', 'Client', { id: 'old' })]);
    const copy = await startFeed([event(1, 'seller-client-ids-applied', 'Seller', { id: 'old' }), event(2, 'seller-client-ids-applied', 'Seller', { id: 'old' })]);
    const down = await startFeed([]);
    await down.close();
    closing.push(() => source.close(), () => copy.close());
    const sources = new RecordedSources();
    const heard = deliveries();
    listener = startInvalidationListener(
      { kind: 'feed', urls: [source.url, down.url, copy.url], waitMs: 5_000, eventTypes: ['client-updated', 'seller-client-ids-applied'] },
      sources,
      heard.record,
    );
    await Promise.all([source.polling(), copy.polling()]);
    source.push(event(2, 'client-updated', 'Client', { id: 'c1' }));
    await heard.until(1);
    copy.push(event(3, 'seller-client-ids-applied', 'Seller', { id: 's1' }));
    await heard.until(2);
    expect(heard.seen).toEqual(['Client:c1', 'Seller:s1']);
    expect(sources.of('cut').map((r) => r.source).sort()).toEqual([feedSource(copy.url), feedSource(source.url)].sort());
  });
});

// The real JetStream server of the test support (TEST_NATS_URL): a missing one fails the file under CI=true and skips
// these tests with a loud warning elsewhere, like the other JetStream suites.
describe.runIf(natsAvailable)('startInvalidationListener on JetStream', () => {
  let listener: RunningInvalidationListener | undefined;
  let nc: Awaited<ReturnType<typeof connect>>;
  const streams: string[] = [];
  beforeEach(async () => {
    nc = await connect({ servers: NATS_URL, timeout: 2_000, reconnect: false });
  });
  afterEach(async () => {
    await listener?.stop();
    listener = undefined;
    const jsm = await jetstreamManager(nc);
    for (const stream of streams.splice(0)) await jsm.streams.delete(stream).catch(() => undefined);
    await nc.close();
  });
  const newStream = async () => {
    const stream = uniqueStreamName('INV');
    streams.push(stream);
    await (await jetstreamManager(nc)).streams.add({ name: stream, subjects: [`${stream.toLowerCase()}.>`] });
    return { stream, subject: `${stream.toLowerCase()}.client.>`, on: (id: string) => `${stream.toLowerCase()}.client.${id}` };
  };
  const publish = (subject: string, e: unknown) => jetstream(nc).publish(subject, JSON.stringify(e));

  it('starts after the stream\'s last message with a cut, and reports the client events published after it', async () => {
    const { stream, subject, on } = await newStream();
    await publish(on('old'), event(1, 'client-updated', 'Client', { id: 'old' }));
    const sources = new RecordedSources();
    const heard = deliveries();
    listener = startInvalidationListener({ kind: 'nats', servers: NATS_URL, subscriptions: [{ stream, subject }] }, sources, heard.record);
    expect(await sources.next({ kind: 'cut' })).toEqual({ source: `nats ${stream} ${subject}`, kind: 'cut', detail: `stream ${stream} seq 1`, reason: 'start' });
    await publish(`${stream.toLowerCase()}.seller.s1`, event(2, 'seller-client-ids-changed', 'Seller', { id: 's1' }));
    await publish(on('c3'), event(3, 'client-updated', 'Client', { id: 'c3' }));
    await heard.until(1);
    expect(heard.seen).toEqual(['Client:c3']);
    await sources.next({ kind: 'following', detail: `stream ${stream} seq 3` });
  });

  it('a consumer lost at the broker is made again from the position: what was published meanwhile is heard, with no cut', async () => {
    const { stream, subject, on } = await newStream();
    const sources = new RecordedSources();
    const heard = deliveries();
    listener = startInvalidationListener({ kind: 'nats', servers: NATS_URL, subscriptions: [{ stream, subject }] }, sources, heard.record);
    await sources.next({ kind: 'cut' });
    await publish(on('c1'), event(1, 'client-updated', 'Client', { id: 'c1' }));
    await heard.until(1);
    const mark = sources.mark;
    const jsm = await jetstreamManager(nc);
    for await (const consumer of jsm.consumers.list(stream)) await jsm.consumers.delete(stream, consumer.name);
    await publish(on('c2'), event(2, 'client-updated', 'Client', { id: 'published-meanwhile' }));
    await sources.next({ kind: 'behind' }, mark);
    await heard.until(2);
    expect(heard.seen).toEqual(['Client:c1', 'Client:published-meanwhile']);
    expect(sources.of('cut')).toHaveLength(1);
  });

  it('a stream made anew under the same name is a gap: the listener cuts at the new stream\'s end and hears what comes after', async () => {
    const { stream, subject, on } = await newStream();
    await publish(on('a'), event(1, 'client-updated', 'Client', { id: 'a' }));
    await publish(on('b'), event(2, 'client-updated', 'Client', { id: 'b' }));
    const sources = new RecordedSources();
    const heard = deliveries();
    listener = startInvalidationListener({ kind: 'nats', servers: NATS_URL, subscriptions: [{ stream, subject }] }, sources, heard.record);
    await sources.next({ kind: 'cut' });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(stream);
    await jsm.streams.add({ name: stream, subjects: [`${stream.toLowerCase()}.>`] });
    for (const id of ['x', 'y', 'z']) await publish(on(id), event(1, 'client-updated', 'Client', { id: `new-${id}` }));
    const gap = await sources.next({ kind: 'cut', reason: 'source_replaced' });
    expect(gap.detail).toMatch(new RegExp(`^stream ${stream} seq [0-3]$`));
    await publish(on('after'), event(4, 'client-updated', 'Client', { id: 'after-the-gap' }));
    await heard.until(1);
    expect(heard.seen.at(-1)).toBe('Client:after-the-gap');
  });

  it('a stream truncated past the position (limits, a purge) is a gap: messages it never heard are gone', async () => {
    const { stream, subject } = await newStream();
    const sources = new RecordedSources();
    listener = startInvalidationListener({ kind: 'nats', servers: NATS_URL, subscriptions: [{ stream, subject }] }, sources, () => undefined);
    await sources.next({ kind: 'cut' });
    const mark = sources.mark;
    // Messages on other subjects pass the position by; the purge takes them, so the stream now starts past it.
    for (let i = 0; i < 3; i++) await publish(`${stream.toLowerCase()}.seller.s${i}`, event(i, 'seller-client-ids-changed', 'Seller', { id: `s${i}` }));
    const jsm = await jetstreamManager(nc);
    await jsm.streams.purge(stream);
    for await (const consumer of jsm.consumers.list(stream)) await jsm.consumers.delete(stream, consumer.name);
    expect(await sources.next({ kind: 'cut', reason: 'truncated' }, mark)).toMatchObject({ detail: `stream ${stream} seq 3` });
  });

  it('one ordered consumer per stream and subject, so every publisher\'s stream is heard', async () => {
    const source = await newStream();
    const copy = await newStream();
    const sellers = `${copy.stream.toLowerCase()}.seller.>`;
    const sources = new RecordedSources();
    const heard = deliveries();
    listener = startInvalidationListener(
      { kind: 'nats', servers: NATS_URL, subscriptions: [{ stream: source.stream, subject: source.subject }, { stream: copy.stream, subject: sellers }] },
      sources,
      heard.record,
    );
    await sources.next({ kind: 'cut', source: `nats ${source.stream} ${source.subject}` });
    await sources.next({ kind: 'cut', source: `nats ${copy.stream} ${sellers}` });
    await publish(source.on('c1'), event(2, 'client-updated', 'Client', { id: 'c1' }));
    await heard.until(1);
    await publish(`${copy.stream.toLowerCase()}.seller.s1`, event(2, 'seller-client-ids-applied', 'Seller', { id: 's1' }));
    await heard.until(2);
    expect(heard.seen).toEqual(['Client:c1', 'Seller:s1']);
  });
});

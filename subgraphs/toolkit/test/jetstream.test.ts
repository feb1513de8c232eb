import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConsumer } from '../consumer.js';
import type { EventLog } from '../eventLog.js';
import { sellerClientIdsChanged, type ChangeEvent } from '../events.js';
import { startTracing, tracingConfig } from '../../../gateway/src/telemetry/tracing.js';
import { startOtlpReceiver } from '../../../gateway/test/support/otlpReceiver.js';
import { migrate } from '../migrations.js';
import { appendToOutbox, notifyOutbox } from '../outbox.js';
import { relayPosition, startOutboxRelay } from '../outboxRelay.js';
import { openDatabase, type Database } from '../storage.js';
import { connectNats, jetStreamPublisher, jetStreamTransport, ensureStream } from '../transports/jetstream.js';
import { NATS_URL, deleteStream, natsAvailable, startPrivateNatsServer, uniqueStreamName } from '../../../test/support/nats.js';

const PREFIX_BASE = 'tctest';
const quiet: EventLog = () => undefined;

async function until<T>(what: string, probe: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last value ${JSON.stringify(value).slice(0, 300)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.runIf(natsAvailable)('NATS JetStream transport (real server)', () => {
  let source: Database;
  let sink: Database;
  const streams: { servers: string; name: string }[] = [];
  const projection = async () =>
    new Map((await sink.query<{ seller_id: string; client_ids: string[]; version: number }>('SELECT * FROM seller_client_ids'))
      .map((r) => [r.seller_id, { clientIds: r.client_ids, version: r.version }]));

  beforeAll(async () => {
    source = await openDatabase({ kind: 'pglite' });
    await migrate(source, fileURLToPath(new URL('../../topclients/migrations', import.meta.url)));
    sink = await openDatabase({ kind: 'pglite' });
    await migrate(sink, fileURLToPath(new URL('../../gigs/migrations', import.meta.url)));
  });
  afterAll(async () => {
    await Promise.all(streams.map((s) => deleteStream(s.servers, s.name)));
    await source?.close();
    await sink?.close();
  });

  it('traced, an event is published in the trace it carries, and the message\'s headers name the publish', async () => {
    const stream = uniqueStreamName();
    const subjectPrefix = `${PREFIX_BASE}.${stream.toLowerCase()}`;
    streams.push({ servers: NATS_URL, name: stream });
    const collector = await startOtlpReceiver();
    const tracing = startTracing(tracingConfig({ endpoint: collector.url, tracesEndpoint: null, protocol: 'http/json', serviceName: 'topclients', sampler: 'parentbased_always_on', samplerArg: '1', resourceAttributes: '' }))!;
    const nc = await connectNats(NATS_URL, 'test', quiet);
    try {
      await ensureStream(nc, { stream, subjectPrefix });
      const edit = { traceId: '1f2e3d4c5b6a79880a1b2c3d4e5f6071', spanId: 'a1b2c3d4e5f60718' };
      const event = { ...sellerClientIdsChanged('s-t', ['c-1'], 1), id: '1', schemaVersion: 1, occurredAt: new Date().toISOString(), traceparent: `00-${edit.traceId}-${edit.spanId}-01` } as ChangeEvent;
      const { seq } = await jetStreamPublisher(nc, { stream, subjectPrefix })(event) as { seq: number };
      const message = await (await jetstreamManager(nc)).streams.getMessage(stream, { seq });
      await tracing.stop();
      const [publish] = collector.spans.filter((s) => s.name === 'publish seller-client-ids-changed');
      expect(publish).toMatchObject({ kind: 4, traceId: edit.traceId, parentSpanId: edit.spanId, attributes: { 'messaging.system': 'nats', 'messaging.destination.name': stream } });
      expect(message?.header?.get('traceparent')).toBe(`00-${edit.traceId}-${publish!.spanId}-01`);
      // The event itself still names the edit's span: consumers continue from there.
      expect(JSON.parse(new TextDecoder().decode(message!.data)).traceparent).toBe(event.traceparent);
    } finally {
      await nc.close();
      await collector.stop();
    }
  });

  it('the relay publishes in order on per-seller subjects, and a row published twice is stored once', async () => {
    const stream = uniqueStreamName();
    const subjectPrefix = `${PREFIX_BASE}.${stream.toLowerCase()}`;
    streams.push({ servers: NATS_URL, name: stream });
    const nc = await connectNats(NATS_URL, 'test', quiet);
    try {
      await ensureStream(nc, { stream, subjectPrefix });
      const first = await source.transaction((tx) => appendToOutbox(tx, sellerClientIdsChanged('s-a', ['c-1'], 1)));
      await source.transaction((tx) => appendToOutbox(tx, sellerClientIdsChanged('s-b.x', ['c-2'], 1)));
      const relay = startOutboxRelay({ db: source, name: `r-${stream}`, publish: jetStreamPublisher(nc, { stream, subjectPrefix }), log: quiet, pollIntervalMs: 50 });
      const jsm = await jetstreamManager(nc);
      await until('both rows published', async () => (await jsm.streams.info(stream)).state.messages, (n) => n >= 2);
      await relay.stop();
      // The relay "forgets" it published (a crash before it stored its position) and publishes both again.
      await source.query('DELETE FROM outbox_relay_positions WHERE relay = $1', [`r-${stream}`]);
      const again = startOutboxRelay({ db: source, name: `r-${stream}`, publish: jetStreamPublisher(nc, { stream, subjectPrefix }), log: quiet, pollIntervalMs: 50 });
      await until('relay position stored again', async () => (await source.query('SELECT 1 FROM outbox_relay_positions WHERE relay = $1', [`r-${stream}`])).length, (n) => n === 1);
      await again.stop();
      const info = await jsm.streams.info(stream, { subjects_filter: '>' });
      expect(info.state.messages).toBe(2);
      expect(Object.keys(info.state.subjects ?? {}).sort()).toEqual([`${subjectPrefix}.seller.s-a`, `${subjectPrefix}.seller.s-b%2Ex`]);
      const stored = await jsm.streams.getMessage(stream, { seq: 1 });
      expect(stored?.header.get('Nats-Msg-Id')).toBe(String(first));
    } finally {
      await nc.close();
    }
  });

  it('a durable consumer gets an event again until it is applied (explicit ack, redelivery)', async () => {
    const stream = uniqueStreamName();
    const subjectPrefix = `${PREFIX_BASE}.${stream.toLowerCase()}`;
    streams.push({ servers: NATS_URL, name: stream });
    const nc: NatsConnection = await connectNats(NATS_URL, 'test', quiet);
    try {
      await ensureStream(nc, { stream, subjectPrefix });
      const publish = jetStreamPublisher(nc, { stream, subjectPrefix });
      // The consumer's database refuses this seller's list for now: the event cannot be applied, so it is not acked.
      await sink.query("ALTER TABLE seller_client_ids ADD CONSTRAINT not_yet CHECK (seller_id <> 's-redeliver')");
      // The transport, not the consumer, reports a delivery whose apply failed (and naks it): that report is the
      // evidence the event was tried and refused, rather than not yet delivered.
      let refused: (fields: Record<string, unknown>) => void = () => undefined;
      const attempted = new Promise<Record<string, unknown>>((resolve) => { refused = resolve; });
      const log: EventLog = (_level, msg, fields = {}) => {
        if (msg === 'event not applied; asked for redelivery') refused(fields);
      };
      const transport = jetStreamTransport({ nc, stream, subjectPrefix, durable: 'gigs', filterSubject: `${subjectPrefix}.seller.>`, ackWaitMs: 1_000, log });
      const consumer = startConsumer({ db: sink, source: `nats:${stream}`, transport, log: quiet });
      await publish({ ...sellerClientIdsChanged('s-redeliver', ['c-7', 'c-8'], 4), id: '1', schemaVersion: 1, occurredAt: new Date().toISOString() } as never);
      expect(String((await attempted).error)).toContain('not_yet');
      expect((await projection()).get('s-redeliver')).toBeUndefined();
      expect((await consumer.status()).lag).toBe(1);
      await sink.query('ALTER TABLE seller_client_ids DROP CONSTRAINT not_yet');
      await until('the redelivered event applied', projection, (p) => p.get('s-redeliver')?.version === 4);
      expect((await projection()).get('s-redeliver')).toEqual({ clientIds: ['c-7', 'c-8'], version: 4 });
      await until('nothing pending', async () => (await consumer.status()).lag, (lag) => lag === 0);
      await consumer.stop();
    } finally {
      await nc.close();
    }
  });

  it('events keep flowing, none lost and none doubled, when the broker is killed and restarted mid-stream', async () => {
    const server = await startPrivateNatsServer();
    const stream = uniqueStreamName();
    const subjectPrefix = `${PREFIX_BASE}.${stream.toLowerCase()}`;
    const relayNc = await connectNats(server.url, 'relay', quiet);
    const consumerNc = await connectNats(server.url, 'consumer', quiet);
    try {
      await ensureStream(relayNc, { stream, subjectPrefix });
      const relay = startOutboxRelay({ db: source, name: `r-${stream}`, publish: jetStreamPublisher(relayNc, { stream, subjectPrefix }), log: quiet, pollIntervalMs: 50 });
      const transport = jetStreamTransport({ nc: consumerNc, stream, subjectPrefix, durable: 'users', filterSubject: `${subjectPrefix}.seller.>`, ackWaitMs: 2_000, log: quiet });
      const consumer = startConsumer({ db: sink, source: `nats:${stream}`, transport, log: quiet });
      const sellers = Array.from({ length: 10 }, (_, i) => `flow-${stream}-${i}`);
      const expected = new Map<string, { clientIds: string[]; version: number }>();
      const headBefore = (await source.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox'))[0]!.n;
      const writes = 120;
      for (let i = 1; i <= writes; i += 1) {
        const sellerId = sellers[i % sellers.length]!;
        const version = (expected.get(sellerId)?.version ?? 0) + 1;
        const clientIds = [`c-${i}`, `c-${i + 1}`];
        await source.transaction((tx) => appendToOutbox(tx, sellerClientIdsChanged(sellerId, clientIds, version)));
        notifyOutbox(source);
        expected.set(sellerId, { clientIds, version });
        if (i === 40) await server.kill();
        if (i === 80) await server.restart();
        await new Promise((r) => setTimeout(r, 10));
      }
      const final = await until('every seller at its last version', projection, (p) =>
        sellers.every((s) => p.get(s)?.version === expected.get(s)!.version), 40_000);
      for (const seller of sellers) expect(final.get(seller)).toEqual(expected.get(seller));
      const jsm = await jetstreamManager(relayNc);
      // The relay starts from the outbox's beginning (its name is new), so the stream gets every row, older ones too.
      const rows = (await source.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox'))[0]!.n;
      expect(rows - headBefore).toBe(writes);
      // The relay publishes one row at a time in id order over one connection, so a marker row appended now is
      // stored after everything sent before it, retries included: once the marker is in, no earlier row can follow.
      const marker = await source.transaction((tx) => appendToOutbox(tx, sellerClientIdsChanged(`marker-${stream}`, ['c-0'], 1)));
      notifyOutbox(source);
      await until('the relay to publish the marker', () => relayPosition(source, `r-${stream}`), (position) => position >= marker);
      // Every outbox row is in the stream exactly once: publishes retried across the restart were de-duplicated.
      const info = await jsm.streams.info(stream);
      expect(info.state.messages).toBe(rows + 1);
      expect((await jsm.streams.getMessage(stream, { seq: info.state.last_seq }))?.header.get('Nats-Msg-Id')).toBe(String(marker));
      await consumer.stop();
      await relay.stop();
    } finally {
      await relayNc.close().catch(() => undefined);
      await consumerNc.close().catch(() => undefined);
      await server.stop();
    }
  }, 90_000);
});

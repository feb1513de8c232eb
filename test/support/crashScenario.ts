/**
 * Crashes mid-stream, for real: topclients (which serves the feed, or runs the JetStream relay) and gigs (the
 * consumer) run as child processes on PostgreSQL and are killed with SIGKILL while mutations flow, then started
 * again. Afterwards every seller's IDs at gigs equal the source's, list and version: nothing lost, nothing doubled.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDemoData, sizeForScale } from '../../subgraphs/toolkit/demoData.js';
import { fetchFeedHead, fetchFeedPage } from '../../subgraphs/toolkit/transports/changeFeed.js';
import { signedBy, TEST_SUBGRAPH_SECRET } from './gatewayTrust.js';
import { graphqlRequest } from './graphqlRequest.js';
import { NATS_URL, deleteStream, natsAvailable, uniqueStreamName } from './nats.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from './postgres.js';
import { freePort, serviceProcess, type ServiceProcess } from './serviceProcess.js';

const SCALE = 0.01;
/** One file per transport (test/e2e/propagationCrash.*.test.ts), so each stays short and they run side by side. */
export function describeCrashScenario(transport: 'feed' | 'nats'): void {
  const runnable = postgresAvailable && (transport === 'feed' || natsAvailable);
  describe.runIf(runnable)(`propagation survives killed processes (${transport} transport)`, () => {
    scenario(transport);
  });
}

function scenario(transport: 'feed' | 'nats'): void {
  const demo = generateDemoData(sizeForScale(SCALE));
  const stream = uniqueStreamName('CRASH');
  const subjectPrefix = `crash.${stream.toLowerCase()}`;
  const databases: TestDatabase[] = [];
  let topclients: ServiceProcess;
  let gigs: ServiceProcess;
  let source: pg.Pool;
  let sink: pg.Pool;

  beforeAll(async () => {
    const [tcDb, gigsDb] = [await createTestDatabase('t_crash_tc'), await createTestDatabase('t_crash_gigs')];
    databases.push(tcDb, gigsDb);
    const tcPort = await freePort();
    const common = {
      SEED_SCALE: String(SCALE),
      EVENT_TRANSPORT: transport,
      NATS_URL,
      NATS_STREAM: stream,
      NATS_SUBJECT_PREFIX: subjectPrefix,
      // gigs relays what it applies to a stream of its own, unique per run like topclients'.
      GIGS_NATS_STREAM: `${stream}_GIGS`,
      GIGS_NATS_SUBJECT_PREFIX: `crashgigs.${stream.toLowerCase()}`,
      TOPCLIENTS_FEED_URL: `http://127.0.0.1:${tcPort}/events`,
      GATEWAY_SUBGRAPH_SECRET: TEST_SUBGRAPH_SECRET,
    };
    topclients = serviceProcess('topclients', tcPort, { ...common, TOPCLIENTS_DATABASE_URL: tcDb.url });
    gigs = serviceProcess('gigs', await freePort(), { ...common, GIGS_DATABASE_URL: gigsDb.url });
    await Promise.all([topclients.start(), gigs.start()]);
    source = new pg.Pool({ connectionString: tcDb.url, max: 2 });
    sink = new pg.Pool({ connectionString: gigsDb.url, max: 2 });
  }, 120_000);

  afterAll(async () => {
    await topclients?.kill();
    await gigs?.kill();
    await source?.end();
    await sink?.end();
    await Promise.all(databases.map((d) => d.drop()));
    if (transport === 'nats') for (const name of [stream, `${stream}_GIGS`]) await deleteStream(NATS_URL, name);
  });

  it('kill the consumer, then the source and its relay, mid-stream: every seller ends equal to the source', async () => {
    const sellers = demo.sellers.filter((s) => s.topClientIds.length > 0 && s.topClientIds.length < 8).slice(0, 15);
    const clients = demo.clients.map((c) => c.id);
    const tcGraphql = async (query: string, variables: Record<string, unknown>, sellerId: string) =>
      graphqlRequest(`${topclients.baseUrl}/graphql`, query, variables, await signedBy(sellerId));
    // Every step changes a list: add a client the seller lacks while the list is short, else drop its first one.
    const mutate = async (i: number) => {
      const seller = sellers[i % sellers.length]!;
      const mine = (await tcGraphql('{ myTopClients { id } }', {}, seller.id)).body.data.myTopClients.map((c: { id: string }) => c.id) as string[];
      const answer = mine.length < 6
        ? await tcGraphql('mutation($c: ID!) { addTopClient(clientId: $c) { id } }', { c: clients.find((c) => !mine.includes(c) && c.charCodeAt(c.length - 1) % 3 === i % 3) ?? clients.find((c) => !mine.includes(c)) }, seller.id)
        : await tcGraphql('mutation($c: ID!) { removeTopClient(clientId: $c) { id } }', { c: mine[0] }, seller.id);
      if (answer.body.errors) throw new Error(JSON.stringify(answer.body.errors));
    };
    let i = 0;
    for (; i < 25; i += 1) await mutate(i);
    await gigs.kill(); // the consumer dies mid-stream
    for (; i < 50; i += 1) await mutate(i);
    await gigs.start();
    for (; i < 60; i += 1) await mutate(i);
    await topclients.kill(); // the source dies: its open feed connections are cut, its relay stops mid-publish
    await topclients.start();
    for (; i < 80; i += 1) await mutate(i);

    const sourceLists = async () => (await source.query<{ seller_id: string; version: number; ids: string[] }>(
      `SELECT l.seller_id, l.version, COALESCE(array_agg(t.client_id ORDER BY t.position) FILTER (WHERE t.client_id IS NOT NULL), '{}') AS ids
       FROM seller_lists l LEFT JOIN top_clients t USING (seller_id) WHERE l.version > 0 GROUP BY l.seller_id, l.version ORDER BY l.seller_id`)).rows;
    const sinkLists = async () => (await sink.query<{ seller_id: string; version: number; ids: string[] }>(
      'SELECT seller_id, version, client_ids AS ids FROM seller_client_ids ORDER BY seller_id')).rows;
    const expected = await sourceLists();
    const deadline = Date.now() + 45_000;
    // gigs publishes every list it applies on its own change feed: each wait ends when it has applied another.
    const appliedFeed = `${gigs.baseUrl}/events`;
    let applied = await fetchFeedHead(appliedFeed);
    let actual = await sinkLists();
    while (JSON.stringify(actual) !== JSON.stringify(expected) && Date.now() < deadline) {
      applied = (await fetchFeedPage(appliedFeed, applied, 1_000, Math.max(1, Math.min(5_000, deadline - Date.now())))).head;
      actual = await sinkLists();
    }
    expect(actual, `gigs output:\n${gigs.output().slice(-1500)}`).toEqual(expected);
    // Most of the mutations changed a list (the rest were no-ops): the comparison covers real traffic.
    expect(expected.reduce((sum, l) => sum + l.version - 1, 0)).toBeGreaterThanOrEqual(80);
    for (const list of actual) expect(new Set(list.ids).size).toBe(list.ids.length);

    const outboxRows = Number((await source.query('SELECT count(*) AS n FROM outbox')).rows[0].n);
    expect(outboxRows).toBeGreaterThanOrEqual(80);
    if (transport === 'nats') {
      // Every outbox row is in the stream exactly once, whatever the relay re-published after its restart.
      const nc = await connect({ servers: NATS_URL });
      try {
        expect((await (await jetstreamManager(nc)).streams.info(stream)).state.messages).toBe(outboxRows);
      } finally {
        await nc.close();
      }
    } else {
      const position = Number((await sink.query("SELECT position FROM event_positions WHERE source = 'topclients:feed'")).rows[0].position);
      expect(position).toBe(Number((await source.query('SELECT max(id) AS id FROM outbox')).rows[0].id));
    }
  }, 120_000);
}

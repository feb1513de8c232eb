/**
 * `npm run soak` (or `npx tsx scripts/soak.ts`): minutes of pages and edits through a real gateway while the services
 * behind it are killed with SIGKILL and started again, then a check that nothing was lost. Not part of `npm test`.
 *
 * The three subgraphs run as child processes on PostgreSQL (a fresh database each, dropped afterwards); the gateway
 * runs in this process with the signed-identity setup of `npm start`. Readers load gig pages, editors change their
 * lists (signed in with the development header), and every SOAK_CHAOS_SECONDS one process is killed and restarted
 * after a pause, in turn: topclients (the source and the relay of its change feed or JetStream stream), gigs (a
 * consumer) and users (a consumer and page subgraph). Afterwards every seller's IDs at gigs and users must equal
 * the source's; it prints the share of pages served (and served complete), and exits 1 on drift.
 *
 * Settings: SOAK_SECONDS (180), SOAK_CHAOS_SECONDS (15), SOAK_READERS (8), SOAK_EDITORS (2), SOAK_SCALE (0.01),
 * SOAK_TRANSPORT (feed | nats), TEST_POSTGRES_URL, NATS_URL.
 */
process.env.APOLLO_TELEMETRY_DISABLED = 'true';

const { randomBytes } = await import('node:crypto');
const pg = (await import('pg')).default;
const { loadConfig } = await import('../gateway/src/config.js');
const { jsonLogger } = await import('../gateway/src/logger.js');
const { startGateway } = await import('../gateway/src/server.js');
const { operation } = await import('../schema/operations.js');
const { generateDemoData, sizeForScale } = await import('../subgraphs/toolkit/demoData.js');
const { deleteStream, NATS_URL, uniqueStreamName } = await import('../test/support/nats.js');
const { createTestDatabase, postgresAvailable } = await import('../test/support/postgres.js');
const { freePort, serviceProcess } = await import('../test/support/serviceProcess.js');
const { gatewayEnvFor, postGraphQL } = await import('../test/support/system.js');

const setting = (key: string, fallback: number) => {
  const value = Number(process.env[key] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${key} must be a positive number, got "${process.env[key]}"`);
  return value;
};
const SECONDS = setting('SOAK_SECONDS', 180);
const CHAOS_SECONDS = setting('SOAK_CHAOS_SECONDS', 15);
const READERS = setting('SOAK_READERS', 8);
const EDITORS = setting('SOAK_EDITORS', 2);
const SCALE = setting('SOAK_SCALE', 0.01);
const TRANSPORT = process.env.SOAK_TRANSPORT ?? 'feed';
if (TRANSPORT !== 'feed' && TRANSPORT !== 'nats') throw new Error(`SOAK_TRANSPORT must be feed or nats, got "${TRANSPORT}"`);
if (!postgresAvailable) {
  console.error('the soak needs PostgreSQL (TEST_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/postgres)');
  process.exit(2);
}

const demo = generateDemoData(sizeForScale(SCALE));
const secret = randomBytes(32).toString('base64url');
const stream = uniqueStreamName('SOAK');
const names = ['topclients', 'gigs', 'users'] as const;
const databases = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await createTestDatabase(`soak_${n}`)] as const)));
const ports = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await freePort()] as const)));
const common = {
  SEED_SCALE: String(SCALE),
  EVENT_TRANSPORT: TRANSPORT,
  NATS_URL,
  NATS_STREAM: stream,
  NATS_SUBJECT_PREFIX: `soak.${stream.toLowerCase()}`,
  // gigs and users relay what they apply to streams of their own, unique per run like topclients'.
  GIGS_NATS_STREAM: `${stream}_GIGS`,
  GIGS_NATS_SUBJECT_PREFIX: `soakgigs.${stream.toLowerCase()}`,
  USERS_NATS_STREAM: `${stream}_USERS`,
  USERS_NATS_SUBJECT_PREFIX: `soakusers.${stream.toLowerCase()}`,
  TOPCLIENTS_FEED_URL: `http://127.0.0.1:${ports.topclients}/events`,
  GATEWAY_SUBGRAPH_SECRET: secret,
};
const processes = Object.fromEntries(names.map((n) => [n, serviceProcess(n, ports[n]!, {
  ...common, [`${n.toUpperCase()}_DATABASE_URL`]: databases[n]!.url,
})] as const));
await processes.topclients!.start();
await Promise.all([processes.gigs!.start(), processes.users!.start()]);
const gateway = await startGateway(loadConfig(gatewayEnvFor(
  Object.fromEntries(names.map((n) => [n, { url: `${processes[n]!.baseUrl}/graphql` }])),
  // The gateway evicts from every publisher's feed: topclients' client events, gigs' and users' applied lists.
  { GATEWAY_SUBGRAPH_SECRET: secret, INVALIDATION_FEED_URL: names.map((n) => `http://127.0.0.1:${ports[n]}/events`).join(',') },
)), { logger: jsonLogger('silent') });

const pages = { total: 0, served: 0, complete: 0 };
const edits = { total: 0, ok: 0 };
const kills: string[] = [];
const endAt = Date.now() + SECONDS * 1000;
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;
const gigPage = operation('GigPage').body;
const editors = demo.sellers.filter((s) => s.topClientIds.length > 0 && s.topClientIds.length < 8);

async function reader(): Promise<void> {
  while (Date.now() < endAt) {
    pages.total += 1;
    try {
      const answer = await postGraphQL(gateway.url, gigPage, { id: pick(demo.gigs).id });
      if (answer.status === 200 && answer.body.data?.gig) pages.served += 1;
      if (answer.status === 200 && answer.body.data?.gig && !answer.body.errors) pages.complete += 1;
    } catch {
      // counted as not served
    }
  }
}

async function editor(index: number): Promise<void> {
  const own = editors.filter((_, i) => i % EDITORS === index);
  while (Date.now() < endAt) {
    const seller = pick(own);
    const as = { 'x-seller-id': seller.id };
    edits.total += 1;
    try {
      const mine = await postGraphQL(gateway.url, operation('MyTopClients').body, {}, as);
      const ids = (mine.body.data?.myTopClients ?? null) as { id: string }[] | null;
      if (!ids) continue;
      const current = ids.map((c) => c.id);
      const change = current.length < 6
        ? await postGraphQL(gateway.url, operation('AddTopClient').body, { clientId: pick(demo.clients.filter((c) => !current.includes(c.id))).id }, as)
        : await postGraphQL(gateway.url, operation('RemoveTopClient').body, { clientId: current[0] }, as);
      if (!change.body.errors) edits.ok += 1;
    } catch {
      // the gateway answered nothing usable: counted as failed
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function chaos(): Promise<void> {
  let turn = 0;
  while (Date.now() + CHAOS_SECONDS * 1000 < endAt) {
    await new Promise((r) => setTimeout(r, CHAOS_SECONDS * 1000));
    const name = names[turn % names.length]!;
    turn += 1;
    await processes[name]!.kill();
    kills.push(name);
    await new Promise((r) => setTimeout(r, 1_000 + Math.random() * 2_000));
    await processes[name]!.start();
  }
}

console.log(`soak: ${SECONDS}s, ${READERS} readers, ${EDITORS} editors, a kill every ${CHAOS_SECONDS}s, ${TRANSPORT} transport`);
await Promise.all([...Array.from({ length: READERS }, reader), ...Array.from({ length: EDITORS }, (_, i) => editor(i)), chaos()]);

type Lists = { seller_id: string; ids: string[] }[];
const lists = async (url: string, sql: string): Promise<Lists> => {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as Lists;
  } finally {
    await client.end();
  }
};
const SOURCE = `SELECT l.seller_id, COALESCE(array_agg(t.client_id ORDER BY t.position) FILTER (WHERE t.client_id IS NOT NULL), '{}') AS ids
  FROM seller_lists l LEFT JOIN top_clients t USING (seller_id) WHERE l.version > 0 GROUP BY l.seller_id ORDER BY l.seller_id`;
const COPY = 'SELECT seller_id, client_ids AS ids FROM seller_client_ids ORDER BY seller_id';
const expected = JSON.stringify(await lists(databases.topclients!.url, SOURCE));
const drift: string[] = [];
for (const name of ['gigs', 'users'] as const) {
  const deadline = Date.now() + 60_000;
  let actual = JSON.stringify(await lists(databases[name]!.url, COPY));
  while (actual !== expected && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    actual = JSON.stringify(await lists(databases[name]!.url, COPY));
  }
  if (actual !== expected) drift.push(name);
}

const share = (n: number) => `${((100 * n) / Math.max(1, pages.total)).toFixed(1)}%`;
console.log([
  `pages: ${pages.total}, served ${share(pages.served)}, complete ${share(pages.complete)}`,
  `edits: ${edits.total} tried, ${edits.ok} applied`,
  `kills: ${kills.length} (${kills.join(', ')})`,
  drift.length === 0 ? 'every seller\'s IDs at gigs and users equal the source' : `DRIFT: ${drift.join(', ')} differ from the source`,
].join('\n'));

await gateway.stop();
for (const name of names) await processes[name]!.kill();
for (const database of Object.values(databases)) await database.drop();
if (TRANSPORT === 'nats') for (const name of [stream, `${stream}_GIGS`, `${stream}_USERS`]) await deleteStream(NATS_URL, name).catch(() => undefined);
process.exit(drift.length === 0 ? 0 : 1);

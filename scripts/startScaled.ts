/**
 * `npm run start:scaled`: the scaled-out layout of docker-compose.yml on this machine's own servers, as processes:
 * each subgraph on its own PostgreSQL database (created when missing, seeded on first start), change events over
 * NATS JetStream, GATEWAY_REPLICAS (2) gateway processes sharing Redis (REDIS_URL) and each evicting from JetStream,
 * behind a round-robin proxy on PORT (4000; scripts/roundRobinProxy.ts), and the pages on WEB_PORT (4080).
 * Servers: SCALED_POSTGRES_URL (postgres://postgres@127.0.0.1:5432/postgres), NATS_URL (nats://127.0.0.1:4222),
 * REDIS_URL (redis://127.0.0.1:6379); databases SCALED_DATABASE_PREFIX<name> (hybrid_gigs, ...); the stream NATS_STREAM
 * (TOPCLIENTS). Ctrl-C stops everything; a process that dies is restarted, as in `npm start`.
 */
import { connect } from 'node:net';
import pg from 'pg';
import { GATEWAY_NODE_FLAGS } from '../gateway/src/nodeFlags.js';
import { CLIENT_EVENTS_STREAM, EVENT_PUBLISHERS, REFERENCE_GATEWAY_ENV, invalidationNatsEnv } from '../schema/referenceGateway.js';
import { SUBGRAPHS } from '../schema/subgraphs.js';
import { referenceTrust } from './referenceTrust.js';
import { startRoundRobinProxy } from './roundRobinProxy.js';
import { ServiceGroup } from './serviceGroup.js';

const postgresUrl = process.env.SCALED_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const natsUrl = process.env.NATS_URL || 'nats://127.0.0.1:4222';
const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const replicas = Number(process.env.GATEWAY_REPLICAS || 2);
const port = Number(process.env.PORT || 4000);
const webPort = Number(process.env.WEB_PORT || 4080);
const portOf = (name: string, fallback: number) => Number(process.env[`${name.toUpperCase()}_PORT`] || fallback);
/** Gateway i listens on GATEWAY_BASE_PORT + i (default PORT + 10 + i). */
const gatewayBasePort = Number(process.env.GATEWAY_BASE_PORT || port + 10);
/** Databases are `<prefix><subgraph>`: hybrid_gigs, hybrid_users, hybrid_topclients. */
const databasePrefix = process.env.SCALED_DATABASE_PREFIX || 'hybrid_';

/** A TCP connection to host:port opens (NATS), or the server answers `expect` to `send` (Redis PING). */
function probeTcp(url: string, send?: string, expect?: string): Promise<void> {
  const { hostname, port: p } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(p) }, () => {
      if (!send) {
        socket.end();
        resolve();
      } else socket.write(send);
    });
    socket.setTimeout(3_000, () => socket.destroy(new Error('no answer within 3 s')));
    socket.on('data', (data) => {
      socket.end();
      if (expect && data.toString().startsWith(expect)) resolve();
      else reject(new Error(`unexpected answer ${JSON.stringify(data.toString().slice(0, 40))}`));
    });
    socket.on('error', reject);
  });
}

async function ensureDatabases(): Promise<Record<string, string>> {
  const admin = new pg.Client({ connectionString: postgresUrl, connectionTimeoutMillis: 3_000 });
  await admin.connect();
  const urls: Record<string, string> = {};
  try {
    for (const { name } of SUBGRAPHS) {
      const database = `${databasePrefix}${name}`;
      if (!/^[a-z_][a-z0-9_]*$/.test(database)) throw new Error(`SCALED_DATABASE_PREFIX must make a plain database name, got "${database}"`);
      const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
      if (found.rowCount === 0) {
        await admin.query(`CREATE DATABASE ${database}`);
        console.log(`created database ${database}`);
      }
      const url = new URL(postgresUrl);
      url.pathname = `/${database}`;
      urls[name] = url.toString();
    }
  } finally {
    await admin.end();
  }
  return urls;
}

async function checkServers(): Promise<void> {
  const problems: string[] = [];
  const check = async (what: string, probe: Promise<unknown>, hint: string) => {
    try {
      await probe;
    } catch (error) {
      problems.push(`${what}: ${(error as Error).message} (${hint})`);
    }
  };
  await Promise.all([
    check(`PostgreSQL at ${postgresUrl}`, new pg.Client({ connectionString: postgresUrl, connectionTimeoutMillis: 3_000 }).connect().then((c) => c.end()), 'SCALED_POSTGRES_URL'),
    check(`NATS at ${natsUrl}`, probeTcp(natsUrl.split(',')[0]!.replace(/^nats:/, 'http:')), 'NATS_URL; run it with JetStream: nats-server -js'),
    check(`Redis at ${redisUrl}`, probeTcp(redisUrl.replace(/^redis:/, 'http:'), 'PING\r\n', '+PONG'), 'REDIS_URL'),
  ]);
  if (problems.length > 0) throw new Error(`start:scaled needs these servers:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
}

const group = new ServiceGroup(['GATEWAY_REPLICAS', 'GATEWAY_BASE_PORT']);
try {
  if (!Number.isInteger(replicas) || replicas < 1) throw new Error(`GATEWAY_REPLICAS must be a whole number from 1, got "${process.env.GATEWAY_REPLICAS}"`);
  await checkServers();
  const databases = await ensureDatabases();
  console.log('starting the services (a first start seeds the demo data into PostgreSQL and shows its progress)...');
  const trust = await referenceTrust(process.env);
  const topclientsPort = portOf('topclients', SUBGRAPHS.find((s) => s.name === 'topclients')!.defaultPort);
  const waits: Promise<void>[] = [];
  for (const subgraph of SUBGRAPHS) {
    const health = `http://127.0.0.1:${portOf(subgraph.name, subgraph.defaultPort)}/health`;
    group.run(subgraph.name, 'subgraphs/main.js', [subgraph.name], {
      [`${subgraph.name.toUpperCase()}_DATABASE_URL`]: databases[subgraph.name]!,
      EVENT_TRANSPORT: 'nats',
      NATS_URL: natsUrl,
      // Rebuilds read topclients' snapshot here, on either transport.
      TOPCLIENTS_FEED_URL: `http://127.0.0.1:${topclientsPort}/events`,
      // Each process is its own service in a trace (OTEL_SERVICE_NAME, when set, names the gateways).
      OTEL_SERVICE_NAME: subgraph.name,
      ...trust.subgraphEnv,
    }, health);
    waits.push(group.waitForHealth(subgraph.name, health, 300_000));
  }
  const subgraphUrls = Object.fromEntries(SUBGRAPHS.map((s) => [
    `SUBGRAPH_${s.name.toUpperCase()}_URL`, `http://127.0.0.1:${portOf(s.name, s.defaultPort)}/graphql`,
  ]));
  const reference = Object.fromEntries(Object.entries(REFERENCE_GATEWAY_ENV).filter(([key]) => !process.env[key]));
  const gatewayOrigins: string[] = [];
  for (let i = 0; i < replicas; i++) {
    const origin = `http://127.0.0.1:${gatewayBasePort + i}`;
    gatewayOrigins.push(origin);
    group.run(`gateway-${i + 1}`, 'gateway/src/main.js', [], {
      ...reference,
      ...subgraphUrls,
      PORT: String(gatewayBasePort + i),
      // Shared by every replica: the second cache level (entries, validators, tags, APQ).
      REDIS_URL: redisUrl,
      // The replicas are the scale-out here: one process each unless asked (GATEWAY_WORKERS defaults to the cores).
      GATEWAY_WORKERS: process.env.GATEWAY_WORKERS || '1',
      // Each replica evicts from JetStream on its own: edited clients (topclients' stream) and the seller lists gigs
      // and users applied (their streams, GIGS and USERS).
      ...invalidationNatsEnv(natsUrl, {
        ...EVENT_PUBLISHERS,
        topclients: { stream: process.env.NATS_STREAM || CLIENT_EVENTS_STREAM, subjectPrefix: process.env.NATS_SUBJECT_PREFIX || 'topclients' },
      }),
      ...trust.gatewayEnv,
    }, `${origin}/ready`, GATEWAY_NODE_FLAGS);
    // Ready means following every stream too, so it waits for the subgraphs (seeding on a first start) as long.
    waits.push(group.waitForHealth(`gateway-${i + 1}`, `${origin}/ready`, 300_000));
  }
  const proxy = await startRoundRobinProxy({ targets: gatewayOrigins, port });
  group.run('web', 'web/main.js', [], { WEB_PORT: String(webPort), GATEWAY_URL: `${proxy.url}/graphql`, ...trust.webEnv }, `http://127.0.0.1:${webPort}/`);
  waits.push(group.waitForHealth('web', `http://127.0.0.1:${webPort}/`, 180_000));
  await Promise.all(waits);
  console.log([
    '',
    'The scaled-out system is up:',
    `  pages       http://localhost:${webPort}/`,
    `  gateway     http://localhost:${port}/graphql   (round-robin over ${gatewayOrigins.join(', ')}; x-served-by names the one that answered)`,
    ...SUBGRAPHS.map((s) => `  ${s.name.padEnd(11)} http://localhost:${portOf(s.name, s.defaultPort)}/graphql   (PostgreSQL ${new URL(databases[s.name]!).pathname.slice(1)})`),
    `  events      NATS JetStream at ${natsUrl}; cache level 2: Redis at ${redisUrl}`,
    `  ${trust.mode} mode; ${trust.notes.join('; ')}`,
    '',
    `A process that dies is restarted. Processes: ${group.services.map((s) => `${s.name} ${s.pid}`).join(', ')}.`,
    'Press Ctrl-C to stop.',
    '',
  ].join('\n'));
  group.keepAlive();
} catch (error) {
  console.error(String((error as Error).message ?? error));
  await group.stopAll(1);
}

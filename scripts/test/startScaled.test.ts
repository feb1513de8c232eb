/**
 * `npm run start:scaled` on the real servers (PostgreSQL :5432, NATS :4222, Redis :6379): three subgraphs on their
 * own databases with events over JetStream, two gateway processes behind the round-robin proxy, the pages. Each
 * server missing fails under CI=true and skips with a loud warning elsewhere (test/support/requiredServer.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { operation } from '../../schema/operations.js';
import { SUBGRAPHS } from '../../schema/subgraphs.js';
import { generateDemoData, sizeForScale } from '../../subgraphs/toolkit/demoData.js';
import { deleteStream, NATS_URL, natsAvailable, uniqueStreamName } from '../../test/support/nats.js';
import { POSTGRES_ADMIN_URL, postgresAvailable } from '../../test/support/postgres.js';
import { REDIS_URL, redisAvailable } from '../../test/support/redis.js';
import { buildRelease } from '../buildRelease.js';
import { freePort, freePortRun } from '../../test/support/serviceProcess.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe.skipIf(!postgresAvailable || !natsAvailable || !redisAvailable)('npm run start:scaled', () => {
  const prefix = `t_scaled_${randomBytes(3).toString('hex')}_`;
  const stream = uniqueStreamName('SCALED');
  let child: ChildProcess | undefined;
  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGINT');
      await gone;
    }
    await deleteStream(NATS_URL, stream);
    const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await admin.connect();
    for (const { name } of SUBGRAPHS) await admin.query(`DROP DATABASE IF EXISTS ${prefix}${name} WITH (FORCE)`);
    await admin.end();
  });

  it('serves the gig page through two gateway processes in turn, on PostgreSQL and JetStream, and stops on Ctrl-C', { timeout: 300_000 }, async () => {
    const port = await freePort();
    // The gateways listen on GATEWAY_BASE_PORT and the port after it: both must be free.
    const base = await freePortRun(2);
    const env = {
      APOLLO_TELEMETRY_DISABLED: 'true',
      SEED_SCALE: '0.01',
      SCALED_POSTGRES_URL: POSTGRES_ADMIN_URL,
      SCALED_DATABASE_PREFIX: prefix,
      NATS_URL,
      NATS_STREAM: stream,
      NATS_SUBJECT_PREFIX: stream.toLowerCase(),
      REDIS_URL,
      PORT: String(port),
      GATEWAY_BASE_PORT: String(base),
      GIGS_PORT: String(await freePort()),
      USERS_PORT: String(await freePort()),
      TOPCLIENTS_PORT: String(await freePort()),
      WEB_PORT: String(await freePort()),
    };
    let output = '';
    // As `npm run start:scaled` runs it: the built release under plain node.
    await buildRelease();
    child = spawn(process.execPath, ['scripts/startScaled.js'], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`start:scaled did not come up:\n${output}`)), 240_000);
      child!.stdout!.on('data', () => { if (output.includes('The scaled-out system is up')) { clearTimeout(timer); resolve(); } });
      void exited.then((code) => { clearTimeout(timer); reject(new Error(`start:scaled exited with ${code}:\n${output}`)); });
    });
    for (const { name } of SUBGRAPHS) expect(output).toMatch(new RegExp(`^${name}: seeded `, 'm'));
    expect(output).not.toContain('started without the Node.js flags');
    // GATEWAY_REPLICAS and GATEWAY_BASE_PORT are the start script's: the gateways are not given them to warn about.
    expect(output).not.toContain('unknown setting ignored');

    const demo = generateDemoData(sizeForScale(0.01));
    const seller = demo.sellers.find((s) => s.topClientIds.length > 0)!;
    const gig = demo.gigs.find((g) => g.sellerId === seller.id)!;
    const servedBy: string[] = [];
    for (let i = 0; i < 2; i++) {
      const response = await fetch(`http://127.0.0.1:${port}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: operation('GigPage').body, variables: { id: gig.id } }),
      }).catch((error: Error) => {
        throw new Error(`page ${i + 1} through the proxy failed (${error.message}: ${String((error.cause as Error | undefined)?.message ?? '')}); start:scaled said:\n${output}`);
      });
      const body = (await response.json()) as { data: { gig: { seller: { topClients: { id: string }[] } } }; errors?: unknown };
      expect(body.errors).toBeUndefined();
      expect(body.data.gig.seller.topClients.map((c) => c.id)).toEqual(seller.topClientIds);
      servedBy.push(response.headers.get('x-served-by')!);
    }
    expect(servedBy.sort()).toEqual([`127.0.0.1:${base}`, `127.0.0.1:${base + 1}`]);
    // "Up" means each replica follows every stream it evicts from (issue 23), each on its own.
    for (const gatewayPort of [base, base + 1]) {
      const ready = (await (await fetch(`http://127.0.0.1:${gatewayPort}/ready`)).json()) as { status: string; changes: Record<string, { state: string }> };
      expect(ready.status).toBe('ready');
      expect(Object.entries(ready.changes).filter(([name]) => name.startsWith('nats ')).map(([, c]) => c.state)).toEqual(['following', 'following', 'following']);
    }
    // The subgraphs' data is in PostgreSQL, in one database each.
    const gigs = new pg.Client({ connectionString: POSTGRES_ADMIN_URL.replace(/\/[^/]*$/, `/${prefix}gigs`) });
    await gigs.connect();
    expect((await gigs.query('SELECT count(*)::int AS n FROM gigs')).rows).toEqual([{ n: demo.gigs.length }]);
    await gigs.end();

    child.kill('SIGINT');
    expect(await exited).toBe(0);
  });
});

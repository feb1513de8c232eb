/**
 * `npm start` as a user runs it: real processes, the embedded default, seeded data in a data folder; Ctrl-C
 * (SIGINT) stops everything with exit code 0, and a second start keeps the data.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { operation } from '../../schema/operations.js';
import { generateDemoData, sizeForScale } from '../../subgraphs/toolkit/demoData.js';
import { postGraphQL } from '../../test/support/system.js';
import { freePort } from '../../test/support/serviceProcess.js';
import { pollUntil } from '../../test/support/propagatingSystem.js';
import { buildRelease } from '../buildRelease.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

interface Started {
  child: ChildProcess;
  output: () => string;
}

/** As `npm start` runs it: the built release, under plain node (no TypeScript loader in any process). */
async function start(env: Record<string, string>): Promise<Started> {
  await buildRelease();
  const child = spawn(process.execPath, ['scripts/start.js'], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start did not come up:\n${output}`)), 180_000);
    child.stdout!.on('data', () => {
      if (output.includes('The system is up')) {
        clearTimeout(timer);
        resolve({ child, output: () => output });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited with ${code}:\n${output}`));
    });
  });
}

function interrupt(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGINT');
  });
}

describe('npm start', () => {
  let dataDir: string;
  const running: ChildProcess[] = [];
  afterAll(async () => {
    for (const child of running) if (child.exitCode === null) child.kill('SIGKILL');
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('brings up three subgraphs, the gateway and the pages with seeded data, stops on Ctrl-C, and keeps data across starts', { timeout: 420_000 }, async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'start-'));
    const env = {
      DATA_DIR: dataDir,
      SEED_SCALE: '0.01',
      PORT: String(await freePort()),
      GIGS_PORT: String(await freePort()),
      USERS_PORT: String(await freePort()),
      TOPCLIENTS_PORT: String(await freePort()),
      WEB_PORT: String(await freePort()),
    };
    const gatewayUrl = `http://127.0.0.1:${env.PORT}/graphql`;
    const demo = generateDemoData(sizeForScale(0.01));
    const seller = demo.sellers.find((s) => s.topClientIds.length > 0)!;
    const gig = demo.gigs.find((g) => g.sellerId === seller.id)!;

    const first = await start(env);
    running.push(first.child);
    expect(first.output()).toContain(`gateway     http://localhost:${env.PORT}/graphql`);
    expect(first.output()).toContain(`pages       http://localhost:${env.WEB_PORT}/`);
    // The offline explorer is named, and ready as soon as the system says it is up (built with the pages).
    expect(first.output()).toContain(`explorer    http://localhost:${env.PORT}/explorer`);
    const explorer = await fetch(`http://127.0.0.1:${env.PORT}/explorer`);
    expect(explorer.status).toBe(200);
    expect(await explorer.text()).toMatch(/<script type="module"[^>]* src="\.\/assets\/[\w.-]+\.js"/);
    // The gateway was started with its Node.js flags (it says so before it is ready when it was not).
    expect(first.output()).not.toContain('started without the Node.js flags');
    // The pages are served, and their /graphql reaches the same gateway.
    const pages = await fetch(`http://127.0.0.1:${env.WEB_PORT}/gigs/${gig.id}`);
    expect(pages.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await pages.text()).toMatch(/<script type="module"[^>]* src="\/assets\/index-[\w-]+\.js"/);
    expect((await postGraphQL(`http://127.0.0.1:${env.WEB_PORT}/graphql`, operation('GigPage').body, { id: gig.id })).body.data.gig.id).toBe(gig.id);
    // "Up" means the gateway follows every change feed (issue 23): a rename made now is never missed.
    const ready = await fetch(gatewayUrl.replace('/graphql', '/ready'));
    expect(ready.status).toBe(200);
    const changes = Object.values(((await ready.json()) as { changes: Record<string, { state: string }> }).changes);
    expect(changes.map((c) => c.state)).toEqual(['following', 'following', 'following']);
    const gigPage = async () => (await postGraphQL(gatewayUrl, operation('GigPage').body, { id: gig.id })).body.data.gig.seller.topClients as { id: string; name: string }[];
    expect((await gigPage()).map((c) => c.id)).toEqual(seller.topClientIds);
    const renamed = await postGraphQL(gatewayUrl, operation('UpdateClient').body,
      { id: seller.topClientIds[0], input: { name: 'Kept Across Restarts' } }, { 'x-seller-id': seller.id });
    expect(renamed.body.errors).toBeUndefined();
    // As a user reloads it: the gig page cached before the rename shows it well before Client's max-age (60 s).
    const shown = await pollUntil('the gig page to show the rename', gigPage, (clients) => clients[0]?.name === 'Kept Across Restarts', 10_000);
    console.log(`[npm start] the gig page showed the rename ${shown.elapsedMs.toFixed(0)} ms after it was made`);
    expect(await interrupt(first.child)).toBe(0);
    await expect(fetch(gatewayUrl)).rejects.toThrow();

    const second = await start(env);
    running.push(second.child);
    const mine = await postGraphQL(gatewayUrl, operation('MyTopClients').body, {}, { 'x-seller-id': seller.id });
    expect(mine.body.data.myTopClients[0]).toMatchObject({ name: 'Kept Across Restarts', version: 2 });
    expect(await interrupt(second.child)).toBe(0);
  });
});

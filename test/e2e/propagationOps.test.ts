/**
 * The operations CLI (`npm run ops -- check | lag | rebuild <gigs|users>`) run as a real process against a
 * running system: it reports drift a user can see (a lost row, corrupted IDs), and rebuild repairs it.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDemoData, sizeForScale } from '../../subgraphs/toolkit/demoData.js';
import { pollUntil, startPropagatingSystem, type PropagatingSystem } from '../support/propagatingSystem.js';
import { signedBy } from '../support/gatewayTrust.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('ops CLI on a running system (change feed)', () => {
  const demo = generateDemoData(sizeForScale(0.01));
  const listed = demo.sellers.filter((s) => s.topClientIds.length >= 2);
  let system: PropagatingSystem;

  async function ops(...args: string[]): Promise<{ code: number; out: string }> {
    const env = {
      ...process.env,
      ...Object.fromEntries(Object.entries(system.subgraphs).map(([name, s]) => [`SUBGRAPH_${name.toUpperCase()}_URL`, s.url])),
    };
    try {
      const { stdout, stderr } = await promisify(execFile)(process.execPath, ['scripts/ops.js', ...args], { cwd: ROOT, env });
      return { code: 0, out: stdout + stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, out: failed.stdout + failed.stderr };
    }
  }

  beforeAll(async () => {
    system = await startPropagatingSystem('feed', demo, { gateway: false });
  }, 120_000);
  afterAll(() => system?.stop());

  it('check says both page subgraphs are in step with the source, and lag shows their consumers', async () => {
    const checked = await ops('check');
    expect(checked.out).toContain('gigs: in step');
    expect(checked.out).toContain('users: in step');
    expect(checked.code).toBe(0);
    const lag = await ops('lag');
    expect(lag.out).toMatch(/gigs: transport feed, position \d+, lag 0 event\(s\), parked 0/);
    expect(lag.out).toMatch(/users: transport feed, position \d+, lag 0 event\(s\), parked 0/);
  });

  it('check prints the drift of a damaged copy (exit 1); rebuild repairs it and check is clean again', async () => {
    const [lost, corrupted] = [listed[0]!, listed[1]!];
    await system.subgraphs.gigs.db.query('DELETE FROM seller_client_ids WHERE seller_id = $1', [lost.id]);
    await system.subgraphs.gigs.db.query("UPDATE seller_client_ids SET client_ids = '{c-bogus}' WHERE seller_id = $1", [corrupted.id]);
    await system.subgraphs.gigs.db.query("INSERT INTO seller_client_ids VALUES ('s-ghost', '{c-1}', 1)");

    const checked = await ops('check');
    expect(checked.code).toBe(1);
    expect(checked.out).toContain('gigs: 3 seller(s) drift');
    expect(checked.out).toContain(`missing (1): ${lost.id}`);
    expect(checked.out).toContain(`different ids at the same version (1): ${corrupted.id}`);
    expect(checked.out).toContain('extra (1): s-ghost');
    expect(checked.out).toContain('users: in step');

    const rebuilt = await ops('rebuild', 'gigs');
    expect(rebuilt.code).toBe(0);
    expect(rebuilt.out).toContain('gigs: rebuilt from topclients');
    expect(rebuilt.out).toContain('2 rows written, 1 removed');
    const again = await ops('check');
    expect(again.out).toContain('gigs: in step');
    expect(again.code).toBe(0);
    const [row] = await system.subgraphs.gigs.db.query<{ client_ids: string[] }>('SELECT client_ids FROM seller_client_ids WHERE seller_id = $1', [corrupted.id]);
    expect(row!.client_ids).toEqual(corrupted.topClientIds);
  });

  it('a mutation after a rebuild still propagates (the consumer goes on), and bad usage exits 2 with a usage line', async () => {
    const seller = listed[2]!;
    const extra = demo.clients.find((c) => !seller.topClientIds.includes(c.id))!;
    await fetch(system.subgraphs.topclients.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(await signedBy(seller.id)) },
      body: JSON.stringify({ query: 'mutation($c: ID!) { addTopClient(clientId: $c) { id } }', variables: { c: extra.id } }),
    });
    await pollUntil('gigs to apply the change', async () => (await system.subgraphs.gigs.db.query<{ version: number }>(
      'SELECT version FROM seller_client_ids WHERE seller_id = $1', [seller.id]))[0]?.version, (v) => v === 2);
    expect((await ops('check')).code).toBe(0);
    const bad = await ops('rebuild', 'topclients');
    expect(bad.code).toBe(2);
    expect(bad.out).toContain('usage: npm run ops -- rebuild <gigs|users>');
  });
});

/**
 * The gateway as a real process (`node <GATEWAY_NODE_FLAGS> gateway/src/main.js`, the built release), as `npm run
 * gateway` and the bench start it: SIGTERM drains what was admitted and exits 0; GATEWAY_WORKERS=2 serves one port
 * from two workers, which inherit the Node.js flags, and survives a killed one; started without the flags it says
 * which it misses.
 */
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GATEWAY_NODE_FLAGS } from '../../src/nodeFlags.js';
import { startGatewayProcess } from '../support/gatewayProcess.js';
import { DEVELOPMENT_IDENTITY_ENV } from '../support/signedIdentity.js';
import { PAGE, ids, startReadPathFixture, type ReadPathFixture } from '../support/readPathFixture.js';

async function page(url: string, n: number) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: PAGE, variables: { ids: ids(n * 3, n * 3 + 3) } }),
  });
  return { status: response.status, body: (await response.json()) as any };
}

/** The pids of a process's children (pgrep exits 1 when there are none). */
function childrenOf(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function refusesConnections(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

describe('the gateway process', () => {
  let fixture: ReadPathFixture;
  beforeAll(async () => {
    fixture = await startReadPathFixture();
  });
  afterAll(async () => {
    await fixture?.stop();
  });

  const settings = () => ({
    SUPERGRAPH: fixture.supergraphFile,
    ...DEVELOPMENT_IDENTITY_ENV,
    // Answers are held on purpose below: no deadline may cut them.
    ENTITY_TIMEOUT_MS: '30000',
    SUBGRAPH_TIMEOUT_MS: '30000',
    OPERATION_BUDGET_MS: '60000',
  });

  it('SIGTERM during load: no admitted request is lost, new connections are refused, exit 0', async () => {
    const gateway = startGatewayProcess({ ...settings(), GATEWAY_WORKERS: '1', SHUTDOWN_GRACE_MS: '20000' });
    try {
      const { url } = await gateway.line('gateway ready');
      fixture.shop.reset();
      fixture.brands.reset();
      fixture.brands.fault = { kind: 'hold' };
      const pages = Array.from({ length: 12 }, (_, n) => page(url, 100 + n));
      // Handled from now on: an assertion that fails before they are awaited must not leave them unhandled.
      void Promise.allSettled(pages);
      // Every page has reached its first subgraph (admitted and planned); their brands are held.
      await fixture.shop.waitForRequests(12);
      await fixture.brands.waitForRequests(1);
      gateway.child.kill('SIGTERM');
      await gateway.line('stopping');
      expect(await refusesConnections(url)).toBe(true);
      fixture.brands.releaseHeld();
      fixture.brands.fault = { kind: 'none' };
      const answers = await Promise.all(pages);
      for (const answer of answers) {
        expect(answer.status).toBe(200);
        expect(answer.body.errors).toBeUndefined();
        expect(answer.body.data.products.every((p: any) => typeof p.brand.name === 'string')).toBe(true);
      }
      expect(await gateway.exited).toBe(0);
    } finally {
      fixture.brands.fault = { kind: 'none' };
      gateway.child.kill('SIGKILL');
    }
  }, 60_000);

  it('GATEWAY_WORKERS=2 serves one port from two workers, restarts a killed worker, and stops with exit 0', async () => {
    const gateway = startGatewayProcess({ ...settings(), GATEWAY_WORKERS: '2' });
    try {
      const { url, workers } = await gateway.line('gateway ready');
      expect(workers).toBe(2);
      const metricsUrl = url.replace('/graphql', '/metrics');
      const workerLabels = async () => new Set([...(await (await fetch(metricsUrl)).text()).matchAll(/worker="(\d+)"/g)].map((m) => m[1]));
      expect(await workerLabels()).toEqual(new Set(['0', '1']));
      for (let n = 0; n < 4; n++) expect((await page(url, n)).body.errors).toBeUndefined();

      const workerPids = childrenOf(gateway.child.pid!);
      expect(workerPids).toHaveLength(2);
      for (const pid of workerPids) {
        const commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        for (const flag of GATEWAY_NODE_FLAGS) expect(commandLine).toContain(flag);
      }
      expect(gateway.logged('started without the Node.js flags')).toEqual([]);
      process.kill(workerPids[0]!, 'SIGKILL');
      const exitedLine = await gateway.line('gateway worker exited; restarting it');
      expect(exitedLine.pid).toBe(workerPids[0]);
      // The other worker serves meanwhile.
      for (let n = 10; n < 20; n++) {
        const answer = await page(url, n);
        expect(answer.status).toBe(200);
        expect(answer.body.errors).toBeUndefined();
      }
      await gateway.line('gateway worker serving again');
      expect(await workerLabels()).toEqual(new Set(['0', '1']));

      gateway.child.kill('SIGTERM');
      expect(await gateway.exited).toBe(0);
      expect(childrenOf(gateway.child.pid!)).toEqual([]);
    } finally {
      gateway.child.kill('SIGKILL');
    }
  }, 90_000);

  it('started without its Node.js flags, with a renamed setting and a mistyped one, says so and how to fix each, then serves as usual', async () => {
    const gateway = startGatewayProcess({ ...settings(), GATEWAY_WORKERS: '1', NODE_OPTIONS: '', LATE_CALLS_PER_SUBGRAPH: '2', ENTITY_TIMOUT_MS: '50' }, []);
    try {
      const warning = await gateway.line('started without the Node.js flags the gateway is tuned for; large answers cost more CPU');
      expect(warning.level).toBe('warn');
      expect(warning.missing).toEqual([...GATEWAY_NODE_FLAGS]);
      expect(warning.startWith).toBe(`node ${GATEWAY_NODE_FLAGS.join(' ')} gateway/src/main.js`);
      expect(await gateway.line('setting renamed; the former name still works for now')).toMatchObject({ level: 'warn', key: 'LATE_CALLS_PER_SUBGRAPH', use: 'SUBGRAPH_MAX_LATE_CALLS' });
      expect(await gateway.line('unknown setting ignored; see gateway/SETTINGS.md')).toMatchObject({ level: 'warn', key: 'ENTITY_TIMOUT_MS' });
      const { url } = await gateway.line('gateway ready');
      expect((await page(url, 1)).body.errors).toBeUndefined();
      gateway.child.kill('SIGTERM');
      expect(await gateway.exited).toBe(0);
    } finally {
      gateway.child.kill('SIGKILL');
    }
  }, 60_000);
});

/**
 * The real NATS JetStream server (127.0.0.1:4222 here), unique stream names per test run, and a private
 * nats-server of the test's own (free port, temporary store) for tests that kill and restart the broker. When
 * the server is missing, tests that need it fail loudly under CI=true and are skipped with a warning elsewhere.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { freePort, untilOutput } from './serviceProcess.js';
import { requireServer } from './requiredServer.js';

export const NATS_URL = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
export const NATS_SERVER_BINARY = process.env.NATS_SERVER_BINARY ?? '/usr/sbin/nats-server';

async function probe(): Promise<string | null> {
  try {
    const nc = await connect({ servers: NATS_URL, timeout: 3_000, reconnect: false });
    try {
      await (await jetstreamManager(nc)).getAccountInfo();
      return null;
    } finally {
      await nc.close();
    }
  } catch (error) {
    return (error as Error).message;
  }
}

/** False when the server is missing outside CI; inside CI a missing server has already failed the file. */
export const natsAvailable = requireServer({
  name: 'NATS JetStream', url: NATS_URL, problem: await probe(), neededBy: 'the JetStream tests', docSection: 'docs/WRITE-PATH.md, "Configuration"',
});

export function uniqueStreamName(prefix = 'T'): string {
  return `${prefix}_${randomBytes(5).toString('hex').toUpperCase()}`;
}

export async function deleteStream(servers: string, stream: string): Promise<void> {
  const nc = await connect({ servers, timeout: 3_000, reconnect: false });
  try {
    await (await jetstreamManager(nc)).streams.delete(stream).catch(() => undefined);
  } finally {
    await nc.close();
  }
}

export interface PrivateNatsServer {
  url: string;
  /** Kills the server (SIGKILL: no goodbye to clients) and waits for it to exit. */
  kill(): Promise<void>;
  /** Starts it again on the same port and store. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** A nats-server of the test's own, with JetStream on a temporary store, so it can be killed without harm. */
export async function startPrivateNatsServer(): Promise<PrivateNatsServer> {
  if (!existsSync(NATS_SERVER_BINARY)) throw new Error(`${NATS_SERVER_BINARY} is missing (set NATS_SERVER_BINARY)`);
  const port = await freePort();
  const storeDir = await mkdtemp(join(tmpdir(), 'nats-test-'));
  const url = `nats://127.0.0.1:${port}`;
  let child: ChildProcess | null = null;
  async function start() {
    child = spawn(NATS_SERVER_BINARY, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    // nats-server starts JetStream (and recovers its store) before it accepts clients, then says so.
    await untilOutput(child, 'Server is ready', 10_000, `private nats-server on ${url}`);
    // Its log is not read past start-up: drain it so a full pipe never stalls the server.
    child.stdout!.resume();
    child.stderr!.resume();
  }
  async function kill() {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve());
      running.kill('SIGKILL');
    });
  }
  await start();
  return {
    url,
    kill,
    restart: start,
    async stop() {
      await kill();
      await rm(storeDir, { recursive: true, force: true });
    },
  };
}

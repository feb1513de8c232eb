/**
 * A subgraph service as a real child process (`subgraphs/main.ts <name>`), so a test can kill it with SIGKILL —
 * no shutdown hooks, connections cut mid-request — and start it again on the same port and database.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * The first of `count` consecutive ports that are all free now, for a command that listens on a base port and the
 * ones after it (`npm run start:scaled`'s GATEWAY_BASE_PORT): a port freePort() gave may well have a busy neighbour.
 */
export async function freePortRun(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = await freePort();
    const held: ReturnType<typeof createServer>[] = [];
    try {
      for (let i = 0; i < count; i++) {
        const server = createServer();
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(base + i, '127.0.0.1', resolve);
        });
        held.push(server);
      }
      return base;
    } catch {
      // A neighbour is taken: try another base.
    } finally {
      await Promise.all(held.map((server) => new Promise((resolve) => server.close(resolve))));
    }
  }
  throw new Error(`found no ${count} consecutive free ports in 50 attempts`);
}

export interface ServiceProcess {
  baseUrl: string;
  start(): Promise<void>;
  /** SIGKILL, and wait until the process is gone. */
  kill(): Promise<void>;
  /** Everything the process printed, for a failing test's message. */
  output(): string;
}

export function serviceProcess(name: string, port: number, env: Record<string, string>): ServiceProcess {
  let child: ChildProcess | null = null;
  let output = '';
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    baseUrl,
    async start() {
      child = spawn(process.execPath, ['--import', 'tsx', 'subgraphs/main.ts', name], {
        cwd: ROOT,
        env: { ...process.env, APOLLO_TELEMETRY_DISABLED: 'true', [`${name.toUpperCase()}_PORT`]: String(port), ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout!.on('data', (chunk) => { output += chunk; });
      child.stderr!.on('data', (chunk) => { output += chunk; });
      const deadline = Date.now() + 60_000;
      for (;;) {
        if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}:\n${output.slice(-2000)}`);
        try {
          if ((await fetch(`${baseUrl}/health`)).ok) return;
        } catch {
          // not listening yet
        }
        if (Date.now() > deadline) throw new Error(`${name} did not become healthy:\n${output.slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async kill() {
      const running = child;
      if (!running || running.exitCode !== null || running.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        running.once('exit', () => resolve());
        running.kill('SIGKILL');
      });
    },
    output: () => output,
  };
}

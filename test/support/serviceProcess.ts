/**
 * A subgraph service as a real child process (`node subgraphs/main.js <name>`, the built release), so a test can kill it with SIGKILL —
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

/**
 * Resolves once `child` has printed `text` (stdout or stderr); rejects, with what it printed, when it exits first or
 * `timeoutMs` passes.
 */
export function untilOutput(child: ChildProcess, text: string, timeoutMs: number, name: string): Promise<void> {
  let printed = '';
  return new Promise<void>((resolve, reject) => {
    const done = (error?: Error) => {
      clearTimeout(timer);
      child.stdout?.off('data', read);
      child.stderr?.off('data', read);
      child.off('exit', exited);
      if (error) reject(error);
      else resolve();
    };
    const read = (chunk: Buffer) => {
      printed += chunk;
      if (printed.includes(text)) done();
    };
    const exited = (code: number | null) => done(new Error(`${name} exited with ${code} before printing ${text}:\n${printed.slice(-2000)}`));
    const timer = setTimeout(() => done(new Error(`${name} did not print ${text} within ${timeoutMs / 1000} s:\n${printed.slice(-2000)}`)), timeoutMs);
    child.stdout?.on('data', read);
    child.stderr?.on('data', read);
    child.once('exit', exited);
  });
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
      child = spawn(process.execPath, ['subgraphs/main.js', name], {
        cwd: ROOT,
        env: { ...process.env, APOLLO_TELEMETRY_DISABLED: 'true', [`${name.toUpperCase()}_PORT`]: String(port), ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout!.on('data', (chunk) => { output += chunk; });
      child.stderr!.on('data', (chunk) => { output += chunk; });
      // subgraphs/main.ts logs `listening` once its server accepts connections.
      await untilOutput(child, '"msg":"listening"', 60_000, name);
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

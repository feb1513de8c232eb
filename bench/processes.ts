/** Child processes of the benchmark: started with telemetry off, awaited until they say they are ready, stopped by pid. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';

export interface Child {
  name: string;
  process: ChildProcess;
  pid: number;
  /** Everything it printed, for error messages. */
  output: string[];
  stop(): Promise<void>;
}

export const BENCH_ENV = { APOLLO_TELEMETRY_DISABLED: 'true' } as const;

/** A Node.js process running `args` (a script and its arguments). */
export function startChild(name: string, args: string[], env: Record<string, string>, cwd: string): Child {
  return startProgram(name, process.execPath, args, env, cwd);
}

/**
 * Any executable (a native gateway), spawned itself rather than through a shell or a launcher, so that the pid the
 * orchestrator measures is the program's own.
 */
export function startProgram(name: string, file: string, args: string[], env: Record<string, string>, cwd: string): Child {
  const child = spawn(file, args, {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...BENCH_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on('line', (line) => {
      output.push(line);
      if (output.length > 200) output.shift();
    });
  }
  return {
    name,
    process: child,
    pid: child.pid!,
    output,
    stop: () => stopChild(child),
  };
}

export function stopChild(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Waits for a line starting with `prefix` and returns the rest of it. */
export function waitForLine(child: Child, prefix: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const found = () => child.output.find((l) => l.startsWith(prefix));
    const timer = setInterval(() => {
      const line = found();
      if (line) {
        clearInterval(timer);
        resolve(line.slice(prefix.length).trim());
      } else if (child.process.exitCode !== null || Date.now() > deadline) {
        clearInterval(timer);
        reject(new Error(`${child.name} ${child.process.exitCode !== null ? `exited (${child.process.exitCode})` : 'timed out'} before "${prefix}":\n${child.output.slice(-20).join('\n')}`));
      }
    }, 50);
    const deadline = Date.now() + timeoutMs;
  });
}

export async function waitForHttp(child: Child, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.process.exitCode !== null) throw new Error(`${child.name} exited (${child.process.exitCode}):\n${child.output.slice(-20).join('\n')}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${child.name} not ready at ${url} within ${timeoutMs} ms:\n${child.output.slice(-20).join('\n')}`);
}

/** A free port on 127.0.0.1, for a program that cannot listen on port 0 and tell us which port it got. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * The processes one start command runs (`npm start`, `npm run start:scaled`): each started under a Supervisor
 * (restarted with backoff once the group is up), its output prefixed with its name and its seeding progress drawn
 * (scripts/seedProgressDisplay.ts), its health awaited; Ctrl-C or SIGTERM stops them all, with no restart meanwhile.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseSeedLine, SeedProgressDisplay } from './seedProgressDisplay.js';
import { Supervisor } from './supervisor.js';

const root = fileURLToPath(new URL('..', import.meta.url));

export class ServiceGroup {
  readonly services: Supervisor[] = [];
  readonly display = new SeedProgressDisplay(process.stdout);
  private readonly env: NodeJS.ProcessEnv;
  private stopping = false;

  /** `ownKeys`: the start script's own settings, kept from the services (a gateway would warn of keys it does not know). */
  constructor(ownKeys: readonly string[] = []) {
    this.env = { ...process.env, APOLLO_TELEMETRY_DISABLED: process.env.APOLLO_TELEMETRY_DISABLED ?? 'true' };
    for (const key of ownKeys) delete this.env[key];
    process.on('SIGINT', () => void this.stopAll(0));
    process.on('SIGTERM', () => void this.stopAll(0));
  }

  /**
   * Starts `node <nodeFlags> <script>`, the built release's `.js` (scripts/buildRelease.ts: `npm start` and
   * `npm run start:scaled` build it first); until `keepAlive()` an exit stops the whole group (it could not start).
   */
  run(name: string, script: string, args: string[], extraEnv: Record<string, string>, healthUrl: string, nodeFlags: readonly string[] = []): Supervisor {
    const { display } = this;
    const service: Supervisor = new Supervisor(
      name,
      () => spawn(process.execPath, [...nodeFlags, script, ...args], { cwd: root, env: { ...this.env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] }),
      {
        onLine(line) {
          const progress = parseSeedLine(line);
          if (progress) display.update(name, progress);
          else display.print(`[${name}] ${line}`);
        },
        onExit: ({ how, restartInMs }) => {
          if (this.stopping) return;
          if (restartInMs === null) {
            display.print(`${name} exited (${how}); stopping everything`);
            void this.stopAll(1);
            return;
          }
          display.print(`${name} exited unexpectedly (${how}); restarting it in ${restartInMs / 1000} s (the other services keep serving)`);
        },
        onRestart: (child, restarts) => {
          display.print(`${name} restarted (pid ${child.pid}, restart ${restarts})`);
          this.waitForHealth(name, healthUrl, 180_000).then(
            () => {
              if (!this.stopping && service.pid === child.pid) display.print(`${name} is serving again (pid ${child.pid})`);
            },
            (error: Error) => display.print(`${error.message}; still trying`),
          );
        },
      },
    );
    service.start();
    this.services.push(service);
    return service;
  }

  pid(name: string): number | undefined {
    return this.services.find((s) => s.name === name)?.pid;
  }

  /** From now on a service that exits is restarted. */
  keepAlive(): void {
    for (const service of this.services) service.keepAlive();
  }

  async waitForHealth(name: string, url: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.stopping) return;
      try {
        if ((await fetch(url)).ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`${name} did not become healthy at ${url} within ${timeoutMs / 1000}s`);
  }

  /** Stops every process (SIGTERM, SIGKILL after 10 s) and exits with `code`. */
  async stopAll(code: number): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await Promise.all(this.services.map((service) => service.stop()));
    process.exit(code);
  }
}

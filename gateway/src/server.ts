/**
 * The gateway on a socket: the runtime's handler (runtime.ts) in a node:http server, listening on HOST:PORT, and a
 * stop that drains. Returns `{ url, stop }` so tests start exactly what `main.ts` starts, on port 0.
 *
 * Stop: the runtime drains (every answer closes its connection, /ready says stopping), the server stops accepting,
 * the requests in flight get SHUTDOWN_GRACE_MS to finish (then their connections are cut), and the runtime stops
 * Apollo and its features in reverse order.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { systemClock } from './clock.js';
import type { GatewayConfig } from './config.js';
import { createGatewayRuntime, type GatewayDeps, type GatewayRuntime } from './runtime.js';
import { integer, text, type SettingGroup } from './settings.js';

export type { GatewayDeps } from './runtime.js';

export interface RunningGateway extends Omit<GatewayRuntime, 'handle' | 'upgrade' | 'start' | 'drain' | 'stop'> {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export async function startGateway(config: GatewayConfig, deps: GatewayDeps = {}): Promise<RunningGateway> {
  const clock = deps.clock ?? systemClock;
  const runtime = createGatewayRuntime(config, deps);
  const server = createServer(runtime.handle);
  server.on('upgrade', runtime.upgrade);
  server.keepAliveTimeout = 65_000;
  try {
    // Listen first so /health answers (and orchestrators see a live process) while the supergraph loads.
    await listen(server, config.port, config.host);
    await runtime.start();
  } catch (error) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await runtime.stop();
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  const { handle: _handle, upgrade: _upgrade, start: _start, drain: _drain, stop: _stop, ...parts } = runtime;
  return {
    ...parts,
    url: `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}/graphql`,
    port,
    // Stops accepting before it first waits (main.ts says "stopping" only then).
    async stop() {
      runtime.drain();
      await new Promise<void>((resolve) => {
        const grace = clock.setTimer(config.shutdownGraceMs, () => server.closeAllConnections());
        server.close(() => {
          grace.cancel();
          resolve();
        });
        server.closeIdleConnections();
      });
      await runtime.stop();
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Where the gateway listens and how long a stop may take. */
export const SERVER_SETTINGS = {
  host: text('HOST', { default: '127.0.0.1', values: 'an address', doc: 'where it listens (HOST=0.0.0.0 in containers)' }),
  port: integer('PORT', { default: 4000, min: 0, max: 65_535, doc: 'where it listens (0: any free port)' }),
  shutdownGraceMs: integer('SHUTDOWN_GRACE_MS', { default: 10_000, min: 0, max: 600_000, unit: 'ms', doc: 'on SIGTERM/SIGINT: how long the requests in flight may take to finish (new connections are refused at once); then their connections are cut, pools and Redis closed, exit 0' }),
} satisfies SettingGroup;

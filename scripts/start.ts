/**
 * `npm start`: the whole reference deployment on the embedded default, one process per service (three subgraphs,
 * the gateway and the web pages, started together), data kept under ./data. Prints the URLs; Ctrl-C stops everything cleanly.
 * Once the system is up, a service that dies is restarted with backoff (scripts/supervisor.ts) while the others
 * keep serving; a first start draws the services' seeding progress (scripts/seedProgressDisplay.ts).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CLIENT_EVENTS_STREAM, REFERENCE_GATEWAY_ENV, clientEventsSubject } from '../schema/referenceGateway.js';
import { SUBGRAPHS } from '../schema/subgraphs.js';
import { referenceTrust } from './referenceTrust.js';
import { parseSeedLine, SeedProgressDisplay } from './seedProgressDisplay.js';
import { Supervisor } from './supervisor.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const env = { ...process.env, APOLLO_TELEMETRY_DISABLED: process.env.APOLLO_TELEMETRY_DISABLED ?? 'true' };
const services: Supervisor[] = [];
const display = new SeedProgressDisplay(process.stdout);
let stopping = false;

/** Starts a service process; once the system is up, `keepAlive()` has it restarted whenever it exits. */
function run(name: string, script: string, args: string[], extraEnv: Record<string, string>, healthUrl: string): Supervisor {
  const service = new Supervisor(
    name,
    () => spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: root, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] }),
    {
      onLine(line) {
        const progress = parseSeedLine(line);
        if (progress) display.update(name, progress);
        else display.print(`[${name}] ${line}`);
      },
      onExit({ how, restartInMs }) {
        if (stopping) return;
        if (restartInMs === null) {
          display.print(`${name} exited (${how}); stopping everything`);
          void stopAll(1);
          return;
        }
        display.print(`${name} exited unexpectedly (${how}); restarting it in ${restartInMs / 1000} s (the other services keep serving)`);
      },
      onRestart(child, restarts) {
        display.print(`${name} restarted (pid ${child.pid}, restart ${restarts})`);
        waitForHealth(name, healthUrl, 180_000).then(
          () => {
            if (!stopping && service.pid === child.pid) display.print(`${name} is serving again (pid ${child.pid})`);
          },
          (error: Error) => display.print(`${error.message}; still trying`),
        );
      },
    },
  );
  service.start();
  services.push(service);
  return service;
}

async function waitForHealth(name: string, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (stopping) return;
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${name} did not become healthy at ${url} within ${timeoutMs / 1000}s`);
}

async function stopAll(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  await Promise.all(services.map((service) => service.stop()));
  process.exit(code);
}

process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

const portOf = (name: string, fallback: number) => Number(process.env[`${name.toUpperCase()}_PORT`] || fallback);
try {
  console.log(`starting the services (a first start seeds the demo data into ${process.env.DATA_DIR || './data'} and shows its progress)...`);
  // Embedded event transport: gigs and users pull topclients' change feed; the gateway listens to it to evict
  // cached clients. EVENT_TRANSPORT=nats (with NATS_URL) switches the subgraphs to JetStream instead.
  const feedUrl = process.env.TOPCLIENTS_FEED_URL ?? `http://127.0.0.1:${portOf('topclients', SUBGRAPHS.find((s) => s.name === 'topclients')!.defaultPort)}/events`;
  // The gateway-to-subgraph secret and, by mode, the token keys (scripts/referenceTrust.ts).
  const trust = await referenceTrust(process.env);
  for (const subgraph of SUBGRAPHS) {
    run(subgraph.name, 'subgraphs/main.ts', [subgraph.name], { TOPCLIENTS_FEED_URL: feedUrl, ...trust.subgraphEnv },
      `http://127.0.0.1:${portOf(subgraph.name, subgraph.defaultPort)}/health`);
  }
  const subgraphsHealthy = Promise.all(SUBGRAPHS.map((s) => waitForHealth(s.name, `http://127.0.0.1:${portOf(s.name, s.defaultPort)}/health`, 180_000)));
  // The gateway reads its supergraph from a file and the pages only proxy to it, so neither waits for the subgraphs
  // (unless the gateway composes from them): their start-up overlaps the subgraphs' seeding on a first start.
  if (process.env.GATEWAY_DEV_COMPOSE === 'true') await subgraphsHealthy;
  const subgraphUrls = Object.fromEntries(SUBGRAPHS.map((s) => [
    `SUBGRAPH_${s.name.toUpperCase()}_URL`,
    process.env[`SUBGRAPH_${s.name.toUpperCase()}_URL`] ?? `http://127.0.0.1:${portOf(s.name, s.defaultPort)}/graphql`,
  ]));
  const invalidation: Record<string, string> = process.env.INVALIDATION_NATS_URL
    ? { INVALIDATION_NATS_STREAM: CLIENT_EVENTS_STREAM, INVALIDATION_NATS_SUBJECT: clientEventsSubject() }
    : process.env.INVALIDATION_FEED_URL ? {} : { INVALIDATION_FEED_URL: feedUrl };
  // The gateway is generic: this deployment's supergraph, manifest and event types come from here, unless set.
  const reference = Object.fromEntries(Object.entries(REFERENCE_GATEWAY_ENV).filter(([key]) => !process.env[key]));
  const gatewayPort = Number(process.env.PORT || 4000);
  run('gateway', 'gateway/src/main.ts', [], { ...reference, ...subgraphUrls, ...invalidation, ...trust.gatewayEnv },
    `http://127.0.0.1:${gatewayPort}/ready`);
  const gatewayReady = waitForHealth('gateway', `http://127.0.0.1:${gatewayPort}/ready`, 60_000);
  // The pages: web/main.ts builds them first when web/dist is missing or older than its sources.
  const webPort = Number(process.env.WEB_PORT || 4080);
  run('web', 'web/main.ts', [], { WEB_PORT: String(webPort), GATEWAY_URL: `http://127.0.0.1:${gatewayPort}/graphql`, ...trust.webEnv },
    `http://127.0.0.1:${webPort}/`);
  await Promise.all([subgraphsHealthy, gatewayReady, waitForHealth('web', `http://127.0.0.1:${webPort}/`, 180_000)]);
  console.log([
    '',
    'The system is up:',
    `  pages       http://localhost:${webPort}/   (search, gig and user pages; your top clients at /me/top-clients)`,
    `  gateway     http://localhost:${gatewayPort}/graphql   (Apollo Sandbox: open it in a browser)`,
    ...SUBGRAPHS.map((s) => `  ${s.name.padEnd(11)} http://localhost:${portOf(s.name, s.defaultPort)}/graphql`),
    `  ${trust.mode} mode; ${trust.notes.join('; ')}`,
    '',
    `A service that dies is restarted; the others keep serving. Processes: ${services.map((s) => `${s.name} ${s.pid}`).join(', ')}.`,
    `To watch the pages survive topclients going down: kill ${services.find((s) => s.name === 'topclients')?.pid}`,
    '(restarted after 0.5 s), or freeze it with kill -STOP and resume it with kill -CONT.',
    'Press Ctrl-C to stop.',
    '',
  ].join('\n'));
  for (const service of services) service.keepAlive();
} catch (error) {
  console.error(String((error as Error).message ?? error));
  await stopAll(1);
}

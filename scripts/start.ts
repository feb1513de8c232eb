/**
 * `npm start`: the whole reference deployment on the embedded default, one process per service (three subgraphs,
 * the gateway and the web pages, started together), data kept under ./data. Prints the URLs; Ctrl-C stops everything cleanly.
 * Once the system is up, a service that dies is restarted with backoff while the others keep serving; a first
 * start draws the services' seeding progress (scripts/serviceGroup.ts).
 */
import { ensureExplorerBuilt } from '../gateway/explorer/build.js';
import { loadConfig } from '../gateway/src/config.js';
import { GATEWAY_NODE_FLAGS } from '../gateway/src/nodeFlags.js';
import { REFERENCE_GATEWAY_ENV, invalidationFeedEnv, invalidationNatsEnv } from '../schema/referenceGateway.js';
import { SUBGRAPHS } from '../schema/subgraphs.js';
import { referenceTrust } from './referenceTrust.js';
import { ServiceGroup } from './serviceGroup.js';

const group = new ServiceGroup();
const run = group.run.bind(group);
const waitForHealth = group.waitForHealth.bind(group);
const stopAll = (code: number) => group.stopAll(code);
const services = group.services;

const portOf = (name: string, fallback: number) => Number(process.env[`${name.toUpperCase()}_PORT`] || fallback);
try {
  console.log(`starting the services (a first start seeds the demo data into ${process.env.DATA_DIR || './data'} and shows its progress)...`);
  // Embedded event transport: gigs and users pull topclients' change feed; the gateway listens to it to evict
  // cached clients. EVENT_TRANSPORT=nats (with NATS_URL) switches the subgraphs to JetStream instead.
  const feedUrl = process.env.TOPCLIENTS_FEED_URL ?? `http://127.0.0.1:${portOf('topclients', SUBGRAPHS.find((s) => s.name === 'topclients')!.defaultPort)}/events`;
  // The gateway-to-subgraph secret and, by mode, the token keys (scripts/referenceTrust.ts).
  const trust = await referenceTrust(process.env);
  for (const subgraph of SUBGRAPHS) {
    // Each process is its own service in a trace (OTEL_SERVICE_NAME, when set, names the gateway).
    run(subgraph.name, 'subgraphs/main.js', [subgraph.name], { TOPCLIENTS_FEED_URL: feedUrl, OTEL_SERVICE_NAME: subgraph.name, ...trust.subgraphEnv },
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
  // The gateway evicts from every publisher: topclients' client events, gigs' and users' applied seller lists.
  const invalidation: Record<string, string> = process.env.INVALIDATION_NATS_URL
    ? invalidationNatsEnv(process.env.INVALIDATION_NATS_URL)
    : process.env.INVALIDATION_FEED_URL ? {} : invalidationFeedEnv([
      feedUrl,
      ...SUBGRAPHS.filter((s) => s.name !== 'topclients').map((s) => `http://127.0.0.1:${portOf(s.name, s.defaultPort)}/events`),
    ]);
  // The gateway is generic: this deployment's supergraph, manifest and event types come from here, unless set.
  const reference = Object.fromEntries(Object.entries(REFERENCE_GATEWAY_ENV).filter(([key]) => !process.env[key]));
  const gatewayPort = Number(process.env.PORT || 4000);
  // One gateway process unless asked (GATEWAY_WORKERS defaults to the cores): on a development machine the
  // subgraphs need the cores too, and one process keeps the logs and restarts simple.
  const gatewayEnv = { GATEWAY_WORKERS: process.env.GATEWAY_WORKERS || '1', ...reference, ...subgraphUrls, ...invalidation, ...trust.gatewayEnv };
  run('gateway', 'gateway/src/main.js', [], gatewayEnv, `http://127.0.0.1:${gatewayPort}/ready`, GATEWAY_NODE_FLAGS);
  // The offline explorer is built now, beside the pages, so that it is ready when the system says it is up (the
  // gateway would otherwise build it on the first visit, answering "building" meanwhile).
  const explorerDist = explorerToBuild({ ...process.env, ...gatewayEnv });
  const explorerBuilt = explorerDist ? ensureExplorerBuilt(explorerDist).then((built) => {
    if (built) console.log(`built the explorer into ${explorerDist}`);
  }) : Promise.resolve();
  // Ready means following every change feed too, so it waits for the subgraphs (seeding on a first start) as long.
  const gatewayReady = waitForHealth('gateway', `http://127.0.0.1:${gatewayPort}/ready`, 180_000);
  // The pages: web/main.ts builds them first when web/dist is missing or older than its sources.
  const webPort = Number(process.env.WEB_PORT || 4080);
  run('web', 'web/main.js', [], { WEB_PORT: String(webPort), GATEWAY_URL: `http://127.0.0.1:${gatewayPort}/graphql`, ...trust.webEnv },
    `http://127.0.0.1:${webPort}/`);
  await Promise.all([subgraphsHealthy, gatewayReady, waitForHealth('web', `http://127.0.0.1:${webPort}/`, 180_000), explorerBuilt]);
  console.log([
    '',
    'The system is up:',
    `  pages       http://localhost:${webPort}/   (search, gig and user pages; your top clients at /me/top-clients)`,
    ...(explorerDist ? [`  explorer    http://localhost:${gatewayPort}/explorer  (GraphiQL, served by the gateway: works offline)`] : []),
    `  gateway     http://localhost:${gatewayPort}/graphql   (opened in a browser: Apollo Sandbox, loaded from Apollo's CDN, needs the internet)`,
    ...SUBGRAPHS.map((s) => `  ${s.name.padEnd(11)} http://localhost:${portOf(s.name, s.defaultPort)}/graphql`),
    `  ${trust.mode} mode; ${trust.notes.join('; ')}`,
    '',
    `A service that dies is restarted; the others keep serving. Processes: ${services.map((s) => `${s.name} ${s.pid}`).join(', ')}.`,
    `To watch the pages survive topclients going down: kill ${services.find((s) => s.name === 'topclients')?.pid}`,
    '(restarted after 0.5 s), or freeze it with kill -STOP and resume it with kill -CONT.',
    'Press Ctrl-C to stop.',
    '',
  ].join('\n'));
  group.keepAlive();
} catch (error) {
  console.error(String((error as Error).message ?? error));
  await stopAll(1);
}

/**
 * The explorer's folder when the gateway would build it itself (its own settings decide: on, in development); null
 * when it serves none, or only what `npm run build` made (production).
 */
function explorerToBuild(env: NodeJS.ProcessEnv): string | null {
  try {
    const { explorer } = loadConfig(env);
    return explorer.enabled && explorer.buildOnDemand ? explorer.distDir : null;
  } catch {
    // Settings the gateway refuses: it says why when it starts, and serves no explorer.
    return null;
  }
}

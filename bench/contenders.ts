/**
 * How each contender is started: its process, its environment, and the URL the load goes to. Every contender gets
 * a fresh process per scenario, so its CPU time, peak RSS and cache start from nothing.
 */
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { freePort, startChild, waitForHttp, waitForLine, type Child } from './processes.js';

export type ContenderName = 'ours' | 'ours-max-age' | 'sync' | 'hive' | 'hive-cache' | 'gigs-only';

export interface StartedContender {
  child: Child;
  url: string;
}

export interface ContenderSetup {
  root: string;
  workDir: string;
  supergraphFile: string;
  /** For ours: where topclients' change feed is, so edits evict cached clients (null = max-age only). */
  invalidationFeedUrl: string | null;
  /** For ours: extra gateway settings, e.g. per-subgraph timeouts. */
  oursEnv: Record<string, string>;
  /** Node flags, e.g. --cpu-prof. */
  nodeFlags: string[];
}

export const CONTENDER_DESCRIPTIONS: Record<ContenderName, string> = {
  ours: 'this project\'s gateway (gateway/src/server.ts startGateway), hybrid read path on, change-feed invalidation on',
  'ours-max-age': 'ours with ROOT_FETCH_CACHE=max-age: root answers (the gig itself) also served from memory while fresh, instead of the default If-None-Match on every page',
  sync: 'stock @apollo/gateway + @apollo/server standalone, stock RemoteGraphQLDataSource, one process',
  hive: '@graphql-hive/gateway CLI, `hive-gateway supergraph`, documented defaults, one process',
  'hive-cache': '@graphql-hive/gateway as above with its response cache on (`responseCaching: { session: () => null }`)',
  'gigs-only': 'baseline: the sync gateway serving a gig page that needs only gigs (one fetch per page)',
};

const require = createRequire(import.meta.url);

export async function startContender(name: ContenderName, setup: ContenderSetup): Promise<StartedContender> {
  if (name === 'ours' || name === 'ours-max-age') {
    const child = startChild(name, [...setup.nodeFlags, '--import', 'tsx', 'bench/contenders/ours.ts'], {
      PORT: '0',
      HOST: '127.0.0.1',
      SUPERGRAPH: setup.supergraphFile,
      LOG_LEVEL: 'error',
      ...(setup.invalidationFeedUrl ? { INVALIDATION_FEED_URL: setup.invalidationFeedUrl } : {}),
      ...setup.oursEnv,
      ...(name === 'ours-max-age' ? { ROOT_FETCH_CACHE: 'max-age' } : {}),
    }, setup.root);
    return { child, url: await waitForLine(child, 'READY ', 60_000) };
  }
  if (name === 'sync' || name === 'gigs-only') {
    const child = startChild(name, [...setup.nodeFlags, '--import', 'tsx', 'bench/contenders/sync.ts', setup.supergraphFile], {
      NODE_ENV: 'production',
    }, setup.root);
    return { child, url: await waitForLine(child, 'READY ', 60_000) };
  }
  // Hive Gateway: its CLI as documented, a config file only to forward the editor's identity header (and, for
  // hive-cache, to turn the response cache on). Fork count pinned to 1: one process, like the others.
  const port = await freePort();
  const configFile = join(setup.workDir, `${name}.gateway.config.mjs`);
  writeFileSync(configFile, [
    'export const gatewayConfig = {',
    `  supergraph: ${JSON.stringify(setup.supergraphFile)},`,
    "  propagateHeaders: { fromClientToSubgraphs: ({ request }) => ({ 'x-seller-id': request.headers.get('x-seller-id') ?? undefined }) },",
    name === 'hive-cache' ? '  responseCaching: { session: () => null },' : '',
    '};',
  ].join('\n'));
  const bin = join(require.resolve('@graphql-hive/gateway/package.json'), '..', 'dist', 'bin.js');
  const child = startChild(name, [...setup.nodeFlags, bin, 'supergraph', setup.supergraphFile,
    '--host', '127.0.0.1', '--port', String(port), '--fork', '1', '--config-path', configFile], {
    NODE_ENV: 'production',
  }, setup.workDir);
  await waitForHttp(child, `http://127.0.0.1:${port}/readiness`, 60_000);
  return { child, url: `http://127.0.0.1:${port}/graphql` };
}

/**
 * How each contender is started: its process, its environment, and the URL the load goes to. Every contender gets
 * a fresh process per scenario, so its CPU time, peak RSS and cache start from nothing.
 */
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { freePort, startChild, waitForHttp, waitForLine, type Child } from './processes.js';

/**
 * Ours with different settings: one line each. Every variant starts from `OURS_BASE` (one worker: `GATEWAY_WORKERS`
 * defaults to the number of cores once the gateway forks, and "ours" is the one-process figure).
 */
const OURS_VARIANTS = {
  ours: {},
  'ours-max-age': { ROOT_FETCH_CACHE: 'max-age' },
  'ours-workers-2': { GATEWAY_WORKERS: '2' },
} satisfies Record<string, Record<string, string>>;
const OURS_BASE: Record<string, string> = { GATEWAY_WORKERS: '1' };

type OursVariant = keyof typeof OURS_VARIANTS;
export type ContenderName = OursVariant | 'sync' | 'hive' | 'hive-cache' | 'hive-router' | 'gigs-only';

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
  ours: 'this project\'s gateway as `npm run gateway` starts it (gateway/src/main.ts), its defaults, one worker (GATEWAY_WORKERS=1); in the reference scenarios change-feed invalidation on',
  'ours-max-age': 'ours with ROOT_FETCH_CACHE=max-age: root answers (the gig itself) also served from memory while fresh, instead of the default If-None-Match on every page',
  'ours-workers-2': 'ours with GATEWAY_WORKERS=2 (node:cluster: CPU and RSS summed over the primary and its workers); a gateway that does not know the setting yet runs one process, and the results say so',
  sync: 'stock @apollo/gateway + @apollo/server standalone, stock RemoteGraphQLDataSource, one process',
  hive: '@graphql-hive/gateway CLI, `hive-gateway supergraph`, documented defaults, one process',
  'hive-cache': '@graphql-hive/gateway as above with its response cache on (`responseCaching: { session: () => null }`)',
  'hive-router': '@graphql-hive/gateway with `--hive-router-runtime` (@graphql-hive/router-runtime: the Rust query planner and its executor), otherwise defaults, one process',
  'gigs-only': 'baseline: the sync gateway serving a gig page that needs only gigs (one fetch per page)',
};

const require = createRequire(import.meta.url);

function isOurs(name: ContenderName): name is OursVariant {
  return name in OURS_VARIANTS;
}

export async function startContender(name: ContenderName, setup: ContenderSetup): Promise<StartedContender> {
  if (isOurs(name)) {
    // The gateway's own entry point, so whatever it does with its settings (workers included) is what is measured.
    const port = await freePort();
    const child = startChild(name, [...setup.nodeFlags, '--import', 'tsx', 'gateway/src/main.ts'], {
      PORT: String(port),
      HOST: '127.0.0.1',
      SUPERGRAPH: setup.supergraphFile,
      LOG_LEVEL: 'error',
      ...(setup.invalidationFeedUrl ? { INVALIDATION_FEED_URL: setup.invalidationFeedUrl } : {}),
      ...setup.oursEnv,
      ...OURS_BASE,
      ...OURS_VARIANTS[name],
    }, setup.root);
    await waitForHttp(child, `http://127.0.0.1:${port}/ready`, 60_000);
    return { child, url: `http://127.0.0.1:${port}/graphql` };
  }
  if (name === 'sync' || name === 'gigs-only') {
    const child = startChild(name, [...setup.nodeFlags, '--import', 'tsx', 'bench/contenders/sync.ts', setup.supergraphFile], {
      NODE_ENV: 'production',
    }, setup.root);
    return { child, url: await waitForLine(child, 'READY ', 60_000) };
  }
  // Hive Gateway: its CLI as documented, a config file only to forward the editor's identity header (and, for
  // hive-cache, to turn the response cache on). Fork count pinned to 1: one process, like the others. It comes from
  // the bench's own package (bench/package.json), resolved from here.
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
    '--host', '127.0.0.1', '--port', String(port), '--fork', '1', '--config-path', configFile,
    ...(name === 'hive-router' ? ['--hive-router-runtime'] : [])], {
    NODE_ENV: 'production',
  }, setup.workDir);
  await waitForHttp(child, `http://127.0.0.1:${port}/readiness`, 60_000);
  // Without the runtime package the CLI only warns and falls back to its default planner: that would be "hive" again.
  if (name === 'hive-router' && child.output.some((line) => line.includes('Could not load the @graphql-hive/router-runtime'))) {
    await child.stop();
    throw new Error('hive-router: @graphql-hive/router-runtime did not load, Hive Gateway fell back to its default runtime');
  }
  return { child, url: `http://127.0.0.1:${port}/graphql` };
}

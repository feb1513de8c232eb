/**
 * How each contender is started: its process, its environment, and the URL the load goes to. Every contender gets
 * a fresh process per scenario, so its CPU time, peak RSS and cache start from nothing.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { GATEWAY_NODE_FLAGS } from '../gateway/src/nodeFlags.js';
import type { LoadKind } from './load.js';
import { OVERHEAD_SDL, type OverheadSubgraphName } from './overheadSubgraphs.js';
import { freePort, startChild, startProgram, waitForHttp, waitForLine, type Child } from './processes.js';

/**
 * Ours with different settings: one line each. Every variant starts from `OURS_BASE` (one worker: `GATEWAY_WORKERS`
 * defaults to the number of cores once the gateway forks, and "ours" is the one-process figure).
 */
const OURS_VARIANTS = {
  ours: {},
  'ours-workers-2': { GATEWAY_WORKERS: '2' },
  'ours-stock-executor': { GATEWAY_EXECUTOR: 'stock' },
  'ours-no-dedup': { INBOUND_DEDUP: 'off' },
  // Ours as it is: what differs is the page it is asked for (CONTENDER_PAGES).
  'ours-no-client-details': {},
  'ours-mixed': {},
} satisfies Record<string, Record<string, string>>;
const OURS_BASE: Record<string, string> = { GATEWAY_WORKERS: '1' };
/** Two replicas of ours (one process each) sharing Redis, behind one round-robin port. */
const REPLICAS = 2;
export const BENCH_REDIS_URL = 'redis://127.0.0.1:6379';

/**
 * Grafbase's gateway, with its in-flight deduplication as it comes (on) and off. That deduplication is of subgraph
 * requests: identical ones in flight at the same time are sent once and share the answer.
 */
const GRAFBASE_INFLIGHT_DEDUPLICATION = { grafbase: true, 'grafbase-no-dedup': false };

type OursVariant = keyof typeof OURS_VARIANTS;
type GrafbaseContender = keyof typeof GRAFBASE_INFLIGHT_DEDUPLICATION;
export type ContenderName = OursVariant | GrafbaseContender | 'ours-before' | 'ours-2-replicas-redis' | 'sync' | 'hive' | 'hive-cache' | 'hive-router' | 'gigs-only';

/** The baselines: contenders asked for another page than their scenario's. */
export const CONTENDER_PAGES: Partial<Record<ContenderName, LoadKind>> = {
  'gigs-only': 'gigsOnly',
  'ours-no-client-details': 'noClientDetailsPage',
  'ours-mixed': 'mixedPages',
};

/**
 * BENCH_OURS_BEFORE: another checkout of this project (with its own node_modules), run as the contender
 * `ours-before` beside `ours` in the scenarios that compare builds, so a change is measured against what it
 * replaced in the same run.
 */
export const OURS_BEFORE_ROOT = process.env.BENCH_OURS_BEFORE || null;

export interface StartedContender {
  /** The process the load talks to (the round-robin proxy for the replicas). */
  child: Child;
  url: string;
  /** Every process started for this contender, stopped together. */
  children: Child[];
  /** The gateway processes whose CPU and peak RSS are measured (each with its descendants). */
  measuredPids: number[];
  /** ours-2-replicas-redis: its Redis key prefix, so its keys can be removed after the run. */
  redisKeyPrefix?: string;
}

export interface ContenderSetup {
  root: string;
  workDir: string;
  supergraphFile: string;
  /**
   * For ours: the scenario's gateway settings (in the reference scenarios the reference deployment's, its
   * invalidation feeds, the subgraph secret and the development identity header; SUPERGRAPH is `supergraphFile`).
   */
  oursEnv: Record<string, string>;
  /** GATEWAY_SUBGRAPH_SECRET the reference subgraphs believe: sync and Hive sign the caller with it. */
  gatewaySecret: string;
  /** Node flags, e.g. --cpu-prof. */
  nodeFlags: string[];
}

export const CONTENDER_DESCRIPTIONS: Record<ContenderName, string> = {
  ours: 'this project\'s gateway (gateway/src/main.ts, started with its Node.js flags, gateway/src/nodeFlags.ts: --max-semi-space-size=64), its defaults (ROOT_FETCH_CACHE=tagged, GATEWAY_EXECUTOR=compiled), one worker (GATEWAY_WORKERS=1); in the reference scenarios the reference deployment\'s settings (schema/referenceGateway.ts: manifest, event types incl. seller-client-ids-applied, topclients late-answer timeout 3 s), evicting from topclients\', gigs\' and users\' change feeds, caller signed for the subgraphs (GATEWAY_SUBGRAPH_SECRET, development IDENTITY_HEADER=x-seller-id)',
  'ours-before': 'ours as built in another checkout (BENCH_OURS_BEFORE), with the same settings: the build a change is measured against',
  'ours-stock-executor': 'ours with GATEWAY_EXECUTOR=stock: @apollo/gateway\'s own executor over our read path, the reference the compiled executor is measured against',
  'ours-no-dedup': 'ours with INBOUND_DEDUP=off: identical operations in flight at the same time each run on their own (on by default, they run once and share the answer)',
  'ours-workers-2': 'ours with GATEWAY_WORKERS=2 (node:cluster: CPU and RSS summed over the primary and its workers); should no worker be forked, the results say it ran as one process',
  'ours-2-replicas-redis': 'two ours processes (GATEWAY_WORKERS=1 each, settings as ours) sharing Redis (REDIS_URL=redis://127.0.0.1:6379, a fresh REDIS_KEY_PREFIX per run) behind scripts/roundRobinProxy.ts in its own process; CPU and peak RSS summed over both gateways (the proxy\'s not counted)',
  sync: 'stock @apollo/gateway + @apollo/server standalone, stock RemoteGraphQLDataSource, one process; forwards the caller as a signed x-gateway-identity (jose, HS256, as our gateway signs it)',
  hive: '@graphql-hive/gateway CLI, `hive-gateway supergraph`, documented defaults, one process; its config\'s propagateHeaders sends the caller as a signed x-gateway-identity (jose, HS256)',
  'hive-cache': '@graphql-hive/gateway as above with its response cache on (`responseCaching: { session: () => null }`)',
  'hive-router': '@graphql-hive/gateway with `--hive-router-runtime` (@graphql-hive/router-runtime: the Rust query planner and its executor), otherwise defaults, one process',
  grafbase: 'Grafbase\'s Rust gateway: `grafbase dev` of the Grafbase CLI 0.103.0 (@grafbase/cli-x86_64-unknown-linux-musl, one static binary; its engine is grafbase-gateway 0.50.0\'s), its defaults (in-flight deduplication on: identical subgraph requests in flight at the same time are sent once), one process (its threads included); the subgraphs from their SDL files and URLs in a generated grafbase.toml, HOME a folder of the run',
  'grafbase-no-dedup': 'Grafbase as above with its in-flight deduplication off (`[traffic_shaping] inflight_deduplication = false`): every subgraph request sent on its own',
  'gigs-only': 'baseline: the sync gateway serving a gig page that needs only gigs (one fetch per page)',
  'ours-no-client-details': 'baseline of the deferred gig page (s2d, s4d): ours, same settings, serving the same gig page without the top clients\' details (its first payload asked whole: gig, seller\'s profile, top clients\' ids; no topclients call), read by the same client',
  'ours-mixed': 'the deferred gig page and the page without the top clients\' details on one gateway at the same time (s2d, s4d): every other page (of the steady load or of the burst) asks for each, so both first payloads are timed under the same load',
};

const require = createRequire(import.meta.url);

function isOurs(name: ContenderName): name is OursVariant {
  return name in OURS_VARIANTS;
}

function isGrafbase(name: ContenderName): name is GrafbaseContender {
  return name in GRAFBASE_INFLIGHT_DEDUPLICATION;
}

/** Whether a checkout of this project has a built release (scripts/buildRelease.ts): older ones run under tsx. */
export const hasBuiltRelease = (root: string) => existsSync(join(root, 'scripts', 'buildRelease.ts'));

/** One ours process on a free port, ready when `/ready` answers 200. */
async function startOurs(name: string, setup: ContenderSetup, env: Record<string, string>): Promise<{ child: Child; origin: string }> {
  // The gateway's own entry point, so whatever it does with its settings (workers included) is what is measured:
  // the built release, as `npm run gateway` runs it (an older checkout without one runs its sources under tsx).
  const port = await freePort();
  const entry = hasBuiltRelease(setup.root) ? ['gateway/src/main.js'] : ['--import', 'tsx', 'gateway/src/main.ts'];
  const child = startChild(name, [...GATEWAY_NODE_FLAGS, ...setup.nodeFlags, ...entry], {
    LOG_LEVEL: 'error',
    ...setup.oursEnv,
    ...env,
    PORT: String(port),
    HOST: '127.0.0.1',
    SUPERGRAPH: setup.supergraphFile,
  }, setup.root);
  try {
    await waitForHttp(child, `http://127.0.0.1:${port}/ready`, 60_000);
  } catch (error) {
    await child.stop();
    throw error;
  }
  return { child, origin: `http://127.0.0.1:${port}` };
}

export async function startContender(name: ContenderName, setup: ContenderSetup): Promise<StartedContender> {
  if (name === 'ours-before') {
    if (!OURS_BEFORE_ROOT) throw new Error('ours-before needs BENCH_OURS_BEFORE, the path of the checkout to compare with');
    const { child, origin } = await startOurs(name, { ...setup, root: OURS_BEFORE_ROOT }, OURS_BASE);
    return { child, url: `${origin}/graphql`, children: [child], measuredPids: [child.pid] };
  }
  if (isOurs(name)) {
    const { child, origin } = await startOurs(name, setup, { ...OURS_BASE, ...OURS_VARIANTS[name] });
    return { child, url: `${origin}/graphql`, children: [child], measuredPids: [child.pid] };
  }
  if (name === 'ours-2-replicas-redis') {
    const redisKeyPrefix = `bench-${randomUUID().slice(0, 8)}:`;
    const replicas: Child[] = [];
    try {
      const origins: string[] = [];
      for (let i = 1; i <= REPLICAS; i++) {
        const started = await startOurs(`${name}-${i}`, { ...setup, nodeFlags: [] }, { ...OURS_BASE, REDIS_URL: BENCH_REDIS_URL, REDIS_KEY_PREFIX: redisKeyPrefix });
        replicas.push(started.child);
        origins.push(started.origin);
      }
      const proxy = startChild(`${name}-proxy`, ['--import', 'tsx', 'bench/contenders/roundRobin.ts', ...origins], {}, setup.root);
      replicas.push(proxy);
      const url = await waitForLine(proxy, 'READY ', 60_000);
      return { child: proxy, url, children: replicas, measuredPids: replicas.filter((c) => c !== proxy).map((c) => c.pid), redisKeyPrefix };
    } catch (error) {
      await Promise.all(replicas.map((c) => c.stop()));
      throw error;
    }
  }
  if (isGrafbase(name)) return startGrafbase(name, setup);
  if (name === 'sync' || name === 'gigs-only') {
    const child = startChild(name, [...setup.nodeFlags, '--import', 'tsx', 'bench/contenders/sync.ts', setup.supergraphFile], {
      NODE_ENV: 'production',
      GATEWAY_SUBGRAPH_SECRET: setup.gatewaySecret,
    }, setup.root);
    return { child, url: await waitForLine(child, 'READY ', 60_000), children: [child], measuredPids: [child.pid] };
  }
  // Hive Gateway: its CLI as documented, a config file only to tell the subgraphs who the caller is (and, for
  // hive-cache, to turn the response cache on). The subgraphs believe only a gateway-signed identity, so its
  // propagateHeaders signs the caller's x-seller-id into x-gateway-identity with jose, as our gateway and the sync
  // contender do (the product's jose, imported by absolute URL: the config file lives in a temporary directory).
  // Fork count pinned to 1: one process, like the others. It comes from the bench's own package
  // (bench/package.json), resolved from here.
  const port = await freePort();
  const configFile = join(setup.workDir, `${name}.gateway.config.mjs`);
  writeFileSync(configFile, [
    `import { SignJWT } from ${JSON.stringify(joseUrl())};`,
    'const key = new TextEncoder().encode(process.env.GATEWAY_SUBGRAPH_SECRET);',
    'async function signedIdentity(request) {',
    "  const sellerId = request.headers.get('x-seller-id');",
    '  if (!sellerId) return {};',
    '  const issuedAt = Math.floor(Date.now() / 1000);',
    "  const token = await new SignJWT({}).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuer('gateway').setAudience('subgraphs')",
    '    .setSubject(sellerId).setIssuedAt(issuedAt).setExpirationTime(issuedAt + 60).sign(key);',
    "  return { 'x-gateway-identity': token };",
    '}',
    'export const gatewayConfig = {',
    `  supergraph: ${JSON.stringify(setup.supergraphFile)},`,
    '  propagateHeaders: { fromClientToSubgraphs: ({ request }) => signedIdentity(request) },',
    name === 'hive-cache' ? '  responseCaching: { session: () => null },' : '',
    '};',
  ].join('\n'));
  const bin = join(require.resolve('@graphql-hive/gateway/package.json'), '..', 'dist', 'bin.js');
  const child = startChild(name, [...setup.nodeFlags, bin, 'supergraph', setup.supergraphFile,
    '--host', '127.0.0.1', '--port', String(port), '--fork', '1', '--config-path', configFile,
    ...(name === 'hive-router' ? ['--hive-router-runtime'] : [])], {
    NODE_ENV: 'production',
    GATEWAY_SUBGRAPH_SECRET: setup.gatewaySecret,
  }, setup.workDir);
  await waitForHttp(child, `http://127.0.0.1:${port}/readiness`, 60_000);
  // Without the runtime package the CLI only warns and falls back to its default planner: that would be "hive" again.
  if (name === 'hive-router' && child.output.some((line) => line.includes('Could not load the @graphql-hive/router-runtime'))) {
    await child.stop();
    throw new Error('hive-router: @graphql-hive/router-runtime did not load, Hive Gateway fell back to its default runtime');
  }
  return { child, url: `http://127.0.0.1:${port}/graphql`, children: [child], measuredPids: [child.pid] };
}

/**
 * The product's own jose (the root node_modules; bench/node_modules holds an older one for Hive), as a file: URL an
 * .mjs anywhere can import.
 */
function joseUrl(): string {
  return pathToFileURL(createRequire(new URL('../package.json', import.meta.url)).resolve('jose')).href;
}

/**
 * Grafbase's CLI, `grafbase dev`: it composes the supergraph itself, from each subgraph's SDL file and URL in its
 * grafbase.toml. The binary is spawned itself, so the pid measured is the gateway's. HOME is a folder of the run, not
 * the user's: dev unpacks its local UI into ~/.grafbase, and finds no one's credentials there. Ready once a trivial
 * query is answered.
 */
async function startGrafbase(name: GrafbaseContender, setup: ContenderSetup): Promise<StartedContender> {
  const configFile = writeGrafbaseConfig(name, setup);
  const port = await freePort();
  const bin = join(require.resolve('@grafbase/cli-x86_64-unknown-linux-musl/package.json'), '..', 'grafbase');
  const child = startProgram(name, bin, ['dev', '--config', configFile, '--listen-address', `127.0.0.1:${port}`], {
    HOME: join(setup.workDir, 'grafbase-home'),
  }, dirname(configFile));
  try {
    await waitForHttp(child, `http://127.0.0.1:${port}/graphql?query=%7B__typename%7D`, 60_000);
  } catch (error) {
    await child.stop();
    throw error;
  }
  return { child, url: `http://127.0.0.1:${port}/graphql`, children: [child], measuredPids: [child.pid] };
}

/**
 * A folder of its own for one Grafbase start: each subgraph's SDL (OVERHEAD_SDL, what scenarios 6 and 7's supergraph
 * is composed from) and a grafbase.toml naming them with the URLs of the scenario's supergraph. Returns the
 * config file's path.
 */
function writeGrafbaseConfig(name: GrafbaseContender, setup: ContenderSetup): string {
  const dir = mkdtempSync(join(setup.workDir, `${name}-`));
  const lines: string[] = [];
  for (const [subgraph, url] of subgraphUrls(setup.supergraphFile)) {
    if (!Object.hasOwn(OVERHEAD_SDL, subgraph)) throw new Error(`${name}: no SDL for subgraph ${subgraph} (Grafbase runs on scenarios 6 and 7's graph only)`);
    writeFileSync(join(dir, `${subgraph}.graphql`), OVERHEAD_SDL[subgraph as OverheadSubgraphName]);
    lines.push(`[subgraphs.${subgraph}]`, `url = ${JSON.stringify(url)}`, `schema_path = "${subgraph}.graphql"`, '');
  }
  if (!GRAFBASE_INFLIGHT_DEDUPLICATION[name]) lines.push('[traffic_shaping]', 'inflight_deduplication = false', '');
  const configFile = join(dir, 'grafbase.toml');
  writeFileSync(configFile, lines.join('\n'));
  return configFile;
}

/** The subgraphs a supergraph file names and their URLs (its `@join__graph` directives). */
function subgraphUrls(supergraphFile: string): Map<string, string> {
  const urls = new Map<string, string>();
  for (const [, name, url] of readFileSync(supergraphFile, 'utf8').matchAll(/@join__graph\(name: "([^"]+)", url: "([^"]+)"\)/g)) urls.set(name!, url!);
  return urls;
}

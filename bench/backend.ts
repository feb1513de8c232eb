/**
 * The benchmark's backend: the three reference subgraphs, each in its own process with its delaying proxy
 * (bench/subgraphProcess.ts: PGlite in memory, seeded from the deterministic demo data; the proxy counts requests
 * and injects delay or failure), and the accounts/products/reviews/inventory subgraphs of scenarios 6 (small data)
 * and 7 (the public benchmarks' data, answered from memory) in this process. A control server on 127.0.0.1 lets
 * the orchestrator change a proxy's delay, take it down, read and reset the counts, and restart topclients (killed
 * and started again on the same PGlite folder and ports: the churn scenario's variant s3b).
 *
 * Usage: tsx bench/backend.ts '<json BackendOptions>'; prints `BACKEND <control url>` once everything listens.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import type { ProxyCounts } from './delayProxy.js';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServiceName } from '../subgraphs/services.js';
import { generateDemoData, sizeForScale } from '../subgraphs/toolkit/demoData.js';
import { SUPERGRAPH_FILE } from '../schema/subgraphs.js';
import type { ProxyBehaviour } from './delayProxy.js';
import { SMALL_DATA, startOverheadSubgraphs } from './overheadSubgraphs.js';
import { PUBLIC_BENCHMARK_DATA } from './publicBenchmarkData.js';
import { startChild, waitForLine, type Child } from './processes.js';
import { seededShuffle } from './zipf.js';

process.env.APOLLO_TELEMETRY_DISABLED = 'true';

export interface BackendOptions {
  scale: number;
  workDir: string;
  delays: Record<ServiceName, ProxyBehaviour>;
  /** How many edit targets (gig, seller, client) to offer the churn scenario, from the most popular gigs. */
  editTargets: number;
  /** Start the reference subgraphs (false when only scenarios 6 and 7 run: they need none of them). */
  reference: boolean;
  /** GATEWAY_SUBGRAPH_SECRET of the reference subgraphs: they act only for callers signed with it (fresh per run). */
  gatewaySecret: string;
}

export interface BackendInfo {
  referenceSupergraph: string;
  overheadSupergraph: string;
  /** Scenario 7: the same graph with the public benchmarks' data, answered from memory. */
  gatewayCostSupergraph: string;
  directUrls: Record<ServiceName, string>;
  proxyUrls: Record<ServiceName, string>;
  /** Gig ids in popularity order (rank 1 first); the load draws ranks from a Zipf distribution. */
  gigIdsByRank: string[];
  editTargets: { gigId: string; sellerId: string; clientId: string }[];
  demo: { sellers: number; clients: number; gigs: number };
}

const options = JSON.parse(process.argv[2] ?? '{}') as BackendOptions;
const demo = generateDemoData(sizeForScale(options.scale));
const root = fileURLToPath(new URL('..', import.meta.url));
// topclients first: gigs and users consume its change feed, as in npm start.
const names: ServiceName[] = options.reference === false ? [] : ['topclients', 'gigs', 'users'];
const children: Child[] = [];
process.on('exit', () => {
  for (const child of children) if (child.process.exitCode === null) child.process.kill('SIGKILL');
});
const subgraphs = {} as Record<ServiceName, { directUrl: string; proxyUrl: string; controlUrl: string }>;
const processes = {} as Record<ServiceName, Child>;
/** topclients keeps its data in a folder, so it can be restarted with what it had; the others live in memory. */
const restartable: Partial<Record<ServiceName, string>> = { topclients: join(options.workDir, 'topclients-pglite') };

async function startSubgraph(name: ServiceName, ports: { port?: number; proxyPort?: number } = {}): Promise<void> {
  const topclientsFeedUrl = name === 'topclients' ? undefined : subgraphs.topclients.directUrl.replace(/\/graphql$/, '/events');
  const child = startChild(name, ['--import', 'tsx', 'bench/subgraphProcess.ts', name, JSON.stringify({
    scale: options.scale, behaviour: options.delays[name], gatewaySecret: options.gatewaySecret, topclientsFeedUrl, dataDir: restartable[name], ...ports,
  })], {}, root);
  children.push(child);
  processes[name] = child;
  subgraphs[name] = JSON.parse(await waitForLine(child, 'SUBGRAPH ', 600_000));
}

// Started one after the other: seeding is CPU-bound, and three at once on two cores is no faster.
for (const name of names) await startSubgraph(name);

/** What a restarted subgraph's proxy had counted since the last reset, added to what its new one counts. */
const carried: Partial<Record<ServiceName, ProxyCounts>> = {};
const sum = (a: ProxyCounts, b: ProxyCounts | undefined): ProxyCounts =>
  (b ? { requests: a.requests + b.requests, entityRequests: a.entityRequests + b.entityRequests, refused: a.refused + b.refused, webSockets: a.webSockets + b.webSockets } : a);

/**
 * Kills the subgraph (SIGKILL: no goodbye, connections cut mid-request) and starts it again on the same folder and
 * ports; resolves once it serves, with how long it was away.
 */
async function restart(name: ServiceName): Promise<{ downMs: number }> {
  if (!restartable[name]) throw new Error(`${name} keeps its data in memory and cannot be restarted`);
  carried[name] = sum((await ask(name, '/counts')) as ProxyCounts, carried[name]);
  const killedAt = performance.now();
  const old = processes[name];
  await new Promise<void>((resolve) => {
    old.process.once('exit', () => resolve());
    old.process.kill('SIGKILL');
  });
  children.splice(children.indexOf(old), 1);
  await startSubgraph(name, { port: Number(new URL(subgraphs[name].directUrl).port), proxyPort: Number(new URL(subgraphs[name].proxyUrl).port) });
  return { downMs: performance.now() - killedAt };
}
const overhead = await startOverheadSubgraphs({ data: SMALL_DATA, memoize: false });
const gatewayCost = await startOverheadSubgraphs({ data: PUBLIC_BENCHMARK_DATA, memoize: true });

async function ask(name: ServiceName, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${subgraphs[name].controlUrl}${path}`, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) });
  return response.json();
}

let supergraph = readFileSync(SUPERGRAPH_FILE, 'utf8');
for (const name of names) {
  supergraph = supergraph.replace(new RegExp(`(@join__graph\\(name: "${name}", url: ")[^"]*(")`), `$1${subgraphs[name].proxyUrl}$2`);
}
const referenceSupergraph = join(options.workDir, 'reference.supergraph.graphql');
const overheadSupergraph = join(options.workDir, 'overhead.supergraph.graphql');
const gatewayCostSupergraph = join(options.workDir, 'gateway-cost.supergraph.graphql');
writeFileSync(referenceSupergraph, supergraph);
writeFileSync(overheadSupergraph, overhead.supergraphSdl);
writeFileSync(gatewayCostSupergraph, gatewayCost.supergraphSdl);

const sellers = new Map(demo.sellers.map((s) => [s.id, s]));
const gigIdsByRank = seededShuffle(demo.gigs.map((g) => g.id), 7);
const gigsById = new Map(demo.gigs.map((g) => [g.id, g]));
const editTargets: BackendInfo['editTargets'] = [];
const usedClients = new Set<string>();
for (const gigId of gigIdsByRank) {
  if (editTargets.length >= options.editTargets) break;
  const sellerId = gigsById.get(gigId)!.sellerId;
  const clientId = sellers.get(sellerId)?.topClientIds.find((c) => !usedClients.has(c));
  if (!clientId) continue;
  usedClients.add(clientId);
  editTargets.push({ gigId, sellerId, clientId });
}

const info: BackendInfo = {
  referenceSupergraph,
  overheadSupergraph,
  gatewayCostSupergraph,
  directUrls: Object.fromEntries(names.map((n) => [n, subgraphs[n].directUrl])) as Record<ServiceName, string>,
  proxyUrls: Object.fromEntries(names.map((n) => [n, subgraphs[n].proxyUrl])) as Record<ServiceName, string>,
  gigIdsByRank,
  editTargets,
  demo: demo.size,
};

const control = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    handle(req.method ?? 'GET', new URL(req.url ?? '/', 'http://backend').pathname, Buffer.concat(chunks).toString())
      .then((value) => {
        if (value === undefined) res.writeHead(404).end();
        else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(value));
      })
      .catch((error: unknown) => res.writeHead(500).end(String(error)));
  });
});

async function handle(method: string, path: string, body: string): Promise<unknown> {
  if (path === '/info') return info;
  if (path === '/counts') {
    const reference: Record<string, ProxyCounts> = {};
    for (const name of names) reference[name] = sum((await ask(name, '/counts')) as ProxyCounts, carried[name]);
    return { reference, overhead: { ...overhead.counts }, gatewayCost: { ...gatewayCost.counts } };
  }
  if (path === '/reset' && method === 'POST') {
    await Promise.all(names.map((name) => ask(name, '/reset', {})));
    for (const name of names) delete carried[name];
    overhead.resetCounts();
    gatewayCost.resetCounts();
    return { ok: true };
  }
  if (path === '/restart' && method === 'POST') {
    const { name } = JSON.parse(body || '{}') as { name: ServiceName };
    if (!names.includes(name)) throw new Error(`unknown subgraph ${name}`);
    return restart(name);
  }
  if (path === '/behaviour' && method === 'POST') {
    const change = JSON.parse(body || '{}') as { name: ServiceName } & Partial<ProxyBehaviour>;
    if (!names.includes(change.name)) throw new Error(`unknown subgraph ${change.name}`);
    const { name, ...behaviour } = change;
    return ask(name, '/behaviour', behaviour);
  }
  return undefined;
}
await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', () => resolve()));

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  control.close();
  await Promise.all(children.map((c) => c.stop()));
  await overhead.stop();
  await gatewayCost.stop();
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
console.log(`BACKEND http://127.0.0.1:${(control.address() as AddressInfo).port}`);

/**
 * The benchmark's backend, one child process: the three reference subgraphs (PGlite in memory, seeded once from the
 * deterministic demo data), a delaying proxy in front of each (where subgraph requests are counted and faults are
 * injected), and scenario 6's small accounts/products/reviews/inventory subgraphs. A control server on 127.0.0.1
 * lets the orchestrator change a proxy's delay, take it down, read and reset the counts.
 *
 * Usage: tsx bench/backend.ts '<json BackendOptions>'; prints `BACKEND <control url>` once everything listens.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SERVICES, type ServiceName } from '../subgraphs/services.js';
import { generateDemoData, sizeForScale } from '../subgraphs/toolkit/demoData.js';
import { startService, type RunningService } from '../subgraphs/toolkit/service.js';
import { SUPERGRAPH_FILE } from '../schema/subgraphs.js';
import { startDelayProxy, type ProxyBehaviour, type RunningProxy } from './delayProxy.js';
import { startOverheadSubgraphs } from './overheadSubgraphs.js';
import { seededShuffle } from './zipf.js';

process.env.APOLLO_TELEMETRY_DISABLED = 'true';

export interface BackendOptions {
  scale: number;
  workDir: string;
  delays: Record<ServiceName, ProxyBehaviour>;
  /** How many edit targets (gig, seller, client) to offer the churn scenario, from the most popular gigs. */
  editTargets: number;
}

export interface BackendInfo {
  referenceSupergraph: string;
  overheadSupergraph: string;
  directUrls: Record<ServiceName, string>;
  proxyUrls: Record<ServiceName, string>;
  /** Gig ids in popularity order (rank 1 first); the load draws ranks from a Zipf distribution. */
  gigIdsByRank: string[];
  editTargets: { gigId: string; sellerId: string; clientId: string }[];
  demo: { sellers: number; clients: number; gigs: number };
}

const options = JSON.parse(process.argv[2] ?? '{}') as BackendOptions;
const demo = generateDemoData(sizeForScale(options.scale));
const services = {} as Record<ServiceName, RunningService>;
const proxies = {} as Record<ServiceName, RunningProxy>;
for (const name of ['gigs', 'users', 'topclients'] as ServiceName[]) {
  services[name] = await startService(SERVICES[name], { storage: { kind: 'pglite' }, demoData: demo, host: '127.0.0.1', port: 0 });
  proxies[name] = await startDelayProxy(name, services[name].url, options.delays[name]);
}
const overhead = await startOverheadSubgraphs();

let supergraph = readFileSync(SUPERGRAPH_FILE, 'utf8');
for (const name of Object.keys(proxies) as ServiceName[]) {
  supergraph = supergraph.replace(new RegExp(`(@join__graph\\(name: "${name}", url: ")[^"]*(")`), `$1${proxies[name].url}$2`);
}
const referenceSupergraph = join(options.workDir, 'reference.supergraph.graphql');
const overheadSupergraph = join(options.workDir, 'overhead.supergraph.graphql');
writeFileSync(referenceSupergraph, supergraph);
writeFileSync(overheadSupergraph, overhead.supergraphSdl);

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
  directUrls: Object.fromEntries(Object.entries(services).map(([n, s]) => [n, s.url])) as Record<ServiceName, string>,
  proxyUrls: Object.fromEntries(Object.entries(proxies).map(([n, p]) => [n, p.url])) as Record<ServiceName, string>,
  gigIdsByRank,
  editTargets,
  demo: demo.size,
};

const control = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const url = new URL(req.url ?? '/', 'http://backend');
    const send = (value: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    if (url.pathname === '/info') return send(info);
    if (url.pathname === '/counts') {
      return send({
        reference: Object.fromEntries(Object.entries(proxies).map(([n, p]) => [n, { ...p.counts }])),
        overhead: { ...overhead.counts },
      });
    }
    if (url.pathname === '/reset' && req.method === 'POST') {
      for (const p of Object.values(proxies)) p.resetCounts();
      overhead.resetCounts();
      return send({ ok: true });
    }
    if (url.pathname === '/behaviour' && req.method === 'POST') {
      const change = JSON.parse(Buffer.concat(chunks).toString() || '{}') as { name: ServiceName } & Partial<ProxyBehaviour>;
      const proxy = proxies[change.name];
      if (!proxy) return res.writeHead(400).end(`unknown subgraph ${change.name}`);
      if (change.delayMs !== undefined) proxy.behaviour.delayMs = change.delayMs;
      if (change.jitterMs !== undefined) proxy.behaviour.jitterMs = change.jitterMs;
      if (change.down !== undefined) proxy.behaviour.down = change.down;
      return send(proxy.behaviour);
    }
    res.writeHead(404).end();
  });
});
await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', () => resolve()));

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  control.close();
  await Promise.all(Object.values(proxies).map((p) => p.stop()));
  await Promise.all(Object.values(services).map((s) => s.stop()));
  await overhead.stop();
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
console.log(`BACKEND http://127.0.0.1:${(control.address() as AddressInfo).port}`);

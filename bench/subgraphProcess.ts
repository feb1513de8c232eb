/**
 * One reference subgraph in its own process, as in a real deployment: the service (PGlite seeded from the
 * deterministic demo data, so every process agrees on the data; in memory, or in `dataDir` for a subgraph the bench
 * restarts, which then keeps what it had) and the delaying proxy in front of it, plus a small control server for
 * that proxy (`/behaviour`, `/counts`, `/reset`). Started by bench/backend.ts; a restart passes the ports it had.
 * As `npm start` runs it: it believes only identities signed with `gatewaySecret` (GATEWAY_SUBGRAPH_SECRET), sends
 * `stale-while-revalidate` with its default (STALE_WHILE_REVALIDATE_SECONDS), and
 * gigs and users consume topclients' change feed (`topclientsFeedUrl`, direct, not through any proxy) and publish
 * `seller-client-ids-applied` on their own `/events`.
 *
 * Usage: tsx bench/subgraphProcess.ts <name> '<json { scale, behaviour, gatewaySecret, topclientsFeedUrl?, dataDir?, port?, proxyPort? }>';
 * prints `SUBGRAPH <json>` when ready.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SERVICES, type ServiceName } from '../subgraphs/services.js';
import { generateDemoData, sizeForScale } from '../subgraphs/toolkit/demoData.js';
import { DEFAULT_STALE_WHILE_REVALIDATE_SECONDS } from '../subgraphs/toolkit/config.js';
import { defaultTemplateDir } from '../subgraphs/toolkit/pgliteTemplate.js';
import { startService } from '../subgraphs/toolkit/service.js';
import { startDelayProxy, type ProxyBehaviour } from './delayProxy.js';

process.env.APOLLO_TELEMETRY_DISABLED = 'true';
const name = process.argv[2] as ServiceName;
const { scale, behaviour, gatewaySecret, topclientsFeedUrl, dataDir, port = 0, proxyPort = 0 } = JSON.parse(process.argv[3] ?? '{}') as {
  scale: number;
  behaviour: ProxyBehaviour;
  gatewaySecret: string;
  topclientsFeedUrl?: string;
  dataDir?: string;
  port?: number;
  proxyPort?: number;
};
const service = await startService(SERVICES[name], {
  storage: dataDir ? { kind: 'pglite', dataDir, templateDir: defaultTemplateDir() } : { kind: 'pglite' },
  demoData: generateDemoData(sizeForScale(scale)),
  host: '127.0.0.1',
  port,
  gatewaySecret,
  staleWhileRevalidateSeconds: DEFAULT_STALE_WHILE_REVALIDATE_SECONDS,
  ...(topclientsFeedUrl ? { events: { transport: 'feed' as const, feedUrl: topclientsFeedUrl } } : {}),
});
const proxy = await startDelayProxy(name, service.url, behaviour, proxyPort);

const control = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const send = (value: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    if (req.url === '/counts') return send(proxy.counts);
    if (req.url === '/reset' && req.method === 'POST') {
      proxy.resetCounts();
      return send({ ok: true });
    }
    if (req.url === '/behaviour' && req.method === 'POST') {
      const change = JSON.parse(Buffer.concat(chunks).toString() || '{}') as Partial<ProxyBehaviour>;
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
  await proxy.stop();
  await service.stop();
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
console.log(`SUBGRAPH ${JSON.stringify({
  directUrl: service.url,
  proxyUrl: proxy.url,
  controlUrl: `http://127.0.0.1:${(control.address() as AddressInfo).port}`,
})}`);

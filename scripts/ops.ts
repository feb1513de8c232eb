/**
 * Operations on a running system's ID propagation:
 *   npm run ops -- check              compare gigs' and users' seller IDs with topclients; prints the drift (exit 1 if any)
 *   npm run ops -- lag                each page subgraph's consumer: transport, position, events not yet applied, parked
 *   npm run ops -- rebuild <gigs|users>   re-project that subgraph's IDs from topclients' snapshot
 * Services are found at SUBGRAPH_<NAME>_URL (as the gateway's) or http://127.0.0.1:<NAME>_PORT (defaults 4001-4003).
 */
import { SUBGRAPHS } from '../schema/subgraphs.js';
import type { ProjectionSnapshot, SellerIds } from '../subgraphs/toolkit/pageSubgraphEvents.js';
import { driftCount, projectionDrift } from '../subgraphs/toolkit/projectionDrift.js';

const PAGE_SUBGRAPHS = ['gigs', 'users'] as const;
type PageSubgraph = (typeof PAGE_SUBGRAPHS)[number];

function baseUrl(name: string): string {
  const upper = name.toUpperCase();
  const explicit = process.env[`SUBGRAPH_${upper}_URL`];
  if (explicit) return explicit.replace(/\/graphql\/?$/, '');
  const port = process.env[`${upper}_PORT`] || SUBGRAPHS.find((s) => s.name === name)!.defaultPort;
  return `http://127.0.0.1:${port}`;
}

async function getJson<T>(url: string, init?: RequestInit): Promise<T> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(60_000) });
  } catch (error) {
    throw new Error(`cannot reach ${url}: ${(error as Error).message} (is the system running? npm start)`);
  }
  const text = await response.text();
  if (!response.ok) throw new Error(`${url} answered HTTP ${response.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

async function check(): Promise<number> {
  const snapshot = await getJson<ProjectionSnapshot>(`${baseUrl('topclients')}/events/snapshot`);
  let total = 0;
  for (const name of PAGE_SUBGRAPHS) {
    const { lists } = await getJson<{ lists: SellerIds[] }>(`${baseUrl(name)}/projection`);
    const drift = projectionDrift(snapshot.lists, lists);
    const count = driftCount(drift);
    total += count;
    console.log(`${name}: ${count === 0 ? 'in step' : `${count} seller(s) drift`} (${drift.sellers} sellers with a list at topclients, outbox head ${snapshot.head})`);
    const show = (label: string, items: unknown[]) => {
      if (items.length > 0) console.log(`  ${label} (${items.length}): ${items.slice(0, 10).map((i) => (typeof i === 'string' ? i : JSON.stringify(i))).join(', ')}${items.length > 10 ? ', ...' : ''}`);
    };
    show('missing', drift.missing);
    show('extra', drift.extra);
    show('behind (version)', drift.behind);
    show('different ids at the same version', drift.different);
  }
  if (total > 0) console.log('Behind can be events in flight: run `ops lag`. Lasting drift: `ops rebuild <gigs|users>`.');
  return total === 0 ? 0 : 1;
}

async function lag(): Promise<number> {
  for (const name of PAGE_SUBGRAPHS) {
    const status = await getJson<{ transport: string; position: number; lag: number | null; parked: number; applied: number }>(`${baseUrl(name)}/events/status`);
    console.log(`${name}: transport ${status.transport}, position ${status.position}, lag ${status.lag ?? 'unknown (source unreachable)'} event(s), parked ${status.parked}`);
  }
  return 0;
}

async function rebuild(name: string | undefined): Promise<number> {
  if (!PAGE_SUBGRAPHS.includes(name as PageSubgraph)) {
    console.error(`usage: npm run ops -- rebuild <${PAGE_SUBGRAPHS.join('|')}>`);
    return 2;
  }
  const result = await getJson<{ sellers: number; written: number; removed: number }>(`${baseUrl(name!)}/projection/rebuild`, { method: 'POST' });
  console.log(`${name}: rebuilt from topclients: ${result.sellers} sellers, ${result.written} rows written, ${result.removed} removed`);
  return 0;
}

const [command, argument] = process.argv.slice(2);
try {
  const code = command === 'check' ? await check()
    : command === 'lag' ? await lag()
      : command === 'rebuild' ? await rebuild(argument)
        : (console.error('usage: npm run ops -- <check | lag | rebuild <gigs|users>>'), 2);
  process.exit(code);
} catch (error) {
  console.error(`ops ${command}: ${(error as Error).message}`);
  process.exit(2);
}

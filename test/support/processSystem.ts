/**
 * The reference deployment as real processes, for the tests that kill, cut and restart its parts: the three
 * subgraphs (`subgraphs/main.ts`, PGlite under a temporary DATA_DIR, seeded at SEED_SCALE 0.01) and gateways
 * (`gateway/src/main.ts`), each started when the test says, in any order. A test can put a TCP gate between a
 * gateway and topclients' change feed, so it decides when that gateway can hear topclients' events.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, onTestFailed } from 'vitest';
import { startGatewayProcess, type GatewayProcess } from '../../gateway/test/support/gatewayProcess.js';
import { ACCEPT, mergePayloads, sendAccepting } from '../../gateway/test/support/incrementalAnswers.js';
import { operation } from '../../schema/operations.js';
import { REFERENCE_GATEWAY_ENV } from '../../schema/referenceGateway.js';
import { generateDemoData, sizeForScale } from '../../subgraphs/toolkit/demoData.js';
import { DEVELOPMENT_IDENTITY_ENV, TEST_SUBGRAPH_SECRET } from './gatewayTrust.js';
import { graphqlRequest } from './graphqlRequest.js';
import { freePort, serviceProcess, type ServiceProcess } from './serviceProcess.js';

export const PROCESS_SCALE = 0.01;
const NAMES = ['topclients', 'gigs', 'users'] as const;
export type SubgraphName = (typeof NAMES)[number];

export interface ProcessSystem {
  demo: ReturnType<typeof generateDemoData>;
  subgraphs: Record<SubgraphName, ServiceProcess>;
  /** `<subgraph>/events` of each. */
  feedUrl(name: SubgraphName): string;
  /** A gig whose seller has at least `clients` top clients: the seller, the gig and the clients' ids, in order. */
  gigWithClients(clients: number): { sellerId: string; gigId: string; clientIds: string[] };
  /** The settings every gateway of this system gets (the reference deployment's, on these subgraphs). */
  gatewayEnv: Record<string, string>;
  /** Starts a gateway process (PORT picked here unless `env` names one) and resolves once it serves, ready or not. */
  startGateway(env?: Record<string, string>): Promise<RunningGatewayProcess>;
  /**
   * Called in a test: if it fails, every gateway's log is printed. A wait on a log line that never comes fails only
   * by the test's timeout, which does not say what the gateways did meanwhile.
   */
  printLogsIfFailed(): void;
  stop(): Promise<void>;
}

export interface RunningGatewayProcess extends GatewayProcess {
  url: string;
  /** GET /ready: its status code and body. */
  ready(): Promise<{ status: number; body: any }>;
  /** The gig page as the pages ask for it: the names of its seller's top clients, in order. */
  topClientNames(gigId: string): Promise<string[]>;
  /** Runs an operation of schema/operations as `sellerId` (named by the development identity header). */
  run(name: string, variables: Record<string, unknown>, sellerId?: string): Promise<{ status: number; body: any }>;
}

/** Subgraphs are made here but started by the test (`system.subgraphs.x.start()`), in the order it needs. */
export async function processSystem(env: Record<string, string> = {}): Promise<ProcessSystem> {
  const dataDir = await mkdtemp(join(tmpdir(), 'process-system-'));
  const ports = Object.fromEntries(await Promise.all(NAMES.map(async (name) => [name, await freePort()] as const))) as Record<SubgraphName, number>;
  const common = {
    DATA_DIR: dataDir,
    SEED_SCALE: String(PROCESS_SCALE),
    TOPCLIENTS_FEED_URL: `http://127.0.0.1:${ports.topclients}/events`,
    GATEWAY_SUBGRAPH_SECRET: TEST_SUBGRAPH_SECRET,
    ...env,
  };
  const subgraphs = Object.fromEntries(NAMES.map((name) => [name, serviceProcess(name, ports[name], common)])) as Record<SubgraphName, ServiceProcess>;
  const gateways: GatewayProcess[] = [];
  const gatewayEnv = {
    ...REFERENCE_GATEWAY_ENV,
    ...DEVELOPMENT_IDENTITY_ENV,
    GATEWAY_WORKERS: '1',
    ...Object.fromEntries(NAMES.map((name) => [`SUBGRAPH_${name.toUpperCase()}_URL`, `${subgraphs[name].baseUrl}/graphql`])),
  };
  const demo = generateDemoData(sizeForScale(PROCESS_SCALE));
  return {
    demo,
    subgraphs,
    feedUrl: (name) => `${subgraphs[name].baseUrl}/events`,
    gigWithClients(clients) {
      const seller = demo.sellers.find((s) => s.topClientIds.length >= clients && demo.gigs.some((g) => g.sellerId === s.id))!;
      return { sellerId: seller.id, gigId: demo.gigs.find((g) => g.sellerId === seller.id)!.id, clientIds: seller.topClientIds };
    },
    gatewayEnv,
    async startGateway(extra = {}) {
      // A test restarting a gateway on its port names it.
      const port = extra.PORT ? Number(extra.PORT) : await freePort();
      const gateway = startGatewayProcess({ ...gatewayEnv, PORT: String(port), ...extra });
      gateways.push(gateway);
      await gateway.lineAfter(0, (line) => line.msg === 'gateway ready' || String(line.msg).startsWith('gateway serving'));
      const url = `http://127.0.0.1:${port}/graphql`;
      const run = async (name: string, variables: Record<string, unknown>, sellerId?: string) =>
        graphqlRequest(url, operation(name).body, variables, sellerId ? { 'x-seller-id': sellerId } : {});
      return Object.assign(gateway, {
        url,
        run,
        async ready() {
          const response = await fetch(url.replace('/graphql', '/ready'));
          return { status: response.status, body: await response.json() };
        },
        /** As the pages read it: in parts, the top clients deferred (so no page budget cuts them on a busy machine). */
        async topClientNames(gigId: string) {
          const answer = await sendAccepting(url, { query: operation('GigPage').body, variables: { id: gigId } }, ACCEPT['deferSpec=20220824']);
          const page = mergePayloads(answer.payloads, 'deferSpec=20220824');
          expect(page.errors, JSON.stringify(page.errors)).toEqual([]);
          return (page.data.gig.seller.topClients as { name: string }[]).map((c) => c.name);
        },
      });
    },
    printLogsIfFailed() {
      onTestFailed(() => {
        gateways.forEach((gateway, index) => console.log(`gateway ${index + 1} (pid ${gateway.child.pid}) logged:\n${gateway.logged('').map((line) => JSON.stringify(line)).join('\n')}`));
      });
    },
    async stop() {
      for (const gateway of gateways) {
        if (gateway.child.exitCode !== null || gateway.child.signalCode !== null) continue;
        const exited = gateway.exited;
        gateway.child.kill('SIGKILL');
        await exited;
      }
      await Promise.all(NAMES.map((name) => subgraphs[name].kill()));
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

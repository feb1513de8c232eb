/**
 * The request path stays short enough to follow, and gateway/ARCHITECTURE.md walks it as it is: one gig page (its
 * manifest id over GET, as the pages send it) whose `topClients` need `_entities` from topclients, cold (no client
 * cached) and warm (the same page again). The files of gateway/src it runs are counted by V8 coverage between two
 * takes; the walk in ARCHITECTURE.md must list exactly those files, and the executor must reach the transport by
 * static imports.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { jsonLogger } from '../../src/logger.js';
import { startGateway, type RunningGateway } from '../../src/server.js';
import { generateDemoData, sizeForScale } from '../../../subgraphs/toolkit/demoData.js';
import { gatewayEnvFor, startSubgraphs } from '../../../test/support/system.js';
import { MANIFEST_FILE } from '../../../schema/referenceGateway.js';
import { requestPathCoverage, type PathCoverage } from '../support/requestPathCoverage.js';

/** The most files of gateway/src one cold gig page may run. */
const MOST_FILES_COLD = 30;
const SOURCE_ROOT = new URL('../../src/', import.meta.url);
const ARCHITECTURE = readFileSync(new URL('../../ARCHITECTURE.md', import.meta.url), 'utf8');

/** The files a section of ARCHITECTURE.md's walk names: every `path.ts` in backticks between its heading and the next. */
function walkedFiles(heading: string): string[] {
  const start = ARCHITECTURE.indexOf(heading);
  expect(start, `ARCHITECTURE.md has a section "${heading}"`).toBeGreaterThan(-1);
  const end = ARCHITECTURE.indexOf('\n#', start + heading.length);
  const section = ARCHITECTURE.slice(start, end === -1 ? undefined : end);
  return [...new Set([...section.matchAll(/`([\w/]+\.ts)`/g)].map((match) => match[1]!))].sort();
}

/** Files a module imports (for their values only, or types too), relative to gateway/src. */
function importsOf(file: string, withTypes: boolean): string[] {
  const text = readFileSync(new URL(file, SOURCE_ROOT), 'utf8');
  const pattern = withTypes ? /^import [^;]*? from '(\.{1,2}\/[^']+)\.js';/gm : /^import (?!type )[^;]*? from '(\.{1,2}\/[^']+)\.js';/gm;
  return [...text.matchAll(pattern)].map((match) => new URL(`${match[1]}.ts`, new URL(file, SOURCE_ROOT)).pathname.slice(SOURCE_ROOT.pathname.length));
}

function staticallyReaches(from: string, to: string): boolean {
  const seen = new Set<string>([from]);
  const queue = [from];
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (file === to) return true;
    for (const next of importsOf(file, false)) {
      if (!seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
  return false;
}

describe('one gig page through the code', () => {
  const demo = generateDemoData(sizeForScale(0.01));
  let backends: Awaited<ReturnType<typeof startSubgraphs>>;
  let gateway: RunningGateway;
  let cold: PathCoverage;
  let warm: PathCoverage;

  beforeAll(async () => {
    backends = await startSubgraphs('pglite', demo);
    gateway = await startGateway(loadConfig(gatewayEnvFor(backends.subgraphs)), { logger: jsonLogger('error') });
    const manifest = JSON.parse(readFileSync(MANIFEST_FILE, 'utf8')) as { operations: { id: string; name: string }[] };
    const id = manifest.operations.find((operation) => operation.name === 'GigPage')!.id;
    const clientsOf = (gigId: string) => demo.sellers.find((seller) => seller.id === demo.gigs.find((gig) => gig.id === gigId)!.sellerId)!.topClientIds;
    const withClients = demo.gigs.filter((gig) => clientsOf(gig.id).length > 0);
    const first = withClients[0]!;
    // A page none of whose clients the first page cached: every one of them is fetched from topclients.
    const second = withClients.find((gig) => !clientsOf(gig.id).some((client) => clientsOf(first.id).includes(client)))!;
    const page = async (gigId: string) => {
      const params = new URLSearchParams({
        operationName: 'GigPage',
        variables: JSON.stringify({ id: gigId }),
        extensions: JSON.stringify({ persistedQuery: { version: 1, sha256Hash: id } }),
      });
      const response = await fetch(`${gateway.url}?${params}`, { headers: { 'apollo-require-preflight': 'true' } });
      const body = (await response.json()) as { data?: { gig?: { seller?: { topClients?: unknown[] } } }; errors?: unknown };
      expect(body.errors).toBeUndefined();
      expect(body.data?.gig?.seller?.topClients).toHaveLength(clientsOf(gigId).length);
    };
    // The first page plans the operation and opens the connections; the walk is about a page, not a start.
    await page(first.id);
    cold = await requestPathCoverage(() => page(second.id));
    warm = await requestPathCoverage(() => page(second.id));
  });

  afterAll(async () => {
    await gateway?.stop();
    await backends?.stop();
  });

  it(`runs at most ${MOST_FILES_COLD} files of gateway/src cold, and fewer warm`, () => {
    expect(cold.files.length, cold.files.join('\n')).toBeLessThanOrEqual(MOST_FILES_COLD);
    expect(warm.files.length).toBeLessThan(cold.files.length);
    expect(warm.files.filter((file) => !cold.files.includes(file))).toEqual([]);
  });

  it('is walked file by file in gateway/ARCHITECTURE.md, cold and warm', () => {
    expect(walkedFiles('### A cold gig page')).toEqual(cold.files);
    expect(walkedFiles('### The same page, warm')).toEqual(warm.files);
  });

  it('leads from the executor to the transport through code a reader can follow: no lookup at run time', () => {
    // The executor is handed the read path (typed), calls its fetch, and the read path imports every stage.
    expect(importsOf('execution/planRunner.ts', true)).toContain('datasource/readPath.ts');
    expect(readFileSync(new URL('execution/planRunner.ts', SOURCE_ROOT), 'utf8')).toContain('run.readPath.fetch(');
    expect(staticallyReaches('datasource/readPath.ts', 'datasource/stages/transport.ts')).toBe(true);
    expect(staticallyReaches('runtime.ts', 'execution/planRunner.ts')).toBe(true);
    // Apollo's internals are read in one module, and nowhere else.
    const sources = (readdirSync(SOURCE_ROOT, { recursive: true }) as string[]).filter((file) => file.endsWith('.ts'));
    const reading = sources.filter((file) => /\.serviceMap\b|@apollo\/gateway\/dist/.test(readFileSync(new URL(file, SOURCE_ROOT), 'utf8')));
    expect(reading).toEqual(['execution/gatewayInternals.ts']);
  });
});

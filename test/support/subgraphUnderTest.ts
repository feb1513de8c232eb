/** One subgraph service on port 0 over PGlite (in memory) or a fresh PostgreSQL database, seeded with demo data. */
import type { SubgraphService } from '../../subgraphs/toolkit/service.js';
import { startService, type RunningService } from '../../subgraphs/toolkit/service.js';
import type { RequestContext } from '../../subgraphs/toolkit/subgraphServer.js';
import type { DemoData } from '../../subgraphs/toolkit/demoData.js';
import { TEST_SUBGRAPH_SECRET } from './gatewayTrust.js';
import { createTestDatabase, postgresAvailable } from './postgres.js';
import type { StorageKind } from './system.js';

export const STORAGE_KINDS: StorageKind[] = postgresAvailable ? ['pglite', 'postgres'] : ['pglite'];

export async function startSubgraphUnderTest<T extends RequestContext>(
  service: SubgraphService<T>,
  storage: StorageKind,
  demo: DemoData,
): Promise<RunningService> {
  if (storage === 'pglite') return startService(service, { demoData: demo, gatewaySecret: TEST_SUBGRAPH_SECRET });
  const database = await createTestDatabase(`t_${service.name}`);
  const running = await startService(service, { storage: { kind: 'postgres', url: database.url, poolSize: 4 }, demoData: demo, gatewaySecret: TEST_SUBGRAPH_SECRET });
  return {
    ...running,
    async stop() {
      await running.stop();
      await database.drop();
    },
  };
}

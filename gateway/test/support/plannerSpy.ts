/**
 * Watches the query planner of the supergraph a gateway runs now: each call is an operation planned, so a test can
 * say how many of its requests were planned and how many found their plan prepared.
 */
import { vi } from 'vitest';
import { gatewayInternals, loadDataRewrites } from '../../src/execution/gatewayInternals.js';
import type { RunningGateway } from '../../src/server.js';

export async function watchPlanner(running: RunningGateway) {
  const internals = gatewayInternals(running.gateway, await loadDataRewrites());
  if (!internals) throw new Error('the gateway has no compiled executor internals to watch');
  return vi.spyOn(internals.queryPlanner, 'buildQueryPlan');
}

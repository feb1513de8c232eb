/**
 * The report stage: counts every subgraph call on /metrics (kind, outcome, duration) and logs every failed call
 * once, as one JSON line an operator can act on: subgraph, code, upstream status, the start of its answer, the
 * operation and the request ids of the callers that were waiting.
 */
import type { Clock } from '../../clock.js';
import type { SubgraphFailure } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { GatewayMetrics } from '../../metrics/registry.js';
import type { Stage } from '../pipeline.js';

export interface ReportStageOptions {
  serviceName: string;
  metrics: GatewayMetrics;
  logger: Logger;
  clock: Clock;
}

export function reportStage({ serviceName, metrics, logger, clock }: ReportStageOptions): Stage {
  return (next) => async (call) => {
    const kind = call.kind;
    const startedAtMs = clock.now();
    const outcome = await next(call);
    metrics.subgraphDuration.observe({ subgraph: serviceName, kind }, (clock.now() - startedAtMs) / 1000);
    if (outcome.kind === 'answered') {
      metrics.subgraphRequests.inc({ subgraph: serviceName, kind, outcome: outcome.response.status === 304 ? 'not_modified' : 'ok' });
      return outcome;
    }
    const { failure } = outcome;
    metrics.subgraphRequests.inc({ subgraph: serviceName, kind, outcome: failure.code });
    metrics.failures.inc({ subgraph: serviceName, code: failure.code });
    // A breaker that is open fails every call the same way; its state changes are logged by the breaker instead.
    (failure.code === 'SUBGRAPH_CIRCUIT_OPEN' ? logger.debug : logger.warn)('subgraph call failed', {
      subgraph: serviceName,
      code: failure.code,
      reason: failure.message,
      upstreamStatus: failure.status,
      bodyExcerpt: failure.bodyExcerpt,
      cause: causeOf(failure),
      countsAgainstSubgraph: failure.countsAgainstSubgraph,
      kind,
      operationName: call.operationName,
      requestIds: call.requestIds,
    });
    return outcome;
  };
}

function causeOf(failure: SubgraphFailure): string | undefined {
  const cause = failure.cause as { code?: string; message?: string } | undefined;
  return cause ? (cause.code ?? cause.message) : undefined;
}

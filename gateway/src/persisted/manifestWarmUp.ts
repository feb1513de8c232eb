/**
 * How the manifest's operations are prepared ahead when a supergraph loads (PLAN_WARMUP): the executor prepares its
 * queries and mutations (execution/compiledExecutor.ts), the streams its subscriptions (subscriptions/operationStreams.ts).
 */
import type { ManifestOperation } from './manifest.js';

/**
 * Prepares `operations` one per turn of the event loop, so that a warm-up during traffic holds a request up by one
 * operation's planning at most, until `current` says another supergraph has replaced the one they are prepared for.
 * `prepareOne` says whether it prepared the operation (false: it was prepared already, or could not be). Resolves
 * with how many were prepared, or null when the supergraph was replaced before the last.
 */
export async function prepareOnePerTurn(
  operations: readonly ManifestOperation[],
  current: () => boolean,
  prepareOne: (operation: ManifestOperation) => boolean,
): Promise<number | null> {
  let prepared = 0;
  for (const operation of operations) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (!current()) return null;
    if (prepareOne(operation)) prepared += 1;
  }
  return prepared;
}

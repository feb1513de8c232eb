/**
 * Which operation of a document runs: the one `operationName` names, or the only one. ApolloGateway answers a
 * name that picks nothing with HTTP 500 (it resolves the operation itself, after Apollo Server's checks), so the
 * choice is checked here first and refused as Apollo Server refuses it without a gateway: 400
 * OPERATION_RESOLUTION_FAILURE.
 */
import { Kind } from 'graphql';
import type { Refusal } from './persistedErrors.js';
import { tryParse } from './queryLimits.js';
import { textMemo } from './textMemo.js';

/** The operation names of each text seen (null: it does not parse): parsing is most of this check's cost. */
const namesByText = textMemo<{ names: string[] | null }>();

/** A refusal when `operationName` picks no operation of `query`; undefined when it does or the text does not parse. */
export function checkOperationChoice(query: string, operationName: unknown): Refusal | undefined {
  // Anything but a string or nothing is Apollo Server's to refuse (400 BAD_REQUEST).
  if (operationName !== undefined && operationName !== null && typeof operationName !== 'string') return undefined;
  const { names } = operationNames(query);
  if (!names) return undefined;
  const problem = choiceProblem(names, operationName || undefined);
  return problem ? { status: 400, code: 'OPERATION_RESOLUTION_FAILURE', message: problem } : undefined;
}

function operationNames(query: string): { names: string[] | null } {
  let known = namesByText.get(query);
  if (!known) {
    const document = tryParse(query);
    known = { names: document ? document.definitions.flatMap((d) => (d.kind === Kind.OPERATION_DEFINITION ? [d.name?.value ?? ''] : [])) : null };
    namesByText.set(query, known);
  }
  return known;
}

function choiceProblem(names: readonly string[], operationName: string | undefined): string | undefined {
  if (names.length === 0) return undefined;
  if (operationName === undefined) {
    return names.length > 1 ? 'Must provide operation name if query contains multiple operations.' : undefined;
  }
  return names.includes(operationName) ? undefined : `Unknown operation named "${operationName}".`;
}

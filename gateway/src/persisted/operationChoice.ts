/**
 * Which operation of a document runs: the one `operationName` names, or the only one. ApolloGateway answers a
 * name that picks nothing with HTTP 500 (it resolves the operation itself, after Apollo Server's checks), so the
 * choice is checked here first and refused as Apollo Server refuses it without a gateway: 400
 * OPERATION_RESOLUTION_FAILURE.
 */
import { Kind, type DocumentNode } from 'graphql';
import type { Refusal } from './persistedErrors.js';
import { tryParse } from './queryLimits.js';

/** A refusal when `operationName` picks no operation of `query`; undefined when it does or the text does not parse. */
export function checkOperationChoice(query: string, operationName: unknown): Refusal | undefined {
  // Anything but a string or nothing is Apollo Server's to refuse (400 BAD_REQUEST).
  if (operationName !== undefined && operationName !== null && typeof operationName !== 'string') return undefined;
  const document = tryParse(query);
  if (!document) return undefined;
  const problem = choiceProblem(document, operationName || undefined);
  return problem ? { status: 400, code: 'OPERATION_RESOLUTION_FAILURE', message: problem } : undefined;
}

function choiceProblem(document: DocumentNode, operationName: string | undefined): string | undefined {
  const names = document.definitions.flatMap((d) => (d.kind === Kind.OPERATION_DEFINITION ? [d.name?.value ?? ''] : []));
  if (names.length === 0) return undefined;
  if (operationName === undefined) {
    return names.length > 1 ? 'Must provide operation name if query contains multiple operations.' : undefined;
  }
  return names.includes(operationName) ? undefined : `Unknown operation named "${operationName}".`;
}

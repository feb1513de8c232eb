/**
 * A subgraph call's deadline: the smaller of the subgraph's own timeout and what is left of the operation's
 * budget. Time enters as a parameter, so this is a pure function.
 */
export interface Deadline {
  /** Milliseconds this call may take (0 = the budget is already spent). */
  timeoutMs: number;
  /** Which limit decided it, for the error message. */
  limitedBy: 'subgraph timeout' | 'operation budget';
}

export function fetchDeadline(nowMs: number, subgraphTimeoutMs: number, operationDeadlineAtMs: number): Deadline {
  const budgetLeftMs = Math.max(0, Math.floor(operationDeadlineAtMs - nowMs));
  return budgetLeftMs < subgraphTimeoutMs
    ? { timeoutMs: budgetLeftMs, limitedBy: 'operation budget' }
    : { timeoutMs: subgraphTimeoutMs, limitedBy: 'subgraph timeout' };
}

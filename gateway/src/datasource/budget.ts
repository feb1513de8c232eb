/**
 * Every time limit one fetch runs under, worked out here and nowhere else, on the gateway's one clock. A fetch gets
 * its budget when it starts (`fetchBudget`), and the budget travels with it: the merge stage reads how long the page
 * waits (`waitingEnds`), the deadline stage how long the call may take (`callDeadline`) and how long it may go on
 * late to fill the cache (`lateLeftMs`).
 *
 * - The operation budget (OPERATION_BUDGET_MS) counts from the request's admission: nothing of it runs past it.
 * - The page budget for a subgraph (ENTITY_PAGE_BUDGET_MS, per subgraph too) counts from admission as well: past it
 *   the page stops waiting for that subgraph's entities, whatever came before.
 * - The call's timeout (SUBGRAPH_TIMEOUT_MS for root fetches, ENTITY_TIMEOUT_MS for entities) counts from when the
 *   call leaves: only that one measures the subgraph. An entity load also waits at most that long from when it asked
 *   (queue included), since a busy call slot is the subgraph not answering.
 * - A cacheable entity call past its deadline may go on, up to the subgraph's root timeout from when it left
 *   (LATE_CALLS_PER_SUBGRAPH of them at once), so its late answer fills the cache for the pages after this one.
 */
import type { GatewayRequest } from '../request.js';

/** A subgraph's time limits (per subgraph settings over the defaults). */
export interface SubgraphLimits {
  /** Root fetches (and the gateway's own calls); also how long a late entity call may run in all. */
  timeoutMs: number;
  /** Entity fetches, which fill optional parts of a page and so get a shorter leash. */
  entityTimeoutMs: number;
  /** How long after its admission a page waits for this subgraph's entities; null: no such limit. */
  entityPageBudgetMs: number | null;
}

/** One fetch's limits. */
export interface FetchBudget {
  /** The operation budget's end (clock ms). */
  operationEndsAtMs: number;
  /** The page budget for this subgraph's entities (ms from admission), and when it ends (clock ms); null: none. */
  pageBudgetMs: number | null;
  pageEndsAtMs: number | null;
  /** How long one call may take from when it leaves. */
  callTimeoutMs: number;
  /** How long a call past its deadline may go on in all, from when it left, to fill the cache; 0: it may not. */
  lateAllowanceMs: number;
}

/**
 * The budget of a fetch of `kind` made for `request` to a subgraph with these limits. Only anonymous entity fetches
 * of a client that did not ask for revalidation may finish late: a private answer or one nobody would store is not
 * worth waiting for.
 */
export function fetchBudget(request: GatewayRequest, limits: SubgraphLimits, kind: 'root' | 'entities', mayFinishLate: boolean): FetchBudget {
  const pageBudgetMs = kind === 'entities' && limits.entityPageBudgetMs ? limits.entityPageBudgetMs : null;
  return {
    operationEndsAtMs: request.deadlineAtMs,
    pageBudgetMs,
    pageEndsAtMs: pageBudgetMs === null ? null : request.admittedAtMs + pageBudgetMs,
    callTimeoutMs: kind === 'entities' ? limits.entityTimeoutMs : limits.timeoutMs,
    lateAllowanceMs: kind === 'entities' && mayFinishLate ? limits.timeoutMs : 0,
  };
}

/** A budget with no limit but the subgraph's own timeout: the gateway's own calls (health checks, schema loading). */
export function internalBudget(limits: SubgraphLimits): FetchBudget {
  return { operationEndsAtMs: Number.POSITIVE_INFINITY, pageBudgetMs: null, pageEndsAtMs: null, callTimeoutMs: limits.timeoutMs, lateAllowanceMs: 0 };
}

/** How long a waiter waits from now, and how its failure reads when that time is up. */
export function waitingEnds(budget: FetchBudget, subgraph: string, nowMs: number): { waitMs: number; message: string } {
  const budgetLeftMs = Math.max(0, Math.floor(budget.operationEndsAtMs - nowMs));
  const pageLeftMs = budget.pageEndsAtMs === null ? Number.POSITIVE_INFINITY : Math.max(0, Math.floor(budget.pageEndsAtMs - nowMs));
  if (pageLeftMs < budget.callTimeoutMs && pageLeftMs <= budgetLeftMs) {
    return { waitMs: pageLeftMs, message: `${subgraph} did not answer within the ${budget.pageBudgetMs} ms a page waits for it (${pageLeftMs} ms were left when it was asked)` };
  }
  if (budgetLeftMs < budget.callTimeoutMs) {
    return { waitMs: budgetLeftMs, message: `${subgraph} did not answer within the ${budgetLeftMs} ms left of the operation budget` };
  }
  return { waitMs: budget.callTimeoutMs, message: `${subgraph} did not answer within ${budget.callTimeoutMs} ms` };
}

export interface CallDeadline {
  /** Milliseconds this call may take (0 = the budget is already spent). */
  timeoutMs: number;
  /** Which limit decided it: only the subgraph's own timeout is the subgraph's fault. */
  limitedBy: 'subgraph timeout' | 'operation budget';
}

/** The smaller of the call's timeout and what is left of the budget of the last operation waiting for it. */
export function callDeadline(nowMs: number, callTimeoutMs: number, operationEndsAtMs: number): CallDeadline {
  const budgetLeftMs = Math.max(0, Math.floor(operationEndsAtMs - nowMs));
  return budgetLeftMs < callTimeoutMs
    ? { timeoutMs: budgetLeftMs, limitedBy: 'operation budget' }
    : { timeoutMs: callTimeoutMs, limitedBy: 'subgraph timeout' };
}

/** How much longer a call that left at `startedAtMs` may go on late (<= 0: it may not). */
export function lateLeftMs(lateAllowanceMs: number, startedAtMs: number, nowMs: number): number {
  return lateAllowanceMs - (nowMs - startedAtMs);
}

/**
 * Every time limit one fetch runs under, worked out here and nowhere else, on the gateway's one clock. A fetch gets
 * its budget when it starts (`fetchBudget`), and the budget travels with it: the merge stage reads how long the page
 * waits (`waitingEnds`), the deadline stage how long the call may take (`callDeadline`) and how long it may go on
 * late to fill the cache (`lateLeftMs`).
 *
 * - The operation budget (OPERATION_BUDGET_MS) counts from the request's admission: nothing of it runs past it.
 * - The page budget for a subgraph (ENTITY_PAGE_BUDGET_MS, per subgraph too) counts from admission as well: past it
 *   the page stops waiting for that subgraph's entities, whatever came before. A deferred part of an answer
 *   (`@defer`) has no page budget, since nothing waits for it; its operation budget counts from when it starts.
 * - The call's timeout (SUBGRAPH_TIMEOUT_MS for root fetches, ENTITY_TIMEOUT_MS for entities) counts from when the
 *   call leaves: only that one measures the subgraph. An entity load also waits at most that long from when it asked
 *   (queue included), since a busy call slot is the subgraph not answering.
 * - A cacheable entity call past its deadline may go on, up to the subgraph's root timeout from when it left
 *   (SUBGRAPH_MAX_LATE_CALLS of them at once), so its late answer fills the cache for the pages after this one.
 */
import type { GatewayRequest } from '../request.js';
import { family, integer, type ReadContext, type SettingGroup } from '../settings.js';

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
  const pageBudgetMs = kind === 'entities' && request.pageWaits && limits.entityPageBudgetMs ? limits.entityPageBudgetMs : null;
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

/** A page budget setting: unset or 0 means none. */
const pageBudget = (key: string, doc: string) => {
  const read = integer(key, { default: 0, min: 0, max: 600_000, unit: 'ms', defaultText: 'unset (none)', doc });
  return { ...read, parse: (raw: string | undefined, context: ReadContext, problem: (message: string) => void) => read.parse(raw, context, problem) || null };
};

/** The time limits of subgraph fetches (see the header), for every subgraph and per subgraph. */
export const BUDGET_SETTINGS = {
  timeoutMs: integer('SUBGRAPH_TIMEOUT_MS', { default: 1_000, min: 1, max: 600_000, unit: 'ms', doc: 'deadline of a root fetch (and of schema loading); also the longest a late entity call may run to fill the cache' }),
  entityTimeoutMs: integer('ENTITY_TIMEOUT_MS', { default: 300, min: 1, max: 600_000, unit: 'ms', doc: 'deadline of an entity fetch (the optional parts of a page)' }),
  entityPageBudgetMs: pageBudget('ENTITY_PAGE_BUDGET_MS', 'the most of an operation\'s time, counted from its admission, that it waits for a subgraph\'s entities; past it the page gets SUBGRAPH_TIMEOUT for those fields while the call runs on to its own deadline (and may fill the cache late); 0 turns it off'),
  operationBudgetMs: integer('OPERATION_BUDGET_MS', { default: 2_000, min: 1, max: 600_000, unit: 'ms', doc: 'total time for one operation, counted from its admission; a fetch gets the smaller of its deadline and what is left' }),
  maxLateCalls: integer('SUBGRAPH_MAX_LATE_CALLS', { default: 8, min: 0, max: 1_000, unit: 'operations', formerly: ['LATE_CALLS_PER_SUBGRAPH'], doc: 'entity calls per subgraph that may go on past their deadline (up to SUBGRAPH_TIMEOUT_MS) so their answer fills the cache; never for mutations, private callers or no-cache requests' }),
  perSubgraphTimeoutMs: family('SUBGRAPH_<NAME>_TIMEOUT_MS', /^SUBGRAPH_(?!.*_ENTITY_TIMEOUT_MS$)([A-Z0-9_]+?)_TIMEOUT_MS$/,
    integer('SUBGRAPH_<NAME>_TIMEOUT_MS', { default: 0, defaultText: 'SUBGRAPH_TIMEOUT_MS', min: 1, max: 600_000, unit: 'ms', doc: 'SUBGRAPH_TIMEOUT_MS for one subgraph, e.g. SUBGRAPH_TOPCLIENTS_TIMEOUT_MS' })),
  perSubgraphEntityTimeoutMs: family('SUBGRAPH_<NAME>_ENTITY_TIMEOUT_MS', /^SUBGRAPH_([A-Z0-9_]+?)_ENTITY_TIMEOUT_MS$/,
    integer('SUBGRAPH_<NAME>_ENTITY_TIMEOUT_MS', { default: 0, defaultText: 'ENTITY_TIMEOUT_MS', min: 1, max: 600_000, unit: 'ms', doc: 'ENTITY_TIMEOUT_MS for one subgraph' })),
  perSubgraphPageBudgetMs: family('SUBGRAPH_<NAME>_ENTITY_PAGE_BUDGET_MS', /^SUBGRAPH_([A-Z0-9_]+?)_ENTITY_PAGE_BUDGET_MS$/,
    pageBudget('SUBGRAPH_<NAME>_ENTITY_PAGE_BUDGET_MS', 'ENTITY_PAGE_BUDGET_MS for one subgraph (the reference deployment gives topclients 300 ms); 0 turns it off for that subgraph')),
} satisfies SettingGroup;

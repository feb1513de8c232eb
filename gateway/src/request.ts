/**
 * One GraphQL request as the gateway serves it: made at the door once it is admitted and its caller known, and
 * passed explicitly from there: to Apollo Server as the operation's context (`context.gatewayRequest`), to the
 * executor, and to every fetch of the read path. Whatever a request carries or collects lives here: its id, its
 * caller, when it was admitted (its budgets count from then), whether its client asked for revalidation, whether
 * the client is still there, and what its answer showed (cache tags) or served stale.
 *
 * The id is the client's `x-request-id` when it sends a sane one (so a trace started upstream goes on), else a new
 * UUID. It is returned to the client, forwarded to every subgraph call made for the request, and named in every log
 * line about it.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { OperationTypeNode } from 'graphql';
import type { SubgraphIdentitySigner } from './auth/subgraphIdentity.js';
import { parseRequestDirectives } from './cache/cacheHints.js';
import type { IncrementalAnswer } from './execution/incrementalDelivery.js';
import type { IncrementalFormat } from './http.js';
import { jsonBytes } from './jsonValues.js';
import type { StreamSelectionSet } from './datasource/streamSelections.js';

export const REQUEST_ID_HEADER = 'x-request-id';

/** Printable, no spaces, short: anything else is not trusted into logs and subgraph headers. */
const SANE_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

export function requestIdOf(headers: IncomingHttpHeaders): string {
  const sent = headers[REQUEST_ID_HEADER];
  return typeof sent === 'string' && SANE_ID.test(sent) ? sent : randomUUID();
}

/** Whether the client asks every cache to revalidate (`Cache-Control: no-cache`, or `Pragma: no-cache`). */
export function asksNoCache(headers: IncomingHttpHeaders): boolean {
  const pragma = headers.pragma;
  return parseRequestDirectives(headers['cache-control'], Array.isArray(pragma) ? pragma.join(',') : pragma).noCache;
}

/** A part of the answer served from a stale cached copy because its subgraph failed (stale-if-error). */
export interface StaleServed {
  subgraph: string;
  typename: string | null;
  ageSeconds: number;
}

/** The verified caller, and how its identity is signed for the subgraphs (auth/subgraphIdentity.ts). */
export interface Caller {
  identity: string;
  signer: SubgraphIdentitySigner;
}

/**
 * What cancels a request, and each subgraph call made for it: the shape of an AbortSignal (`aborted`, `reason`, its
 * 'abort' listeners), which undici reads (datasource/stages/transport.ts). The gateway makes a `Cancellation` of it
 * rather than an AbortController: on Node 20 every AbortSignal made costs three new hidden classes
 * (docs/APOLLO-NOTES.md, section 5), and a page calling a subgraph made three of them (its own, the merge stage's
 * and the deadline stage's).
 */
export interface CallSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** A signal and its controller in one: each listener is called once, when it is first aborted. */
export class Cancellation implements CallSignal {
  aborted = false;
  reason: unknown = undefined;
  private listeners: (() => void)[] = [];

  abort(reason: unknown = new DOMException('This operation was aborted', 'AbortError')): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.listeners;
    this.listeners = [];
    for (const listener of listeners) listener();
  }

  /** As on an AbortSignal, a listener added once it is aborted is never called. */
  addEventListener(_type: 'abort', listener: () => void): void {
    if (!this.aborted) this.listeners.push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const at = this.listeners.indexOf(listener);
    if (at >= 0) this.listeners.splice(at, 1);
  }
}

export interface GatewayRequestInit {
  id: string;
  /** Admission, on the gateway's clock: the operation budget and the page budgets count from here. */
  admittedAtMs: number;
  /** OPERATION_BUDGET_MS: how long the request may take in all. */
  operationBudgetMs: number;
  /** Aborted when the client goes away before its answer is sent. */
  cancellation: Cancellation;
  /** Null: anonymous. Only the door sets it, from a verified token or the development header. */
  caller: Caller | null;
  /** The client's own request headers (`Cache-Control: no-cache` asks every cache to revalidate). */
  headers: IncomingHttpHeaders;
  /** How the client takes an answer in parts (`@defer`), from its Accept header; null: in one piece. */
  incremental?: IncrementalFormat | null;
  /** One of a batch's operations: its answer is joined with the others' as text. */
  inBatch?: boolean;
  /** A stream's run (a subscription's event, a live query's re-run): its entity fetches may be widened for others. */
  streamSelections?: StreamSelectionSet | null;
}

export class GatewayRequest {
  readonly id: string;
  readonly admittedAtMs: number;
  /** When the operation budget runs out (clock ms). */
  readonly deadlineAtMs: number;
  /** Aborted when the client goes away before its answer is sent. */
  readonly signal: CallSignal;
  readonly caller: Caller | null;
  /** The client asked for revalidated data: nothing is served from a cache without asking its subgraph. */
  readonly noCache: boolean;
  /** The cache tags of everything the answer shows (for a CDN's `Cache-Tag`). */
  readonly cacheTags: Set<string> = new Set();
  /** What was served stale (the answer's `extensions.staleServed`; a deferred part's own payload's). */
  readonly staleServed: StaleServed[] = [];
  readonly incremental: IncrementalFormat | null;
  /**
   * Page budgets apply (ENTITY_PAGE_BUDGET_MS): they do to the answer's first part, not to a deferred one, which
   * nothing waits for.
   */
  readonly pageWaits: boolean;
  /** Set once Apollo Server has resolved the operation (admission/admissionControl.ts: a mutation's answer is never shared). */
  operationType: OperationTypeNode | null = null;
  /** Set by the executor when the answer leaves in parts: what follows its first part. */
  incrementalAnswer: IncrementalAnswer | null = null;
  /**
   * The whole answer as the bytes to send, when it was written so (`answerInBytes`); Apollo Server's body is then
   * empty. Null: the body's text is the answer.
   */
  answerBytes: Buffer | null = null;
  /** The answer is this request's whole body, in one piece (no batch, no parts): it may be written as bytes. */
  readonly answersAlone: boolean;
  /** Set when the request is a stream's run: its entity fetches ask for what every open stream selects (streamSelections.ts). */
  readonly streamSelections: StreamSelectionSet | null;
  private readonly init: GatewayRequestInit;

  constructor(init: GatewayRequestInit, whole?: GatewayRequest) {
    this.init = init;
    this.id = init.id;
    this.admittedAtMs = init.admittedAtMs;
    this.deadlineAtMs = init.admittedAtMs + init.operationBudgetMs;
    this.signal = init.cancellation;
    this.caller = init.caller;
    this.incremental = init.incremental ?? null;
    this.answersAlone = this.incremental === null && !init.inBatch && whole === undefined;
    this.pageWaits = whole === undefined;
    this.streamSelections = init.streamSelections ?? null;
    if (whole) this.cacheTags = whole.cacheTags;
    this.noCache = whole?.noCache ?? asksNoCache(init.headers);
  }

  /**
   * The request as one deferred part of its answer runs: a budget of its own counted from when the part starts,
   * no page budget (nothing waits for it), its own stale report; caller, client, revalidation and tags shared.
   */
  deferredPart(startedAtMs: number): GatewayRequest {
    return new GatewayRequest({ ...this.init, admittedAtMs: startedAtMs }, this);
  }

  /** The caller's identity (private cache entries are keyed by it), or null when anonymous. */
  get identity(): string | null {
    return this.caller?.identity ?? null;
  }

  /** Headers every subgraph call made for this request carries: the caller's identity, signed by the gateway. */
  identityHeaders(): Record<string, string> {
    return this.caller ? this.caller.signer.headersFor(this.caller.identity) : {};
  }

  addCacheTags(tags: Iterable<string>): void {
    for (const tag of tags) this.cacheTags.add(tag);
  }
}

/** What Apollo Server is given as each operation's context: the request, nothing else. */
export interface GatewayContext {
  gatewayRequest: GatewayRequest;
}

/** The request an operation's context carries; undefined for an operation our door did not start. */
export function gatewayRequestOf(context: unknown): GatewayRequest | undefined {
  const request = (context as Partial<GatewayContext> | undefined)?.gatewayRequest;
  return request instanceof GatewayRequest ? request : undefined;
}

/** Answers the executor gave, by their data, with the request each one answers alone. */
const answersInBytes = new WeakMap<object, GatewayRequest>();

/**
 * The executor's answer to `request` will be written as bytes (a large answer then costs one copy outside V8's heap
 * instead of three inside it); only for a request that `answersAlone`.
 */
export function answerInBytes(data: object, request: GatewayRequest): void {
  if (request.answersAlone) answersInBytes.set(data, request);
}

/**
 * Apollo Server's `stringifyResult`: compact JSON, or for an answer marked by `answerInBytes` the same JSON as bytes
 * on its request and an empty text. A result Apollo or a plugin replaced is not marked, and is text as before.
 */
export function stringifyAnswer(result: { data?: unknown }): string {
  const request = result.data !== null && typeof result.data === 'object' ? answersInBytes.get(result.data) : undefined;
  if (!request) return JSON.stringify(result);
  request.answerBytes = jsonBytes(result);
  return '';
}

/**
 * Merges the entity fetches of all requests in flight into as few `_entities` calls as possible: loads issued in
 * the same tick (or batch window) that target the same subgraph operation with the same forwarded headers go out
 * as ONE request with each distinct representation sent once; a load whose representation is already in flight
 * joins that call instead of sending it again. Failures come back as values, never as rejections, so one bad
 * batch cannot poison DataLoader's bookkeeping.
 */
import DataLoader from 'dataloader';
import type { GraphQLFormattedError } from 'graphql';
import { parseCacheControl, type CacheHint } from '../cache/cacheHints.js';
import { conditionalRequestExtensions, readEntityValidation } from '../cache/entityValidation.js';
import { SubgraphFailure } from '../errors.js';
import type { GatewayMetrics } from '../metrics/registry.js';
import type { TransportResponse } from './transport.js';

/** What must be identical for two loads to share one `_entities` request. */
export interface EntityGroup {
  key: string;
  query: string;
  operationName: string | undefined;
  /** The fetch's variables without `representations`. */
  variables: Record<string, unknown>;
  headers: Record<string, string>;
}

export interface EntityLoad {
  group: EntityGroup;
  representation: Record<string, unknown>;
  /** Canonical JSON of the representation: equal representations share a slot. */
  representationKey: string;
  /** The validator of a stale cached copy, to revalidate instead of fetching in full. */
  ifNoneMatch: string | null;
  timeoutMs: number;
}

export interface EntityAnswer {
  kind: 'answer';
  value: Record<string, unknown> | null;
  /** Errors about this entity, with their path below `["_entities", i]`. */
  errors: { error: GraphQLFormattedError; rest: ReadonlyArray<string | number> }[];
  /** Errors of the whole response not tied to one entity; the same array for every entity of the response. */
  globalErrors: readonly GraphQLFormattedError[];
  notModified: boolean;
  etag: string | null;
  /** Per-entity max-age from the entity-cache protocol, when the subgraph speaks it. */
  maxAgeSeconds: number | null;
  /** The response's Cache-Control. */
  hint: CacheHint;
  /** Set by the first request that stores this answer in the cache, so requests sharing it store it once. */
  stored: boolean;
}

export type EntityResult = EntityAnswer | { kind: 'failed'; failure: SubgraphFailure };

export type SendEntities = (group: EntityGroup, body: string, timeoutMs: number) => Promise<TransportResponse>;

export interface EntityBatcherOptions {
  /** 0 = batch what arrives in the same tick; more waits that long to merge more requests. */
  batchWindowMs: number;
  maxBatchSize: number;
}

export class EntityBatcher {
  private readonly loader: DataLoader<EntityLoad, EntityResult, string>;

  constructor(
    readonly serviceName: string,
    private readonly send: SendEntities,
    options: EntityBatcherOptions,
    private readonly metrics: GatewayMetrics,
  ) {
    this.loader = new DataLoader((loads) => this.runBatch(loads), {
      cacheKeyFn: (load) => `${load.group.key}\u0000${load.representationKey}\u0000${load.ifNoneMatch ?? ''}`,
      maxBatchSize: options.maxBatchSize,
      ...(options.batchWindowMs > 0 ? { batchScheduleFn: (run: () => void) => setTimeout(run, options.batchWindowMs) } : {}),
    });
  }

  load(load: EntityLoad): Promise<EntityResult> {
    const promise = this.loader.load(load);
    // DataLoader's cache serves only as in-flight de-duplication: freshness is the entity cache's job.
    void promise.finally(() => this.loader.clear(load));
    return promise;
  }

  private async runBatch(loads: readonly EntityLoad[]): Promise<EntityResult[]> {
    const groups = new Map<string, EntityLoad[]>();
    for (const load of loads) {
      const group = groups.get(load.group.key);
      if (group) group.push(load);
      else groups.set(load.group.key, [load]);
    }
    const results = new Map<EntityLoad, EntityResult>();
    await Promise.all([...groups.values()].map(async (members) => {
      const answers = await this.runGroup(members);
      members.forEach((load, i) => results.set(load, answers[i]!));
    }));
    return loads.map((load) => results.get(load)!);
  }

  private async runGroup(members: EntityLoad[]): Promise<EntityResult[]> {
    const slots = new Map<string, number>();
    const representations: Record<string, unknown>[] = [];
    const ifNoneMatch: (string | null)[] = [];
    const slotOf = members.map((load) => {
      let slot = slots.get(load.representationKey);
      if (slot === undefined) {
        slot = representations.length;
        slots.set(load.representationKey, slot);
        representations.push(load.representation);
        ifNoneMatch.push(load.ifNoneMatch);
      } else if (ifNoneMatch[slot] !== load.ifNoneMatch) {
        // One member has no copy (or another one): ask for the full entity, which serves them all.
        ifNoneMatch[slot] = null;
      }
      return slot;
    });
    const { group } = members[0]!;
    const revalidating = ifNoneMatch.filter((v) => v !== null).length;
    this.metrics.entity(this.serviceName, 'deduplicated', members.length - representations.length);
    this.metrics.entity(this.serviceName, 'revalidated', revalidating);
    this.metrics.entity(this.serviceName, 'fetched', representations.length - revalidating);
    const conditional = ifNoneMatch.some((v) => v !== null);
    const body = JSON.stringify({
      query: group.query,
      ...(group.operationName ? { operationName: group.operationName } : {}),
      variables: { ...group.variables, representations },
      ...(conditional ? { extensions: conditionalRequestExtensions(ifNoneMatch) } : {}),
    });
    const timeoutMs = Math.max(...members.map((m) => m.timeoutMs));
    let answers: EntityResult[];
    try {
      answers = splitEntities(this.serviceName, await this.send(group, body, timeoutMs), representations.length, ifNoneMatch);
      const notModified = answers.filter((a) => a.kind === 'answer' && a.notModified).length;
      this.metrics.entity(this.serviceName, 'not_modified', notModified);
    } catch (error) {
      const failure = error instanceof SubgraphFailure
        ? error
        : new SubgraphFailure('SUBGRAPH_UNAVAILABLE', this.serviceName, `${this.serviceName} could not be called`, { cause: error });
      return members.map(() => ({ kind: 'failed', failure }));
    }
    return slotOf.map((slot) => answers[slot]!);
  }
}

/** Splits one `_entities` answer into one result per representation sent, checking its shape like executeFetch. */
export function splitEntities(
  serviceName: string,
  response: TransportResponse,
  count: number,
  ifNoneMatch: readonly (string | null)[],
): EntityResult[] {
  const body = response.body;
  const data = body?.data;
  const entities = data?._entities;
  if (!body || (data !== null && (!Array.isArray(entities) || entities.length !== count))) {
    const failure = new SubgraphFailure('SUBGRAPH_BAD_RESPONSE', serviceName,
      `${serviceName} answered ${Array.isArray(entities) ? `${entities.length} entities for ${count} representations` : 'without _entities'}`);
    return Array.from({ length: count }, () => ({ kind: 'failed', failure }));
  }
  const hint = parseCacheControl(response.headers['cache-control']);
  const validation = readEntityValidation(body.extensions, count, ifNoneMatch);
  const perEntity: EntityAnswer['errors'][] = Array.from({ length: count }, () => []);
  const globalErrors: GraphQLFormattedError[] = [];
  for (const error of body.errors ?? []) {
    const path = error.path;
    if (path && path[0] === '_entities' && typeof path[1] === 'number' && path[1] >= 0 && path[1] < count) {
      perEntity[path[1]]!.push({ error: error as GraphQLFormattedError, rest: path.slice(2) });
    } else {
      globalErrors.push(error as GraphQLFormattedError);
    }
  }
  return Array.from({ length: count }, (_, i) => {
    const value = Array.isArray(entities) ? entities[i] : null;
    return {
      kind: 'answer',
      value: value && typeof value === 'object' ? (value as Record<string, unknown>) : null,
      errors: perEntity[i]!,
      globalErrors,
      notModified: validation?.notModified.has(i) ?? false,
      etag: validation?.etags[i] ?? null,
      maxAgeSeconds: validation?.maxAgeSeconds[i] ?? null,
      hint,
      stored: false,
    };
  });
}

/**
 * Deferred parts served again without being run. A part whose fetches were all served from fresh public entries of
 * the entity cache (`ServedFromMemory`, datasource/stages/cache.ts) is kept as it was shaped, under what it was made
 * from: the part, the shaper of its selection (one per set of `@skip`/`@include` values), the variables its fetches
 * read, and its places' data before its fetches. The next request bringing the same gets the same shaped data,
 * without representations, cache keys, lookups, copies, merging or shaping, for as long as each entry it came from is
 * still the one cached and still fresh for that request; it is counted as served from the cache (tags, metrics), as
 * the run would have been. Otherwise it runs, and is kept anew.
 *
 * On the deferred gig page every gig of a seller shows the same top clients, and the part's run was much of what the
 * deferred page cost beyond the page without the details (bench scenario 4d).
 *
 * A part is kept only when nothing can differ for the next request but what the key holds (`memoVariables`, below):
 * its node is nothing but entity fetches at or below its places (what they read is in the places' data), it holds no
 * nested `@defer` and no part depends on it (nothing is filled into what it delivers), and its answer has no error and
 * nothing served stale. What it delivers is shared by the requests it is served to, and so is its JSON, made once.
 */
import { LRUCache } from 'lru-cache';
import type { ServedFromMemory } from '../datasource/stages/cache.js';
import type { GatewayRequest } from '../request.js';
import type { PreparedNode } from './planRunner.js';
import type { FragmentShaper } from './responseShaper.js';

type Data = Record<string, unknown>;

/** A part as the memo knows it: which one, and the variables its fetches read. */
export interface MemoizedPart {
  id: number;
  variables: readonly string[];
}

/** A part's answer at each of its places, as shaped and delivered. */
export interface PlaceAnswer {
  data: Data | null;
  errors: readonly unknown[];
  extensions?: Record<string, unknown>;
}

interface Kept {
  fromMemory: readonly ServedFromMemory[];
  data: Data[];
  /** Made when it is first served again: every request it is served to then writes the same JSON. */
  served: ServedPart | null;
}

/** What each place of a part served again gets: its data, and that data as JSON. */
export interface ServedPart {
  data: readonly Data[];
  json: readonly string[];
}

/** Kept parts, in all: each is a few KB (its shaped data, and the cache entries it came from, held). */
const KEPT_PARTS = 10_000;

let nextPartId = 0;

export class PartMemo {
  private readonly kept = new LRUCache<string, Kept>({ max: KEPT_PARTS });
  private readonly shaperIds = new WeakMap<FragmentShaper, number>();
  private nextShaperId = 0;

  /** What a run of `part` with this shaper, these variables and these places' data is kept under. */
  keyOf(part: MemoizedPart, shaper: FragmentShaper, variables: Record<string, unknown> | undefined, inputs: readonly unknown[]): string {
    let shaperId = this.shaperIds.get(shaper);
    if (shaperId === undefined) this.shaperIds.set(shaper, (shaperId = this.nextShaperId++));
    // As the fetch sends them: a variable left out (its default applies) is told apart from one given as null.
    const read = part.variables.map((name) => (variables && Object.hasOwn(variables, name) && variables[name] !== undefined ? [variables[name]] : []));
    // One JSON text: joined from several, the key would be copied again when the memo hashes it.
    return JSON.stringify([part.id, shaperId, read, inputs]);
  }

  /** What each place gets, when the part kept under `key` may be served to this request; counted as served. */
  served(key: string, request: GatewayRequest): ServedPart | undefined {
    const kept = this.kept.get(key);
    if (!kept) return undefined;
    if (!kept.fromMemory.every((fetch) => fetch.stillFresh(request))) {
      this.kept.delete(key);
      return undefined;
    }
    for (const fetch of kept.fromMemory) fetch.servedAgain(request);
    kept.served ??= { data: kept.data, json: kept.data.map((data) => JSON.stringify(data)) };
    return kept.served;
  }

  /** Keeps a run's answers, when every fetch of it was served from memory and every place has data, no error and nothing stale. */
  keep(key: string, fromMemory: readonly (ServedFromMemory | null)[], answers: readonly PlaceAnswer[]): void {
    if (fromMemory.length === 0 || !fromMemory.every((fetch) => fetch !== null)) return;
    const data: Data[] = [];
    for (const answer of answers) {
      if (!answer.data || answer.errors.length > 0 || answer.extensions) return;
      data.push(answer.data);
    }
    this.kept.set(key, { fromMemory: fromMemory as ServedFromMemory[], data, served: null });
  }
}

/**
 * The part as the memo knows it, when it may be kept: its node is nothing but entity fetches at or below its places
 * (`queryPath`), whose variables it lists. Null otherwise, or when `dependedOn` (another part is nested in it).
 */
export function memoizedPart(node: PreparedNode | undefined, queryPath: readonly string[], dependedOn: boolean): MemoizedPart | null {
  if (!node || dependedOn) return null;
  const variables = new Set<string>();
  const visit = (current: PreparedNode, at: readonly (string | number)[] | null): boolean => {
    switch (current.kind) {
      case 'Sequence':
      case 'Parallel':
        return current.nodes.every((child) => visit(child, at));
      case 'Flatten':
        return visit(current.node, [...(at ?? []), ...current.path]);
      case 'Fetch': {
        if (!current.representationOf || !at) return false;
        const fields = at.filter((step) => step !== '@');
        if (fields.length < queryPath.length || !queryPath.every((step, i) => fields[i] === step)) return false;
        for (const name of current.variableUsages) variables.add(name);
        return true;
      }
      default:
        return false;
    }
  };
  return visit(node, null) ? { id: nextPartId++, variables: [...variables] } : null;
}

/**
 * What the streams in flight select of each entity, so that one change costs one subgraph call however many kinds
 * of stream show it.
 *
 * A change reaches several streams at nearly the same moment: a subscription's event and the live queries that
 * showed the changed data. Each asks the owning subgraph for the new entity with its own selection (the event
 * `{ id name }`, the live page `{ name logoUrl }`), a few milliseconds apart: two calls, one `_entities` operation
 * each. Here every stream records the entity operations it runs, and while it is open an entity fetch of any
 * stream asks for the union of what the open streams select of that entity (entityOperationUnion.ts). Both
 * fetches then send the same united operation: the second joins the first's call in flight (the merge stage), or
 * finds its own part in the cache, stored from the united answer.
 *
 * Operations are grouped by subgraph, entity type and the representation's fields (an operation that `@requires`
 * more fields is never united with one that does not). Fetches outside streams (pages) are never widened.
 */
import { isUnitable, uniteEntityOperations, type EntityOperationUnion } from './entityOperationUnion.js';

/** Past this many operations for one kind of entity, stream fetches are sent as they are. */
const MAX_UNITED = 8;

/** The selections of one stream (one group of identical subscribers), from when it starts until it closes. */
export interface StreamSelectionSet {
  /**
   * What an entity fetch of this stream should send: the union of this operation with every other one the open
   * streams run for the same kind of entity, or null to send it as it is. `representation` is any of the fetch's
   * (the caller checks that they are all of one kind: entityKindOf).
   */
  widen(subgraph: string, operation: string, representation: Record<string, unknown>): EntityOperationUnion | null;
  /** The stream closed: what it selects no longer widens anyone's fetches. */
  close(): void;
}

export class StreamSelections {
  /** Per kind of entity: its operations, and how many open streams run each. */
  private readonly byKind = new Map<string, Map<string, number>>();

  open(): StreamSelectionSet {
    const used = new Map<string, Set<string>>();
    let closed = false;
    return {
      widen: (subgraph, operation, representation) => {
        if (closed || !isUnitable(operation)) return null;
        const kind = `${subgraph}\u0000${String(representation.__typename)}\u0000${Object.keys(representation).sort().join(',')}`;
        let mine = used.get(kind);
        if (!mine) used.set(kind, (mine = new Set()));
        if (!mine.has(operation)) {
          mine.add(operation);
          this.add(kind, operation);
        }
        const operations = [...this.byKind.get(kind)!.keys()];
        if (operations.length < 2 || operations.length > MAX_UNITED) return null;
        return uniteEntityOperations(operations);
      },
      close: () => {
        if (closed) return;
        closed = true;
        for (const [kind, operations] of used) for (const operation of operations) this.remove(kind, operation);
        used.clear();
      },
    };
  }

  private add(kind: string, operation: string): void {
    let operations = this.byKind.get(kind);
    if (!operations) this.byKind.set(kind, (operations = new Map()));
    operations.set(operation, (operations.get(operation) ?? 0) + 1);
  }

  private remove(kind: string, operation: string): void {
    const operations = this.byKind.get(kind);
    if (!operations) return;
    const left = (operations.get(operation) ?? 1) - 1;
    if (left > 0) operations.set(operation, left);
    else operations.delete(operation);
    if (operations.size === 0) this.byKind.delete(kind);
  }
}

/** The kind of entity of a fetch's representations, when they are all of one kind; null otherwise. */
export function entityKindOf(representations: readonly { representation: Record<string, unknown> }[]): Record<string, unknown> | null {
  const first = representations[0]?.representation;
  if (!first) return null;
  const typename = first.__typename;
  const fields = Object.keys(first).sort().join(',');
  for (const { representation } of representations) {
    if (representation.__typename !== typename || Object.keys(representation).sort().join(',') !== fields) return null;
  }
  return first;
}

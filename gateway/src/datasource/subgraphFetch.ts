/**
 * One fetch of a query plan, as the read path takes it: which subgraph, root or `_entities`, the subgraph
 * operation's text, and what the read path must know of it (whether its answers may be cached, which response
 * keys a failed root fetch nulls). The compiled executor makes one per plan node when it prepares an operation;
 * stock's executor (through the data source adapter, hybridDataSource.ts) gets one per operation text, parsed once.
 */
import { Kind, parse, type DocumentNode, type SelectionSetNode } from 'graphql';
import { LRUCache } from 'lru-cache';

export interface SubgraphFetch {
  subgraph: string;
  /** `entities`: the operation reads `_entities` for representations the request brings; `root`: anything else. */
  kind: 'root' | 'entities';
  /** The subgraph operation's text (it carries the selection set: cache keys are made of it). */
  operation: string;
  operationName: string | undefined;
  /** A query may be served from and stored in the cache; a mutation, a subscription or a traced fetch never. */
  cacheable: boolean;
  /**
   * Read your writes: the fetch belongs to a mutation, so nothing it reads is served from memory without asking
   * the subgraph (an unchanged entity still costs only a bodiless revalidation).
   */
  revalidate: boolean;
  /** The response keys a root fetch fills, so a failed one nulls exactly those. */
  rootResponseKeys: readonly string[];
}

export interface SubgraphFetchSource {
  subgraph: string;
  operation: string;
  operationName: string | undefined;
  /** The operation's document when the planner gives it; parsed from `operation` otherwise. */
  document?: DocumentNode;
  /** Whether the client's operation is a mutation. */
  inMutation: boolean;
  /** An Apollo Studio trace is per request: such a fetch is neither merged nor cached. */
  traced?: boolean;
}

export function subgraphFetch(source: SubgraphFetchSource): SubgraphFetch {
  const { kind, rootResponseKeys } = shapeOf(source.document ?? parse(source.operation));
  const entities = kind === 'query' && rootResponseKeys.length === 1 && rootResponseKeys[0] === '_entities';
  return {
    subgraph: source.subgraph,
    kind: entities && !source.traced ? 'entities' : 'root',
    operation: source.operation,
    operationName: source.operationName,
    cacheable: kind === 'query' && !source.traced,
    revalidate: source.inMutation,
    rootResponseKeys,
  };
}

/** Subgraph operations repeat (the planner makes them), so stock's fetches are described once per text. */
const described = new LRUCache<string, SubgraphFetch>({ max: 2_000 });

export function subgraphFetchOfText(source: Omit<SubgraphFetchSource, 'document'>): SubgraphFetch {
  const key = `${source.subgraph}\u0000${source.inMutation ? 'm' : 'q'}${source.traced ? 't' : ''}\u0000${source.operationName ?? ''}\u0000${source.operation}`;
  let fetch = described.get(key);
  if (!fetch) {
    fetch = subgraphFetch(source);
    described.set(key, fetch);
  }
  return fetch;
}

function shapeOf(document: DocumentNode): { kind: 'query' | 'mutation' | 'subscription'; rootResponseKeys: string[] } {
  const operation = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
  if (!operation || operation.kind !== Kind.OPERATION_DEFINITION) return { kind: 'query', rootResponseKeys: [] };
  const fragments = new Map(
    document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d.selectionSet] as const] : [])),
  );
  const keys = new Set<string>();
  const collect = (selectionSet: SelectionSetNode) => {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) keys.add(selection.alias?.value ?? selection.name.value);
      else if (selection.kind === Kind.INLINE_FRAGMENT) collect(selection.selectionSet);
      else {
        const fragment = fragments.get(selection.name.value);
        if (fragment) collect(fragment);
      }
    }
  };
  collect(operation.selectionSet);
  return { kind: operation.operation, rootResponseKeys: [...keys].filter((k) => k !== '__typename') };
}

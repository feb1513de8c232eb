/**
 * What the data source needs to know about a subgraph operation's text: whether it is a query, and which
 * response keys its root selection fills (so a failed root fetch can null exactly those). Subgraph operations
 * come from the query planner and repeat, so each text is parsed once (bounded LRU).
 */
import { Kind, parse, type SelectionSetNode } from 'graphql';
import { LRUCache } from 'lru-cache';

export interface OperationShape {
  kind: 'query' | 'mutation' | 'subscription';
  rootResponseKeys: string[];
  isEntityFetch: boolean;
}

const shapes = new LRUCache<string, OperationShape>({ max: 2_000 });

export function operationShape(query: string): OperationShape {
  let shape = shapes.get(query);
  if (!shape) {
    shape = computeShape(query);
    shapes.set(query, shape);
  }
  return shape;
}

function computeShape(query: string): OperationShape {
  const document = parse(query);
  const operation = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
  if (!operation || operation.kind !== Kind.OPERATION_DEFINITION) return { kind: 'query', rootResponseKeys: [], isEntityFetch: false };
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
  const rootResponseKeys = [...keys].filter((k) => k !== '__typename');
  return {
    kind: operation.operation,
    rootResponseKeys,
    isEntityFetch: operation.operation === 'query' && rootResponseKeys.length === 1 && rootResponseKeys[0] === '_entities',
  };
}

/**
 * Cheap checks on an operation's text before anything is planned or fetched: its size in bytes and how deeply it
 * nests fields. Introspection fields (`__schema`, `__type`, `__typename`) are answered by the gateway itself from
 * its schema, never by a subgraph, so they do not count towards the depth (Sandbox's introspection query nests
 * `ofType` a dozen levels deep).
 */
import {
  Kind,
  parse,
  type DocumentNode,
  type FragmentDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { refusal, type Refusal } from './persistedErrors.js';

export interface QueryLimits {
  maxQueryBytes: number;
  maxQueryDepth: number;
}

/** A refusal when `query` breaks a limit; undefined when it is within them or does not parse (Apollo reports that). */
export function checkQueryLimits(query: string, limits: QueryLimits): Refusal | undefined {
  const bytes = Buffer.byteLength(query, 'utf8');
  if (bytes > limits.maxQueryBytes) {
    return refusal('QUERY_TOO_LARGE', `The query is ${bytes} bytes; the limit is ${limits.maxQueryBytes} (MAX_QUERY_BYTES)`);
  }
  const document = tryParse(query);
  if (!document) return undefined;
  const depth = operationDepth(document);
  if (depth > limits.maxQueryDepth) {
    return refusal('QUERY_TOO_DEEP', `The operation nests fields ${depth} deep; the limit is ${limits.maxQueryDepth} (MAX_QUERY_DEPTH)`);
  }
  return undefined;
}

export function tryParse(query: string): DocumentNode | undefined {
  try {
    return parse(query);
  } catch {
    return undefined;
  }
}

/** The deepest field nesting of any operation in the document: `{ a { b } }` is 2. */
export function operationDepth(document: DocumentNode): number {
  const fragments = fragmentsOf(document);
  let deepest = 0;
  for (const definition of document.definitions) {
    if (definition.kind === Kind.OPERATION_DEFINITION) deepest = Math.max(deepest, selectionDepth(definition.selectionSet, fragments, new Set()));
  }
  return deepest;
}

function selectionDepth(set: SelectionSetNode, fragments: Map<string, FragmentDefinitionNode>, visiting: Set<string>): number {
  let deepest = 0;
  for (const selection of set.selections) {
    switch (selection.kind) {
      case Kind.FIELD:
        if (selection.name.value.startsWith('__')) continue;
        deepest = Math.max(deepest, 1 + (selection.selectionSet ? selectionDepth(selection.selectionSet, fragments, visiting) : 0));
        break;
      case Kind.INLINE_FRAGMENT:
        deepest = Math.max(deepest, selectionDepth(selection.selectionSet, fragments, visiting));
        break;
      case Kind.FRAGMENT_SPREAD: {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        // A cycle or an unknown fragment is a validation error Apollo reports; do not loop on it here.
        if (!fragment || visiting.has(name)) continue;
        visiting.add(name);
        deepest = Math.max(deepest, selectionDepth(fragment.selectionSet, fragments, visiting));
        visiting.delete(name);
        break;
      }
    }
  }
  return deepest;
}

/** True when every operation in the document only reads introspection fields (Sandbox loading the schema). */
export function isIntrospectionOnly(document: DocumentNode): boolean {
  const fragments = fragmentsOf(document);
  const operations = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  return operations.length > 0 && operations.every((o) => o.operation === 'query' && onlyIntrospection(o.selectionSet, fragments, new Set()));
}

function onlyIntrospection(set: SelectionSetNode, fragments: Map<string, FragmentDefinitionNode>, visiting: Set<string>): boolean {
  return set.selections.every((selection) => {
    switch (selection.kind) {
      case Kind.FIELD:
        return selection.name.value.startsWith('__');
      case Kind.INLINE_FRAGMENT:
        return onlyIntrospection(selection.selectionSet, fragments, visiting);
      case Kind.FRAGMENT_SPREAD: {
        const fragment = fragments.get(selection.name.value);
        if (!fragment || visiting.has(fragment.name.value)) return false;
        visiting.add(fragment.name.value);
        return onlyIntrospection(fragment.selectionSet, fragments, visiting);
      }
    }
  });
}

function fragmentsOf(document: DocumentNode): Map<string, FragmentDefinitionNode> {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  return fragments;
}

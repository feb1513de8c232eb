/**
 * Several `_entities` operations of one subgraph united into one, so one call fetches an entity for all of them:
 * the selections are merged field by field (`{ name }` and `{ name logoUrl }` make `{ name logoUrl }`), and each
 * operation gets back exactly what it selects, cut from the united answer.
 *
 * Only operations that unite without changing what any of them means are united: each has `$representations` as
 * its only variable and no named fragments, and no response name means two things (two fields of one level with
 * the same response name must have the same name, arguments and directives, inline fragments included). Otherwise
 * there is no union, and each operation is sent as it is.
 */
import {
  Kind, parse, print, stripIgnoredCharacters,
  type DocumentNode, type FieldNode, type InlineFragmentNode, type OperationDefinitionNode, type SelectionNode,
} from 'graphql';
import { LRUCache } from 'lru-cache';
import { copyJson } from '../jsonValues.js';

type Entity = Record<string, unknown>;

/** One operation's part of a united answer. */
export interface EntityPart {
  /** What the operation gets of a united entity: what it would have been answered. */
  cut(entity: Entity): Entity;
  /** Whether the operation selects this response name right below the entity (an error there is about it). */
  selects(responseName: string): boolean;
}

export interface EntityOperationUnion {
  /** The united operation's text: the same for the same set of operations, whichever asks. */
  operation: string;
  operationName: string | undefined;
  /** Per united operation's text: its part of a united entity. */
  parts: ReadonlyMap<string, EntityPart>;
}

/** What one level of a selection may hold, by response name: the field's head and what it selects below. */
interface Level {
  fields: Map<string, { head: string; below: Level | null }>;
}

interface Unitable {
  operation: OperationDefinitionNode;
  entities: FieldNode;
  level: Level;
}

const parsed = new LRUCache<string, Unitable | false>({ max: 1_000 });
const unions = new LRUCache<string, EntityOperationUnion | false>({ max: 1_000 });

/** Whether the operation can be united with others (it reads `_entities` and needs nothing but representations). */
export function isUnitable(operation: string): boolean {
  return unitable(operation) !== null;
}

/** The union of these `_entities` operations (at least two), or null when they cannot be united. */
export function uniteEntityOperations(operations: readonly string[]): EntityOperationUnion | null {
  const sorted = [...new Set(operations)].sort();
  if (sorted.length < 2) return null;
  const key = sorted.join('\u0000');
  let union = unions.get(key);
  if (union === undefined) {
    union = unite(sorted) ?? false;
    unions.set(key, union);
  }
  return union || null;
}

function unite(sorted: readonly string[]): EntityOperationUnion | null {
  const parts = sorted.map((text) => ({ text, parts: unitable(text) }));
  if (parts.some((p) => p.parts === null)) return null;
  let selections: readonly SelectionNode[] = [];
  for (const { parts: p } of parts) {
    const merged = mergeSelections(selections, p!.entities.selectionSet!.selections);
    if (!merged) return null;
    selections = merged;
  }
  if (levelOf(selections) === null) return null;
  const first = parts[0]!.parts!;
  const entities: FieldNode = { ...first.entities, selectionSet: { kind: Kind.SELECTION_SET, selections } };
  const operation: OperationDefinitionNode = { ...first.operation, selectionSet: { kind: Kind.SELECTION_SET, selections: [entities] } };
  return {
    operation: stripIgnoredCharacters(print({ kind: Kind.DOCUMENT, definitions: [operation] })),
    operationName: first.operation.name?.value,
    parts: new Map(parts.map(({ text, parts: p }) => [text, partOf(p!.level)] as const)),
  };
}

function unitable(text: string): Unitable | null {
  let found = parsed.get(text);
  if (found === undefined) {
    found = readUnitable(text) ?? false;
    parsed.set(text, found);
  }
  return found || null;
}

function readUnitable(text: string): Unitable | null {
  let document: DocumentNode;
  try {
    document = parse(text);
  } catch {
    return null;
  }
  if (document.definitions.length !== 1) return null;
  const operation = document.definitions[0]!;
  if (operation.kind !== Kind.OPERATION_DEFINITION || operation.operation !== 'query') return null;
  const variables = operation.variableDefinitions ?? [];
  if (variables.length !== 1 || variables[0]!.variable.name.value !== 'representations') return null;
  if ((operation.directives ?? []).length > 0) return null;
  const [entities, ...rest] = operation.selectionSet.selections;
  if (rest.length > 0 || entities?.kind !== Kind.FIELD || entities.name.value !== '_entities' || entities.alias || !entities.selectionSet) return null;
  const level = levelOf(entities.selectionSet.selections);
  return level ? { operation, entities, level } : null;
}

/** A field's name, arguments and directives: two fields with one response name must agree on it. */
function headOf(field: FieldNode): string {
  return print({ ...field, alias: undefined, selectionSet: undefined });
}

function responseName(field: FieldNode): string {
  return field.alias?.value ?? field.name.value;
}

/**
 * The response names one level can hold (inline fragments flattened) and what is below each; null when one name
 * means two things, or a named fragment is used.
 */
function levelOf(selections: readonly SelectionNode[]): Level | null {
  const byName = new Map<string, { head: string; leaf: boolean; below: SelectionNode[] }>();
  const collect = (selection: SelectionNode): boolean => {
    if (selection.kind === Kind.FRAGMENT_SPREAD) return false;
    if (selection.kind === Kind.INLINE_FRAGMENT) return selection.selectionSet.selections.every(collect);
    const head = headOf(selection);
    const leaf = !selection.selectionSet;
    let known = byName.get(responseName(selection));
    if (!known) byName.set(responseName(selection), (known = { head, leaf, below: [] }));
    else if (known.head !== head || known.leaf !== leaf) return false;
    if (selection.selectionSet) known.below.push(...selection.selectionSet.selections);
    return true;
  };
  if (!selections.every(collect)) return null;
  const level: Level = { fields: new Map() };
  for (const [name, { head, leaf, below }] of byName) {
    const nested = leaf ? null : levelOf(below);
    if (!leaf && !nested) return null;
    level.fields.set(name, { head, below: nested });
  }
  return level;
}

/** Merges two selection sets: fields by response name, inline fragments by type condition and directives. */
function mergeSelections(a: readonly SelectionNode[], b: readonly SelectionNode[]): SelectionNode[] | null {
  const merged: SelectionNode[] = [...a];
  for (const selection of b) {
    if (selection.kind === Kind.FRAGMENT_SPREAD) return null;
    const index = merged.findIndex((m) => sameSlot(m, selection));
    if (index < 0) {
      merged.push(selection);
      continue;
    }
    const existing = merged[index]!;
    if (existing.kind === Kind.FIELD && selection.kind === Kind.FIELD) {
      if (headOf(existing) !== headOf(selection)) return null;
      if (!existing.selectionSet || !selection.selectionSet) {
        if (existing.selectionSet || selection.selectionSet) return null;
        continue;
      }
      const below = mergeSelections(existing.selectionSet.selections, selection.selectionSet.selections);
      if (!below) return null;
      merged[index] = { ...existing, selectionSet: { kind: Kind.SELECTION_SET, selections: below } };
    } else if (existing.kind === Kind.INLINE_FRAGMENT && selection.kind === Kind.INLINE_FRAGMENT) {
      const below = mergeSelections(existing.selectionSet.selections, selection.selectionSet.selections);
      if (!below) return null;
      merged[index] = { ...existing, selectionSet: { kind: Kind.SELECTION_SET, selections: below } };
    }
  }
  return merged;
}

function sameSlot(a: SelectionNode, b: SelectionNode): boolean {
  if (a.kind === Kind.FIELD && b.kind === Kind.FIELD) return responseName(a) === responseName(b);
  if (a.kind === Kind.INLINE_FRAGMENT && b.kind === Kind.INLINE_FRAGMENT) return fragmentSlot(a) === fragmentSlot(b);
  return false;
}

function fragmentSlot(fragment: InlineFragmentNode): string {
  return print({ ...fragment, selectionSet: { kind: Kind.SELECTION_SET, selections: [] } });
}

/**
 * What one operation gets of a united entity: the response names its selection can hold, at every depth. A name
 * it holds means the same in the union (levelOf refused any other union), so what is kept is what it would have
 * been answered.
 */
function partOf(level: Level): EntityPart {
  const cut = (value: unknown, at: Level): unknown => {
    if (Array.isArray(value)) return value.map((item) => cut(item, at));
    if (value === null || typeof value !== 'object') return value;
    const out: Entity = {};
    for (const [name, { below }] of at.fields) {
      if (!(name in value)) continue;
      const field = (value as Entity)[name];
      out[name] = below ? cut(field, below) : copyJson(field);
    }
    return out;
  };
  return {
    cut: (entity) => cut(entity, level) as Entity,
    selects: (name) => level.fields.has(name),
  };
}

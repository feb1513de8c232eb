/**
 * Cheap checks on what an operation may cost, before anything is planned or fetched: its size in bytes, its
 * tokens, how deeply it nests fields, its aliases and directives. Operations from the persisted query manifest are
 * trusted as they are and never come here.
 *
 * Tokens are counted while parsing (graphql-js `maxTokens`, the same guard graphql-armor's max-tokens installs), so
 * a huge document is abandoned before it is built. Aliases and directives are counted by graphql-armor's rules.
 * Depth stays ours: introspection fields (`__schema`, `__type`, `__typename`) are answered by the gateway from its
 * schema, never by a subgraph, so they do not count, and fragments add no level (armor's rule counts `__type` and a
 * level per spread, which would refuse Sandbox's introspection query, nesting `ofType` a dozen levels deep).
 */
import { ApolloArmor } from '@escape.tech/graphql-armor';
import {
  buildSchema,
  Kind,
  parse,
  validate,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLError,
  type SelectionSetNode,
  type ValidationRule,
} from 'graphql';
import { refusal, type Refusal } from './persistedErrors.js';
import { integer, type SettingGroup } from '../settings.js';

export interface QueryLimits {
  maxQueryBytes: number;
  maxQueryDepth: number;
  maxQueryTokens: number;
  maxQueryAliases: number;
  maxQueryDirectives: number;
  /** Operations in one request body (an array); 1 = no batching. */
  maxBatchOperations: number;
}

/**
 * The armor rules count syntax only, but graphql-js `validate` needs some schema to run rules; this one-field
 * schema hosts them. Validation against the real API schema is Apollo Server's, later.
 */
const RULE_HOST_SCHEMA = buildSchema('type Query { _: Boolean }');

/** A refusal when `query` breaks a limit; undefined when it is within them or does not parse (Apollo reports that). */
export function checkQueryLimits(query: string, limits: QueryLimits): Refusal | undefined {
  const bytes = Buffer.byteLength(query, 'utf8');
  if (bytes > limits.maxQueryBytes) {
    return refusal('QUERY_TOO_LARGE', `The query is ${bytes} bytes; the limit is ${limits.maxQueryBytes} (QUERY_MAX_BYTES)`);
  }
  let document: DocumentNode;
  try {
    document = parse(query, { maxTokens: limits.maxQueryTokens });
  } catch (error) {
    if (/more that \d+ tokens/.test((error as Error).message)) {
      return refusal('QUERY_TOO_MANY_TOKENS', `The query has more than ${limits.maxQueryTokens} tokens (QUERY_MAX_TOKENS)`);
    }
    return undefined;
  }
  const depth = operationDepth(document);
  if (depth > limits.maxQueryDepth) {
    return refusal('QUERY_TOO_DEEP', `The operation nests fields ${depth} deep; the limit is ${limits.maxQueryDepth} (QUERY_MAX_DEPTH)`);
  }
  return armorVerdict(document, limits);
}

/** Runs graphql-armor's alias and directive rules; the first rejection becomes our code, with armor's count in it. */
function armorVerdict(document: DocumentNode, limits: QueryLimits): Refusal | undefined {
  let rejected: Refusal | undefined;
  const reject = (code: 'QUERY_TOO_MANY_ALIASES' | 'QUERY_TOO_MANY_DIRECTIVES', key: string) =>
    [(_context: unknown, error: GraphQLError) => {
      rejected ??= refusal(code, `${error.message.replace(/^Syntax Error: /, '')} (${key})`);
    }];
  const { validationRules } = new ApolloArmor({
    maxAliases: { n: limits.maxQueryAliases, onReject: reject('QUERY_TOO_MANY_ALIASES', 'QUERY_MAX_ALIASES'), propagateOnRejection: false },
    maxDirectives: { n: limits.maxQueryDirectives, onReject: reject('QUERY_TOO_MANY_DIRECTIVES', 'QUERY_MAX_DIRECTIVES'), propagateOnRejection: false },
    // Depth and tokens are checked above; cost and field suggestions are not limits we configure.
    maxDepth: { enabled: false },
    maxTokens: { enabled: false },
    costLimit: { enabled: false },
    blockFieldSuggestion: { enabled: false },
  }).protect();
  validate(RULE_HOST_SCHEMA, document, validationRules as ValidationRule[]);
  return rejected;
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

/** QUERY_MAX_*, BATCH_MAX_OPERATIONS: what an operation that is not in the manifest may cost (manifest operations are exempt). */
export const QUERY_LIMIT_SETTINGS = {
  maxQueryBytes: integer('QUERY_MAX_BYTES', { default: 32_768, min: 64, max: 10_485_760, unit: 'bytes', formerly: ['MAX_QUERY_BYTES'], doc: 'longer operation texts get 400 QUERY_TOO_LARGE' }),
  maxQueryDepth: integer('QUERY_MAX_DEPTH', { default: 15, min: 1, max: 1_000, formerly: ['MAX_QUERY_DEPTH'], doc: 'operations nesting fields deeper get 400 QUERY_TOO_DEEP (introspection fields do not count)' }),
  maxQueryTokens: integer('QUERY_MAX_TOKENS', { default: 2_000, min: 10, max: 1_000_000, formerly: ['MAX_QUERY_TOKENS'], doc: 'operations of more tokens get 400 QUERY_TOO_MANY_TOKENS, before they are parsed whole' }),
  maxQueryAliases: integer('QUERY_MAX_ALIASES', { default: 30, min: 0, max: 10_000, formerly: ['MAX_QUERY_ALIASES'], doc: 'operations with more aliases (fragments included) get 400 QUERY_TOO_MANY_ALIASES' }),
  maxQueryDirectives: integer('QUERY_MAX_DIRECTIVES', { default: 50, min: 0, max: 10_000, formerly: ['MAX_QUERY_DIRECTIVES'], doc: 'operations with more directives (fragments included) get 400 QUERY_TOO_MANY_DIRECTIVES' }),
  maxBatchOperations: integer('BATCH_MAX_OPERATIONS', { default: 1, min: 1, max: 100, unit: 'operations', formerly: ['MAX_BATCH_OPERATIONS'], doc: 'operations one request body may batch (an array); 1 = batching off (QUERY_BATCH_TOO_LARGE)' }),
} satisfies SettingGroup;

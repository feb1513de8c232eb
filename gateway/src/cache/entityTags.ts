/**
 * Cache tags name what an answer shows, so a change can evict every answer that showed it. The gateway finds the
 * entities in an answer itself, from the supergraph's `@key`s (`@join__type(key:)`): any object whose
 * `__typename` is an entity type and that carries the fields of one of its keys is tagged `Type:{"id":"…"}`, the
 * same name a change event's `{ typename, keyFields }` gives (cacheKey.ts `entityIdentity`). Subgraphs may add
 * their own tags the way Apollo Router's response cache reads them: `extensions.apolloCacheTags` (a root answer)
 * and `extensions.apolloEntityCacheTags` (one list per `_entities` item). Pure functions.
 */
import { Kind, parse, type ConstDirectiveNode } from 'graphql';
import { entityIdentity } from './entityCache.js';

/** Entity type -> its keys, each the list of top-level scalar fields it names. */
export type EntityKeys = ReadonlyMap<string, readonly (readonly string[])[]>;

export function entityKeysFromSupergraph(supergraphSdl: string): EntityKeys {
  const keys = new Map<string, string[][]>();
  for (const definition of parse(supergraphSdl, { noLocation: true }).definitions) {
    if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION && definition.kind !== Kind.INTERFACE_TYPE_DEFINITION) continue;
    for (const directive of definition.directives ?? []) {
      const fields = keyFieldsOf(directive);
      if (!fields) continue;
      const known = keys.get(definition.name.value) ?? [];
      if (!known.some((k) => k.join(' ') === fields.join(' '))) known.push(fields);
      keys.set(definition.name.value, known);
    }
  }
  return keys;
}

/** `@join__type(key: "id sku")` -> ["id", "sku"]; nested selections (`org { id }`) are not used for tags. */
function keyFieldsOf(directive: ConstDirectiveNode): string[] | null {
  if (directive.name.value !== 'join__type') return null;
  const key = directive.arguments?.find((a) => a.name.value === 'key')?.value;
  if (!key || key.kind !== Kind.STRING) return null;
  const topLevel: string[] = [];
  let depth = 0;
  for (const token of key.value.replace(/[{}]/g, (b) => ` ${b} `).split(/[\s,]+/).filter(Boolean)) {
    if (token === '{') depth++;
    else if (token === '}') depth--;
    else if (depth === 0) topLevel.push(token);
  }
  // A key with nested fields names the entity only together with them: skip it rather than tag too broadly.
  return key.value.includes('{') || topLevel.length === 0 ? null : topLevel;
}

/** The tag of one entity, from the first key whose fields it carries; null when it carries none. */
export function entityTag(keys: EntityKeys, value: Record<string, unknown>): string | null {
  const typename = value.__typename;
  if (typeof typename !== 'string') return null;
  for (const fields of keys.get(typename) ?? []) {
    if (!fields.every((f) => value[f] !== undefined && value[f] !== null && typeof value[f] !== 'object')) continue;
    const keyFields: Record<string, unknown> = {};
    for (const f of fields) keyFields[f] = value[f];
    return entityIdentity(typename, keyFields);
  }
  return null;
}

/** Every entity tag found anywhere in a value (arrays and nested objects included), once each. */
export function tagsIn(keys: EntityKeys, value: unknown, into = new Set<string>()): Set<string> {
  if (keys.size === 0) return into;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const current = stack.pop();
    if (Array.isArray(current)) {
      for (const item of current) if (item !== null && typeof item === 'object') stack.push(item);
    } else if (current !== null && typeof current === 'object') {
      const object = current as Record<string, unknown>;
      const tag = entityTag(keys, object);
      if (tag) into.add(tag);
      for (const field of Object.values(object)) if (field !== null && typeof field === 'object') stack.push(field);
    }
  }
  return into;
}

/** Apollo Router's `apolloCacheTags`: the tags a subgraph gives a whole (root) answer. */
export function rootAnswerTags(extensions: Record<string, unknown> | undefined): string[] {
  return stringsIn(extensions?.apolloCacheTags);
}

/** Apollo Router's `apolloEntityCacheTags`: one list per `_entities` item. */
export function entityAnswerTags(extensions: Record<string, unknown> | undefined, index: number): string[] {
  const perEntity = extensions?.apolloEntityCacheTags;
  return Array.isArray(perEntity) ? stringsIn(perEntity[index]) : [];
}

function stringsIn(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((t): t is string => typeof t === 'string' && t.length > 0 && t.length <= 256) : [];
}

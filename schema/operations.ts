/**
 * The pages' operations, one `.graphql` file each under schema/operations/, by operation name, and the fragments
 * they share, one file each under schema/operations/fragments/ (named after the fragment).
 *
 * An operation's body is what the manifest carries and what a client sends: the operation's file followed by the
 * file of every fragment it uses, directly or through another fragment, in name order. That is how Apollo's
 * persisted query manifest carries fragments: each body is a complete document, so its id (the sha256 of the body)
 * changes whenever a fragment it uses does.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Kind, parse, visit, type DocumentNode, type OperationDefinitionNode } from 'graphql';

export const OPERATIONS_DIR = fileURLToPath(new URL('./operations', import.meta.url));

export interface PageOperation {
  name: string;
  type: 'query' | 'mutation' | 'subscription';
  /** The operation and the fragments it uses: a complete document. */
  body: string;
}

interface FragmentFile {
  text: string;
  /** The fragments this one spreads. */
  spreads: Set<string>;
}

function spreadsOf(document: DocumentNode): Set<string> {
  const names = new Set<string>();
  visit(document, { FragmentSpread: (node) => void names.add(node.name.value) });
  return names;
}

function graphqlFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.graphql')).sort();
}

function loadFragments(dir: string): Map<string, FragmentFile> {
  const fragments = new Map<string, FragmentFile>();
  const fragmentsDir = `${dir}/fragments`;
  if (!existsSync(fragmentsDir)) return fragments;
  for (const file of graphqlFiles(fragmentsDir)) {
    const text = readFileSync(`${fragmentsDir}/${file}`, 'utf8');
    const document = parse(text);
    const [definition] = document.definitions;
    if (document.definitions.length !== 1 || definition?.kind !== Kind.FRAGMENT_DEFINITION) {
      throw new Error(`fragments/${file} must hold exactly one fragment`);
    }
    if (`${definition.name.value}.graphql` !== file) throw new Error(`fragments/${file} holds fragment ${definition.name.value}; name the file after it`);
    fragments.set(definition.name.value, { text, spreads: spreadsOf(document) });
  }
  return fragments;
}

/** Every fragment `start` uses, directly or through other fragments. */
function fragmentsUsed(start: Set<string>, fragments: Map<string, FragmentFile>, usedBy: string): Set<string> {
  const used = new Set<string>();
  const pending = [...start];
  while (pending.length > 0) {
    const name = pending.pop()!;
    if (used.has(name)) continue;
    const fragment = fragments.get(name);
    if (!fragment) throw new Error(`${usedBy} uses fragment ${name}, which no file in fragments/ defines`);
    used.add(name);
    pending.push(...fragment.spreads);
  }
  return used;
}

export function loadOperations(dir = OPERATIONS_DIR): PageOperation[] {
  const fragments = loadFragments(dir);
  const unused = new Set(fragments.keys());
  const operations = graphqlFiles(dir).map((file): PageOperation => {
    const text = readFileSync(`${dir}/${file}`, 'utf8');
    const document = parse(text);
    const definitions = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
    const [operation] = definitions;
    if (definitions.length !== 1 || document.definitions.length !== 1 || !operation?.name) {
      throw new Error(`${file} must hold exactly one named operation (shared fragments go in fragments/)`);
    }
    if (`${operation.name.value}.graphql` !== file) throw new Error(`${file} holds operation ${operation.name.value}; name the file after it`);
    const used = [...fragmentsUsed(spreadsOf(document), fragments, file)].sort();
    for (const name of used) unused.delete(name);
    return { name: operation.name.value, type: operation.operation, body: [text, ...used.map((name) => fragments.get(name)!.text)].join('\n') };
  });
  if (unused.size > 0) throw new Error(`no operation uses fragment ${[...unused].join(', ')}; delete it from fragments/`);
  return operations;
}

export function operation(name: string): PageOperation {
  const found = loadOperations().find((o) => o.name === name);
  if (!found) throw new Error(`no operation named ${name} in ${OPERATIONS_DIR}`);
  return found;
}

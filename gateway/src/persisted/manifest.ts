/**
 * Apollo's persisted query manifest format (what `@apollo/generate-persisted-query-manifest` writes and
 * `rover persisted-queries publish` reads): `{ format, version: 1, operations: [{ id, name, type, body }] }`, where
 * `id` is the sha256 hex of `body`, so the same id works as an APQ `sha256Hash`. The gateway reads the committed
 * manifest once at start-up and refuses to start on a file it cannot trust.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse, print, type OperationDefinitionNode } from 'graphql';

export const MANIFEST_FORMAT = 'apollo-persisted-query-manifest';

export type OperationType = 'query' | 'mutation' | 'subscription';

export interface ManifestOperation {
  id: string;
  name: string;
  type: OperationType;
  body: string;
}

export interface PersistedQueryManifest {
  format: typeof MANIFEST_FORMAT;
  version: 1;
  operations: ManifestOperation[];
}

export class ManifestError extends Error {
  override name = 'ManifestError';
}

/** The id Apollo's tools give an operation: sha256 of its exact text, lower-case hex. */
export function operationId(body: string): string {
  return createHash('sha256').update(body).digest('hex');
}

export function buildManifest(operations: readonly { name: string; type: OperationType; body: string }[]): PersistedQueryManifest {
  return {
    format: MANIFEST_FORMAT,
    version: 1,
    operations: operations.map((o) => ({ id: operationId(o.body), name: o.name, type: o.type, body: o.body })),
  };
}

/** The committed text: two-space JSON with a final newline, so diffs stay readable. */
export function manifestText(manifest: PersistedQueryManifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/** Whitespace and comments do not change what an operation does; a free-form text is matched on this form. */
export function normalizedOperation(body: string): string | undefined {
  try {
    return print(parse(body));
  } catch {
    return undefined;
  }
}

/** The manifest, indexed for the request path. */
export class ManifestIndex {
  private readonly byId = new Map<string, ManifestOperation>();
  private readonly byNormalizedBody = new Map<string, ManifestOperation>();

  constructor(readonly manifest: PersistedQueryManifest) {
    for (const operation of manifest.operations) {
      this.byId.set(operation.id, operation);
      this.byNormalizedBody.set(normalizedOperation(operation.body)!, operation);
    }
  }

  get size(): number {
    return this.byId.size;
  }

  get(id: string): ManifestOperation | undefined {
    return this.byId.get(id);
  }

  /** The manifest entry with the same operation as `query` (ignoring layout), if any. */
  findByBody(query: string): ManifestOperation | undefined {
    const normalized = normalizedOperation(query);
    return normalized === undefined ? undefined : this.byNormalizedBody.get(normalized);
  }
}

/** Reads and checks a manifest file; every problem is reported with the file's path. */
export function readManifestFile(path: string): ManifestIndex {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ManifestError(`cannot read persisted query manifest ${path}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ManifestError(`persisted query manifest ${path} is not valid JSON: ${(error as Error).message}`);
  }
  const problems = manifestProblems(value);
  if (problems.length > 0) {
    throw new ManifestError(`persisted query manifest ${path} is invalid:\n${problems.map((p) => `- ${p}`).join('\n')}`);
  }
  return new ManifestIndex(value as PersistedQueryManifest);
}

export function manifestProblems(value: unknown): string[] {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return ['the manifest must be a JSON object'];
  const manifest = value as Record<string, unknown>;
  const problems: string[] = [];
  if (manifest.format !== MANIFEST_FORMAT) problems.push(`format must be "${MANIFEST_FORMAT}", got ${JSON.stringify(manifest.format)}`);
  if (manifest.version !== 1) problems.push(`version must be 1, got ${JSON.stringify(manifest.version)}`);
  if (!Array.isArray(manifest.operations)) return [...problems, 'operations must be an array'];
  const seen = new Set<string>();
  manifest.operations.forEach((entry: unknown, index: number) => {
    const where = `operations[${index}]`;
    if (!entry || typeof entry !== 'object') return problems.push(`${where} must be an object`);
    const { id, name, type, body } = entry as Record<string, unknown>;
    if (typeof body !== 'string') return problems.push(`${where}.body must be a string`);
    if (typeof id !== 'string' || id !== operationId(body)) {
      return problems.push(`${where}.id ${JSON.stringify(id)} is not the sha256 of its body (${operationId(body)})`);
    }
    if (seen.has(id)) problems.push(`${where}.id ${id} appears twice`);
    seen.add(id);
    let definitions: OperationDefinitionNode[];
    try {
      definitions = parse(body).definitions.filter((d): d is OperationDefinitionNode => d.kind === 'OperationDefinition');
    } catch (error) {
      return problems.push(`${where}.body does not parse: ${(error as Error).message}`);
    }
    if (definitions.length !== 1) return problems.push(`${where}.body must hold exactly one operation`);
    const [operation] = definitions;
    if (operation!.name?.value !== name) problems.push(`${where}.name ${JSON.stringify(name)} is not the operation's name (${operation!.name?.value})`);
    if (operation!.operation !== type) problems.push(`${where}.type ${JSON.stringify(type)} is not the operation's type (${operation!.operation})`);
    return undefined;
  });
  return problems;
}

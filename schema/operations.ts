/** The pages' operations, one `.graphql` file each under schema/operations/, by operation name. */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse, type OperationDefinitionNode } from 'graphql';

export const OPERATIONS_DIR = fileURLToPath(new URL('./operations', import.meta.url));

export interface PageOperation {
  name: string;
  type: 'query' | 'mutation' | 'subscription';
  body: string;
}

export function loadOperations(dir = OPERATIONS_DIR): PageOperation[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.graphql'))
    .sort()
    .map((file) => {
      const body = readFileSync(`${dir}/${file}`, 'utf8');
      const operations = parse(body).definitions.filter((d): d is OperationDefinitionNode => d.kind === 'OperationDefinition');
      const [operation] = operations;
      if (operations.length !== 1 || !operation?.name) throw new Error(`${file} must hold exactly one named operation`);
      if (`${operation.name.value}.graphql` !== file) throw new Error(`${file} holds operation ${operation.name.value}; name the file after it`);
      return { name: operation.name.value, type: operation.operation, body };
    });
}

export function operation(name: string): PageOperation {
  const found = loadOperations().find((o) => o.name === name);
  if (!found) throw new Error(`no operation named ${name} in ${OPERATIONS_DIR}`);
  return found;
}

/** The reference deployment's subgraphs: name, default port and SDL file. rover.yaml lists the same. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface SubgraphDefinition {
  name: 'gigs' | 'users' | 'topclients';
  defaultPort: number;
  schemaFile: string;
}

export const SUBGRAPHS: readonly SubgraphDefinition[] = [
  { name: 'gigs', defaultPort: 4001, schemaFile: fileURLToPath(new URL('./gigs.graphql', import.meta.url)) },
  { name: 'users', defaultPort: 4002, schemaFile: fileURLToPath(new URL('./users.graphql', import.meta.url)) },
  { name: 'topclients', defaultPort: 4003, schemaFile: fileURLToPath(new URL('./topclients.graphql', import.meta.url)) },
];

export const SUPERGRAPH_FILE = fileURLToPath(new URL('./supergraph.graphql', import.meta.url));

export function subgraphSdl(name: SubgraphDefinition['name']): string {
  const definition = SUBGRAPHS.find((s) => s.name === name);
  if (!definition) throw new Error(`unknown subgraph "${name}"`);
  return readFileSync(definition.schemaFile, 'utf8');
}

export function defaultRoutingUrl(definition: SubgraphDefinition): string {
  return `http://localhost:${definition.defaultPort}/graphql`;
}

/**
 * Composes the supergraph from the subgraph SDL files with @apollo/composition (what `rover supergraph compose
 * --config rover.yaml` runs) and, when run as a script, writes schema/supergraph.graphql.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { SUBGRAPHS, SUPERGRAPH_FILE, defaultRoutingUrl, subgraphSdl } from './subgraphs.js';

export function composeSupergraph(): string {
  const result = composeServices(
    SUBGRAPHS.map((s) => ({ name: s.name, url: defaultRoutingUrl(s), typeDefs: parse(subgraphSdl(s.name)) })),
  );
  if (result.errors) {
    throw new Error(`composition failed:\n${result.errors.map((e) => `- ${e.message}`).join('\n')}`);
  }
  return result.supergraphSdl.endsWith('\n') ? result.supergraphSdl : `${result.supergraphSdl}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(SUPERGRAPH_FILE, composeSupergraph());
  console.log(`wrote ${SUPERGRAPH_FILE}`);
}

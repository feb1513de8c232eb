import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { composeSupergraph } from '../compose.js';
import { loadOperations } from '../operations.js';
import { SUBGRAPHS, SUPERGRAPH_FILE, defaultRoutingUrl } from '../subgraphs.js';
import { buildSchema, parse, validate } from 'graphql';
import { ApolloGateway } from '@apollo/gateway';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('the committed supergraph', () => {
  it('equals what composing the subgraph SDL files yields now (run `npm run compose` after a schema change)', () => {
    expect(readFileSync(SUPERGRAPH_FILE, 'utf8')).toBe(composeSupergraph());
  });

  it('rover.yaml lists the same subgraphs, routing URLs and schema files, so rover composes the same supergraph', () => {
    const rover = parseYaml(readFileSync(`${root}/rover.yaml`, 'utf8'));
    expect(rover.federation_version).toBe(`=${JSON.parse(readFileSync(`${root}/node_modules/@apollo/composition/package.json`, 'utf8')).version}`);
    expect(Object.keys(rover.subgraphs).sort()).toEqual(SUBGRAPHS.map((s) => s.name).sort());
    for (const subgraph of SUBGRAPHS) {
      const entry = rover.subgraphs[subgraph.name];
      expect(entry.routing_url).toBe(defaultRoutingUrl(subgraph));
      expect(fileURLToPath(new URL(entry.schema.file, `file://${root}`))).toBe(subgraph.schemaFile);
    }
  });

  it('every page operation validates against the API schema the gateway serves', async () => {
    const gateway = new ApolloGateway({ supergraphSdl: readFileSync(SUPERGRAPH_FILE, 'utf8') });
    const { schema } = await gateway.load();
    try {
      const operations = loadOperations();
      expect(operations.map((o) => o.name)).toEqual(expect.arrayContaining(['GigPage', 'UserPage', 'SearchResults', 'MyTopClients']));
      for (const op of operations) expect(validate(schema, parse(op.body)).map((e) => `${op.name}: ${e.message}`)).toEqual([]);
    } finally {
      await gateway.stop();
    }
  });

  it('fields filled by another service on demand are nullable, so a failure nulls them and not the page', () => {
    const sdl = readFileSync(SUPERGRAPH_FILE, 'utf8');
    const schema = buildSchema(sdl.replace(/^schema[\s\S]*?\n}\n/m, ''), { assumeValidSDL: true });
    const seller = schema.getType('Seller') as import('graphql').GraphQLObjectType;
    expect(String(seller.getFields().topClients!.type)).toBe('[Client!]');
    expect(String(seller.getFields().username!.type)).toBe('String');
  });
});

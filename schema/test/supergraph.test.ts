import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { composeSupergraph } from '../compose.js';
import { loadOperations } from '../operations.js';
import { SUBGRAPHS, SUPERGRAPH_FILE, defaultRoutingUrl } from '../subgraphs.js';
import { Supergraph } from '@apollo/federation-internals';
import { buildSchema, parse, specifiedRules, validate, type GraphQLSchema } from 'graphql';
import { DEFER_VALIDATION_RULES, withLiveDirective } from '../../gateway/src/validation/directiveRules.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The API schema as the gateway validates the pages' operations: with @defer declared (DEFER on, the default), as the
 * planner's `includeDefer` prints it, and with @live on queries (the live gig page's operation), as the gateway
 * declares it; over plain HTTP a rule then refuses it, over its streaming transports it makes the query live.
 */
function servedSchema(): GraphQLSchema {
  return withLiveDirective(Supergraph.build(readFileSync(SUPERGRAPH_FILE, 'utf8')).apiSchema().toGraphQLJSSchema({ includeDefer: true }));
}

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

  it('every page operation validates against the API schema the gateway serves', () => {
    // The pages' deferred top clients need DEFER on (the default); the gateway checks @defer with the RFC's rules too.
    const schema = servedSchema();
    const operations = loadOperations();
    expect(operations.map((o) => o.name)).toEqual(expect.arrayContaining(['GigPage', 'GigPageLive', 'UserPage', 'SearchResults', 'MyTopClients']));
    for (const op of operations) {
      expect(validate(schema, parse(op.body), [...specifiedRules, ...DEFER_VALIDATION_RULES]).map((e) => `${op.name}: ${e.message}`)).toEqual([]);
    }
  });

  it('@live is declared on a query and on nothing else, as the gateway declares it', () => {
    const schema = servedSchema();
    const messages = (text: string) => validate(schema, parse(text)).map((e) => e.message);
    expect(messages('query Q @live { gig(id: "g1") { title } }')).toEqual([]);
    expect(messages('subscription S($s: ID!) @live { gigPagesUpdated(sellerId: $s) { version } }')).toEqual(['Directive "@live" may not be used on SUBSCRIPTION.']);
    expect(messages('query Q { gig(id: "g1") @live { title } }')).toEqual(['Directive "@live" may not be used on FIELD.']);
  });

  it('fields filled by another service on demand are nullable, so a failure nulls them and not the page', () => {
    const sdl = readFileSync(SUPERGRAPH_FILE, 'utf8');
    const schema = buildSchema(sdl.replace(/^schema[\s\S]*?\n}\n/m, ''), { assumeValidSDL: true });
    const seller = schema.getType('Seller') as import('graphql').GraphQLObjectType;
    expect(String(seller.getFields().topClients!.type)).toBe('[Client!]');
    expect(String(seller.getFields().username!.type)).toBe('String');
  });
});

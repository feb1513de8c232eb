import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kind, parse, print, visit, type FragmentDefinitionNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { ManifestError, readManifestFile } from '../../gateway/src/persisted/manifest.js';
import { MANIFEST_FILE, persistedQueryManifestText } from '../manifest.js';
import { OPERATIONS_DIR, loadOperations } from '../operations.js';

const committed = () => JSON.parse(readFileSync(MANIFEST_FILE, 'utf8'));

describe('the committed persisted query manifest', () => {
  it('is in Apollo\'s manifest format and lists every page operation, each id the sha256 hex of its body', () => {
    const manifest = committed();
    expect(manifest.format).toBe('apollo-persisted-query-manifest');
    expect(manifest.version).toBe(1);
    const operations = loadOperations();
    expect(manifest.operations.map((o: any) => o.name)).toEqual(operations.map((o) => o.name));
    for (const entry of manifest.operations) {
      expect(Object.keys(entry).sort()).toEqual(['body', 'id', 'name', 'type']);
      expect(entry.id).toBe(createHash('sha256').update(entry.body, 'utf8').digest('hex'));
      const source = operations.find((o) => o.name === entry.name)!;
      expect(entry.body).toBe(source.body);
      expect(entry.type).toBe(source.type);
    }
    expect(manifest.operations.filter((o: any) => o.type === 'mutation').map((o: any) => o.name))
      .toEqual(['AddTopClient', 'RemoveTopClient', 'ReorderTopClients', 'UpdateClient']);
    expect(manifest.operations.filter((o: any) => o.type === 'subscription').map((o: any) => o.name))
      .toEqual(['GigPagesUpdated', 'MyTopClientsChanged']);
  });

  it('equals what generating it from schema/operations yields now (run `npm run manifest` after editing an operation)', () => {
    expect(readFileSync(MANIFEST_FILE, 'utf8')).toBe(persistedQueryManifestText());
  });

  it('the docs\' curl examples send the current ids of GigPage and SearchResults', () => {
    const read = (file: string) => readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');
    const ids = Object.fromEntries(committed().operations.map((o: any) => [o.name, o.id]));
    expect(read('README.md')).toContain(`"sha256Hash":"${ids.GigPage}"`);
    expect(read('docs/PERSISTED-QUERIES.md')).toContain(`"sha256Hash":"${ids.GigPage}"`);
    expect(read('docs/PERSISTED-QUERIES.md')).toContain(`"sha256Hash":"${ids.SearchResults}"`);
  });

  it('the live gig page selects exactly what the gig page does, marked @live and with nothing deferred', () => {
    const bodies = Object.fromEntries(committed().operations.map((o: any) => [o.name, o.body as string]));
    expect(committed().operations.filter((o: any) => /@live\b/.test(o.body)).map((o: any) => [o.name, o.type])).toEqual([['GigPageLive', 'query']]);
    // GigPage without its @defer, and GigPageLive without its @live, under one name: the same document.
    const without = (body: string, directive: string, name: string) => print(visit(parse(body), {
      Directive: (node) => (node.name.value === directive ? null : undefined),
      OperationDefinition: (node) => ({ ...node, name: { ...node.name!, value: name } }),
    }));
    expect(without(bodies.GigPageLive!, 'live', 'Page')).toBe(without(bodies.GigPage!, 'defer', 'Page'));
  });

  it('drift is detected: an edited operation changes the generated manifest and its id', () => {
    const dir = mkdtempSync(join(tmpdir(), 'operations-'));
    try {
      cpSync(OPERATIONS_DIR, dir, { recursive: true });
      const file = join(dir, 'GigPage.graphql');
      writeFileSync(file, readFileSync(file, 'utf8').replace('    rating\n', '    rating\n    ratingCount2: ratingCount\n'));
      const drifted = JSON.parse(persistedQueryManifestText(dir));
      expect(persistedQueryManifestText(dir)).not.toBe(readFileSync(MANIFEST_FILE, 'utf8'));
      const before = committed().operations.find((o: any) => o.name === 'GigPage').id;
      const after = drifted.operations.find((o: any) => o.name === 'GigPage').id;
      expect(after).not.toBe(before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('operations share the client selection through fragments, each body carrying the fragments it uses', () => {
    const bodies = Object.fromEntries(committed().operations.map((o: any) => [o.name, o.body as string]));
    const fragmentNames = (body: string) => parse(body).definitions
      .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => d.name.value);
    for (const name of ['UserPage', 'MyTopClients', 'AddTopClient', 'RemoveTopClient', 'ReorderTopClients', 'UpdateClient']) {
      expect(fragmentNames(bodies[name]!), name).toEqual(['ClientDetails', 'ClientSummary']);
    }
    for (const name of ['GigPage', 'GigPageLive', 'GigPagesUpdated', 'MyTopClientsChanged']) expect(fragmentNames(bodies[name]!), name).toEqual(['ClientSummary']);
    expect(fragmentNames(bodies.SearchResults!)).toEqual([]);
    // The selection is written once: no operation file spells the client's fields out itself.
    for (const file of readdirSync(OPERATIONS_DIR).filter((f) => f.endsWith('.graphql'))) {
      expect(readFileSync(join(OPERATIONS_DIR, file), 'utf8'), file).not.toMatch(/logoUrl/);
    }
  });

  it('an edited fragment changes the id of every operation using it, and only those', () => {
    const dir = mkdtempSync(join(tmpdir(), 'operations-'));
    try {
      cpSync(OPERATIONS_DIR, dir, { recursive: true });
      const file = join(dir, 'fragments', 'ClientDetails.graphql');
      writeFileSync(file, readFileSync(file, 'utf8').replace('  website\n', '  website\n  websiteAgain: website\n'));
      const ids = (operations: any[]) => Object.fromEntries(operations.map((o) => [o.name, o.id]));
      const before = ids(committed().operations);
      const after = ids(JSON.parse(persistedQueryManifestText(dir)).operations);
      const changed = Object.keys(before).filter((name) => before[name] !== after[name]).sort();
      expect(changed).toEqual(['AddTopClient', 'MyTopClients', 'RemoveTopClient', 'ReorderTopClients', 'UpdateClient', 'UserPage']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses an operation using a fragment no file defines, and a fragment no operation uses', () => {
    const dir = mkdtempSync(join(tmpdir(), 'operations-'));
    try {
      cpSync(OPERATIONS_DIR, dir, { recursive: true });
      writeFileSync(join(dir, 'fragments', 'Unused.graphql'), 'fragment Unused on Client {\n  id\n}\n');
      expect(() => loadOperations(dir)).toThrow('no operation uses fragment Unused');
      rmSync(join(dir, 'fragments', 'Unused.graphql'));
      rmSync(join(dir, 'fragments', 'ClientSummary.graphql'));
      expect(() => loadOperations(dir)).toThrow(/uses fragment ClientSummary, which no file in fragments\/ defines/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the gateway refuses a manifest whose id does not match its body, or that is not JSON, naming the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'manifest-'));
    try {
      const tampered = committed();
      tampered.operations[1].body = tampered.operations[1].body.replace('title', 'title description');
      const badIds = join(dir, 'bad-ids.json');
      writeFileSync(badIds, JSON.stringify(tampered));
      expect(() => readManifestFile(badIds)).toThrow(ManifestError);
      expect(() => readManifestFile(badIds)).toThrow(new RegExp(`${badIds}[\\s\\S]*operations\\[1\\]\\.id .* is not the sha256 of its body`));
      const notJson = join(dir, 'broken.json');
      writeFileSync(notJson, '{"format": ');
      expect(() => readManifestFile(notJson)).toThrow(`persisted query manifest ${notJson} is not valid JSON`);
      const wrongFormat = join(dir, 'wrong-format.json');
      writeFileSync(wrongFormat, JSON.stringify({ ...committed(), format: 'relay', version: 2 }));
      expect(() => readManifestFile(wrongFormat)).toThrow(/format must be "apollo-persisted-query-manifest"[\s\S]*version must be 1/);
      expect(() => readManifestFile(join(dir, 'missing.json'))).toThrow(`cannot read persisted query manifest ${join(dir, 'missing.json')}`);
      expect(readManifestFile(MANIFEST_FILE).size).toBe(committed().operations.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * The subgraph side of the entity-cache protocol, against the real topclients service (PGlite, port 0): the
 * requests are the ones the gateway sends, and the assertions are on what crosses the wire.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDemoData, sizeForScale } from '../demoData.js';
import { ifNoneMatchMatches, requestedValidators } from '../entityCacheProtocol.js';
import { startService, type RunningService } from '../service.js';
import { topClientsService } from '../../topclients/service.js';
import { TEST_SCALE } from '../../../test/support/system.js';
import { signedBy, TEST_SUBGRAPH_SECRET } from '../../../test/support/gatewayTrust.js';

const ENTITIES = 'query($representations: [_Any!]!) { _entities(representations: $representations) { ... on Client { id name website } } }';

interface Answer {
  status: number;
  headers: Headers;
  bytes: number;
  body: any;
}

describe('entity-cache protocol on topclients', () => {
  const demo = generateDemoData(sizeForScale(TEST_SCALE));
  const seller = demo.sellers.find((s) => s.topClientIds.length >= 3)!;
  const [c1, c2, c3] = seller.topClientIds as [string, string, string];
  const reps = (...ids: string[]) => ids.map((id) => ({ __typename: 'Client', id }));
  let service: RunningService;

  async function post(payload: Record<string, unknown>, headers: Record<string, string> = {}): Promise<Answer> {
    const response = await fetch(service.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(payload),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, bytes: Buffer.byteLength(text), body: text ? JSON.parse(text) : null };
  }
  const entities = (ids: string[], extensions?: unknown, query = ENTITIES) =>
    post({ query, variables: { representations: reps(...ids) }, ...(extensions === undefined ? {} : { extensions }) });
  const updateClient = async (id: string, website: string) =>
    post({ query: 'mutation($id: ID!, $w: String) { updateClient(id: $id, input: { website: $w }) { id version } }', variables: { id, w: website } },
      await signedBy(seller.id));

  beforeAll(async () => {
    service = await startService(topClientsService, { demoData: demo, gatewaySecret: TEST_SUBGRAPH_SECRET });
  });
  afterAll(() => service?.stop());

  it('announces a validator and max-age per entity, aligned with _entities, null for a missing entity', async () => {
    const answer = await entities([c1, 'c-does-not-exist', c2]);
    expect(answer.status).toBe(200);
    expect(answer.body.data._entities.map((e: { id: string } | null) => e?.id ?? null)).toEqual([c1, null, c2]);
    const wire = answer.body.extensions.entityCache;
    expect(wire.version).toBe(1);
    expect(wire.etags).toEqual([expect.stringMatching(/^"[\w-]+"$/), null, expect.stringMatching(/^"[\w-]+"$/)]);
    expect(wire.etags[0]).not.toBe(wire.etags[2]);
    expect(wire.maxAge).toEqual([60, null, 60]); // Client @cacheControl(maxAge: 60)
    expect(wire.notModified).toEqual([]);
  });

  it('derives the validator from the stored version, not from the selected fields', async () => {
    const narrow = await entities([c1], undefined, 'query($representations: [_Any!]!) { _entities(representations: $representations) { ... on Client { name } } }');
    const wide = await entities([c1], undefined, 'query($representations: [_Any!]!) { _entities(representations: $representations) { ... on Client { id name logoUrl industry website verified version } } }');
    expect(narrow.body.extensions.entityCache.etags[0]).toBe(wide.body.extensions.entityCache.etags[0]);
  });

  it('changes the validator of exactly the client that was updated', async () => {
    const before = (await entities([c1, c2])).body.extensions.entityCache.etags;
    const update = await updateClient(c1, 'https://changed.example');
    expect(update.body.errors).toBeUndefined();
    const after = (await entities([c1, c2])).body.extensions.entityCache.etags;
    expect(after[0]).not.toBe(before[0]);
    expect(after[1]).toBe(before[1]);
  });

  it('answers "not modified" without the payload for current validators, and in full for a stale one', async () => {
    const full = await entities([c1, c2, c3]);
    const [e1, e2, e3] = full.body.extensions.entityCache.etags as string[];
    const staleForC3 = '"an-old-validator"';

    const conditional = await entities([c1, c2, c3], { entityCache: { version: 1, ifNoneMatch: [e1, e2, staleForC3] } });
    expect(conditional.status).toBe(200);
    expect(conditional.body.errors).toBeUndefined();
    expect(conditional.body.data._entities).toEqual([null, null, full.body.data._entities[2]]);
    // The validators the gateway sent are not sent back either; the changed entity's is.
    expect(conditional.body.extensions.entityCache).toEqual({ version: 1, etags: [null, null, e3], maxAge: [60, 60, 60], notModified: [0, 1] });

    // The two unchanged entities' payloads stayed off the wire.
    const payloadBytes = [0, 1].reduce((n, i) => n + Buffer.byteLength(JSON.stringify(full.body.data._entities[i])) + Buffer.byteLength(JSON.stringify(full.body.extensions.entityCache.etags[i])), 0);
    const saved = full.bytes - conditional.bytes;
    // Everything but the two `null`s in data, two in etags and the indexes "0,1" stayed off the wire.
    expect(saved).toBe(payloadBytes - 4 * 'null'.length - '0,1'.length);
    console.info(`entity-cache protocol: full ${full.bytes} B, 2 of 3 not modified ${conditional.bytes} B, saved ${saved} B`);
  });

  it('a request without the extension gets the normal, complete answer', async () => {
    const plain = await entities([c1, c2]);
    const withNulls = await entities([c1, c2], { entityCache: { version: 1, ifNoneMatch: [null, null] } });
    expect(plain.body.data._entities.every((e: unknown) => e !== null)).toBe(true);
    expect(withNulls.body.data).toEqual(plain.body.data);
    expect(plain.body.extensions.entityCache.notModified).toEqual([]);
  });

  it('ignores a garbage ifNoneMatch safely: full answer, no error', async () => {
    const reference = await entities([c1, c2]);
    const current = reference.body.extensions.entityCache.etags as string[];
    const garbage: unknown[] = [
      { entityCache: 'x' },
      { entityCache: { ifNoneMatch: 'x' } },
      { entityCache: { ifNoneMatch: [current[0]] } }, // wrong length
      { entityCache: { ifNoneMatch: [current[0], current[1], current[1]] } },
      { entityCache: { version: 99, ifNoneMatch: current } },
      { entityCache: { ifNoneMatch: [42, { a: 1 }] } },
      { entityCache: { ifNoneMatch: ['', null] } },
    ];
    for (const extensions of garbage) {
      const answer = await entities([c1, c2], extensions);
      expect(answer.status, JSON.stringify(extensions)).toBe(200);
      expect(answer.body.errors).toBeUndefined();
      expect(answer.body.data).toEqual(reference.body.data);
      expect(answer.body.extensions.entityCache.notModified).toEqual([]);
    }
  });

  it('the same entity sent twice in one call gets the same validator, and both copies can be not modified', async () => {
    const twice = await entities([c1, c1]);
    const [a, b] = twice.body.extensions.entityCache.etags;
    expect(a).toBe(b);
    const conditional = await entities([c1, c1], { entityCache: { version: 1, ifNoneMatch: [a, null] } });
    expect(conditional.body.data._entities[0]).toBeNull();
    expect(conditional.body.data._entities[1]).toEqual(twice.body.data._entities[1]);
    expect(conditional.body.extensions.entityCache.notModified).toEqual([0]);
  });

  describe('root fetches: HTTP ETag / If-None-Match / 304', () => {
    const CLIENT = { query: 'query($id: ID!) { client(id: $id) { id name website } }' };

    it('a cacheable query gets an ETag; If-None-Match with it gets 304 and no body', async () => {
      const first = await post({ ...CLIENT, variables: { id: c2 } });
      const etag = first.headers.get('etag');
      expect(first.status).toBe(200);
      expect(first.headers.get('cache-control')).toBe('max-age=60, public');
      expect(etag).toMatch(/^"[\w-]+"$/);

      const again = await post({ ...CLIENT, variables: { id: c2 } }, { 'if-none-match': etag! });
      expect(again.status).toBe(304);
      expect(again.bytes).toBe(0);
      expect(again.headers.get('etag')).toBe(etag);
      expect(again.headers.get('cache-control')).toBe('max-age=60, public');

      for (const header of [`"other", ${etag}`, `W/${etag}`, '*']) {
        expect((await post({ ...CLIENT, variables: { id: c2 } }, { 'if-none-match': header })).status, header).toBe(304);
      }
      expect((await post({ ...CLIENT, variables: { id: c2 } }, { 'if-none-match': '"nope"' })).status).toBe(200);
    });

    it('after a change, the old ETag gets the new answer in full', async () => {
      const before = await post({ ...CLIENT, variables: { id: c3 } });
      await updateClient(c3, 'https://moved.example');
      const after = await post({ ...CLIENT, variables: { id: c3 } }, { 'if-none-match': before.headers.get('etag')! });
      expect(after.status).toBe(200);
      expect(after.body.data.client.website).toBe('https://moved.example');
      expect(after.headers.get('etag')).not.toBe(before.headers.get('etag'));
    });

    it('never for mutations, uncacheable (private, max-age 0) answers, or answers with errors', async () => {
      const mutation = await updateClient(c2, 'https://again.example');
      expect(mutation.headers.get('etag')).toBeNull();

      const own = await post({ query: '{ myTopClients { id } }' }, { ...(await signedBy(seller.id)), 'if-none-match': '*' });
      expect(own.status).toBe(200);
      expect(own.headers.get('etag')).toBeNull();

      const failing = await post({ query: '{ myTopClients { id } client(id: "x") { id } }' }, { 'if-none-match': '*' });
      expect(failing.status).toBe(200);
      expect(failing.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(failing.headers.get('etag')).toBeNull();
    });
  });
});

describe('ifNoneMatchMatches (RFC 9110 §13.1.2: weak comparison)', () => {
  it('matches listed, weak and wildcard tags, nothing else', () => {
    expect(ifNoneMatchMatches('"a"', '"a"')).toBe(true);
    expect(ifNoneMatchMatches('W/"a"', '"a"')).toBe(true);
    expect(ifNoneMatchMatches('"x", W/"a" , "y"', '"a"')).toBe(true);
    expect(ifNoneMatchMatches('*', '"a"')).toBe(true);
    expect(ifNoneMatchMatches('"ab"', '"a"')).toBe(false);
    expect(ifNoneMatchMatches('a', '"a"')).toBe(false);
    expect(ifNoneMatchMatches('', '"a"')).toBe(false);
    expect(ifNoneMatchMatches(undefined, '"a"')).toBe(false);
  });
});

describe('requestedValidators', () => {
  it('reads an aligned list, blanks non-string entries, and refuses anything else', () => {
    expect(requestedValidators({ entityCache: { version: 1, ifNoneMatch: ['"a"', null, 3, ''] } }, 4)).toEqual(['"a"', null, null, null]);
    expect(requestedValidators({ entityCache: { ifNoneMatch: ['"a"'] } }, 1)).toEqual(['"a"']);
    for (const bad of [undefined, null, {}, { entityCache: 1 }, { entityCache: { ifNoneMatch: '"a"' } }, { entityCache: { version: 2, ifNoneMatch: ['"a"'] } }]) {
      expect(requestedValidators(bad, 1)).toBeNull();
    }
    expect(requestedValidators({ entityCache: { ifNoneMatch: ['"a"', '"b"'] } }, 1)).toBeNull();
  });
});

/**
 * Uniting `_entities` operations (what the streams in flight select of one entity, fetched once): what unites, what
 * is refused because a response name would mean two things, and that each operation gets back exactly what it
 * would have been answered.
 */
import { describe, expect, it } from 'vitest';
import { uniteEntityOperations } from '../../src/datasource/entityOperationUnion.js';
import { StreamSelections } from '../../src/datasource/streamSelections.js';

const entities = (selection: string, name = 'Q') => `query ${name}($representations:[_Any!]!){_entities(representations:$representations){...on TopClient{${selection}}}}`;

describe('uniting entity operations', () => {
  it('merges the selections, the same text whichever asks, and cuts each operation its own part', () => {
    const event = entities('id name');
    const page = entities('name logoUrl', 'Page');
    const union = uniteEntityOperations([event, page])!;
    expect(union).not.toBeNull();
    expect(uniteEntityOperations([page, event, page])!.operation).toBe(union.operation);
    expect(union.operation).toBe('query Page($representations:[_Any!]!){_entities(representations:$representations){...on TopClient{name logoUrl id}}}');
    expect(union.operationName).toBe('Page');
    const answer = { id: 'c1', name: 'Acme', logoUrl: '/acme.png' };
    expect(union.parts.get(event)!.cut(answer)).toEqual({ id: 'c1', name: 'Acme' });
    expect(union.parts.get(page)!.cut(answer)).toEqual({ name: 'Acme', logoUrl: '/acme.png' });
    expect(union.parts.get(page)!.selects('logoUrl')).toBe(true);
    expect(union.parts.get(event)!.selects('logoUrl')).toBe(false);
  });

  it('merges nested selections and cuts them at every depth, lists included', () => {
    const a = entities('owner{name}');
    const b = entities('owner{email} tags{label}');
    const union = uniteEntityOperations([a, b])!;
    expect(union.operation).toContain('{owner{email name}tags{label}}');
    const answer = { owner: { name: 'Ann', email: 'a@x' }, tags: [{ label: 'x' }, { label: 'y' }] };
    expect(union.parts.get(a)!.cut(answer)).toEqual({ owner: { name: 'Ann' } });
    expect(union.parts.get(b)!.cut(answer)).toEqual({ owner: { email: 'a@x' }, tags: [{ label: 'x' }, { label: 'y' }] });
    // A part is the operation's own: changing it leaves the answer (and the other parts) as they were.
    const cut = union.parts.get(b)!.cut(answer) as { tags: { label: string }[] };
    cut.tags[0]!.label = 'changed';
    expect(answer.tags[0]!.label).toBe('x');
  });

  it('refuses what would change an operation\'s meaning or cannot be sent with representations alone', () => {
    // One response name, two fields.
    expect(uniteEntityOperations([entities('name'), entities('name: logoUrl')])).toBeNull();
    // One field, two arguments.
    expect(uniteEntityOperations([entities('logo(size: 64)'), entities('logo(size: 128)')])).toBeNull();
    // The same name in two inline fragments, two meanings.
    expect(uniteEntityOperations([
      'query A($representations:[_Any!]!){_entities(representations:$representations){...on TopClient{owner{...on Person{x: name}}}}}',
      'query B($representations:[_Any!]!){_entities(representations:$representations){...on TopClient{owner{...on Company{x: legalName}}}}}',
    ])).toBeNull();
    // Variables besides representations, named fragments, anything but one _entities field.
    expect(uniteEntityOperations(['query A($representations:[_Any!]!,$size:Int){_entities(representations:$representations){...on TopClient{logo(size:$size)}}}', entities('name')])).toBeNull();
    expect(uniteEntityOperations(['query A($representations:[_Any!]!){_entities(representations:$representations){...F}} fragment F on TopClient{name}', entities('id')])).toBeNull();
    expect(uniteEntityOperations(['query A{topClients{id}}', entities('id')])).toBeNull();
    expect(uniteEntityOperations(['not graphql', entities('id')])).toBeNull();
    // One operation is no union.
    expect(uniteEntityOperations([entities('id'), entities('id')])).toBeNull();
  });
});

describe('the selections of the streams in flight', () => {
  const representation = { __typename: 'TopClient', id: 'c1' };

  it('widen a stream\'s fetch with what the other open streams select of the same kind of entity, until they close', () => {
    const selections = new StreamSelections();
    const events = selections.open();
    const page = selections.open();
    expect(events.widen('topclients', entities('id name'), representation)).toBeNull();
    const united = page.widen('topclients', entities('name logoUrl'), representation)!.operation;
    expect(united).toContain('{id name logoUrl}');
    expect(events.widen('topclients', entities('id name'), representation)!.operation).toBe(united);
    // Another subgraph, or representations with other fields (a @requires), are another kind of entity.
    expect(events.widen('users', entities('id name'), representation)).toBeNull();
    expect(events.widen('topclients', entities('id name'), { ...representation, region: 'eu' })).toBeNull();
    page.close();
    expect(events.widen('topclients', entities('id name'), representation)).toBeNull();
    // A closed stream widens nothing and is widened by nothing.
    expect(page.widen('topclients', entities('name logoUrl'), representation)).toBeNull();
  });

  it('two streams running one operation keep it until both close', () => {
    const selections = new StreamSelections();
    const [a, b, c] = [selections.open(), selections.open(), selections.open()];
    a.widen('topclients', entities('name logoUrl'), representation);
    b.widen('topclients', entities('name logoUrl'), representation);
    a.close();
    expect(c.widen('topclients', entities('id'), representation)).not.toBeNull();
    b.close();
    expect(c.widen('topclients', entities('id'), representation)).toBeNull();
  });
});

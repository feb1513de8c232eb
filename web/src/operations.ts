/**
 * The page operations as the manifest holds them (id = sha256 of the body). Imported at build time, so the ids a
 * page sends are exactly the manifest's and no id is ever copied by hand.
 */
import manifest from '../../schema/persisted-query-manifest.json';

export type OperationName =
  | 'GigPage' | 'UserPage' | 'SearchResults' | 'MyTopClients'
  | 'AddTopClient' | 'RemoveTopClient' | 'ReorderTopClients' | 'UpdateClient'
  // Over graphql-ws (liveUpdates.ts): the live gig page, and what gigs applied (the editor's note).
  | 'GigPageLive' | 'GigPagesUpdated';

export interface PersistedOperation {
  id: string;
  name: string;
  type: string;
  body: string;
}

const byName = new Map<string, PersistedOperation>(manifest.operations.map((o) => [o.name, o]));

export function persistedOperation(name: OperationName): PersistedOperation {
  const found = byName.get(name);
  if (!found) throw new Error(`The persisted query manifest has no operation named ${name}`);
  return found;
}

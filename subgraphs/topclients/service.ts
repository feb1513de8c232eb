import { fileURLToPath } from 'node:url';
import { parse } from 'graphql';
import { subgraphSdl } from '../../schema/subgraphs.js';
import { bulkInsert } from '../toolkit/bulkInsert.js';
import type { SubgraphService } from '../toolkit/service.js';
import { startTopClientsEvents, topClientsRoutes } from './events.js';
import { resolvers, topClientsContext, type TopClientsContext } from './resolvers.js';
import type { ClientRecord } from './store.js';

export const topClientsService: SubgraphService<TopClientsContext> = {
  name: 'topclients',
  migrationsDir: fileURLToPath(new URL('./migrations', import.meta.url)),
  typeDefs: parse(subgraphSdl('topclients')),
  resolvers: resolvers as SubgraphService<TopClientsContext>['resolvers'],
  context: topClientsContext,
  // Every change to a client bumps its version, so the version is a complete validator for a Client.
  entityVersions: { Client: (client: ClientRecord) => client.version },
  routes: topClientsRoutes,
  startEvents: startTopClientsEvents,
  isSeeded: async (db) => (await db.query('SELECT 1 FROM clients LIMIT 1')).length > 0,
  async seed(db, data, progress) {
    const listed = data.sellers.filter((s) => s.topClientIds.length > 0);
    const entries = listed.flatMap((s) => s.topClientIds.map((clientId, i) => [s.id, clientId, i + 1]));
    progress.plan([
      { rows: data.clients.length, noun: 'clients' },
      { rows: data.sellers.length, noun: 'sellers' },
      { rows: listed.length, noun: 'seller lists' },
      { rows: entries.length, noun: 'list entries' },
    ]);
    await db.transaction(async (tx) => {
      await bulkInsert(tx, 'clients', ['id', 'name', 'logo_url', 'industry', 'website', 'verified'],
        data.clients.map((c) => [c.id, c.name, c.logoUrl, c.industry, c.website, c.verified]), { onRows: progress.rows });
      // Every seller is known to topclients, listed or not: only a known seller may create a list.
      await bulkInsert(tx, 'sellers', ['id'], data.sellers.map((s) => [s.id]), { onRows: progress.rows });
      await bulkInsert(tx, 'seller_lists', ['seller_id', 'version'], listed.map((s) => [s.id, 1]), { onRows: progress.rows });
      await bulkInsert(tx, 'top_clients', ['seller_id', 'client_id', 'position'], entries, { onRows: progress.rows });
    });
  },
};

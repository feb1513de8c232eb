import { fileURLToPath } from 'node:url';
import { parse } from 'graphql';
import { subgraphSdl } from '../../schema/subgraphs.js';
import { bulkInsert } from '../toolkit/bulkInsert.js';
import { projectionRoutes, startPageSubgraphEvents } from '../toolkit/pageSubgraphEvents.js';
import type { SubgraphService } from '../toolkit/service.js';
import { resolvers, usersContext, type UsersContext } from './resolvers.js';

export const usersService: SubgraphService<UsersContext> = {
  name: 'users',
  migrationsDir: fileURLToPath(new URL('./migrations', import.meta.url)),
  typeDefs: parse(subgraphSdl('users')),
  resolvers: resolvers as SubgraphService<UsersContext>['resolvers'],
  context: usersContext,
  routes: projectionRoutes,
  startEvents: (db, events, log) => startPageSubgraphEvents('users', db, events, log),
  isSeeded: async (db) => (await db.query('SELECT 1 FROM sellers LIMIT 1')).length > 0,
  async seed(db, data, progress) {
    const listed = data.sellers.filter((s) => s.topClientIds.length > 0);
    progress.plan([{ rows: data.sellers.length, noun: 'sellers' }, { rows: listed.length, noun: 'seller lists' }]);
    await db.transaction(async (tx) => {
      await bulkInsert(tx, 'sellers', ['id', 'username', 'display_name', 'level', 'country', 'member_since', 'languages', 'bio'],
        data.sellers.map((s) => [s.id, s.username, s.displayName, s.level, s.country, s.memberSince, s.languages, s.bio]),
        { onRows: progress.rows });
      // The IDs a page subgraph would have received as events for each seller's first list (version 1).
      await bulkInsert(tx, 'seller_client_ids', ['seller_id', 'client_ids', 'version'],
        listed.map((s) => [s.id, s.topClientIds, 1]), { onRows: progress.rows });
    });
  },
};

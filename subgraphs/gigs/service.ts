import { fileURLToPath } from 'node:url';
import { parse } from 'graphql';
import { subgraphSdl } from '../../schema/subgraphs.js';
import { bulkInsert } from '../toolkit/bulkInsert.js';
import { projectionRoutes, startPageSubgraphEvents } from '../toolkit/pageSubgraphEvents.js';
import type { SubgraphService } from '../toolkit/service.js';
import { gigsContext, resolvers, type GigsContext } from './resolvers.js';

export const gigsService: SubgraphService<GigsContext> = {
  name: 'gigs',
  migrationsDir: fileURLToPath(new URL('./migrations', import.meta.url)),
  typeDefs: parse(subgraphSdl('gigs')),
  resolvers: resolvers as SubgraphService<GigsContext>['resolvers'],
  context: gigsContext,
  routes: projectionRoutes,
  startEvents: (db, events, log) => startPageSubgraphEvents('gigs', db, events, log),
  isSeeded: async (db) => (await db.query('SELECT 1 FROM gigs LIMIT 1')).length > 0,
  async seed(db, data, progress) {
    const listed = data.sellers.filter((s) => s.topClientIds.length > 0);
    progress.plan([{ rows: data.gigs.length, noun: 'gigs' }, { rows: listed.length, noun: 'seller lists' }]);
    await db.transaction(async (tx) => {
      await bulkInsert(tx, 'gigs', ['id', 'seq', 'seller_id', 'title', 'description', 'price', 'rating', 'rating_count', 'category'],
        data.gigs.map((g, i) => [g.id, i + 1, g.sellerId, g.title, g.description, g.price, g.rating, g.ratingCount, g.category]),
        { onRows: progress.rows });
      // The IDs a page subgraph would have received as events for each seller's first list (version 1).
      await bulkInsert(tx, 'seller_client_ids', ['seller_id', 'client_ids', 'version'],
        listed.map((s) => [s.id, s.topClientIds, 1]), { onRows: progress.rows });
    });
  },
};

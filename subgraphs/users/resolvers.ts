import DataLoader from 'dataloader';
import { clientIdLoader } from '../toolkit/clientIdProjection.js';
import type { OutboxSubscriptions } from '../toolkit/outboxSubscriptions.js';
import { appliedListSubscription } from '../toolkit/pageSubgraphEvents.js';
import type { Database, Queryable } from '../toolkit/storage.js';
import type { RequestContext } from '../toolkit/subgraphServer.js';

export interface SellerRecord {
  id: string;
  username: string;
  displayName: string;
  level: string;
  country: string;
  memberSince: string;
  languages: string[];
  bio: string | null;
}

export interface UsersContext extends RequestContext {
  db: Database;
  outbox: OutboxSubscriptions;
  sellers: DataLoader<string, SellerRecord | null>;
  clientIds: DataLoader<string, { id: string }[]>;
}

const SELLER_COLUMNS = `id, username, display_name AS "displayName", level, country,
  to_char(member_since, 'YYYY-MM-DD') AS "memberSince", languages, bio`;

async function sellersWhere(db: Queryable, column: 'id' | 'username', values: readonly string[]): Promise<SellerRecord[]> {
  return db.query<SellerRecord & Record<string, unknown>>(
    `SELECT ${SELLER_COLUMNS} FROM sellers WHERE ${column} = ANY($1::text[])`,
    [values],
  );
}

export function usersContext(db: Database, outbox: OutboxSubscriptions) {
  return (base: RequestContext): UsersContext => ({
    ...base,
    db,
    outbox,
    sellers: new DataLoader(async (ids) => {
      const found = new Map((await sellersWhere(db, 'id', ids)).map((s) => [s.id, s]));
      return ids.map((id) => found.get(id) ?? null);
    }),
    clientIds: clientIdLoader(db),
  });
}

export const resolvers = {
  Seller: {
    __resolveReference: (ref: { id: string }, ctx: UsersContext) => ctx.sellers.load(ref.id),
    topClients: (seller: { id: string }, _: unknown, ctx: UsersContext) => ctx.clientIds.load(seller.id),
  },
  Query: {
    seller: async (_: unknown, args: { username: string }, ctx: UsersContext) =>
      (await sellersWhere(ctx.db, 'username', [args.username]))[0] ?? null,
  },
  Subscription: {
    userPageUpdated: appliedListSubscription,
  },
  TopClientsVisible: {
    // The profile as the user page shows it, not only the id the event names (a seller without one keeps the id).
    seller: async (visible: { seller: { id: string } }, _: unknown, ctx: UsersContext) =>
      (await ctx.sellers.load(visible.seller.id)) ?? visible.seller,
  },
};

import DataLoader from 'dataloader';
import { clientIdLoader } from '../toolkit/clientIdProjection.js';
import { subgraphError } from '../toolkit/errors.js';
import type { OutboxSubscriptions } from '../toolkit/outboxSubscriptions.js';
import { appliedListSubscription } from '../toolkit/pageSubgraphEvents.js';
import type { Database, Queryable } from '../toolkit/storage.js';
import type { RequestContext } from '../toolkit/subgraphServer.js';

export interface GigRecord {
  id: string;
  sellerId: string;
  title: string;
  description: string;
  price: number;
  rating: number | null;
  ratingCount: number;
  category: string;
}

export interface GigsContext extends RequestContext {
  db: Database;
  outbox: OutboxSubscriptions;
  gigs: DataLoader<string, GigRecord | null>;
  clientIds: DataLoader<string, { id: string }[]>;
}

export const MAX_PAGE_SIZE = 100;

const GIG_COLUMNS = `id, seller_id AS "sellerId", title, description, price::float8 AS price, rating::float8 AS rating,
  rating_count AS "ratingCount", category`;
const RANK = 'ORDER BY rating DESC NULLS LAST, rating_count DESC, seq';

function pageSize(first: number | null | undefined, fallback: number): number {
  const size = first ?? fallback;
  if (!Number.isInteger(size) || size < 0 || size > MAX_PAGE_SIZE) {
    throw subgraphError('BAD_USER_INPUT', `first must be between 0 and ${MAX_PAGE_SIZE}, got ${size}`);
  }
  return size;
}

/** LIKE patterns treat % and _ as wildcards; a search for "100%" means the characters. */
function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

async function searchGigs(db: Queryable, text: string | null | undefined, category: string | null | undefined, first: number) {
  const where: string[] = [];
  const params: unknown[] = [];
  const needle = text?.trim();
  if (needle) {
    params.push(likePattern(needle));
    where.push(`(title ILIKE $${params.length} OR description ILIKE $${params.length})`);
  }
  if (category) {
    params.push(category);
    where.push(`category = $${params.length}`);
  }
  params.push(first);
  return db.query<GigRecord & Record<string, unknown>>(
    `SELECT ${GIG_COLUMNS} FROM gigs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ${RANK} LIMIT $${params.length}`,
    params,
  );
}

export function gigsContext(db: Database, outbox: OutboxSubscriptions) {
  return (base: RequestContext): GigsContext => ({
    ...base,
    db,
    outbox,
    gigs: new DataLoader(async (ids) => {
      const rows = await db.query<GigRecord & Record<string, unknown>>(`SELECT ${GIG_COLUMNS} FROM gigs WHERE id = ANY($1::text[])`, [ids]);
      const found = new Map(rows.map((g) => [g.id, g]));
      return ids.map((id) => found.get(id) ?? null);
    }),
    clientIds: clientIdLoader(db),
  });
}

export const resolvers = {
  Gig: {
    __resolveReference: (ref: { id: string }, ctx: GigsContext) => ctx.gigs.load(ref.id),
    seller: (gig: GigRecord) => ({ id: gig.sellerId }),
  },
  Seller: {
    __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
    topClients: (seller: { id: string }, _: unknown, ctx: GigsContext) => ctx.clientIds.load(seller.id),
    gigs: (seller: { id: string }, args: { first?: number | null }, ctx: GigsContext) =>
      ctx.db.query(`SELECT ${GIG_COLUMNS} FROM gigs WHERE seller_id = $1 ORDER BY seq DESC LIMIT $2`, [seller.id, pageSize(args.first, 10)]),
  },
  Query: {
    gig: (_: unknown, args: { id: string }, ctx: GigsContext) => ctx.gigs.load(args.id),
    searchGigs: (_: unknown, args: { text?: string | null; category?: string | null; first?: number | null }, ctx: GigsContext) =>
      searchGigs(ctx.db, args.text, args.category, pageSize(args.first, 20)),
  },
  Subscription: {
    gigPagesUpdated: appliedListSubscription,
  },
};

import DataLoader from 'dataloader';
import { requireSeller } from '../toolkit/identity.js';
import { subgraphError } from '../toolkit/errors.js';
import type { RequestContext } from '../toolkit/subgraphServer.js';
import type { Database } from '../toolkit/storage.js';
import { clientUpdated, sellerClientIdsChanged, type SellerClientIdsChanged } from '../toolkit/events.js';
import type { OutboxSubscriptions } from '../toolkit/outboxSubscriptions.js';
import { appendToOutbox, notifyOutbox } from '../toolkit/outbox.js';
import { validateClientInput, type ClientInput } from './clientInput.js';
import { clientsByIds, isKnownSeller, sellerList, updateClientRow, writeSellerList, type ClientRecord } from './store.js';

export const MAX_TOP_CLIENTS = 10;

export interface TopClientsContext extends RequestContext {
  db: Database;
  outbox: OutboxSubscriptions;
  clients: DataLoader<string, ClientRecord | null>;
}

export function topClientsContext(db: Database, outbox: OutboxSubscriptions) {
  return (base: RequestContext): TopClientsContext => ({
    ...base,
    db,
    outbox,
    // One query for all the representations of an `_entities` call, whatever their number.
    clients: new DataLoader(async (ids) => {
      const found = await clientsByIds(db, ids);
      return ids.map((id) => found.get(id) ?? null);
    }),
  });
}

async function listedClients(ctx: TopClientsContext, clientIds: readonly string[]): Promise<ClientRecord[]> {
  const found = await ctx.clients.loadMany(clientIds);
  return found.filter((c): c is ClientRecord => c !== null && !(c instanceof Error));
}

export const resolvers = {
  Client: {
    __resolveReference: (ref: { id: string }, ctx: TopClientsContext) => ctx.clients.load(ref.id),
  },
  Query: {
    myTopClients: async (_: unknown, __: unknown, ctx: TopClientsContext) => {
      const list = await sellerList(ctx.db, requireSeller(ctx.sellerId));
      return listedClients(ctx, list.clientIds);
    },
    client: (_: unknown, args: { id: string }, ctx: TopClientsContext) => ctx.clients.load(args.id),
  },
  Subscription: {
    myTopClientsChanged: {
      // The caller is checked when the subscription starts, as the mutations check it: anonymous is UNAUTHENTICATED.
      subscribe: (_: unknown, __: unknown, ctx: TopClientsContext) => {
        const sellerId = requireSeller(ctx.sellerId);
        return ctx.outbox.subscribe((event) => event.type === 'seller-client-ids-changed' && event.payload.sellerId === sellerId);
      },
      // The list the event carries, with each client as stored now (each event has a context, and a loader, of its own).
      resolve: async (event: SellerClientIdsChanged, _: unknown, ctx: TopClientsContext) => ({
        sellerId: event.payload.sellerId,
        version: event.version,
        clients: await listedClients(ctx, event.payload.clientIds),
      }),
    },
  },
  Mutation: {
    addTopClient: (_: unknown, args: { clientId: string }, ctx: TopClientsContext) =>
      changeList(ctx, (current) => {
        if (current.includes(args.clientId)) return current;
        if (current.length >= MAX_TOP_CLIENTS) {
          throw subgraphError('BAD_USER_INPUT', `A seller can list at most ${MAX_TOP_CLIENTS} top clients`);
        }
        return [...current, args.clientId];
      }, [args.clientId]),
    removeTopClient: (_: unknown, args: { clientId: string }, ctx: TopClientsContext) =>
      changeList(ctx, (current) => current.filter((id) => id !== args.clientId)),
    reorderTopClients: (_: unknown, args: { clientIds: string[] }, ctx: TopClientsContext) =>
      changeList(ctx, (current) => {
        const wanted = new Set(args.clientIds);
        if (wanted.size !== args.clientIds.length || wanted.size !== current.length || current.some((id) => !wanted.has(id))) {
          throw subgraphError('BAD_USER_INPUT', 'reorderTopClients needs exactly the clients on your list, each once');
        }
        return args.clientIds;
      }),
    updateClient: async (_: unknown, args: { id: string; input: ClientInput }, ctx: TopClientsContext) => {
      const sellerId = requireSeller(ctx.sellerId);
      const changes = validateClientInput(args.input);
      const updated = await ctx.db.transaction(async (tx) => {
        const list = await sellerList(tx, sellerId);
        if (!list.clientIds.includes(args.id)) {
          const exists = (await clientsByIds(tx, [args.id])).has(args.id);
          throw exists
            ? subgraphError('FORBIDDEN', `Client ${args.id} is not on your top clients, so you cannot edit it`)
            : subgraphError('NOT_FOUND', `No client with id ${args.id}`);
        }
        if (Object.keys(changes).length === 0) return { client: (await clientsByIds(tx, [args.id])).get(args.id)!, changed: false };
        const client = (await updateClientRow(tx, args.id, changes))!;
        // Same transaction as the change: the event exists exactly when the change does.
        await appendToOutbox(tx, clientUpdated(client.id, client.version));
        return { client, changed: true };
      });
      if (updated.changed) notifyOutbox(ctx.db);
      return updated.client;
    },
  },
};

/**
 * Reads the caller's list under a row lock, applies `change`, writes the result when it differs, and returns the
 * clients in order. A no-op (adding a client already listed, removing one that is not) changes no version.
 */
async function changeList(
  ctx: TopClientsContext,
  change: (current: string[]) => string[],
  mustExist: string[] = [],
): Promise<ClientRecord[]> {
  const sellerId = requireSeller(ctx.sellerId);
  const { clientIds, changed } = await ctx.db.transaction(async (tx) => {
    // The gateway vouches for who is calling; this makes sure that caller is a seller before a list exists for it.
    if (!(await isKnownSeller(tx, sellerId))) {
      throw subgraphError('FORBIDDEN', `${sellerId} is not a seller known to topclients, so it cannot keep a list of top clients`);
    }
    if (mustExist.length > 0) {
      const found = await clientsByIds(tx, mustExist);
      const missing = mustExist.filter((id) => !found.has(id));
      if (missing.length > 0) throw subgraphError('NOT_FOUND', `No client with id ${missing.join(', ')}`);
    }
    const current = await sellerList(tx, sellerId, true);
    const next = change(current.clientIds);
    if (next.length === current.clientIds.length && next.every((id, i) => id === current.clientIds[i])) {
      return { clientIds: next, changed: false };
    }
    const version = await writeSellerList(tx, sellerId, next);
    // Same transaction as the list: the event exists exactly when the change does.
    await appendToOutbox(tx, sellerClientIdsChanged(sellerId, next, version));
    return { clientIds: next, changed: true };
  });
  if (changed) notifyOutbox(ctx.db);
  return listedClients(ctx, clientIds);
}

/**
 * What every subgraph service is made of, and the one way to start one: open its own database, apply its
 * migrations, seed the demo data on first start (a second start keeps what is there), then serve.
 */
import type { DocumentNode } from 'graphql';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import type { EventsConfig } from './eventsConfig.js';
import { jsonEventLog, type EventLog } from './eventLog.js';
import { generateDemoData, sizeForScale, type DemoData } from './demoData.js';
import type { EntityVersions } from './entityCacheProtocol.js';
import { migrate } from './migrations.js';
import { OutboxSubscriptions } from './outboxSubscriptions.js';
import { trackSeed, type SeedProgress, type SeedProgressEvent } from './seedProgress.js';
import { openDatabase, type Database, type StorageConfig } from './storage.js';
import type { Tracer } from '@opentelemetry/api';
import { sendJson, startSubgraphServer, type RequestContext, type RouteHandler, type RunningSubgraph } from './subgraphServer.js';

export interface SubgraphService<TContext extends RequestContext> {
  name: string;
  migrationsDir: string;
  typeDefs: DocumentNode;
  resolvers: GraphQLResolverMap<TContext>;
  /** `outbox` feeds the service's subscriptions: the events its own outbox commits (toolkit/outboxSubscriptions.ts). */
  context(db: Database, outbox: OutboxSubscriptions): (base: RequestContext) => TContext;
  /** True when the database already holds this service's data (then seeding is skipped). */
  isSeeded(db: Database): Promise<boolean>;
  /** Writes the demo data in one transaction, telling `progress` what it writes and each batch that lands. */
  seed(db: Database, data: DemoData, progress: SeedProgress): Promise<void>;
  routes?(db: Database): Record<string, RouteHandler>;
  /** Entity types whose cache validators derive from a version (see toolkit/entityCacheProtocol.ts). */
  entityVersions?: EntityVersions;
  /** Starts the service's part in change propagation (relay, consumer) and any routes that need it. */
  startEvents?(db: Database, events: EventsConfig, log: EventLog): Promise<ServiceEvents>;
}

export interface ServiceEvents {
  routes?: Record<string, RouteHandler>;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** An open database (tests share one), or the storage to open. */
  db?: Database;
  storage?: StorageConfig;
  /** Demo data to seed on first start; `seedScale` builds it, `false` seeds nothing. */
  demoData?: DemoData | false;
  seedScale?: number;
  /** Told what seeding writes and how far it is (npm start draws it); seeding is silent without it. */
  onSeedProgress?: (event: SeedProgressEvent) => void;
  host?: string;
  port?: number;
  /** When given, the service takes part in change propagation (without it: no relay, no consumer). */
  events?: EventsConfig;
  eventLog?: EventLog;
  /** GATEWAY_SUBGRAPH_SECRET: the service acts only for callers the gateway signed with it (toolkit/gatewayIdentity.ts). */
  gatewaySecret?: string | null;
  /** `stale-while-revalidate` on every cacheable answer (0 or absent: not sent). */
  staleWhileRevalidateSeconds?: number;
  /** A server span per GraphQL request, in the caller's trace (OpenTelemetry); none when absent. */
  tracer?: Tracer | null;
}

export interface RunningService extends RunningSubgraph {
  db: Database;
  /** The tailer of this service's outbox behind its subscriptions (who subscribes, whether it reads). */
  outboxSubscriptions: OutboxSubscriptions;
}

export async function startService<TContext extends RequestContext>(
  service: SubgraphService<TContext>,
  options: StartOptions,
): Promise<RunningService> {
  const ownsDb = !options.db;
  const db = options.db ?? (await openDatabase(options.storage ?? { kind: 'pglite' }));
  let events: ServiceEvents | undefined;
  const log = options.eventLog ?? jsonEventLog(service.name);
  const outboxSubscriptions = new OutboxSubscriptions(db, { log });
  try {
    await migrate(db, service.migrationsDir);
    if (options.demoData !== false && !(await service.isSeeded(db))) {
      const progress = trackSeed(options.onSeedProgress ?? (() => undefined));
      await service.seed(db, options.demoData ?? generateDemoData(sizeForScale(options.seedScale ?? 1)), progress);
      progress.finish();
    }
    events = options.events && service.startEvents
      ? await service.startEvents(db, options.events, log)
      : undefined;
    const server = await startSubgraphServer({
      name: service.name,
      typeDefs: service.typeDefs,
      resolvers: service.resolvers,
      context: service.context(db, outboxSubscriptions),
      routes: {
        ...service.routes?.(db),
        ...events?.routes,
        // Who is subscribed now: an operator (or a test) sees whether the gateway's subscriptions are in place.
        '/subscriptions/status': (req, res) => {
          if (req.method !== 'GET') return sendJson(res, 405, { error: 'use GET' });
          sendJson(res, 200, { service: service.name, subscribers: outboxSubscriptions.subscriberCount, tailing: outboxSubscriptions.tailing });
        },
      },
      entityVersions: service.entityVersions,
      host: options.host,
      port: options.port,
      gatewaySecret: options.gatewaySecret,
      staleWhileRevalidateSeconds: options.staleWhileRevalidateSeconds,
      tracer: options.tracer ?? null,
    });
    return {
      ...server,
      db,
      outboxSubscriptions,
      async stop() {
        await events?.stop();
        // Closes every WebSocket, so their subscriptions leave; the tailer then ends whatever is left and finishes
        // its last read before the database closes.
        await server.stop();
        await outboxSubscriptions.stop();
        if (ownsDb) await db.close();
      },
    };
  } catch (error) {
    await events?.stop().catch(() => undefined);
    if (ownsDb) await db.close().catch(() => undefined);
    throw error;
  }
}

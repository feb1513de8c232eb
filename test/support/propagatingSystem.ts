/**
 * The reference deployment with change propagation on: topclients first (its feed URL is known only once it
 * listens), then gigs and users consuming its events on the chosen transport (each publishing what it applied on
 * its own feed, and on NATS its own stream), then the gateway evicting cached entities from every publisher's
 * events. In-process, PGlite in memory, port 0.
 */
import { loadConfig } from '../../gateway/src/config.js';
import { jsonLogger } from '../../gateway/src/logger.js';
import { startGateway, type RunningGateway } from '../../gateway/src/server.js';
import { SERVICES, type ServiceName } from '../../subgraphs/services.js';
import type { DemoData } from '../../subgraphs/toolkit/demoData.js';
import type { EventLog } from '../../subgraphs/toolkit/eventLog.js';
import type { EventsConfig } from '../../subgraphs/toolkit/eventsConfig.js';
import { startService, type RunningService } from '../../subgraphs/toolkit/service.js';
import { invalidationFeedEnv, invalidationNatsEnv } from '../../schema/referenceGateway.js';
import { deleteStream, NATS_URL, uniqueStreamName } from './nats.js';
import { TEST_SUBGRAPH_SECRET } from './gatewayTrust.js';
import { gatewayEnvFor } from './system.js';

export type TransportKind = 'feed' | 'nats';

export interface PropagatingSystem {
  /** Absent when started with `{ gateway: false }`. */
  gateway: RunningGateway;
  subgraphs: Record<ServiceName, RunningService>;
  /** topclients' change feed. */
  feedUrl: string;
  events: EventsConfig;
  /** The gateway settings that listen to every publisher (feeds or streams), for a second gateway. */
  invalidationEnv: Record<string, string>;
  stop(): Promise<void>;
}

export interface PropagatingSystemOptions {
  gateway?: boolean;
  /** More gateway settings (e.g. ROOT_FETCH_CACHE). */
  gatewayEnv?: Record<string, string>;
  /**
   * Where a page subgraph reads topclients' feed on the feed transport (default: the feed itself); a test puts a
   * gate in between to hold one consumer back.
   */
  consumerFeedUrl?: (service: 'gigs' | 'users', feedUrl: string) => string;
}

export const quietEventLog: EventLog = (level, msg, fields) => {
  if (level === 'error') console.error(JSON.stringify({ level, msg, ...fields }));
};

export async function startPropagatingSystem(transport: TransportKind, demo: DemoData, options: PropagatingSystemOptions = {}): Promise<PropagatingSystem> {
  const started: { stop(): Promise<void> }[] = [];
  const stream = uniqueStreamName('PROP');
  const subjectPrefix = `prop.${stream.toLowerCase()}`;
  // gigs' and users' own streams, unique per run like topclients' (their outbox ids restart with each database).
  const ownStreams = {
    gigs: { stream: `${stream}_GIGS`, subjectPrefix: `propgigs.${stream.toLowerCase()}` },
    users: { stream: `${stream}_USERS`, subjectPrefix: `propusers.${stream.toLowerCase()}` },
  };
  const streams = [stream, ownStreams.gigs.stream, ownStreams.users.stream];
  try {
    // The feed URL is needed before topclients listens only on the NATS transport (for rebuilds); patched below.
    const topclients = await startService(SERVICES.topclients, {
      demoData: demo,
      events: transport === 'nats' ? { transport, feedUrl: 'http://127.0.0.1:1/events', nats: { servers: NATS_URL, stream, subjectPrefix } } : undefined,
      eventLog: quietEventLog,
      gatewaySecret: TEST_SUBGRAPH_SECRET,
    });
    started.push(topclients);
    const feedUrl = topclients.url.replace(/\/graphql$/, '/events');
    const events: EventsConfig = transport === 'nats'
      ? { transport, feedUrl, nats: { servers: NATS_URL, stream, subjectPrefix } }
      : { transport, feedUrl };
    const eventsOf = (service: 'gigs' | 'users'): EventsConfig => events.transport === 'nats'
      ? { ...events, ownStream: ownStreams[service] }
      : { ...events, feedUrl: options.consumerFeedUrl?.(service, feedUrl) ?? feedUrl };
    const gigs = await startService(SERVICES.gigs, { demoData: demo, events: eventsOf('gigs'), eventLog: quietEventLog });
    started.push(gigs);
    const users = await startService(SERVICES.users, { demoData: demo, events: eventsOf('users'), eventLog: quietEventLog });
    started.push(users);
    const subgraphs = { gigs, users, topclients };
    const invalidationEnv: Record<string, string> = transport === 'nats'
      ? invalidationNatsEnv(NATS_URL, { topclients: { stream, subjectPrefix }, ...ownStreams })
      : invalidationFeedEnv([topclients, gigs, users].map((s) => s.url.replace(/\/graphql$/, '/events')));
    const gateway = options.gateway === false
      ? (undefined as unknown as RunningGateway)
      : await startGateway(loadConfig(gatewayEnvFor(subgraphs, { ...invalidationEnv, ...options.gatewayEnv })), { logger: jsonLogger('error') });
    return {
      gateway,
      subgraphs,
      feedUrl,
      events,
      invalidationEnv,
      async stop() {
        await gateway?.stop();
        for (const service of started.reverse()) await service.stop();
        if (transport === 'nats') for (const name of streams) await deleteStream(NATS_URL, name);
      },
    };
  } catch (error) {
    for (const service of started.reverse()) await service.stop().catch(() => undefined);
    if (transport === 'nats') for (const name of streams) await deleteStream(NATS_URL, name).catch(() => undefined);
    throw error;
  }
}

/** Polls `probe` until `ok`; returns the value and how long it took. */
export async function pollUntil<T>(what: string, probe: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 30_000, everyMs = 20) {
  const started = performance.now();
  for (;;) {
    const value = await probe();
    if (ok(value)) return { value, elapsedMs: performance.now() - started };
    if (performance.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(value).slice(0, 300)}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * The reference deployment with change propagation on: topclients first (its feed URL is known only once it
 * listens), then gigs and users consuming its events on the chosen transport, then the gateway evicting cached
 * entities from the same events. In-process, PGlite in memory, port 0.
 */
import { loadConfig } from '../../gateway/src/config.js';
import { jsonLogger } from '../../gateway/src/logger.js';
import { startGateway, type RunningGateway } from '../../gateway/src/server.js';
import { SERVICES, type ServiceName } from '../../subgraphs/services.js';
import type { DemoData } from '../../subgraphs/toolkit/demoData.js';
import type { EventLog } from '../../subgraphs/toolkit/eventLog.js';
import type { EventsConfig } from '../../subgraphs/toolkit/eventsConfig.js';
import { startService, type RunningService } from '../../subgraphs/toolkit/service.js';
import { deleteStream, NATS_URL, uniqueStreamName } from './nats.js';
import { TEST_SUBGRAPH_SECRET } from './gatewayTrust.js';
import { gatewayEnvFor } from './system.js';

export type TransportKind = 'feed' | 'nats';

export interface PropagatingSystem {
  /** Absent when started with `{ gateway: false }`. */
  gateway: RunningGateway;
  subgraphs: Record<ServiceName, RunningService>;
  feedUrl: string;
  events: EventsConfig;
  stop(): Promise<void>;
}

export const quietEventLog: EventLog = (level, msg, fields) => {
  if (level === 'error') console.error(JSON.stringify({ level, msg, ...fields }));
};

export async function startPropagatingSystem(transport: TransportKind, demo: DemoData, options: { gateway?: boolean } = {}): Promise<PropagatingSystem> {
  const started: { stop(): Promise<void> }[] = [];
  const stream = uniqueStreamName('PROP');
  const subjectPrefix = `prop.${stream.toLowerCase()}`;
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
    const gigs = await startService(SERVICES.gigs, { demoData: demo, events, eventLog: quietEventLog });
    started.push(gigs);
    const users = await startService(SERVICES.users, { demoData: demo, events, eventLog: quietEventLog });
    started.push(users);
    const subgraphs = { gigs, users, topclients };
    const invalidationEnv: Record<string, string> = transport === 'nats'
      ? { INVALIDATION_NATS_URL: NATS_URL, INVALIDATION_NATS_STREAM: stream, INVALIDATION_NATS_SUBJECT: `${subjectPrefix}.client.>` }
      : { INVALIDATION_FEED_URL: feedUrl };
    const gateway = options.gateway === false
      ? (undefined as unknown as RunningGateway)
      : await startGateway(loadConfig(gatewayEnvFor(subgraphs, invalidationEnv)), { logger: jsonLogger('error') });
    return {
      gateway,
      subgraphs,
      feedUrl,
      events,
      async stop() {
        await gateway?.stop();
        for (const service of started.reverse()) await service.stop();
        if (transport === 'nats') await deleteStream(NATS_URL, stream);
      },
    };
  } catch (error) {
    for (const service of started.reverse()) await service.stop().catch(() => undefined);
    if (transport === 'nats') await deleteStream(NATS_URL, stream).catch(() => undefined);
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

/**
 * Starts one subgraph service as its own process: `npm run subgraph -- <gigs|users|topclients>`.
 * The only file of subgraphs/ that reads the environment.
 */
import { SUBGRAPHS } from '../schema/subgraphs.js';
import { ConfigError, loadSubgraphConfig } from './toolkit/config.js';
import { startService } from './toolkit/service.js';
import { startTracing } from '../gateway/src/telemetry/tracing.js';
import { SERVICES, type ServiceName } from './services.js';

const name = process.argv[2] as ServiceName | undefined;
const definition = SUBGRAPHS.find((s) => s.name === name);
if (!name || !definition || !(name in SERVICES)) {
  console.error(`usage: npm run subgraph -- <${Object.keys(SERVICES).join('|')}>`);
  process.exit(2);
}

try {
  const config = loadSubgraphConfig(name, definition.defaultPort, process.env);
  const tracing = startTracing(config.tracing);
  const service = await startService(SERVICES[name], {
    ...config,
    tracer: tracing?.tracer ?? null,
    // One JSON line per batch: `npm start` draws these as a progress bar (scripts/seedProgressDisplay.ts).
    onSeedProgress: ({ phase, ...progress }) => console.log(JSON.stringify({ level: 'info', service: name, msg: phase, ...progress })),
  });
  console.log(JSON.stringify({ level: 'info', service: name, msg: 'listening', url: service.url, storage: service.db.kind }));
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(JSON.stringify({ level: 'info', service: name, msg: 'stopping', signal }));
    await service.stop();
    await tracing?.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
} catch (error) {
  const message = error instanceof ConfigError ? `bad configuration: ${error.message}` : String((error as Error)?.stack ?? error);
  console.error(JSON.stringify({ level: 'fatal', service: name, msg: message }));
  process.exit(1);
}

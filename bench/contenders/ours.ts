/**
 * Contender "ours": the project's gateway exactly as `gateway/src/main.ts` builds it (config from the environment,
 * `startGateway`), in its own process so its CPU time and peak RSS are its own. Prints `READY <url>`; exits cleanly on
 * SIGTERM (so `--cpu-prof` writes its profile).
 */
import { loadConfig } from '../../gateway/src/config.js';
import { jsonLogger } from '../../gateway/src/logger.js';
import { startGateway } from '../../gateway/src/server.js';

process.env.APOLLO_TELEMETRY_DISABLED = 'true';
const gateway = await startGateway(loadConfig(process.env), { logger: jsonLogger('error') });
console.log(`READY ${gateway.url}`);
const stop = async () => {
  await gateway.stop();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());

/**
 * The gateway process: environment -> config, start, drain on SIGINT/SIGTERM. The only file of gateway/ that
 * touches `process`.
 */
import { ConfigError, loadConfig, unknownGatewayKeys } from './config.js';
import { jsonLogger } from './logger.js';
import { startGateway } from './server.js';

let logger = jsonLogger('info');
try {
  const config = loadConfig(process.env);
  logger = jsonLogger(config.logLevel);
  for (const key of unknownGatewayKeys(process.env)) logger.warn('unknown setting ignored', { key });
  const gateway = await startGateway(config, { logger });
  logger.info('gateway ready', { url: gateway.url, supergraph: config.supergraph.kind, mode: config.mode });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping', { signal });
    await gateway.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
} catch (error) {
  logger.error(error instanceof ConfigError ? error.message : `gateway failed to start: ${(error as Error)?.message ?? error}`);
  process.exit(1);
}

/**
 * The gateway process: environment -> config, start, drain on SIGINT/SIGTERM. The only file of gateway/ that
 * touches `process` (with cluster.ts, its helper for GATEWAY_WORKERS > 1: a primary that forks the workers, each
 * of which runs the code below as an ordinary gateway).
 *
 * Shutdown: stop accepting, let the requests in flight finish within SHUTDOWN_GRACE_MS (then cut them), close
 * the subgraph pools and Redis, exit 0. A stop that hangs past the grace and a margin exits 1, saying so.
 */
import cluster from 'node:cluster';
import { relative } from 'node:path';
import { announceReady, startPrimary, workerMetrics, workerSlot } from './cluster.js';
import { ConfigError, loadConfig, unknownGatewayKeys } from './config.js';
import { jsonLogger } from './logger.js';
import { missingNodeFlags } from './nodeFlags.js';
import { startGateway } from './server.js';

/** What a stop may take past SHUTDOWN_GRACE_MS (closing pools, Redis, Apollo) before the process gives up on it. */
const STOP_MARGIN_MS = 5_000;

let logger = jsonLogger('info');
try {
  const config = loadConfig(process.env);
  logger = jsonLogger(config.logLevel);
  const missingFlags = missingNodeFlags(process.execArgv, process.env.NODE_OPTIONS);
  if (cluster.isPrimary && missingFlags.length > 0) {
    logger.warn('started without the Node.js flags the gateway is tuned for; large answers cost more CPU', {
      missing: missingFlags,
      // The command it was started with, plus what it misses: the release (`gateway/src/main.js`) or tsx on the source.
      startWith: ['node', ...missingFlags, ...process.execArgv, relative(process.cwd(), process.argv[1] ?? 'gateway/src/main.js')].join(' '),
    });
  }
  // Said once, by the process that reads the environment first (the primary, or the only process).
  if (cluster.isPrimary) {
    for (const [former, current] of config.deprecated) logger.warn('setting renamed; the former name still works for now', { key: former, use: current });
    for (const key of unknownGatewayKeys(process.env)) logger.warn('unknown setting ignored; see gateway/SETTINGS.md', { key });
  }
  let stop: () => Promise<void>;
  if (cluster.isPrimary && config.workers > 1) {
    const group = startPrimary({ workers: config.workers, shutdownGraceMs: config.shutdownGraceMs, logger });
    logger.info('gateway starting workers', { workers: config.workers, port: config.port });
    stop = () => group.stop();
  } else {
    const slot = workerSlot();
    const group = slot === null ? null : workerMetrics(slot);
    const gateway = await startGateway(config, { logger, ...(group ? { metricsText: group.text } : {}) });
    group?.attach(gateway.metrics.registry);
    // It serves from now on; it is ready (and /ready says so) once every change listener follows its source.
    if (!gateway.coverage.ready) logger.info('gateway serving; ready once its change listeners follow their sources', { url: gateway.url, changes: gateway.coverage.report() });
    void gateway.coverage.whenReady().then(() => {
      if (slot === null) logger.info('gateway ready', { url: gateway.url, supergraph: config.supergraph.kind, mode: config.mode });
      else announceReady(gateway.url);
    });
    stop = () => gateway.stop();
  }
  let stopping = false;
  const onSignal = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => {
      logger.error('stop did not finish in time; exiting', { afterMs: config.shutdownGraceMs + STOP_MARGIN_MS });
      process.exit(1);
    }, config.shutdownGraceMs + STOP_MARGIN_MS).unref();
    // A gateway process refuses new connections before its stop first waits, so once this line is out they are
    // refused (written first, it could be read and a connection made while the server still accepted). A primary's
    // port closes when its workers have each closed theirs.
    const stopped = stop();
    logger.info('stopping', { signal, graceMs: config.shutdownGraceMs });
    await stopped;
    logger.info('stopped', { signal });
    process.exit(0);
  };
  process.on('SIGINT', () => void onSignal('SIGINT'));
  process.on('SIGTERM', () => void onSignal('SIGTERM'));
  // A worker whose primary is gone drains and exits instead of serving on alone.
  if (cluster.isWorker) cluster.worker!.on('disconnect', () => void onSignal('primary gone'));
} catch (error) {
  logger.error(error instanceof ConfigError ? error.message : `gateway failed to start: ${(error as Error)?.message ?? error}`);
  process.exit(1);
}

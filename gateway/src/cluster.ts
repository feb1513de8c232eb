/**
 * GATEWAY_WORKERS=N (default: the number of cores): N gateway processes on one port, through `node:cluster`, as
 * Hive Gateway's `--fork` does. `main.ts` calls `startPrimary` in the first process and starts an ordinary gateway
 * in each worker; this file holds what only a group needs.
 *
 *  - The primary serves nothing itself: it forks the workers (each with its own first cache level; Redis, when
 *    set, is shared), restarts one that dies (backoff 0.5 s doubling to 10 s, reset after 30 s up), and on
 *    SIGTERM/SIGINT forwards SIGTERM to each and exits 0 once all have drained.
 *  - `/health` and `/ready` are answered by whichever worker takes the connection: each says whether it itself
 *    is up and has loaded its supergraph.
 *  - `/metrics` is the group's: the worker asks the primary, which collects every worker's registry
 *    (prom-client's AggregatorRegistry) and answers with all of them, each series labelled `worker="<slot>"`
 *    (0..N-1, stable across restarts). One scrape sees every worker; nothing is summed across workers.
 */
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Logger } from './logger.js';
import { availableParallelism } from 'node:os';
import { integer, type SettingGroup } from './settings.js';

const READY = 'gateway:ready';
const METRICS_REQUEST = 'gateway:metrics-request';
const METRICS_ANSWER = 'gateway:metrics-answer';
/** Tells a worker its slot, so a restarted worker keeps its `worker` label. */
export const WORKER_SLOT_ENV = 'GATEWAY_WORKER_SLOT';

const FIRST_RESTART_DELAY_MS = 500;
const MAX_RESTART_DELAY_MS = 10_000;
/** A worker up this long is healthy again: its next death restarts it after the first delay. */
const STABLE_AFTER_MS = 30_000;
/** How long the primary gives the workers past their own grace before it kills them. */
const STOP_MARGIN_MS = 5_000;

type WorkerMessage =
  | { type: typeof READY; url: string }
  | { type: typeof METRICS_REQUEST; id: number };

export interface WorkerGroupOptions {
  workers: number;
  /** Each worker's SHUTDOWN_GRACE_MS; the primary waits that long plus a margin, then kills stragglers. */
  shutdownGraceMs: number;
  logger: Logger;
}

export interface WorkerGroup {
  /** Forwards SIGTERM to every worker and resolves once all have exited. */
  stop(): Promise<void>;
}

export function startPrimary({ workers, shutdownGraceMs, logger }: WorkerGroupOptions): WorkerGroup {
  const aggregator = new AggregatorRegistry();
  const slots = new Map<Worker, number>();
  const restarts = Array.from({ length: workers }, () => ({ delayMs: FIRST_RESTART_DELAY_MS, startedAtMs: 0 }));
  let stopping = false;
  let announced = false;
  let readyCount = 0;

  const fork = (slot: number) => {
    restarts[slot]!.startedAtMs = Date.now();
    const worker = cluster.fork({ [WORKER_SLOT_ENV]: String(slot) });
    slots.set(worker, slot);
    worker.on('message', (message: WorkerMessage) => {
      if (message?.type === READY) {
        readyCount++;
        if (!announced && readyCount >= workers) {
          announced = true;
          logger.info('gateway ready', { url: message.url, workers });
        } else if (announced) {
          logger.info('gateway worker serving again', { worker: slot, pid: worker.process.pid });
        }
      } else if (message?.type === METRICS_REQUEST) {
        aggregator.clusterMetrics().then(
          (text) => worker.isConnected() && worker.send({ type: METRICS_ANSWER, id: message.id, text }),
          (error: unknown) => worker.isConnected() && worker.send({ type: METRICS_ANSWER, id: message.id, error: String((error as Error)?.message ?? error) }),
        );
      }
    });
  };

  cluster.on('exit', (worker, code, signal) => {
    const slot = slots.get(worker);
    slots.delete(worker);
    if (stopping || slot === undefined) return;
    const restart = restarts[slot]!;
    if (Date.now() - restart.startedAtMs >= STABLE_AFTER_MS) restart.delayMs = FIRST_RESTART_DELAY_MS;
    logger.warn('gateway worker exited; restarting it', { worker: slot, pid: worker.process.pid, code, signal, inMs: restart.delayMs });
    setTimeout(() => {
      if (!stopping) fork(slot);
    }, restart.delayMs);
    restart.delayMs = Math.min(restart.delayMs * 2, MAX_RESTART_DELAY_MS);
  });

  for (let slot = 0; slot < workers; slot++) fork(slot);

  return {
    async stop() {
      stopping = true;
      const running = [...slots.keys()];
      const exited = running.map((worker) => new Promise<void>((resolve) => {
        if (worker.isDead()) return resolve();
        worker.once('exit', () => resolve());
      }));
      for (const worker of running) worker.process.kill('SIGTERM');
      const overdue = setTimeout(() => {
        for (const worker of running) {
          if (!worker.isDead()) {
            logger.warn('gateway worker did not stop in time; killing it', { worker: slots.get(worker), pid: worker.process.pid });
            worker.process.kill('SIGKILL');
          }
        }
      }, shutdownGraceMs + STOP_MARGIN_MS);
      await Promise.all(exited);
      clearTimeout(overdue);
    },
  };
}

/** In a worker: its slot (0..N-1), or null when this process is not a cluster worker. */
export function workerSlot(): number | null {
  if (!cluster.isWorker) return null;
  const slot = Number(process.env[WORKER_SLOT_ENV]);
  return Number.isInteger(slot) ? slot : cluster.worker!.id - 1;
}

/**
 * In a worker, from its first moment (the primary asks every worker, ready or not): answers the primary's requests
 * for this worker's metrics (nothing until `attach`), and `text` asks the primary for the whole group's, which is
 * what this worker's /metrics answers.
 */
export function workerMetrics(slot: number): { text(): Promise<string>; attach(registry: Registry): void } {
  AggregatorRegistry.setRegistries([]);
  // Constructing one installs prom-client's answer to the primary's requests for this worker's metrics.
  new AggregatorRegistry();
  let nextId = 0;
  const pending = new Map<number, { resolve: (text: string) => void; reject: (error: Error) => void }>();
  process.on('message', (message: { type?: string; id?: number; text?: string; error?: string }) => {
    if (message?.type !== METRICS_ANSWER || message.id === undefined) return;
    const waiting = pending.get(message.id);
    pending.delete(message.id);
    if (message.error !== undefined) waiting?.reject(new Error(`group metrics: ${message.error}`));
    else waiting?.resolve(message.text ?? '');
  });
  return {
    text: () => new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      process.send!({ type: METRICS_REQUEST, id } satisfies WorkerMessage);
    }),
    attach(registry) {
      registry.setDefaultLabels({ worker: String(slot) });
      AggregatorRegistry.setRegistries(registry);
    },
  };
}

/** In a worker: tells the primary this worker serves (the primary logs "gateway ready" once all do). */
export function announceReady(url: string): void {
  process.send?.({ type: READY, url } satisfies WorkerMessage);
}

export const WORKER_SETTINGS = {
  workers: integer('GATEWAY_WORKERS', { default: () => availableParallelism(), defaultText: 'the number of cores', min: 1, max: 1_024, doc: 'gateway processes on one port (node:cluster), each with its own first cache level; 1 = one process, no cluster (npm start runs 1 unless set)' }),
} satisfies SettingGroup;

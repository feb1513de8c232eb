/**
 * The embedded transport, needing no broker: topclients serves its outbox as an ordered change feed over HTTP
 * (`GET /events?after=<id>&limit=<n>&waitMs=<ms>[&log=<id>]` answers `{ events, head, log }`, long-polling when
 * there is nothing new; `GET /events/head` answers `{ head, log }`), and each consumer pulls from the position it
 * stored in its own database. A consumer that dies re-reads from its last commit. `log` names the outbox the ids
 * belong to: a reader that names another one (or stands past the head) is answered at once, so it learns without
 * waiting that its position means nothing here.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ConsumerTransport, DeliveredEvent } from '../consumerTransport.js';
import { nextBackoffMs, sleep, type EventLog } from '../eventLog.js';
import { outboxEnd, readOutbox, waitForOutbox } from '../outbox.js';
import type { Database } from '../storage.js';
import { sendJson, type RouteHandler } from '../subgraphServer.js';

export interface ChangeFeedServerOptions {
  /** The longest a request may wait for new events. */
  maxWaitMs?: number;
  /** While waiting, how often the outbox is re-read (rows written by other processes are not signalled). */
  pollIntervalMs?: number;
  maxLimit?: number;
}

export interface ChangeFeedPage {
  events: unknown[];
  /** The newest outbox id when the page was read. */
  head: number;
  /**
   * Which outbox this is: ids are positions in one log only. A reader that followed another log (the source got a
   * new database) cannot replay what it missed; it knows so by this id changing.
   */
  log: string;
}

export function changeFeedRoutes(db: Database, options: ChangeFeedServerOptions = {}): Record<string, RouteHandler> {
  const maxWaitMs = options.maxWaitMs ?? 25_000;
  const pollIntervalMs = options.pollIntervalMs ?? 250;
  const maxLimit = options.maxLimit ?? 1_000;
  return {
    '/events': async (req, res, url) => {
      if (req.method !== 'GET') return sendJson(res, 405, { error: 'use GET' });
      const after = intParam(url, 'after', 0, 0, Number.MAX_SAFE_INTEGER);
      const limit = intParam(url, 'limit', 100, 1, maxLimit);
      const waitMs = intParam(url, 'waitMs', 0, 0, maxWaitMs);
      const bad = [after, limit, waitMs].find((p) => typeof p === 'string');
      if (bad !== undefined) return sendJson(res, 400, { error: bad });
      const gone = closedSignal(req, res);
      const deadline = Date.now() + (waitMs as number);
      // A reader that names another log, or stands past the head, follows another log (this one is new): it is
      // told at once, not after waitMs.
      const readersLog = url.searchParams.get('log');
      const end = await outboxEnd(db);
      const anotherLog = (readersLog !== null && readersLog !== end.log) || end.head < (after as number);
      for (;;) {
        const events = await readOutbox(db, after as number, limit as number);
        const remaining = deadline - Date.now();
        if (events.length > 0 || remaining <= 0 || gone.aborted || anotherLog) {
          if (gone.aborted) return;
          return sendJson(res, 200, { events, ...(await outboxEnd(db)) } satisfies ChangeFeedPage);
        }
        await waitForOutbox(db, Math.min(pollIntervalMs, remaining), gone);
      }
    },
    '/events/head': async (req, res) => {
      if (req.method !== 'GET') return sendJson(res, 405, { error: 'use GET' });
      sendJson(res, 200, await outboxEnd(db));
    },
  };
}

function intParam(url: URL, name: string, fallback: number, min: number, max: number): number | string {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) return `${name} must be an integer from ${min} to ${max}, got "${raw}"`;
  return value;
}

/** Aborts when the client goes away, so a long-poll stops waiting for nobody. */
function closedSignal(req: IncomingMessage, res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  req.on('aborted', () => controller.abort());
  return controller.signal;
}

export interface ChangeFeedClientOptions {
  /** The feed's URL, e.g. http://127.0.0.1:4003/events. */
  url: string;
  batchSize?: number;
  /** How long one request may wait for events at the source. */
  waitMs?: number;
  log: EventLog;
}

/** Reads one page of the feed after `after`. */
export async function fetchFeedPage(url: string, after: number, limit: number, waitMs: number, signal?: AbortSignal): Promise<ChangeFeedPage> {
  const target = new URL(url);
  target.searchParams.set('after', String(after));
  target.searchParams.set('limit', String(limit));
  target.searchParams.set('waitMs', String(waitMs));
  const response = await fetch(target, { signal });
  const text = await response.text();
  if (!response.ok) throw new Error(`change feed ${target.origin}${target.pathname} answered HTTP ${response.status}: ${text.slice(0, 200)}`);
  const page = JSON.parse(text) as ChangeFeedPage;
  if (!Array.isArray(page.events) || typeof page.head !== 'number') throw new Error(`change feed ${url} answered a page without events/head`);
  return page;
}

export async function fetchFeedHead(url: string): Promise<number> {
  const response = await fetch(`${url.replace(/\/$/, '')}/head`);
  if (!response.ok) throw new Error(`change feed ${url}/head answered HTTP ${response.status}`);
  return ((await response.json()) as { head: number }).head;
}

export function changeFeedTransport(options: ChangeFeedClientOptions): ConsumerTransport {
  const batchSize = options.batchSize ?? 200;
  const waitMs = options.waitMs ?? 20_000;
  return {
    kind: 'feed',
    start(handle, storedPosition) {
      const controller = new AbortController();
      const loop = (async () => {
        let backoffMs = 0;
        let failures = 0;
        let warnedReset = false;
        while (!controller.signal.aborted) {
          try {
            const after = await storedPosition();
            const page = await fetchFeedPage(options.url, after, batchSize, waitMs, controller.signal);
            const events: DeliveredEvent[] = page.events.map((event) => ({
              position: Number((event as { id?: unknown }).id),
              raw: JSON.stringify(event),
            }));
            // A row whose id is unreadable cannot be placed in the stream; the feed never serves one.
            if (events.some((e) => !Number.isSafeInteger(e.position) || e.position <= after)) {
              throw new Error(`change feed ${options.url} served events out of order after ${after}`);
            }
            if (page.head < after && !warnedReset) {
              // The source's outbox is behind what this consumer applied: topclients lost its database or was
              // restored from a backup. Its new rows reuse ids already passed, so say so loudly; `ops rebuild` fixes it.
              warnedReset = true;
              options.log('error', 'change feed head is behind the stored position: the source was reset; run ops rebuild', { url: options.url, head: page.head, position: after });
            }
            if (events.length > 0) await handle(events);
            if (failures > 0) options.log('info', 'change feed reachable again', { url: options.url, failures });
            backoffMs = 0;
            failures = 0;
          } catch (error) {
            if (controller.signal.aborted) break;
            backoffMs = nextBackoffMs(backoffMs);
            failures += 1;
            // The first failure and every 20th: a source that is down (or still starting) does not flood the log.
            if (failures === 1 || failures % 20 === 0) {
              options.log('warn', 'change feed read failed; retrying', { url: options.url, error: String((error as Error)?.message ?? error), failures, retryInMs: backoffMs });
            }
            await sleep(backoffMs, controller.signal);
          }
        }
      })();
      return {
        async stop() {
          controller.abort();
          await loop;
        },
      };
    },
    async pending(storedPosition) {
      try {
        return Math.max(0, (await fetchFeedHead(options.url)) - storedPosition);
      } catch {
        return null;
      }
    },
  };
}

/**
 * Follows one change feed (`GET <feed>?after=<id>&log=<id>&waitMs=&limit=`, long-polling; `GET <feed>/head`), the
 * embedded transport of the subgraphs' outboxes.
 *
 * Its position is the id of the last event it heard. The first one is the feed's end when it first answers (what
 * happened before is not in any answer it can vouch for: a cut). When the feed is unreachable the position is
 * kept, and reading resumes from it: every event missed meanwhile is heard, late. A feed whose log is another one
 * (its `log` id changed: a new database) or restarted below the position (its head fell behind it) cannot give
 * back what was missed: the listener takes the new end as its position, and that is a cut too.
 *
 * It follows the feed once it has read up to the feed's head; until then (replaying, or cut off) it is behind.
 */
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { ChangeSource } from './changeCoverage.js';
import { afterFailure } from './retry.js';

/** Events read per request; a longer backlog is read page after page, behind until the last. */
const PAGE_LIMIT = 500;

export interface FeedListenerOptions {
  /** How long one request may wait at the feed for an event. */
  waitMs: number;
  clock: Clock;
  logger?: Logger;
  source: ChangeSource;
}

export interface RunningFeedListener {
  stop(): Promise<void>;
}

interface FeedEnd {
  head: number;
  /** Absent from a feed that does not name its log: only a head behind the position then tells a new log. */
  log?: string;
}

interface FeedPage extends FeedEnd {
  events: unknown[];
}

export function listenToFeed(url: string, options: FeedListenerOptions, deliver: (raw: unknown) => void): RunningFeedListener {
  const controller = new AbortController();
  const { signal } = controller;
  const { source, logger, clock } = options;
  const loop = (async () => {
    let after: number | null = null;
    let log: string | undefined;
    let failures = 0;
    const startFrom = (end: FeedEnd, reason: string) => {
      after = end.head;
      log = end.log;
      source.cut(`feed id ${after}`, reason);
    };
    /** A log other than the one followed, or one that restarted below the position, cannot replay what was missed. */
    const gapAt = (end: FeedEnd) => {
      if (log !== undefined && end.log !== undefined && end.log !== log) return 'source_replaced';
      return end.head < after! ? 'source_reset' : null;
    };
    while (!signal.aborted) {
      try {
        // At first, and whenever the feed comes back, its end is read before anything else: a gap shows at once,
        // not after a long-poll that waits for ids this log will not reach soon.
        if (after === null || failures > 0) {
          const end = await readEnd(`${url.replace(/\/$/, '')}/head`, signal);
          const gap = after === null ? 'start' : gapAt(end);
          if (gap) startFrom(end, gap);
          if (failures > 0) logger?.info('invalidation feed reachable again; replaying what it missed', { url, position: after });
          failures = 0;
        }
        const target = new URL(url);
        target.searchParams.set('after', String(after));
        target.searchParams.set('waitMs', String(options.waitMs));
        target.searchParams.set('limit', String(PAGE_LIMIT));
        // A feed that is another log than ours answers at once instead of long-polling for ids it has not reached.
        if (log !== undefined) target.searchParams.set('log', log);
        const page = await readPage(target, signal);
        const gap = gapAt(page);
        if (gap) {
          startFrom(page, gap);
          continue;
        }
        log ??= page.log;
        for (const event of page.events) {
          deliver(event);
          const id = Number((event as { id?: unknown } | null)?.id);
          if (Number.isSafeInteger(id) && id > after!) after = id;
        }
        if (after! >= page.head) source.following(`feed id ${after}`);
        else source.behind(`replaying: at id ${after} of ${page.head}`);
      } catch (error) {
        if (signal.aborted) break;
        failures += 1;
        await afterFailure({
          failures, error, sources: [source], clock, signal,
          log: (reason) => logger?.warn(after === null
            ? 'invalidation feed not reached yet; answers cached meanwhile are revalidated once it is'
            : 'invalidation feed unreachable; what it misses is replayed once it answers', { url, error: reason, failures }),
        });
      }
    }
  })();
  return {
    async stop() {
      controller.abort();
      await loop;
    },
  };
}

async function readEnd(target: string, signal: AbortSignal): Promise<FeedEnd> {
  return endOf(await readJson(target, signal), target);
}

async function readPage(target: URL, signal: AbortSignal): Promise<FeedPage> {
  const body = await readJson(target, signal);
  const events = (body as { events?: unknown }).events;
  if (!Array.isArray(events)) throw new Error(`${target.origin}${target.pathname} answered a page without events`);
  return { ...endOf(body, target.toString()), events };
}

async function readJson(target: string | URL, signal: AbortSignal): Promise<unknown> {
  const response = await fetch(target, { signal });
  if (!response.ok) throw new Error(`HTTP ${response.status} from ${String(target)}`);
  return response.json();
}

function endOf(body: unknown, from: string): FeedEnd {
  const { head, log } = (body ?? {}) as { head?: unknown; log?: unknown };
  if (typeof head !== 'number' || !Number.isSafeInteger(head)) throw new Error(`${from} answered without a numeric head`);
  if (log !== undefined && typeof log !== 'string') throw new Error(`${from} answered a log id that is not a string`);
  return log === undefined ? { head } : { head, log };
}

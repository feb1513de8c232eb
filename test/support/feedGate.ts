/**
 * A gate in front of a change feed, for one consumer: every request is passed through, but while the gate is
 * held, a page that carries events is kept back until `release()`, so that consumer applies nothing meanwhile
 * (the others, reading the feed directly, go on). `holding()` resolves once a page with events is being held,
 * i.e. the consumer would have had the event by now.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FeedGate {
  /** The gate's URL for `feedUrl` (e.g. http://127.0.0.1:4003/events): same path, the gate's origin. */
  urlFor(feedUrl: string): string;
  hold(): void;
  release(): void;
  holding(): Promise<void>;
  stop(): Promise<void>;
}

export async function startFeedGate(): Promise<FeedGate> {
  let origin: string | null = null;
  let held = false;
  let waiting: (() => void)[] = [];
  let onHolding: (() => void)[] = [];
  const upstream = new AbortController();
  const server = createServer((req, res) => {
    void (async () => {
      try {
        const answer = await fetch(`${origin}${req.url}`, { signal: upstream.signal });
        const body = await answer.text();
        const carriesEvents = answer.ok && ((JSON.parse(body) as { events?: unknown[] }).events?.length ?? 0) > 0;
        if (held && carriesEvents) {
          for (const notify of onHolding.splice(0)) notify();
          await new Promise<void>((resolve) => waiting.push(resolve));
        }
        res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' }).end(body);
      } catch {
        res.destroy();
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const gateOrigin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    urlFor(feedUrl) {
      const target = new URL(feedUrl);
      origin = target.origin;
      return `${gateOrigin}${target.pathname}`;
    },
    hold() {
      held = true;
    },
    release() {
      held = false;
      for (const resolve of waiting.splice(0)) resolve();
    },
    holding() {
      return waiting.length > 0 ? Promise.resolve() : new Promise((resolve) => onHolding.push(resolve));
    },
    async stop() {
      held = false;
      for (const resolve of waiting.splice(0)) resolve();
      upstream.abort();
      await new Promise((resolve) => {
        server.close(resolve);
        server.closeAllConnections();
      });
      waiting = [];
      onHolding = [];
    },
  };
}

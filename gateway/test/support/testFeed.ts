/**
 * A change feed of the test's own, speaking the feed protocol (`GET /events?after=&waitMs=&log=` long-polls, a
 * reader of another log answered at once; `GET /events/head`; pages carrying `head` and `log`) on a real server on
 * port 0; it can be closed and started again on the same port, with the same log or another one.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A change event as the subgraphs publish it, naming one entity. */
export const feedEvent = (id: number, type: string, typename: string, keyFields: Record<string, string>) =>
  ({ id: String(id), schemaVersion: 1, type, entity: { typename, keyFields }, version: 1, occurredAt: '2026-01-01T00:00:00.000Z', payload: {} });

export type TestFeed = Awaited<ReturnType<typeof startTestFeed>>;

/** A change feed: `events` grows; long-polls wait until something after `after` exists or waitMs passes. */
export async function startTestFeed(initial: unknown[], { port = 0, log = 'log-a' }: { port?: number; log?: string } = {}) {
  const events: { id: string }[] = initial as { id: string }[];
  const waiting = new Set<() => void>();
  let onParked: (() => void)[] = [];
  const head = () => Math.max(0, ...events.map((e) => Number(e.id)));
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://feed');
    const answer = () => {
      const after = Number(url.searchParams.get('after') ?? 0);
      const page = events.filter((e) => Number(e.id) > after);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ events: page, head: head(), log }));
      return page.length;
    };
    if (url.pathname === '/events/head') return void res.writeHead(200).end(JSON.stringify({ head: head(), log }));
    const after = Number(url.searchParams.get('after') ?? 0);
    const readersLog = url.searchParams.get('log');
    if (events.some((e) => Number(e.id) > after) || (readersLog !== null && readersLog !== log) || after > head()) return void answer();
    const wake = () => {
      waiting.delete(wake);
      clearTimeout(timer);
      answer();
    };
    const timer = setTimeout(wake, Number(url.searchParams.get('waitMs') ?? 0));
    waiting.add(wake);
    for (const parked of onParked) parked();
    onParked = [];
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`,
    /** Resolves once a listener's long-poll waits here: from then on, whatever is pushed reaches it. */
    polling(): Promise<void> {
      return waiting.size > 0 ? Promise.resolve() : new Promise((resolve) => onParked.push(resolve));
    },
    push(e: unknown) {
      events.push(e as { id: string });
      for (const wake of [...waiting]) wake();
    },
    async close() {
      for (const wake of [...waiting]) wake();
      await new Promise((resolve) => { server.close(resolve); server.closeAllConnections(); });
    },
  };
}

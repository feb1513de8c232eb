/**
 * A real HTTP hop in front of a real subgraph that records every request reaching it and injects faults on
 * demand: delay, hang (never answer until the client gives up), HTTP 500, garbage bodies, connection resets, or
 * errors/nulls for chosen entities. Tests count what reached the origin (cf. undici's `requestsToOrigin`).
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface RecordedRequest {
  query: string;
  variables: Record<string, any> | undefined;
  extensions: Record<string, any> | undefined;
  headers: IncomingHttpHeaders;
  /** Bytes of the answer sent back to the gateway. */
  responseBytes: number;
  /** The answer's body as sent back to the gateway (empty until it is sent). */
  responseText: string;
  /** True when the client went away before the answer (the gateway aborted it). */
  aborted: boolean;
  /** Resolves when the exchange is over: answered, or aborted by the client (then `aborted` is true). */
  closed: Promise<void>;
}

export type Fault =
  | { kind: 'none' }
  | { kind: 'delay'; ms: number }
  /**
   * Forwards each request to the origin at once but holds the answers until `count` are ready, then sends them all
   * in the same tick, so they reach the gateway together however slowly the origin produced them (deterministic
   * concurrency: the gateway sees the answers at one moment, not spread over the origin's work).
   */
  | { kind: 'gate'; count: number }
  | { kind: 'hang' }
  /** Forwards each request to the origin but holds its answer until the next `releaseHeld()`. */
  | { kind: 'hold' }
  | { kind: 'status'; status: number; body?: string }
  | { kind: 'garbage'; body: string }
  | { kind: 'reset' };

export interface FaultProxy {
  url: string;
  requests: RecordedRequest[];
  fault: Fault;
  /** Headers put on every answer passed through, over the origin's (e.g. a Cache-Control it does not send). */
  overrideHeaders: Record<string, string>;
  /** Requests whose operation reads `_entities`, with their representations. */
  entityCalls(): { representations: any[]; request: RecordedRequest }[];
  /** Resolves with the request once `count` requests (in all, since the last reset) have reached the proxy. */
  waitForRequests(count: number): Promise<RecordedRequest>;
  /** Resolves with the next request to reach the proxy. */
  nextRequest(): Promise<RecordedRequest>;
  /** Lets go every answer the `hold` fault holds, including those still on their way from the origin. */
  releaseHeld(): void;
  reset(): void;
  stop(): Promise<void>;
}

export async function startFaultProxy(targetUrl: string): Promise<FaultProxy> {
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  let gated: (() => void)[] = [];
  // Requests that arrived before a release are let go by it, even when their origin answers after it.
  let letGo!: () => void;
  let heldUntil = new Promise<void>((resolve) => (letGo = resolve));
  const arrivals: { count: number; resolve: (request: RecordedRequest) => void }[] = [];
  const arrived = (request: RecordedRequest) => {
    for (const waiting of [...arrivals]) {
      if (requests.length < waiting.count) continue;
      arrivals.splice(arrivals.indexOf(waiting), 1);
      waiting.resolve(request);
    }
  };
  const proxy: FaultProxy = {
    url: '',
    requests,
    fault: { kind: 'none' },
    overrideHeaders: {},
    entityCalls: () =>
      requests
        .filter((r) => r.query.includes('_entities'))
        .map((request) => ({ representations: request.variables?.representations ?? [], request })),
    waitForRequests: (count) =>
      requests.length >= count ? Promise.resolve(requests[count - 1]!) : new Promise((resolve) => arrivals.push({ count, resolve })),
    nextRequest: () => proxy.waitForRequests(requests.length + 1),
    releaseHeld: () => {
      letGo();
      heldUntil = new Promise<void>((resolve) => (letGo = resolve));
    },
    reset: () => {
      requests.length = 0;
      proxy.fault = { kind: 'none' };
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };

  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    let parsed: any = {};
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      // recorded as an empty query
    }
    let closed!: () => void;
    const record: RecordedRequest = {
      query: parsed.query ?? '', variables: parsed.variables, extensions: parsed.extensions, headers: req.headers, responseBytes: 0, responseText: '', aborted: false,
      closed: new Promise((resolve) => (closed = resolve)),
    };
    res.on('close', () => {
      if (!res.writableFinished) record.aborted = true;
      closed();
    });
    requests.push(record);
    arrived(record);
    const fault = proxy.fault;
    const released = heldUntil;
    if (fault.kind === 'hang') return;
    if (fault.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault.kind === 'status' || fault.kind === 'garbage') {
      const text = fault.kind === 'status' ? (fault.body ?? 'upstream exploded') : fault.body;
      record.responseBytes = Buffer.byteLength(text);
      record.responseText = text;
      res.writeHead(fault.kind === 'status' ? fault.status : 200, { 'content-type': fault.kind === 'status' ? 'text/plain' : 'application/json' });
      res.end(text);
      return;
    }
    if (fault.kind === 'delay') await new Promise((r) => setTimeout(r, fault.ms));
    if (res.destroyed) return;
    const headers = Object.fromEntries(
      Object.entries(req.headers).filter(([k]) => !['host', 'connection', 'content-length'].includes(k)),
    ) as Record<string, string>;
    let status = 502;
    let answer = Buffer.alloc(0);
    const outHeaders: Record<string, string> = {};
    try {
      const upstream = await fetch(targetUrl, { method: req.method, headers, body: req.method === 'GET' ? undefined : body });
      answer = Buffer.from(await upstream.arrayBuffer());
      status = upstream.status;
      upstream.headers.forEach((value, key) => {
        if (!['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'content-encoding'].includes(key)) outHeaders[key] = value;
      });
    } catch {
      // answered 502 below
    }
    if (fault.kind === 'gate') {
      await new Promise<void>((release) => {
        gated.push(release);
        if (gated.length >= fault.count) {
          const all = gated;
          gated = [];
          for (const go of all) go();
        }
      });
    }
    if (fault.kind === 'hold') await released;
    if (res.destroyed) return;
    record.responseBytes = answer.length;
    record.responseText = answer.toString('utf8');
    res.writeHead(status, { ...outHeaders, ...proxy.overrideHeaders, 'content-length': String(answer.length) });
    res.end(answer);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  return proxy;
}

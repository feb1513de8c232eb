import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { startRoundRobinProxy, type RoundRobinProxy } from '../roundRobinProxy.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((stop) => stop()));
});

/** A real backend that answers its name, the method and the body it received. */
async function backend(name: string): Promise<{ origin: string; calls: number; stop(): Promise<void> }> {
  const state = { calls: 0 };
  const server: Server = createServer((req, res) => {
    state.calls += 1;
    let body = '';
    req.on('data', (d) => (body += d)).on('end', () => {
      res.setHeader('etag', '"v1"');
      res.end(JSON.stringify({ name, method: req.method, url: req.url, body, seller: req.headers['x-seller-id'] ?? null }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const stop = () => new Promise<void>((resolve) => server.close(() => resolve()));
  cleanup.push(stop);
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, get calls() { return state.calls; }, stop };
}

async function proxyTo(targets: string[]): Promise<RoundRobinProxy> {
  const proxy = await startRoundRobinProxy({ targets });
  cleanup.push(proxy.stop);
  return proxy;
}

/** An origin nothing listens on: a server started and stopped. */
async function deadOrigin(): Promise<string> {
  const dead = await backend('dead');
  await dead.stop();
  cleanup.pop();
  return dead.origin;
}

describe('round-robin proxy', () => {
  it('sends requests to each gateway in turn, with method, path, body and headers, and names who answered', async () => {
    const a = await backend('a');
    const b = await backend('b');
    const proxy = await proxyTo([a.origin, b.origin]);
    const answers: Record<string, unknown>[] = [];
    for (let i = 0; i < 4; i++) {
      const response = await fetch(`${proxy.url}/graphql?x=${i}`, { method: 'POST', body: `q${i}`, headers: { 'x-seller-id': 's1' } });
      answers.push({ ...((await response.json()) as Record<string, unknown>), servedBy: response.headers.get('x-served-by'), etag: response.headers.get('etag') });
    }
    expect(answers.map((x) => x.name)).toEqual(['a', 'b', 'a', 'b']);
    expect(answers[1]).toEqual({ name: 'b', method: 'POST', url: '/graphql?x=1', body: 'q1', seller: 's1', servedBy: new URL(b.origin).host, etag: '"v1"' });
  });

  it('skips a gateway that refuses connections, and answers 502 when none is left', async () => {
    const a = await backend('a');
    const proxy = await proxyTo([await deadOrigin(), a.origin]);
    for (let i = 0; i < 3; i++) expect(((await (await fetch(`${proxy.url}/graphql`)).json()) as { name: string }).name).toBe('a');
    expect(a.calls).toBe(3);
    await a.stop();
    cleanup.pop();
    const none = await fetch(`${proxy.url}/graphql`);
    expect(none.status).toBe(502);
    expect(((await none.json()) as { errors: { message: string }[] }).errors[0]!.message).toMatch(/^gateway 127\.0\.0\.1:\d+ failed: ECONN(REFUSED|RESET)$/);
  });

  it('passes WebSockets through, each to the next gateway in turn, both ways', async () => {
    const echo = async (name: string) => {
      const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
      server.on('connection', (socket, req) => socket.on('message', (data) => socket.send(`${name} ${req.url} ${req.headers['sec-websocket-protocol']}: ${String(data)}`)));
      await new Promise((resolve) => server.once('listening', resolve));
      cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    };
    const proxy = await proxyTo([await echo('a'), await echo('b')]);
    const replies: string[] = [];
    for (let i = 0; i < 2; i++) {
      const socket = new WebSocket(`${proxy.url.replace('http:', 'ws:')}/graphql`, 'graphql-transport-ws');
      await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
      socket.send(`hello ${i}`);
      replies.push(String(await new Promise((resolve) => socket.once('message', resolve))));
      socket.close();
    }
    expect(replies).toEqual(['a /graphql graphql-transport-ws: hello 0', 'b /graphql graphql-transport-ws: hello 1']);
  });

  it('answers 502 to an upgrade no gateway takes', async () => {
    const proxy = await proxyTo([await deadOrigin()]);
    const socket = new WebSocket(`${proxy.url.replace('http:', 'ws:')}/graphql`);
    const status = await new Promise<number>((resolve) => socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(502);
  });
});

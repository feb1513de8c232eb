/**
 * A real HTTP hop in front of a subgraph that records every GraphQL request passing through (operation text,
 * variables, headers), so tests can assert what reached the origin: call counts, representations sent.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  query: string;
  variables: Record<string, any> | undefined;
  headers: IncomingHttpHeaders;
}

export interface RecordingProxy {
  url: string;
  requests: RecordedRequest[];
  /** Requests whose operation reads `_entities`, with their representations. */
  entityCalls(): { representations: any[] }[];
  reset(): void;
  stop(): Promise<void>;
}

export async function startRecordingProxy(targetUrl: string): Promise<RecordingProxy> {
  const requests: RecordedRequest[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    try {
      const parsed = JSON.parse(body.toString('utf8'));
      requests.push({ query: parsed.query, variables: parsed.variables, headers: req.headers });
    } catch {
      requests.push({ query: '', variables: undefined, headers: req.headers });
    }
    const headers = Object.fromEntries(
      Object.entries(req.headers).filter(([k]) => !['host', 'connection', 'content-length'].includes(k)),
    ) as Record<string, string>;
    try {
      const upstream = await fetch(targetUrl, { method: req.method, headers, body: req.method === 'GET' ? undefined : body });
      const answer = Buffer.from(await upstream.arrayBuffer());
      const outHeaders: Record<string, string> = {};
      upstream.headers.forEach((value, key) => {
        if (!['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'content-encoding'].includes(key)) outHeaders[key] = value;
      });
      res.writeHead(upstream.status, { ...outHeaders, 'content-length': String(answer.length) });
      res.end(answer);
    } catch {
      res.writeHead(502).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    requests,
    entityCalls: () =>
      requests.filter((r) => r.query.includes('_entities')).map((r) => ({ representations: r.variables?.representations ?? [] })),
    reset: () => {
      requests.length = 0;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

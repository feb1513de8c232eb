/**
 * An OTLP/HTTP collector for tests, on 127.0.0.1 and port 0: it keeps every span posted to /v1/traces as OTLP/JSON
 * (ids in hex, attributes flattened), and counts the protobuf posts it cannot read here.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  /** OTLP's numbers: 1 internal, 2 server, 3 client. */
  kind: number;
  attributes: Record<string, string | number | boolean>;
  /** 2 = error. */
  statusCode: number;
  resource: Record<string, string | number | boolean>;
}

export interface OtlpReceiver {
  /** The base URL (OTEL_EXPORTER_OTLP_ENDPOINT). */
  url: string;
  spans: ReceivedSpan[];
  /** Posts by content type. */
  posts: Record<string, number>;
  /** Resolves once the spans received satisfy `done` (checked as each post arrives); rejects after `timeoutMs`. */
  waitFor(what: string, done: (spans: ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

type OtlpValue = { stringValue?: string; intValue?: number | string; boolValue?: boolean; doubleValue?: number };
const flatten = (attributes: { key: string; value: OtlpValue }[] = []) => Object.fromEntries(attributes.map(({ key, value }) => [key,
  value.stringValue ?? value.boolValue ?? (value.intValue !== undefined ? Number(value.intValue) : value.doubleValue ?? '')]));

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const posts: Record<string, number> = {};
  const waiters = new Set<() => void>();
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const type = String(req.headers['content-type'] ?? '');
    posts[type] = (posts[type] ?? 0) + 1;
    if (req.url === '/v1/traces' && type.startsWith('application/json')) {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      for (const resourceSpans of body.resourceSpans ?? []) {
        const resource = flatten(resourceSpans.resource?.attributes);
        for (const scope of resourceSpans.scopeSpans ?? []) {
          for (const span of scope.spans ?? []) {
            spans.push({ traceId: span.traceId, spanId: span.spanId, parentSpanId: span.parentSpanId ?? '', name: span.name, kind: span.kind, attributes: flatten(span.attributes), statusCode: span.status?.code ?? 0, resource });
          }
        }
      }
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    for (const check of [...waiters]) check();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    posts,
    waitFor: (what, done, timeoutMs = 30_000) => new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!done(spans)) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`the collector did not receive ${what} within ${timeoutMs} ms; it has ${spans.map((s) => `${s.resource['service.name']}:${s.name}`).join(', ')}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    }),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

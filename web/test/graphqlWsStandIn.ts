/**
 * The graphql-ws side of a stand-in gateway for the web tests: graphql-ws's own server (the protocol the gateway
 * speaks, subprotocol graphql-transport-ws) on every WebSocket upgrade that reaches `server`. It records each
 * operation with what came with it, and answers it with the results the test pushes, when the test pushes them.
 */
import type { IncomingHttpHeaders, Server } from 'node:http';
import { parse, type ExecutionResult, type FormattedExecutionResult } from 'graphql';
import type { SubscribePayload } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';

/** One operation as the stand-in received it, and the stream of its results. */
export class Subscribed {
  private readonly queued: FormattedExecutionResult[] = [];
  private wake: (() => void) | null = null;
  private ended = false;
  private closed!: () => void;
  /** Resolves when the client stops the operation or its socket goes away. */
  readonly stopped = new Promise<void>((resolve) => (this.closed = resolve));

  constructor(
    readonly payload: SubscribePayload,
    /** The `connection_init` payload. */
    readonly init: unknown,
    /** The path and headers of the upgrade request, as the stand-in got it. */
    readonly url: string,
    readonly headers: IncomingHttpHeaders,
  ) {}

  push(result: FormattedExecutionResult): void {
    this.queued.push(result);
    this.wake?.();
  }

  /** The results as graphql-ws's server reads them; it calls `return` when the client stops or goes away. */
  results(): AsyncIterableIterator<FormattedExecutionResult> {
    const iterator: AsyncIterableIterator<FormattedExecutionResult> = {
      next: async () => {
        while (!this.ended) {
          const value = this.queued.shift();
          if (value) return { value, done: false };
          await new Promise<void>((resolve) => (this.wake = resolve));
        }
        return { value: undefined, done: true };
      },
      return: async () => {
        this.ended = true;
        this.wake?.();
        this.closed();
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }
}

export interface GraphQLWsStandIn {
  /** Resolves with the first operation to arrive after this call. */
  nextOperation(): Promise<Subscribed>;
  close(): Promise<void>;
}

export function serveGraphQLWs(server: Server): GraphQLWsStandIn {
  const sockets = new WebSocketServer({ noServer: true });
  let waiting: ((operation: Subscribed) => void)[] = [];
  useServer<Record<string, unknown> | undefined, { request: { url?: string; headers: IncomingHttpHeaders } }>({
    onSubscribe: (ctx, _id, payload) => {
      const operation = new Subscribed(payload, ctx.connectionParams, ctx.extra.request.url ?? '', ctx.extra.request.headers);
      for (const take of waiting.splice(0)) take(operation);
      // No schema: the results are the test's, whatever the operation (as the gateway answers with its own).
      return { schema: undefined as never, document: parse('subscription { standIn }'), contextValue: operation };
    },
    subscribe: (args) => (args.contextValue as Subscribed).results() as AsyncIterableIterator<ExecutionResult>,
    // Sent as they are: JSON already (errors too), as the gateway's results are.
    onNext: (_ctx, _id, _payload, _args, result) => result as FormattedExecutionResult,
  }, sockets);
  server.on('upgrade', (req, socket, head) => sockets.handleUpgrade(req, socket, head, (ws) => sockets.emit('connection', ws, req)));
  return {
    nextOperation: () => new Promise<Subscribed>((resolve) => waiting.push(resolve)),
    async close() {
      waiting = [];
      for (const client of sockets.clients) client.terminate();
      await new Promise<void>((resolve) => sockets.close(() => resolve()));
    },
  };
}

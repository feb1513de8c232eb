/**
 * GraphQL over Server-Sent Events at /graphql, as the graphql-sse protocol's "distinct connections" mode has it: a
 * POST (JSON body) or a GET (parameters in the query string, persisted query ids included) with
 * `Accept: text/event-stream` opens one stream for one operation; the protocol is the `graphql-sse` library's.
 *
 * The caller is authenticated as for any HTTP request before the stream opens (401 for a token that does not
 * verify). The body is read within REQUEST_MAX_BODY_BYTES. A stream never fails mid-way: whatever ends it early
 * (the token expiring, the gateway stopping, the subgraph's subscription lost, a client too slow to read) is sent as
 * a last `next` event with the error, then `complete`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GraphQLError } from 'graphql';
import { createHandler, type OperationResult, type Request } from 'graphql-sse';
import { sendUnauthenticated, type Authenticator } from '../auth/authenticator.js';
import type { Clock, Timer } from '../clock.js';
import { BodyTooLargeError, readBody, sendRequestError } from '../http.js';
import { sendRefusal } from '../persisted/persistedErrors.js';
import type { PersistedQueryGate } from '../persisted/persistedQueries.js';
import type { Caller } from '../request.js';
import type { OperationStreams, StreamResult } from './operationStreams.js';
import { PushIterator } from './sharedStreams.js';

interface Who {
  caller: Caller | null;
  expiresAtMs: number | null;
}

export function sseTransport(options: { streams: OperationStreams; gate: PersistedQueryGate; authenticator: Authenticator; clock: Clock; maxBodyBytes: number }): { serve(req: IncomingMessage, res: ServerResponse): Promise<void>; drain(): void } {
  const { streams, gate, authenticator, clock, maxBodyBytes } = options;
  let draining = false;
  const handler = createHandler<IncomingMessage, { res: ServerResponse; who: Who }>({
    async onSubscribe(req, params) {
      const { who } = req.context;
      const prepared = streams.prepare(params, who.caller, 'sse');
      // A refusal is the stream's one event (graphql-sse takes a result without `data` only as a stream).
      if ('errors' in prepared) return (async function* refusal() {
        yield { errors: prepared.errors };
      })() as OperationResult;
      const result = await prepared.run();
      // Results are JSON already (errors formatted): what graphql-sse sends as they are.
      if (!(result instanceof PushIterator)) return result as OperationResult;
      let expiry: Timer | null = null;
      if (who.expiresAtMs !== null) {
        // A token's exp is wall-clock time, as its verification reads it.
        expiry = clock.setTimer(who.expiresAtMs - Date.now(), () => result.end(new GraphQLError('Unauthenticated: the token has expired', { extensions: { code: 'UNAUTHENTICATED' } })));
      }
      return new EndingInResult(result, () => expiry?.cancel()) as OperationResult;
    },
  });

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const authentication = await authenticator.authenticate(req.headers);
    if (authentication.kind === 'refused') return sendUnauthenticated(res, authentication);
    const who: Who = authentication.kind === 'caller'
      ? { caller: { identity: authentication.identity, signer: authenticator.signer! }, expiresAtMs: authentication.expiresAtMs }
      : { caller: null, expiresAtMs: null };
    let body: string | null = null;
    if (req.method === 'POST') {
      try {
        body = await readBody(req, maxBodyBytes);
      } catch (error) {
        if (!(error instanceof BodyTooLargeError)) throw error;
        return sendRequestError(res, 413, 'PAYLOAD_TOO_LARGE', error.message);
      }
    }
    // A persisted query id becomes its text here: graphql-sse takes an operation only with its text.
    const url = new URL(req.url ?? '/', 'http://gateway');
    let parsed: unknown;
    try {
      parsed = body === null ? undefined : JSON.parse(body);
    } catch {
      return sendRequestError(res, 400, 'BAD_REQUEST', 'Request body is not valid JSON');
    }
    const gated = gate.prepare({ method: req.method ?? 'GET', search: url.search, body: parsed });
    if (gated.kind === 'refuse') return sendRefusal(res, gated.refusal);
    const request: Request<IncomingMessage, { res: ServerResponse; who: Who }> = {
      method: req.method ?? 'GET',
      url: `${url.pathname}${gated.search}`,
      headers: {
        // The distinct-connections mode is chosen by this exact Accept; the request asked for an event stream.
        get: (key) => (key === 'accept' ? 'text/event-stream' : headerText(req.headers[key])),
      },
      body: gated.body === undefined ? null : JSON.stringify(gated.body),
      raw: req,
      context: { res, who },
    };
    const [answer, init] = await handler(request);
    res.writeHead(init.status, init.statusText, init.headers as Record<string, string>);
    if (!answer || typeof answer === 'string') {
      res.end(answer);
      return;
    }
    const stop = () => void answer.return(undefined);
    res.once('close', stop);
    for await (const chunk of answer) {
      if (!res.writable) break;
      res.write(chunk);
    }
    res.off('close', stop);
    // Stopping: the client will connect again, to another replica; this connection is not kept for it.
    if (draining) res.once('finish', () => req.socket.end());
    res.end();
  }

  return {
    serve,
    drain() {
      draining = true;
    },
  };
}

function headerText(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(', ') : value;
}

/** A stream's results, where an error that ends it early becomes its last result instead of a failure. */
class EndingInResult implements AsyncGenerator<StreamResult, void, undefined> {
  private done = false;

  constructor(private readonly source: PushIterator<StreamResult>, private readonly onDone: () => void) {}

  async next(): Promise<IteratorResult<StreamResult, void>> {
    if (this.done) return { value: undefined, done: true };
    try {
      const result = await this.source.next();
      if (result.done) this.finish();
      return result;
    } catch (error) {
      this.finish();
      const ended = error instanceof GraphQLError ? error : new GraphQLError((error as Error).message, { extensions: { code: 'STREAM_ENDED' } });
      return { value: { errors: [ended.toJSON()] }, done: false };
    }
  }

  async return(): Promise<IteratorResult<StreamResult, void>> {
    this.finish();
    await this.source.return();
    return { value: undefined, done: true };
  }

  async throw(error: unknown): Promise<IteratorResult<StreamResult, void>> {
    await this.return();
    throw error;
  }

  [Symbol.asyncIterator](): AsyncGenerator<StreamResult, void, undefined> {
    return this;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.return();
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.onDone();
  }
}

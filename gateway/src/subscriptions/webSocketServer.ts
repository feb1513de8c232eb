/**
 * graphql-ws's protocol server (`makeServer`) on the `ws` package's sockets: what graphql-ws's own `use/ws` adapter
 * does, with the gateway's logger and answers instead of its console output.
 *
 *  - A message a client may not send (`next`, `error`, `connection_ack`, well formed) closes the connection with
 *    4400 and says so, as a malformed one does; graphql-ws would take it for an error of the server (4500) and
 *    print it on the console.
 *  - A socket's error (a warning: the peer's doing, as a frame too large) or a hook's (an error) is one JSON log
 *    line, and that connection is closed with 4500; the others carry on.
 *  - Heartbeats as graphql-ws's: a ping every `keepAliveMs`; a peer that does not answer within as long is cut. They
 *    run on real timers, not the gateway's clock: a pong is network I/O, which a clock moved by hand cannot wait for.
 */
import type { IncomingMessage } from 'node:http';
import { CloseCode, handleProtocols, makeServer, MessageType, parseMessage, type ConnectionInitMessage, type ServerOptions } from 'graphql-ws';
import type { Extra } from 'graphql-ws/use/ws';
import type { WebSocketServer } from 'ws';
import type { Logger } from '../logger.js';

/** What a client may send (graphql-ws's protocol): anything else is a bad request. */
const FROM_CLIENTS: ReadonlySet<string> = new Set([MessageType.ConnectionInit, MessageType.Ping, MessageType.Pong, MessageType.Subscribe, MessageType.Complete]);

export interface WebSocketServing {
  keepAliveMs: number;
  logger: Logger;
}

/** Serves graphql-ws on every connection `server` accepts. */
export function serveGraphQLWs<P extends ConnectionInitMessage['payload']>(
  options: ServerOptions<P, Extra>,
  server: WebSocketServer,
  { keepAliveMs, logger }: WebSocketServing,
): void {
  const protocol = makeServer(options);
  server.options.handleProtocols = handleProtocols;
  server.on('error', (error) => logger.error('the WebSocket server failed', { error: error.message }));
  server.on('connection', (socket, request: IncomingMessage) => {
    const failed = (level: 'warn' | 'error', what: string, error: unknown) => {
      logger[level](what, { error: String((error as Error)?.message ?? error) });
      socket.close(CloseCode.InternalServerError, 'Internal server error');
    };
    socket.once('error', (error) => failed('warn', 'a WebSocket failed', error));
    const stopHeartbeat = heartbeat(socket, keepAliveMs);
    const closed = protocol.opened({
      protocol: socket.protocol,
      send: (data) => new Promise<void>((resolve, reject) => {
        if (socket.readyState !== socket.OPEN) return resolve();
        socket.send(data, (error) => (error ? reject(error) : resolve()));
      }),
      close: (code, reason) => socket.close(code, reason),
      onMessage: (handle) => socket.on('message', async (data) => {
        const text = String(data);
        const type = typeOf(text);
        if (type !== null && !FROM_CLIENTS.has(type)) {
          socket.close(CloseCode.BadRequest, `Unexpected message of type ${type} received`);
          return;
        }
        try {
          await handle(text);
        } catch (error) {
          failed('error', 'a WebSocket message could not be handled', error);
        }
      }),
    }, { socket, request });
    socket.once('close', (code, reason) => {
      stopHeartbeat();
      void closed(code, String(reason));
    });
  });
}

/** The type of a well-formed protocol message; null for anything else (graphql-ws answers that itself, with 4400). */
function typeOf(text: string): string | null {
  try {
    return parseMessage(text).type;
  } catch {
    return null;
  }
}

/** Pings every `intervalMs`; a peer that does not answer within as long is cut. Returns its stop. */
function heartbeat(socket: Extra['socket'], intervalMs: number): () => void {
  let unanswered: NodeJS.Timeout | null = null;
  const pings = setInterval(() => {
    if (socket.readyState !== socket.OPEN) return;
    unanswered ??= setTimeout(() => socket.terminate(), intervalMs);
    socket.ping();
  }, intervalMs);
  const answered = () => {
    if (unanswered) clearTimeout(unanswered);
    unanswered = null;
  };
  socket.on('pong', answered);
  return () => {
    clearInterval(pings);
    answered();
  };
}

/**
 * Passes a connection upgrade (a WebSocket: the gateway's subscriptions at /graphql) through a proxy to `target`:
 * the upgrade request goes on with its headers, the target's answer comes back, and from `101 Switching Protocols`
 * on the two sockets are piped both ways until either closes. A target that answers anything else has that answer
 * passed back and the connection closed; one that cannot be reached gets 502.
 */
import { request, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

export function proxyUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, target: URL, extraHeaders: Record<string, string> = {}): void {
  const headers: Record<string, string | string[]> = {};
  for (const [key, value] of Object.entries(req.headers)) if (value !== undefined && key !== 'host') headers[key] = value;
  const upstream = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...headers, ...extraHeaders } });
  socket.on('error', () => upstream.destroy());
  upstream.on('upgrade', (answer, upstreamSocket, upstreamHead) => {
    socket.write(statusBlock(answer));
    if (upstreamHead.length > 0) socket.write(upstreamHead);
    if (head.length > 0) upstreamSocket.write(head);
    upstreamSocket.on('error', () => socket.destroy());
    socket.on('close', () => upstreamSocket.destroy());
    upstreamSocket.on('close', () => socket.destroy());
    upstreamSocket.pipe(socket).pipe(upstreamSocket);
  });
  upstream.on('response', (answer) => {
    socket.write(statusBlock(answer));
    answer.pipe(socket);
  });
  upstream.on('error', (error: NodeJS.ErrnoException) => {
    if (socket.writable) socket.end(`HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-length: 0\r\nx-proxy-error: ${error.code ?? 'error'}\r\n\r\n`);
  });
  upstream.end();
}

/** The status line and headers of an answer, as raw HTTP/1.1. */
function statusBlock(answer: IncomingMessage): string {
  const lines = [`HTTP/1.1 ${answer.statusCode ?? 502} ${answer.statusMessage ?? ''}`];
  for (let i = 0; i < answer.rawHeaders.length; i += 2) lines.push(`${answer.rawHeaders[i]}: ${answer.rawHeaders[i + 1]}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

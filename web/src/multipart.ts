/**
 * Reads a `multipart/mixed` answer (an operation with `@defer`) part by part as its body streams in: each part is
 * one JSON payload. The parts are split on the boundary the response's content-type names.
 */

/** The boundary of a `multipart/mixed` content-type; null for any other type. */
export function multipartBoundary(contentType: string | null): string | null {
  if (!contentType || !/^\s*multipart\/mixed\s*(;|$)/i.test(contentType)) return null;
  const match = /;\s*boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  // The GraphQL incremental delivery spec's default, for a server that names none.
  return match?.[1] ?? match?.[2] ?? '-';
}

/** A part that is not what a GraphQL server sends (not JSON, or JSON that does not parse). */
export class MultipartError extends Error {
  override name = 'MultipartError';
}

/**
 * The JSON payload of every part of `body`, each as soon as it has arrived whole. Stops at the closing delimiter
 * or at the end of the body; cancels the body when the caller stops early (the connection is then given up).
 */
export async function* multipartJsonParts(body: ReadableStream<Uint8Array>, boundary: string): AsyncGenerator<unknown> {
  const delimiter = `\r\n--${boundary}`;
  const reader = body.getReader();
  const decoder = new TextDecoder();
  // RFC 2046 lets the body open with its first delimiter, without the CRLF that precedes every other one.
  let buffer = '\r\n';
  /** Reading a part (after a delimiter), not the preamble before the first one. */
  let inPart = false;
  /** This part's payload was handed over before its closing delimiter came. */
  let handedOver = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      for (let at = buffer.indexOf(delimiter); at !== -1; at = buffer.indexOf(delimiter)) {
        if (inPart && !handedOver) {
          const payload = partPayload(buffer.slice(0, at), true);
          if (payload !== undefined) yield payload;
        }
        buffer = buffer.slice(at + delimiter.length);
        inPart = true;
        handedOver = false;
        if (buffer.startsWith('--')) return;
      }
      // A server may write a part's closing delimiter only when the next part starts (this gateway once did): a
      // payload whose JSON is already whole is handed over now rather than when the next part comes, which can be
      // seconds.
      // A whole JSON value cannot be the start of a longer one, so nothing of the part is cut off.
      if (inPart && buffer.startsWith('--')) return;
      if (inPart && !handedOver && !buffer.startsWith('-')) {
        const payload = partPayload(buffer, done);
        if (payload !== undefined) {
          handedOver = true;
          yield payload;
        }
      }
      if (done) return;
    }
  } finally {
    // Also when the caller stopped reading early: the server stops working on an answer nobody reads.
    reader.cancel().catch(() => {});
  }
}

/**
 * The payload of a part's text (what follows its delimiter): the rest of the delimiter line, the part's headers, a
 * blank line, the JSON body. Undefined while the text is not whole yet (`complete` false), or for an empty part.
 */
function partPayload(text: string, complete: boolean): unknown {
  const headersEnd = text.indexOf('\r\n\r\n');
  if (headersEnd === -1) {
    if (complete && text.trim() !== '') throw new MultipartError('A part of the answer has no blank line after its headers');
    return undefined;
  }
  const contentType = /^content-type:\s*(.*)$/im.exec(text.slice(0, headersEnd))?.[1];
  if (contentType && !/application\/(graphql-response\+)?json/i.test(contentType)) {
    if (complete) throw new MultipartError(`A part of the answer is ${contentType}, not JSON`);
    return undefined;
  }
  const body = text.slice(headersEnd + 4).trim();
  if (body === '') return undefined;
  // Every payload is a JSON object: one that does not end in `}` yet has more to come.
  if (!complete && !body.endsWith('}')) return undefined;
  try {
    return JSON.parse(body);
  } catch {
    if (complete) throw new MultipartError('A part of the answer is not valid JSON');
    return undefined;
  }
}

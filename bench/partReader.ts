/**
 * Reads an answer's body as it streams and says when each payload arrived: a `multipart/mixed` answer (`@defer`)
 * part by part, a JSON answer as one payload. Each payload has two times, since readers differ:
 *
 * - complete: its JSON has arrived whole (the earliest any client could have it);
 * - delimited: the delimiter after it has arrived. A reader that splits the body on the boundary, as Apollo Client's
 *   HttpLink does (`readMultipartBody`), hands a part over only then. A server that writes each part's delimiter
 *   with the part (Apollo Server does) makes the two the same; one that writes it before the next part makes a
 *   part wait for the next one.
 *
 * Times are `performance.now()` values given by the caller, so a page's times all share one clock.
 */

export interface TimedPayload {
  payload: unknown;
  completeAt: number;
  delimitedAt: number;
}

interface OpenPart {
  payload?: unknown;
  completeAt?: number;
}

export class PartReader {
  private readonly delimiter: string | null;
  /** Text not yet split off: everything after the last delimiter seen. */
  private buffer = '';
  /** The part being read; null before the first delimiter (the preamble), right after one, and after the closing one. */
  private open: OpenPart | null = null;
  /** A delimiter has just been read: what follows says whether it closes the body (`--`) or opens a part. */
  private afterDelimiter = false;
  private closed = false;
  private readonly payloads: TimedPayload[] = [];
  /** Streaming, so that a character split between two chunks is decoded whole. */
  private readonly decoder = new TextDecoder();

  constructor(contentType: string | undefined) {
    const boundary = /^multipart\/mixed\b/i.test(contentType ?? '') ? /boundary="?([^";]+)"?/i.exec(contentType!)?.[1] ?? '-' : null;
    this.delimiter = boundary === null ? null : `\r\n--${boundary}`;
    // RFC 2046 lets the first delimiter open the body without the CRLF before it.
    if (this.delimiter) this.buffer = '\r\n';
  }

  get multipart(): boolean {
    return this.delimiter !== null;
  }

  push(chunk: Buffer | string, now: number): void {
    this.buffer += typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    if (this.delimiter) this.split(now, false);
  }

  /** The body has ended: the payloads it carried, in order (a payload that never parsed is left out). */
  end(now: number): TimedPayload[] {
    this.buffer += this.decoder.decode();
    if (!this.delimiter) {
      const payload = parse(this.buffer);
      if (payload !== undefined) this.payloads.push({ payload, completeAt: now, delimitedAt: now });
      return this.payloads;
    }
    this.split(now, true);
    // A body cut short ends its last part: whatever of it parses counts, delimited by the end.
    if (this.open) this.finish(this.buffer, now);
    return this.payloads;
  }

  private split(now: number, ended: boolean): void {
    const delimiter = this.delimiter!;
    while (!this.closed) {
      if (this.afterDelimiter) {
        // Two characters say whether it was the closing delimiter; wait for them unless the body has ended.
        if (this.buffer.length < 2 && !ended) break;
        this.afterDelimiter = false;
        this.closed = this.buffer.startsWith('--');
        if (!this.closed) this.open = {};
        continue;
      }
      const at = this.buffer.indexOf(delimiter);
      if (at < 0) break;
      // The part before it is whole now: a reader splitting on the boundary hands it over here.
      if (this.open) this.finish(this.buffer.slice(0, at), now);
      this.buffer = this.buffer.slice(at + delimiter.length);
      this.afterDelimiter = true;
    }
    // The open part's JSON may be whole before its delimiter comes.
    if (this.open && this.open.completeAt === undefined) {
      const payload = parse(bodyOf(this.buffer));
      if (payload !== undefined) Object.assign(this.open, { payload, completeAt: now });
    }
  }

  private finish(region: string, now: number): void {
    const open = this.open!;
    const payload = open.completeAt !== undefined ? open.payload : parse(bodyOf(region));
    if (payload !== undefined) this.payloads.push({ payload, completeAt: open.completeAt ?? now, delimitedAt: now });
    this.open = null;
  }
}

/** A part's body: after its headers' blank line (null while the headers have not all come). */
function bodyOf(region: string): string | null {
  const at = region.indexOf('\r\n\r\n');
  return at < 0 ? null : region.slice(at + 4);
}

/** The JSON value of a body, or undefined while it is not whole (only a body ending in `}` is tried). */
function parse(body: string | null): unknown {
  if (body === null) return undefined;
  const text = body.trim();
  if (!text.endsWith('}')) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

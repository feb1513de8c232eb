/**
 * How an answer with deferred parts (`@defer`) leaves the gateway: which format the client takes (its Accept
 * header), the payloads of each format, and the `multipart/mixed` body they travel in.
 *
 * - `multipart/mixed; deferSpec=20220824`: Apollo Router's and Apollo Client's format (graphql-js 17.0.0-alpha.2):
 *   each later payload is `{ incremental: [{ data, path, label?, errors? }], hasNext }`.
 * - `multipart/mixed; incrementalSpec=v0.2`, or a bare `multipart/mixed`: the GraphQL incremental delivery format
 *   (graphql-js 17.0.0-alpha.9, Apollo Server 5's name for it): the first payload announces `pending` parts by id,
 *   later ones carry `incremental: [{ id, data, errors? }]`, `completed: [{ id, errors? }]` and new `pending`.
 *
 * The format is read from the Accept header at the door (`incrementalFormatOf` in http.ts). A client that accepts
 * neither gets the whole answer in one JSON body (compiledExecutor.ts plans the operation without its `@defer`s
 * then), as Apollo Router does. What the deferred run delivers (deferredRun.ts) is the same for both formats: a step
 * per finished deferred fragment, with the fragments it makes pending in turn.
 */
import type { ServerResponse } from 'node:http';
import type { GraphQLError, GraphQLFormattedError } from 'graphql';
import type { IncrementalFormat } from '../http.js';

type Path = readonly (string | number)[];

/** A deferred fragment at one place of the answer, announced before its data comes. */
export interface PendingPart {
  id: string;
  path: Path;
  /** The label the client gave the `@defer`; none when it gave none. */
  label?: string;
}

/** A pending part, finished: its data (null when a null bubbled up to the fragment), errors and extensions. */
export interface DeliveredPart {
  part: PendingPart;
  data: Record<string, unknown> | null;
  errors: readonly GraphQLError[];
  extensions?: Record<string, unknown>;
  /** `data` as JSON, when it is already made: a part the memo serves again is serialized once (partMemo.ts). */
  json?: string;
}

/** What one later payload carries, whatever the format. */
export interface IncrementalStep {
  delivered: DeliveredPart[];
  /** Fragments nested in the delivered ones, now pending. */
  pending: PendingPart[];
  hasNext: boolean;
}

/** What follows an answer's first part: the parts the first one leaves pending, then a step per delivery. */
export interface IncrementalAnswer {
  pending: PendingPart[];
  /** A reader of every step from the first: requests sharing the answer each write them all. */
  read(): StepReader;
}

/** One request's place in an answer's steps. */
export interface StepReader {
  /** The steps delivered and not read yet, read now: none while the next one is still running. */
  ready(): IncrementalStep[];
  /** Resolves once a step is ready, with false when none is left to come. */
  more(): Promise<boolean>;
}

const BOUNDARY = 'graphql';

/** As Apollo Server formats errors (stack traces never leave): every error carries a code. */
export function formatError(error: GraphQLError): GraphQLFormattedError {
  const formatted = error.toJSON();
  return { ...formatted, extensions: { ...formatted.extensions, code: formatted.extensions?.code ?? 'INTERNAL_SERVER_ERROR' } };
}

const pendingEntry = ({ id, path, label }: PendingPart) => (label === undefined ? { id, path } : { id, path, label });

/**
 * The first payload's JSON as the pieces to write: Apollo Server's body for it (errors already formatted), its
 * closing brace replaced by the fields the format adds. The body is not parsed and written again, nor copied.
 */
export function initialPayload(body: string, answer: IncrementalAnswer, format: IncrementalFormat): [string, string] {
  const extra = format === 'deferSpec=20220824' ? HAS_NEXT : `,${JSON.stringify({ pending: answer.pending.map(pendingEntry), hasNext: true }).slice(1)}`;
  return [body.slice(0, body.lastIndexOf('}')), extra];
}

const HAS_NEXT = ',"hasNext":true}';

/** A later payload's JSON, written piece by piece: a part's data from the JSON it comes with, when it has one. */
export function stepJson(step: IncrementalStep, format: IncrementalFormat): string {
  if (format === 'deferSpec=20220824') {
    // Appended to one string, copied once when it is written: joined from an array, it would be copied once more.
    let json = '{"incremental":[';
    for (let i = 0; i < step.delivered.length; i++) {
      const delivered = step.delivered[i]!;
      const { path, label } = delivered.part;
      json += `${i > 0 ? ',' : ''}{"data":${dataJson(delivered)},"path":${JSON.stringify(path)}${label !== undefined ? `,"label":${JSON.stringify(label)}` : ''}${errorsAndExtensions(delivered)}}`;
    }
    return `${json}],"hasNext":${step.hasNext}}`;
  }
  const fields: string[] = [];
  if (step.pending.length) fields.push(`"pending":${JSON.stringify(step.pending.map(pendingEntry))}`);
  const incremental = step.delivered.filter((d) => d.data !== null).map((d) => `{"id":${JSON.stringify(d.part.id)},"data":${dataJson(d)}${errorsAndExtensions(d)}}`);
  if (incremental.length) fields.push(`"incremental":[${incremental.join(',')}]`);
  // A fragment whose data is null reports its errors where it completes (there is no data to attach them to).
  const completed = step.delivered.map(({ part, data, errors }) => (data === null && errors.length ? { id: part.id, errors: errors.map(formatError) } : { id: part.id }));
  fields.push(`"completed":${JSON.stringify(completed)}`, `"hasNext":${step.hasNext}`);
  return `{${fields.join(',')}}`;
}

function dataJson({ data, json }: DeliveredPart): string {
  return json ?? JSON.stringify(data);
}

function errorsAndExtensions({ errors, extensions }: DeliveredPart): string {
  return `${errors.length ? `,"errors":${JSON.stringify(errors.map(formatError))}` : ''}${extensions ? `,"extensions":${JSON.stringify(extensions)}` : ''}`;
}

export function multipartContentType(format: IncrementalFormat): string {
  return `multipart/mixed; boundary="${BOUNDARY}"; ${format}`;
}

const delimiter = `\r\n--${BOUNDARY}`;
const partHead = '\r\ncontent-type: application/json; charset=utf-8\r\n\r\n';

/**
 * Writes the answer as `multipart/mixed`: the first payload at once, then each step as it comes. Each part is
 * followed by its delimiter at once, so a client knows a part is whole without waiting for the next one; the last
 * delimiter is closed (`--`) when no step is left. Steps already delivered when a write leaves go in it: a part
 * the memo served with its first payload shares that payload's write (deferredRun.ts). Stops reading steps when the
 * client has gone (the request's signal has already cancelled what only it waited for). Each write is one buffer
 * encoded from its pieces, as a complete answer is written as bytes (request.ts, `answerInBytes`): joined as strings
 * first, every part would be copied once more inside V8's heap.
 */
export async function writeMultipart(res: ServerResponse, first: readonly string[], answer: IncrementalAnswer, format: IncrementalFormat): Promise<void> {
  res.setHeader('content-type', multipartContentType(format));
  // A proxy that buffers answers (nginx by default) would hold the first part back until the last.
  res.setHeader('x-accel-buffering', 'no');
  const steps = answer.read();
  const pieces = [delimiter, partHead, ...first, delimiter];
  for (;;) {
    for (const step of steps.ready()) {
      pieces.push(partHead, stepJson(step, format), delimiter);
      // The last part and the closing leave in one write.
      if (!step.hasNext) {
        pieces.push('--\r\n');
        res.end(encoded(pieces));
        return;
      }
    }
    res.write(encoded(pieces));
    pieces.length = 0;
    if (!(await steps.more())) break;
    if (res.destroyed) return;
  }
  res.end('--\r\n');
}

function encoded(pieces: readonly string[]): Buffer {
  let length = 0;
  for (const piece of pieces) length += Buffer.byteLength(piece);
  const bytes = Buffer.allocUnsafe(length);
  let at = 0;
  for (const piece of pieces) at += bytes.write(piece, at);
  return bytes;
}

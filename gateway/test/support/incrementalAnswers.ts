/**
 * A client of answers in parts (`@defer`) for tests: sends an operation accepting one multipart format, reads the
 * whole body, splits it into payloads, and merges them in order the way a client does. Also rewrites an operation
 * with `@defer` at chosen places, for the differential tests.
 */
import { Kind, parse, print, visit, type FieldNode, type InlineFragmentNode, type SelectionSetNode } from 'graphql';

export type Format = 'deferSpec=20220824' | 'incrementalSpec=v0.2';

export const ACCEPT: Record<Format, string> = {
  'deferSpec=20220824': 'multipart/mixed;deferSpec=20220824, application/json;q=0.9',
  'incrementalSpec=v0.2': 'multipart/mixed;incrementalSpec=v0.2, application/json;q=0.9',
};

export interface PartsAnswer {
  status: number;
  contentType: string;
  headers: Headers;
  /** Every payload in order; an answer in one JSON body is one payload. */
  payloads: any[];
}

export async function sendAccepting(url: string, body: unknown, accept: string, init: { method?: 'GET' | 'POST'; headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<PartsAnswer> {
  const response = await fetch(url, {
    method: init.method ?? 'POST',
    headers: { ...(init.method === 'GET' ? { 'apollo-require-preflight': 'true' } : { 'content-type': 'application/json' }), accept, ...init.headers },
    ...(init.method === 'GET' ? {} : { body: JSON.stringify(body) }),
    ...(init.signal ? { signal: init.signal } : {}),
  });
  const text = await response.text();
  const contentType = response.headers.get('content-type') ?? '';
  return { status: response.status, contentType, headers: response.headers, payloads: contentType.startsWith('multipart/mixed') ? multipartPayloads(text, contentType) : [JSON.parse(text)] };
}

/** The JSON payloads of a complete multipart body; fails on a body that does not end with its closing delimiter. */
export function multipartPayloads(text: string, contentType: string): any[] {
  const boundary = /boundary="?([^";]+)"?/.exec(contentType)?.[1];
  if (!boundary) throw new Error(`no boundary in ${contentType}`);
  if (!text.trimEnd().endsWith(`--${boundary}--`)) throw new Error(`the multipart body does not end with --${boundary}--: ${text.slice(-200)}`);
  return text.split(`--${boundary}`).slice(1, -1).map((part) => {
    const json = part.slice(part.indexOf('\r\n\r\n') + 4).trim();
    return JSON.parse(json);
  });
}

export interface Merged {
  data: any;
  errors: any[];
  /** Shaping errors the first payload reports as stock does (`extensions.valueCompletion`). */
  valueCompletion: any[];
  /** Deferred parts that came back null (a null bubbled up to the fragment), and those delivered. */
  nulledParts: number;
  deliveredParts: number;
  hasNextAtEnd: boolean;
}

/** The payloads merged in order, as a client of `format` merges them. */
export function mergePayloads(payloads: any[], format: Format): Merged {
  const [first, ...rest] = payloads;
  const merged: Merged = {
    data: structuredClone(first.data),
    errors: [...(first.errors ?? [])],
    valueCompletion: [...(first.extensions?.valueCompletion ?? [])],
    nulledParts: 0,
    deliveredParts: 0,
    hasNextAtEnd: payloads.at(-1)?.hasNext ?? false,
  };
  const pending = new Map<string, (string | number)[]>();
  for (const p of first.pending ?? []) pending.set(p.id, p.path);
  for (const payload of rest) {
    for (const p of payload.pending ?? []) pending.set(p.id, p.path);
    for (const item of payload.incremental ?? []) {
      const path = format === 'deferSpec=20220824' ? item.path : pending.get(item.id);
      if (!path) throw new Error(`an incremental payload for an unknown part: ${JSON.stringify(item)}`);
      merged.errors.push(...(item.errors ?? []));
      merged.deliveredParts += 1;
      if (item.data === null) merged.nulledParts += 1;
      else mergeAt(merged.data, path, item.data);
    }
    for (const done of payload.completed ?? []) {
      if (!done.errors) continue;
      merged.errors.push(...done.errors);
      merged.nulledParts += 1;
      merged.deliveredParts += 1;
    }
  }
  return merged;
}

function mergeAt(data: any, path: readonly (string | number)[], value: any): void {
  let target = data;
  for (const step of path) target = target[step];
  deepMerge(target, value);
}

function deepMerge(target: any, source: any): void {
  for (const [key, value] of Object.entries(source)) {
    if (value && typeof value === 'object' && target[key] && typeof target[key] === 'object') deepMerge(target[key], value);
    else target[key] = value;
  }
}

/** Where `withDefers` puts `@defer`. */
export type Placement = 'root' | 'everywhere' | 'everywhere unlabelled' | 'everywhere if false' | 'nested only';

/**
 * The operation with the selection sets at the chosen places wrapped in `... @defer { ... }`: the root's, every
 * field's (lists and entity fields from other subgraphs included), or every field's below the root fields.
 */
export function withDefers(query: string, placement: Placement): string {
  let label = 0;
  const deferred = (selectionSet: SelectionSetNode): SelectionSetNode => {
    const args = placement === 'everywhere unlabelled' ? []
      : placement === 'everywhere if false' ? [{ kind: Kind.ARGUMENT, name: { kind: Kind.NAME, value: 'if' }, value: { kind: Kind.BOOLEAN, value: false } } as const]
        : [{ kind: Kind.ARGUMENT, name: { kind: Kind.NAME, value: 'label' }, value: { kind: Kind.STRING, value: `d${label++}` } } as const];
    const fragment: InlineFragmentNode = {
      kind: Kind.INLINE_FRAGMENT,
      directives: [{ kind: Kind.DIRECTIVE, name: { kind: Kind.NAME, value: 'defer' }, arguments: args }],
      selectionSet,
    };
    return { kind: Kind.SELECTION_SET, selections: [fragment] };
  };
  const document = parse(query);
  let depth = 0;
  const rewritten = visit(document, {
    OperationDefinition: {
      leave: (node) => (placement === 'root' ? { ...node, selectionSet: deferred(node.selectionSet) } : undefined),
    },
    Field: {
      enter: () => {
        depth += 1;
      },
      leave: (node: FieldNode) => {
        depth -= 1;
        if (!node.selectionSet || placement === 'root') return undefined;
        if (placement === 'nested only' && depth === 0) return undefined;
        return { ...node, selectionSet: deferred(node.selectionSet) };
      },
    },
  });
  return print(rewritten);
}

/**
 * An answer in parts read as it arrives: each `next()` resolves with the next payload, null after the last. Strict
 * on purpose, as Apollo Client's reader is: a part is handed over only once the delimiter after it has arrived (the
 * pages' reader, web/src/multipart.ts, is lenient and would not notice a delimiter sent late).
 */
export interface OpenParts {
  status: number;
  headers: Headers;
  next(): Promise<any | null>;
  /** Hangs up, as a browser tab closed mid-answer. */
  hangUp(): void;
}

export async function openParts(url: string, body: unknown, accept: string, headers: Record<string, string> = {}): Promise<OpenParts> {
  const hangUp = new AbortController();
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept, ...headers },
    body: JSON.stringify(body),
    signal: hangUp.signal,
  });
  const contentType = response.headers.get('content-type') ?? '';
  const boundary = /boundary="?([^";]+)"?/.exec(contentType)?.[1];
  if (!boundary || !response.body) throw new Error(`not an answer in parts: HTTP ${response.status} ${contentType} ${await response.text()}`);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  let ended = false;
  return {
    status: response.status,
    headers: response.headers,
    async next() {
      for (;;) {
        // A part is complete once the delimiter that follows it has arrived.
        const start = buffered.indexOf(`--${boundary}\r\ncontent-type`);
        const end = start === -1 ? -1 : buffered.indexOf(`\r\n--${boundary}`, start + boundary.length + 4);
        if (start !== -1 && end !== -1) {
          const part = buffered.slice(start, end);
          buffered = buffered.slice(end + 2);
          return JSON.parse(part.slice(part.indexOf('\r\n\r\n') + 4));
        }
        if (ended) return null;
        const { done, value } = await reader.read();
        if (done) ended = true;
        else buffered += decoder.decode(value, { stream: true });
      }
    },
    hangUp: () => hangUp.abort(),
  };
}

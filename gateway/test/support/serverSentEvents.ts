/**
 * Reads a GraphQL-over-SSE answer as a client does: its events one at a time (`event:` and `data:` lines, blocks
 * ended by a blank line), as they arrive.
 */
export interface ServerSentEvent {
  event: string;
  data: any;
}

export function serverSentEvents(response: Response): { next(): Promise<ServerSentEvent | null>; nextResult(): Promise<any>; release(): void } {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  const next = async (): Promise<ServerSentEvent | null> => {
    for (;;) {
      let end: number;
      while ((end = buffered.indexOf('\n\n')) !== -1) {
        const block = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event) return { event, data: data && data !== 'null' ? JSON.parse(data) : null };
      }
      const { value, done } = await reader.read();
      if (done) return null;
      buffered += decoder.decode(value, { stream: true });
    }
  };
  return {
    next,
    /** The next `next` event's payload; throws when the stream completes or ends first. */
    async nextResult() {
      for (;;) {
        const found = await next();
        if (!found || found.event === 'complete') throw new Error('the event stream ended');
        if (found.event === 'next') return found.data;
      }
    },
    release: () => reader.releaseLock(),
  };
}

/** One line of a gateway's /metrics (the name with its labels), 0 when absent. */
export async function metricValue(graphqlUrl: string, line: string): Promise<number> {
  const text = await (await fetch(graphqlUrl.replace('/graphql', '/metrics'))).text();
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found ? Number(found.slice(line.length + 1)) : 0;
}

/**
 * Subscribing to a subgraph as the gateway will: graphql-ws's own client over `ws`, the caller signed in
 * `connection_init` (test/support/gatewayTrust.ts), and waiting on the service's outbox tailer instead of sleeping.
 */
import { once } from 'node:events';
import { createClient, type Client, type FormattedExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';
import { signedBy } from '../../../test/support/gatewayTrust.js';
import type { OutboxSubscriptions } from '../outboxSubscriptions.js';

export interface SubscriptionClient {
  client: Client;
  /** Close events the client saw (code, reason). */
  closes: { code: number; reason: string }[];
  iterate(query: string, variables?: Record<string, unknown>): AsyncIterableIterator<FormattedExecutionResult<any>>;
  dispose(): Promise<void>;
}

export function wsUrl(httpUrl: string): string {
  return httpUrl.replace(/^http/, 'ws');
}

export interface ClientOptions {
  /** Signed in `connection_init`'s payload, as the gateway sends it. */
  sellerId?: string;
  /** Sent as headers of the upgrade request instead. */
  upgradeHeaders?: Record<string, string>;
}

/** A client of the subgraph at `httpUrl`; anonymous unless `options` name a caller. */
export function subscriptionClient(httpUrl: string, options: ClientOptions = {}): SubscriptionClient {
  const closes: { code: number; reason: string }[] = [];
  const { sellerId, upgradeHeaders } = options;
  const client = createClient({
    url: wsUrl(httpUrl),
    webSocketImpl: upgradeHeaders
      ? class extends WebSocket {
        constructor(url: string, protocols: string | string[]) {
          super(url, protocols, { headers: upgradeHeaders });
        }
      }
      : WebSocket,
    connectionParams: sellerId ? async () => ({ headers: await signedBy(sellerId) }) : undefined,
    retryAttempts: 0,
    on: {
      closed: (event) => {
        const { code, reason } = event as { code: number; reason: unknown };
        closes.push({ code, reason: String(reason) });
      },
    },
  });
  return {
    client,
    closes,
    iterate: (query, variables) => client.iterate({ query, variables }),
    dispose: async () => client.dispose(),
  };
}

/** Resolves once `check` holds, re-checked whenever the tailer's subscribers or state change. */
export async function until(tailer: OutboxSubscriptions, check: () => boolean): Promise<void> {
  while (!check()) await once(tailer, 'change');
}

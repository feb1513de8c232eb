/**
 * Keeps part of a page up to date over the gateway's graphql-ws endpoint, reached at the page's own origin
 * (ws(s)://<host>/graphql, which the web server passes through to the gateway): one persisted operation, a live
 * query or a subscription, sent by its manifest id with an empty `query` (the protocol's message must carry one).
 * Each result is handed over as it comes.
 *
 * An enhancement, never a failure: a socket that cannot be opened or drops for good (after graphql-ws's own
 * retries), or an operation the gateway refuses, ends the updates quietly and the page stays as it is. Leaving the
 * page closes the socket; a page brought back from the back-forward cache opens it again (a live query then answers
 * with what is current at once).
 */
import { createClient, type Client } from 'graphql-ws/client';
import type { GraphQLResult } from './graphql.js';
import { persistedOperation, type OperationName } from './operations.js';
import { identityHeaders } from './session.js';

export interface LiveUpdates<T> {
  /** A live query's answer, at once and whenever it changes; or a subscription's event. */
  onResult(result: GraphQLResult<T>): void;
  /** The socket closed while the updates were wanted, so results may have been missed (graphql-ws reconnects if it can). */
  onInterrupted?(): void;
  /** No more results will come: the gateway refused or ended the operation, or the socket is gone for good. */
  onEnded?(): void;
  /** The signed-in seller the updates are for: sent in `connection_init`, as the pages' requests send it in headers. */
  sellerId?: string;
}

/** Starts the updates; the function returned stops them and closes the socket. */
export function liveUpdates<T>(name: OperationName, variables: Record<string, unknown>, updates: LiveUpdates<T>): () => void {
  const { sellerId } = updates;
  const payload = { operationName: name, query: '', variables, extensions: { persistedQuery: { version: 1, sha256Hash: persistedOperation(name).id } } };
  let client: Client | null = null;

  const open = () => {
    const opened: Client = createClient({
      url: `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/graphql`,
      // A function, so a reconnection sends the token the seller holds then.
      connectionParams: sellerId ? () => ({ headers: identityHeaders(sellerId) }) : undefined,
      on: { closed: () => void (client === opened && updates.onInterrupted?.()) },
    });
    // Refused, or gone for good: the page keeps what it shows. (Not when it is this module that stopped them.)
    const ended = () => void (client === opened && updates.onEnded?.());
    client = opened;
    opened.subscribe<T>(payload, { next: (result) => updates.onResult(result as GraphQLResult<T>), error: ended, complete: ended });
  };
  const close = () => {
    const closing = client;
    client = null;
    void closing?.dispose();
  };
  const reopen = (event: PageTransitionEvent) => {
    if (event.persisted && !client) open();
  };

  addEventListener('pagehide', close);
  addEventListener('pageshow', reopen);
  open();
  return () => {
    removeEventListener('pagehide', close);
    removeEventListener('pageshow', reopen);
    close();
  };
}

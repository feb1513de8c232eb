/**
 * The gateway settings of this reference deployment. The gateway itself is generic and has no defaults about
 * any supergraph; `npm start`, the tests, the benchmark and docker-compose.yml give it these.
 */
import { fileURLToPath } from 'node:url';
import { SUPERGRAPH_FILE } from './subgraphs.js';

export const MANIFEST_FILE = fileURLToPath(new URL('./persisted-query-manifest.json', import.meta.url));

/** topclients publishes these when a client's details change or it is deleted: the cached client is wrong then. */
export const INVALIDATING_EVENT_TYPES = 'client-updated,client-removed';

/** The JetStream stream and subject of topclients' client events (subgraphs/toolkit/transports/jetstream.ts). */
export const CLIENT_EVENTS_STREAM = 'TOPCLIENTS';
export const clientEventsSubject = (subjectPrefix = 'topclients') => `${subjectPrefix}.client.>`;

export const REFERENCE_GATEWAY_ENV: Readonly<Record<string, string>> = {
  SUPERGRAPH: SUPERGRAPH_FILE,
  PERSISTED_QUERY_MANIFEST: MANIFEST_FILE,
  INVALIDATION_EVENT_TYPES: INVALIDATING_EVENT_TYPES,
  // topclients fills only optional parts of the pages, and is the service that may be slow: a page gives up on it
  // at the entity timeout, while its late answer gets 3 s to land in the cache for the pages after it. (Its own
  // self-view is bounded by the operation budget anyway.)
  SUBGRAPH_TOPCLIENTS_TIMEOUT_MS: '3000',
};
